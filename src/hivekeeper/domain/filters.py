"""The event filter language: wire filters, date ranges and paging parsed into an `EventQuery`.

Clients send one query in several loose shapes: a JSON body (`POST /v1/events/export`,
`/v1/events/search`), query parameters (`GET /events`, the chart route), values as
strings even for numbers, filters as a JSON string, operator aliases. This module
parses each shape once, at the boundary, into a small data AST over allow-listed
fields with typed values; stores translate that AST to SQL with bound parameters and
never see client text as SQL. Every bad input raises `ValidationFailed` naming the
field at fault (`filters[1].operator`, `dateRange.$gte`, `limit`).

Fields: a top-level column (`COLUMNS`), an object namespace (`OBJECT_FIELDS`) with an
optional dotted path inside it, or any other top-level name, which addresses the
`extra` namespace where clients' unknown keys are kept. All-digit path segments
address array elements (`inputs.chat_history.0.role`).

Keys a body may carry that do not shape the query (`project`, `evaluation_id`,
`ignore_order`, ...) are ignored: the API key, not the body, decides the project.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, cast, get_args

import orjson

from hivekeeper.domain.errors import ValidationFailed, quoted
from hivekeeper.domain.events import OBJECT_FIELDS, parse_time_ms

Column = Literal[
    "event_id",
    "session_id",
    "parent_id",
    "event_type",
    "event_name",
    "source",
    "start_time",
    "end_time",
    "duration",
    "error",
    "project_id",
]
COLUMNS: tuple[str, ...] = get_args(Column)
Namespace = Literal[
    "config", "inputs", "outputs", "metadata", "metrics", "feedback", "user_properties", "extra"
]
NAMESPACES: tuple[str, ...] = get_args(Namespace)

Operator = Literal[
    "exists",
    "not exists",
    "is",
    "is not",
    "contains",
    "not contains",
    "greater than",
    "less than",
    "greater than or equal",
    "less than or equal",
    "after",
    "before",
]
OPERATORS: tuple[str, ...] = get_args(Operator)
FilterType = Literal["string", "number", "boolean", "datetime"]
FILTER_TYPES: tuple[str, ...] = get_args(FilterType)
FilterValue = str | float | bool | None
"""A coerced filter value: str (string), float (number, datetime as epoch ms), bool."""
SortKey = Literal[
    "start_time",
    "end_time",
    "duration",
    "num_events",
    "total_tokens",
    "cost",
    "error_count",
    "feedback_count",
]
"""What a page may be ordered by: a column, or a session roll-up (zero on other rows)."""
SORT_KEYS: tuple[str, ...] = get_args(SortKey)

DEFAULT_LIMIT = 1000
MAX_LIMIT = 7500
DEFAULT_MAX_FILTERS = 100
# The most a server may allow: SQLite refuses an expression nested 1000 deep, and the
# filters of a query are ANDed into one chain, one level each, plus the levels of the
# deepest filter; ClickHouse parses 1000 filters for over 2 s.
MAX_FILTERS_CEILING = 500
MAX_PATH_SEGMENTS = 16
_MAX_FIELD_CHARS = 512
# Keeps OFFSET = (page - 1) * limit far inside the 64-bit integers SQL engines bind.
MAX_PAGE = 1_000_000_000
# `filters[i][field]` indices only order the filters; encoders number them from 0.
_MAX_FILTER_INDEX = 9_999
# children_ids is an array the server maintains; no operator of the language fits it.
_UNFILTERABLE = frozenset({"children_ids"})

_VALUELESS: frozenset[str] = frozenset({"exists", "not exists"})
_ORDERING: frozenset[str] = frozenset(
    {"greater than", "less than", "greater than or equal", "less than or equal", "after", "before"}
)
ORDERING_OPERATORS = _ORDERING
"""The operators that compare by order: a number's or a time's, never a text's."""
# The spec's operators per type, plus the comparisons any ordered type supports.
_ALLOWED: dict[str, frozenset[str]] = {
    "string": frozenset({"exists", "not exists", "is", "is not", "contains", "not contains"}),
    "number": frozenset({"exists", "not exists", "is", "is not"}) | _ORDERING,
    "boolean": frozenset({"exists", "not exists", "is", "is not"}),
    "datetime": frozenset({"exists", "not exists", "is", "is not"}) | _ORDERING,
}
# Keys are normalised (lower case, `_` as space, single spaces) before lookup.
_OPERATOR_ALIASES: dict[str, str] = {
    "exist": "exists",
    "not exist": "not exists",
    "does not exist": "not exists",
    "=": "is",
    "==": "is",
    "eq": "is",
    "equal": "is",
    "equals": "is",
    "is equal to": "is",
    "!=": "is not",
    "<>": "is not",
    "ne": "is not",
    "neq": "is not",
    "not equal": "is not",
    "not equals": "is not",
    "does not contain": "not contains",
    "not contain": "not contains",
    ">": "greater than",
    "gt": "greater than",
    "<": "less than",
    "lt": "less than",
    ">=": "greater than or equal",
    "gte": "greater than or equal",
    "greater than or equal to": "greater than or equal",
    "<=": "less than or equal",
    "lte": "less than or equal",
    "less than or equal to": "less than or equal",
}
_TYPE_ALIASES: dict[str, str] = {
    "str": "string",
    "text": "string",
    "int": "number",
    "integer": "number",
    "float": "number",
    "numeric": "number",
    "bool": "boolean",
    "date": "datetime",
    "time": "datetime",
    "timestamp": "datetime",
}
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
_INTEGER = re.compile(r"([+-]?)(\d+)")
# Unambiguous, so a long string of digits that fails to match fails in linear time
# (`\d+\.?\d*` splits the digits every possible way first: 17 s for 20,000 of them).
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_BRACKET_FILTER = re.compile(r"filters\[(\d+)\]\[(\w+)\]")
# A bound's spellings: `$gte` on the wire spec, `gte` from the SDK's generated models.
_BOUND_KEYS = {"$gte": "$gte", "gte": "$gte", "$lte": "$lte", "lte": "$lte"}
_BRACKET_RANGE = re.compile(r"dateRange\[(\$?\w+)\]")


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A filterable field: exactly one of a top-level `column` or a `namespace` + `path`.

    `path` is the dotted path inside the namespace, empty for the whole namespace
    (`inputs`). For `extra`, the path starts with the client's top-level key.
    """

    column: Column | None = None
    namespace: Namespace | None = None
    path: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.column is None) == (self.namespace is None):
            raise ValueError("a FieldRef names exactly one of column or namespace")
        if self.column is not None and self.path:
            raise ValueError("a column has no path")
        if self.namespace == "extra" and not self.path:
            raise ValueError("an extra field needs its top-level key")

    @property
    def text(self) -> str:
        """The dotted form a client writes (`metadata.cost`, `event_name`, `my_key`)."""
        if self.column is not None:
            return self.column
        head = () if self.namespace == "extra" else (cast(str, self.namespace),)
        return ".".join((*head, *self.path))


DURATION = FieldRef(column="duration")


@dataclass(frozen=True, slots=True)
class Condition:
    """One filter: `value` is None only for `exists` / `not exists`."""

    field: FieldRef
    operator: Operator
    type: FilterType
    value: FilterValue


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Conditions (ANDed), a `start_time` range in epoch ms (inclusive), and a page.

    Order is `sort`, then `event_id`, ascending unless `descending`; a NULL `sort`
    value orders below every number (first ascending, last descending).
    `projections` None means every field.

    `after`, a `(sort value, event_id)` pair taken from the last row of a page, keeps
    only the rows that come after that row in this order: a keyset cursor, so reading
    page after page costs the same at any depth and rows written meanwhile shift
    nothing.

    `search`, when set, keeps rows whose `inputs` or `outputs` JSON text contains it
    (case-insensitively); a session row is also kept when any event of its session
    matches. `count_total` False skips counting the matches (the total is then None),
    which a paged list that only needs "is there a next page" should do; a
    `count_limit` counts at most that many (a total equal to it means "that many or
    more"), so a count over a million matches reads only that many.
    """

    conditions: tuple[Condition, ...] = ()
    start_ms: float | None = None
    end_ms: float | None = None
    projections: tuple[str, ...] | None = None
    limit: int = DEFAULT_LIMIT
    page: int = 1
    descending: bool = False
    sort: SortKey = "start_time"
    after: tuple[float | None, str] | None = None
    search: str | None = None
    count_total: bool = True
    count_limit: int | None = None

    @property
    def offset(self) -> int:
        """Rows skipped before this page."""
        return (self.page - 1) * self.limit


def parse_field(text: object, where: str) -> FieldRef:
    """The field a filter names, from its dotted form.

    Raises ValidationFailed (field=`where`) for a non-string, an empty segment, a `"`
    or control character, more than `MAX_PATH_SEGMENTS` segments, a path below a
    scalar column, or an unfilterable field (`children_ids`).
    """
    if not isinstance(text, str):
        raise ValidationFailed(f"{where} must be a field name string", field=where)
    segments = _segments(text.strip(), where)
    head, rest = segments[0], tuple(segments[1:])
    if head in _UNFILTERABLE:
        raise ValidationFailed(f"{where}: {head} cannot be filtered", field=where)
    if head in COLUMNS:
        if rest:
            raise ValidationFailed(
                f"{where}: {head} is not an object, so {text.strip()!r} names nothing",
                field=where,
            )
        return FieldRef(column=cast(Column, head))
    if head in OBJECT_FIELDS:
        return FieldRef(namespace=cast(Namespace, head), path=rest)
    return FieldRef(namespace="extra", path=(head, *rest))


def parse_condition(raw: object, where: str) -> Condition:
    """One wire filter `{field, operator, value, type}` into a typed `Condition`.

    `type` defaults to `string`, except that an absent type with an ordering operator
    means `number` (or `datetime` for `after`/`before` and non-numeric values), since
    such filters are meaningless on text. Raises ValidationFailed naming
    `where.field`, `where.operator`, `where.type` or `where.value`.
    """
    if not isinstance(raw, Mapping):
        raise ValidationFailed(f"{where} must be a filter object", field=where)
    if raw.get("field") is None:
        raise ValidationFailed(f"{where}.field is required", field=f"{where}.field")
    field = parse_field(raw["field"], f"{where}.field")
    operator = parse_operator(raw.get("operator"), f"{where}.operator")
    value = raw.get("value")
    type_ = _filter_type(raw.get("type"), operator, value, f"{where}.type")
    if operator not in _ALLOWED[type_]:
        allowed = ", ".join(o for o in OPERATORS if o in _ALLOWED[type_])
        raise ValidationFailed(
            f"{where}.operator {operator!r} does not apply to type {type_!r} (use {allowed})",
            field=f"{where}.operator",
        )
    if operator in _VALUELESS:
        return Condition(field, operator, type_, None)
    return Condition(field, operator, type_, _coerce(value, type_, operator, f"{where}.value"))


def parse_conditions(raw_filters: list[object], max_filters: int) -> tuple[Condition, ...]:
    """Wire filters `filters[i]` into conditions, refusing more than `max_filters`.

    Counted before any is parsed, so a huge list costs nothing. Each filter costs SQL
    and a test per row scanned, so the bound keeps one query from taking a read
    thread for long. Raises ValidationFailed naming `filters` or the filter at fault.
    """
    check_filter_count(len(raw_filters), max_filters, "filters")
    return tuple(parse_condition(raw, f"filters[{i}]") for i, raw in enumerate(raw_filters))


def check_filter_count(count: int, max_filters: int, where: str) -> None:
    """Raise ValidationFailed (field=`where`) past `max_filters` filters."""
    if count > max_filters:
        raise ValidationFailed(
            f"{where}: {count} filters, more than the {max_filters} one query may have "
            "(setting max_filters); combine or narrow them",
            field=where,
        )


def parse_operator(raw: object, where: str) -> Operator:
    """An operator or one of its aliases (case-insensitive) in canonical form."""
    if isinstance(raw, str):
        key = " ".join(raw.lower().replace("_", " ").split())
        key = _OPERATOR_ALIASES.get(key, key)
        if key in OPERATORS:
            return cast(Operator, key)
    problem = "is required" if raw is None else f"{quoted(raw)} is not an operator"
    raise ValidationFailed(f"{where} {problem}; use one of: {', '.join(OPERATORS)}", field=where)


def parse_date_range(
    raw: object, *, now_ms: float, where: str = "dateRange"
) -> tuple[float | None, float | None]:
    """`(start_ms, end_ms)` bounds on `start_time`, either of them None when open.

    Accepts `{"$gte", "$lte"}` (ISO-8601 or epoch ms, each optional; also spelled
    `gte`/`lte`, as the SDK's generated models send them), `{"relative":
    "7d"}` (now minus 7 days until now; units s, m, h, d, w), an ISO string or epoch ms
    (from then on), or any of these as a JSON string. Raises ValidationFailed naming
    `where` or the bound at fault.
    """
    if raw is None or raw == "":
        return None, None
    if isinstance(raw, str) and raw.lstrip().startswith("{"):
        raw = _json(raw, where)
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        return parse_time_ms(raw, where), None
    if not isinstance(raw, Mapping):
        raise ValidationFailed(
            f"{where} must be an object with $gte/$lte, a relative range or a time", field=where
        )
    if "relative" in raw:
        if len(raw) > 1:
            raise ValidationFailed(f"{where}.relative excludes $gte/$lte", field=where)
        return _relative(raw["relative"], now_ms, f"{where}.relative")
    for key in raw:
        if key not in _BOUND_KEYS:
            raise ValidationFailed(
                f"{where}.{key} is not supported; use $gte, $lte or relative",
                field=f"{where}.{key}",
            )
    if len({_BOUND_KEYS[key] for key in raw}) < len(raw):
        raise ValidationFailed(f"{where} names a bound twice ($gte and gte)", field=where)
    bounds: dict[str, float | None] = {"$gte": None, "$lte": None}
    for key, value in raw.items():
        if value not in (None, ""):
            bounds[_BOUND_KEYS[key]] = parse_time_ms(value, f"{where}.{key}")
    start, end = bounds["$gte"], bounds["$lte"]
    if start is not None and end is not None and start > end:
        raise ValidationFailed(f"{where}.$gte is after {where}.$lte", field=where)
    return start, end


def parse_export_body(
    body: Mapping[str, object], *, now_ms: float, max_filters: int = DEFAULT_MAX_FILTERS
) -> EventQuery:
    """The query of a `POST /v1/events/export` or `/v1/events/search` body.

    `filters` may be an array, a single filter object or a JSON string of either, of
    at most `max_filters`. Unknown keys are ignored (the API key decides the project).
    Raises ValidationFailed naming the key at fault.
    """
    raw_filters = _filter_list(body.get("filters"), "filters")
    start, end = parse_date_range(body.get("dateRange"), now_ms=now_ms)
    return EventQuery(
        conditions=parse_conditions(raw_filters, max_filters),
        start_ms=start,
        end_ms=end,
        projections=_projections(body.get("projections"), "projections"),
        limit=_bounded_int(body.get("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT),
        page=parse_page(body.get("page")),
        descending=_descending(body.get("sort_order"), "sort_order"),
    )


def parse_query_params(
    params: Mapping[str, list[str]], *, now_ms: float, max_filters: int = DEFAULT_MAX_FILTERS
) -> EventQuery:
    """The query of `GET /events` from its query parameters (`parse_qs` shape).

    `filters`: a JSON array or object, repeated, or `filters[]=<json object>`, or the
    bracket form `filters[0][field]=...`; at most `max_filters` in all of them together.
    `dateRange`: JSON, an ISO time, or
    `dateRange[$gte]=...`. `projections`: a JSON array, a comma list, repeated or
    `projections[]=`. A repeated single-valued key takes its last value.
    """
    raw_filters: list[object] = []
    for key in ("filters", "filters[]"):
        for text in params.get(key, []):
            raw_filters.extend(_filter_list(text, key))
    raw_filters.extend(_bracket_filters(params))
    start, end = parse_date_range(_date_range_param(params), now_ms=now_ms)
    projection_texts: list[object] = []
    for key in ("projections", "projections[]"):
        for text in params.get(key, []):
            projection_texts.extend(_projection_texts(text, key))
    return EventQuery(
        conditions=parse_conditions(raw_filters, max_filters),
        start_ms=start,
        end_ms=end,
        projections=_projections(projection_texts, "projections"),
        limit=_bounded_int(_last(params, "limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT),
        page=parse_page(_last(params, "page")),
        descending=_descending(_last(params, "sort_order"), "sort_order"),
    )


SESSIONS_ONLY = Condition(FieldRef(column="event_type"), "is", "string", "session")
"""The condition that keeps session rows: what a list of sessions adds to its filters."""


def parse_session_params(
    params: Mapping[str, list[str]], *, now_ms: float, max_filters: int = DEFAULT_MAX_FILTERS
) -> EventQuery:
    """The query of `GET /v1/sessions`: `GET /events`'s parameters over session rows,
    plus `sort_by` (a `SortKey`: a column or a roll-up, default `start_time`),
    `sort_order` (default `desc`, newest first, as the web UI's list) and `q` (the
    search of `EventQuery.search`). ValidationFailed names the parameter at fault."""
    query = parse_query_params(params, now_ms=now_ms, max_filters=max_filters)
    sort = _last(params, "sort_by") or "start_time"
    if sort not in SORT_KEYS:
        raise ValidationFailed(
            f"sort_by must be one of {', '.join(SORT_KEYS)}, got {quoted(sort)}", field="sort_by"
        )
    order = _last(params, "sort_order")
    search = (_last(params, "q") or "").strip()
    return replace(
        query,
        conditions=(*query.conditions, SESSIONS_ONLY),
        sort=cast(SortKey, sort),
        descending=True if order is None or order == "" else query.descending,
        search=search or None,
    )


def parse_page(raw: object) -> int:
    """A page number (1 when absent) from a JSON number or decimal text.

    Raises ValidationFailed(`page`) unless it is a whole number from 1 to `MAX_PAGE`.
    """
    return _bounded_int(raw, "page", 1, MAX_PAGE)


def project_event(event: Mapping[str, object], projections: tuple[str, ...]) -> dict[str, object]:
    """`event` with only the projected fields (and always `event_id`).

    A dotted path keeps its nesting (`metadata.cost` → `{"metadata": {"cost": ...}}`);
    a path that runs into an array or scalar keeps that whole value; a field the
    event lacks is left out. `event` is not modified.
    """
    out: dict[str, object] = {}
    if "event_id" in event:
        out["event_id"] = event["event_id"]
    # Shorter paths first, so a whole field wins over a part of it named as well.
    for path in sorted((p.split(".") for p in projections), key=len):
        _copy_path(event, path, out)
    return out


def _copy_path(source: Mapping[str, object], path: list[str], target: dict[str, object]) -> None:
    head, rest = path[0], path[1:]
    if head not in source:
        return
    value = source[head]
    existing = target.get(head)
    if existing is value:
        return
    if not rest or not isinstance(value, Mapping):
        target[head] = value
        return
    child = existing if isinstance(existing, dict) else {}
    _copy_path(value, rest, child)
    if child:
        target[head] = child


def _segments(text: str, where: str) -> list[str]:
    if not text:
        raise ValidationFailed(f"{where} must not be empty", field=where)
    if len(text) > _MAX_FIELD_CHARS:
        raise ValidationFailed(f"{where} is longer than {_MAX_FIELD_CHARS} characters", field=where)
    segments = text.split(".")
    if len(segments) > MAX_PATH_SEGMENTS:
        raise ValidationFailed(
            f"{where} has more than {MAX_PATH_SEGMENTS} path segments", field=where
        )
    for segment in segments:
        if not segment:
            raise ValidationFailed(f"{where} {quoted(text)} has an empty path segment", field=where)
        if '"' in segment or any(ord(ch) < 32 or ord(ch) == 127 for ch in segment):
            raise ValidationFailed(
                f"{where} must not contain quotes or control characters", field=where
            )
    return segments


def _filter_type(raw: object, operator: str, value: object, where: str) -> FilterType:
    if raw is None or raw == "":
        if operator in ("after", "before"):
            return "datetime"
        if operator in _ORDERING:
            return "number" if _number_or_none(value) is not None else "datetime"
        return "string"
    if isinstance(raw, str):
        key = raw.strip().lower()
        key = _TYPE_ALIASES.get(key, key)
        if key in FILTER_TYPES:
            return cast(FilterType, key)
    raise ValidationFailed(
        f"{where} {quoted(raw)} is not a filter type; use one of: {', '.join(FILTER_TYPES)}",
        field=where,
    )


def _coerce(value: object, type_: FilterType, operator: str, where: str) -> str | float | bool:
    if value is None:
        raise ValidationFailed(f"{where} is required for operator {operator!r}", field=where)
    if type_ == "datetime":
        return parse_time_ms(value, where)
    if type_ == "number":
        number = _number_or_none(value)
        if number is None:
            raise ValidationFailed(f"{where} must be a number, got {quoted(value)}", field=where)
        return number
    if type_ == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, str | int) else None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValidationFailed(f"{where} must be true or false, got {quoted(value)}", field=where)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and math.isfinite(value):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, str):
        return value
    raise ValidationFailed(f"{where} must be a string, got {quoted(value)}", field=where)


def _number_or_none(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        return None
    return number if math.isfinite(number) else None


def _relative(raw: object, now_ms: float, where: str) -> tuple[float, float]:
    match = _RELATIVE.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        raise ValidationFailed(
            f"{where} must look like 30m, 12h, 7d or 2w (units s, m, h, d, w), got {quoted(raw)}",
            field=where,
        )
    span_ms = float(match.group(1)) * _UNIT_MS[match.group(2)]
    if not math.isfinite(span_ms):
        raise ValidationFailed(f"{where} {quoted(raw)} is longer than any time span", field=where)
    # Like an absolute bound, a relative one stays inside the storable times.
    return max(now_ms - span_ms, 0.0), now_ms


def _filter_list(raw: object, where: str) -> list[object]:
    if raw is None:
        return []
    if isinstance(raw, str):
        if not raw.strip():
            return []
        raw = _json(raw, where)
    if isinstance(raw, Mapping):
        return [raw]
    if isinstance(raw, list):
        return list(raw)
    raise ValidationFailed(f"{where} must be an array of filter objects", field=where)


def _bracket_filters(params: Mapping[str, list[str]]) -> list[object]:
    """Filters sent as `filters[0][field]=...&filters[0][operator]=...` (qs style)."""
    by_index: dict[int, dict[str, object]] = {}
    for key, values in params.items():
        match = _BRACKET_FILTER.fullmatch(key)
        if match and values:
            index = _bounded_int(
                match.group(1),
                "a filters[index]",
                default=0,
                maximum=_MAX_FILTER_INDEX,
                minimum=0,
                field="filters",
            )
            by_index.setdefault(index, {})[match.group(2)] = values[-1]
    return [by_index[i] for i in sorted(by_index)]


def _date_range_param(params: Mapping[str, list[str]]) -> object:
    text = _last(params, "dateRange")
    if text is not None:
        return text
    bounds = {}
    for key, values in params.items():
        match = _BRACKET_RANGE.fullmatch(key)
        if match and values:
            bounds[match.group(1)] = values[-1]
    return bounds or None


def _projection_texts(text: str, where: str) -> list[object]:
    text = text.strip()
    if text.startswith("["):
        parsed = _json(text, where)
        if not isinstance(parsed, list):
            raise ValidationFailed(f"{where} must be an array of field paths", field=where)
        return parsed
    return [part for part in text.split(",") if part.strip()]


def _projections(raw: object, where: str) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = _projection_texts(raw, where)
    if not isinstance(raw, list):
        raise ValidationFailed(f"{where} must be an array of field paths", field=where)
    paths: dict[str, None] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, str):
            raise ValidationFailed(f"{where}[{i}] must be a string", field=f"{where}[{i}]")
        text = item.strip()
        _segments(text, f"{where}[{i}]")
        paths[text] = None
    return tuple(paths) or None


def _bounded_int(
    raw: object, where: str, default: int, maximum: int, minimum: int = 1, field: str | None = None
) -> int:
    if raw is None or raw == "":
        return default
    value = integer_or_none(raw, maximum)
    if value is None:
        raise ValidationFailed(
            f"{where} must be an integer, got {quoted(raw)}", field=field or where
        )
    if not minimum <= value <= maximum:
        raise ValidationFailed(
            f"{where} must be between {minimum} and {maximum}, got {quoted(raw)}",
            field=field or where,
        )
    return value


def integer_or_none(raw: object, bound: int) -> int | None:
    """`raw` as an int, or None when it is not a whole number. Text with more digits
    than `bound` stands for `bound + 1` (with its sign) without being converted: int()
    refuses more than 4300 digits, and no range check needs them."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if raw.is_integer() else None
    match = _INTEGER.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        return None
    sign, digits = match.groups()
    digits = digits.lstrip("0")
    value = bound + 1 if len(digits) > len(str(bound)) else int(digits or "0")
    return -value if sign == "-" else value


def _descending(raw: object, where: str) -> bool:
    if raw is None or raw == "":
        return False
    if isinstance(raw, str):
        key = raw.strip().lower()
        if key in ("asc", "ascending"):
            return False
        if key in ("desc", "descending"):
            return True
    raise ValidationFailed(f"{where} must be 'asc' or 'desc', got {quoted(raw)}", field=where)


def _json(text: str, where: str) -> object:
    # orjson, as for bodies: the stdlib parser lets lone surrogates through (which then
    # cannot be encoded in the error naming them) and recurses until RecursionError.
    try:
        parsed: object = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValidationFailed(f"{where} is not valid JSON", field=where) from None
    return parsed


def _last(params: Mapping[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[-1] if values else None

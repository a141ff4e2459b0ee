"""A list page's whole view state, read from and written back to its URL.

Every page is a GET form, so a link reproduces what its author saw. Filters are
repeated parameter groups `f` (field), `op`, `v` (value), `t` (type), one group per
filter row, parsed by the export API's own filter code into the same `EventQuery`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import cast
from urllib.parse import urlencode

from hivekeeper.domain.charts import BUCKETS, Bucket
from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.events import parse_time_ms
from hivekeeper.domain.filters import (
    ORDERING_OPERATORS,
    SESSIONS_ONLY,
    SORT_KEYS,
    Condition,
    EventQuery,
    FieldRef,
    SortKey,
    check_filter_count,
    parse_condition,
    parse_date_range,
    parse_field,
    parse_page,
)
from hivekeeper.domain.types import EVENT_TYPES

RANGES = ("15m", "1h", "24h", "7d", "30d")
LIMITS = (25, 50, 100, 200)
DEFAULT_LIMIT = 50
MAX_COLUMNS = 30
AUTO_TYPE = "auto"
"""The filter form's default type: inferred from the operator and the value, as the
API infers a filter without `type` (`greater than 0.5` is a number)."""


@dataclass(frozen=True, slots=True)
class FilterRow:
    """One filter as the form shows it (raw text, so a bad value is shown back)."""

    field: str
    op: str = "is"
    value: str = ""
    type: str = AUTO_TYPE


@dataclass(frozen=True, slots=True)
class ViewState:
    """The raw parameters of a list page; nothing here has been validated yet."""

    q: str = ""
    sort: str = "start_time"
    order: str = "desc"
    range: str = ""
    from_: str = ""
    to: str = ""
    filters: tuple[FilterRow, ...] = ()
    page: int = 1
    limit: int = DEFAULT_LIMIT
    type: str = ""
    cols: tuple[str, ...] = ()
    bucket: str = ""
    split: str = ""
    run: str = ""
    dataset: str = ""

    def params(self, **changes: object) -> list[tuple[str, str]]:
        """The query parameters of this state with `changes`, defaults left out."""
        state = replace(self, **changes) if changes else self  # type: ignore[arg-type]  # keyword names are fields
        out: list[tuple[str, str]] = []
        for name, value, default in (
            ("q", state.q, ""),
            ("type", state.type, ""),
            ("range", state.range, ""),
            ("from", state.from_, ""),
            ("to", state.to, ""),
            ("sort", state.sort, "start_time"),
            ("order", state.order, "desc"),
            ("bucket", state.bucket, ""),
            ("split", state.split, ""),
            ("run", state.run, ""),
            ("dataset", state.dataset, ""),
        ):
            if value != default:
                out.append((name, value))
        for row in state.filters:
            out.extend([("f", row.field), ("op", row.op), ("v", row.value), ("t", row.type)])
        out.extend(("col", col) for col in state.cols)
        if state.limit != DEFAULT_LIMIT:
            out.append(("limit", str(state.limit)))
        if state.page != 1:
            out.append(("page", str(state.page)))
        return out

    def query_string(self, **changes: object) -> str:
        """`?…` for this state with `changes` (empty string when all are defaults)."""
        params = self.params(**changes)
        return f"?{urlencode(params)}" if params else ""


def read_state(
    params: Mapping[str, list[str]], *, default_range: str = "", default_type: str = ""
) -> ViewState:
    """The view state in `params` (`parse_qs` shape). The form's values are checked
    when the state becomes a query, where errors name the form field, so the form can
    show them back; only `page`, which comes from the pager's links and not the form,
    is checked here (ValidationFailed naming `page`)."""
    fields = params.get("f", [])
    ops, values, types = params.get("op", []), params.get("v", []), params.get("t", [])
    rows = []
    # Every row is kept (the URL's length bounds them); `conditions` refuses too many.
    for i, name in enumerate(fields):
        if not name.strip():
            continue
        rows.append(
            FilterRow(
                field=name.strip(),
                op=_at(ops, i, "is"),
                value=_at(values, i, ""),
                type=_at(types, i, AUTO_TYPE),
            )
        )
    limit = _int(_last(params, "limit"), DEFAULT_LIMIT)
    return ViewState(
        q=(_last(params, "q") or "").strip(),
        sort=_last(params, "sort") or "start_time",
        order=_last(params, "order") or "desc",
        range=_last(params, "range", default_range) or "",
        from_=(_last(params, "from") or "").strip(),
        to=(_last(params, "to") or "").strip(),
        filters=tuple(rows),
        page=parse_page(_last(params, "page")),
        limit=limit if limit in LIMITS else DEFAULT_LIMIT,
        type=_last(params, "type", default_type) or "",
        # Each column once: one chosen 30 times made every row of a download 30 times wider.
        cols=tuple(dict.fromkeys(c.strip() for c in params.get("col", []) if c.strip()))[
            :MAX_COLUMNS
        ],
        bucket=_last(params, "bucket") or "",
        split=_last(params, "split") or "",
        run=(_last(params, "run") or "").strip(),
        dataset=(_last(params, "dataset") or "").strip(),
    )


def conditions(state: ViewState, max_filters: int) -> list[Condition]:
    """The filter rows, the run and dataset, and the event type as conditions;
    ValidationFailed names the row (`filter 2 value`) at fault, or `filters` for more
    than `max_filters` rows."""
    check_filter_count(len(state.filters), max_filters, "filters")
    out = []
    for i, row in enumerate(state.filters, start=1):
        raw: dict[str, object] = {"field": row.field, "operator": row.op}
        if not _inferred(row):
            raw["type"] = row.type
        if row.op not in ("exists", "not exists"):
            raw["value"] = row.value
        try:
            out.append(parse_condition(raw, f"filter {i}"))
        except ValidationFailed as exc:
            raise ValidationFailed(
                exc.message.replace(f"filter {i}.", f"filter {i} "), field=exc.field
            ) from None
    # An experiment run's sessions, and a dataset's, as evaluate() tags them.
    for field, value in (("metadata.run_id", state.run), ("metadata.dataset_id", state.dataset)):
        if value:
            out.append(Condition(parse_field(field, field), "is", "string", value))
    if state.type:
        if state.type not in EVENT_TYPES:
            raise ValidationFailed(
                f"type must be one of {', '.join(sorted(EVENT_TYPES))}", field="type"
            )
        out.append(Condition(FieldRef(column="event_type"), "is", "string", state.type))
    return out


def _inferred(row: FilterRow) -> bool:
    """Whether the row's type is left to inference: `auto`, or `string` (the form's
    default before `auto`, kept in old links) with an operator no text supports."""
    if row.type in (AUTO_TYPE, ""):
        return True
    return row.type == "string" and row.op in ORDERING_OPERATORS


def date_bounds(state: ViewState, now_ms: float) -> tuple[float | None, float | None]:
    """The start_time bounds: `from`/`to` when either is set, else the relative range."""
    if state.from_ or state.to:
        start = parse_time_ms(state.from_, "from") if state.from_ else None
        end = parse_time_ms(state.to, "to") if state.to else None
        if start is not None and end is not None and start > end:
            raise ValidationFailed("from is after to", field="from")
        return start, end
    if not state.range:
        return None, None
    if state.range not in RANGES:
        raise ValidationFailed(f"range must be one of {', '.join(RANGES)}", field="range")
    return parse_date_range({"relative": state.range}, now_ms=now_ms)


def event_query(
    state: ViewState, now_ms: float, *, max_filters: int, sessions_only: bool = False
) -> EventQuery:
    """The page's EventQuery (without a total, which would cost a count over every
    match); ValidationFailed names the form field at fault."""
    found = conditions(state, max_filters)
    if sessions_only:
        found.append(SESSIONS_ONLY)
    start, end = date_bounds(state, now_ms)
    if state.sort not in SORT_KEYS:
        raise ValidationFailed(f"sort must be one of {', '.join(SORT_KEYS)}", field="sort")
    if state.order not in ("asc", "desc"):
        raise ValidationFailed("order must be asc or desc", field="order")
    return EventQuery(
        conditions=tuple(found),
        start_ms=start,
        end_ms=end,
        limit=state.limit,
        page=state.page,
        descending=state.order == "desc",
        sort=cast(SortKey, state.sort),
        search=state.q or None,
        count_total=False,
    )


def columns(state: ViewState) -> tuple[str, ...]:
    """The chosen columns, each a valid field path (ValidationFailed names `col`)."""
    for col in state.cols:
        parse_field(col, "col")
    return state.cols


def bucket_for(state: ViewState, start_ms: float | None, end_ms: float | None) -> Bucket:
    """The chosen bucket, else one that gives a readable number of points for the range."""
    if state.bucket:
        if state.bucket not in BUCKETS:
            raise ValidationFailed(f"bucket must be one of {', '.join(BUCKETS)}", field="bucket")
        return cast(Bucket, state.bucket)
    if start_ms is None or end_ms is None:
        return "day"
    span_h = (end_ms - start_ms) / 3_600_000
    if span_h <= 2:
        return "minute"
    if span_h <= 72:
        return "hour"
    return "day"


def _at(values: list[str], i: int, default: str) -> str:
    return values[i] if i < len(values) and values[i] != "" else default


def _last(params: Mapping[str, list[str]], key: str, default: str | None = None) -> str | None:
    values = params.get(key)
    return values[-1] if values else default


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default

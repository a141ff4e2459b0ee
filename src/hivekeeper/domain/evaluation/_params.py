"""Query parameters of the evaluation routes, in `parse_qs` shape, read leniently.

The SDK sends arrays in bracket form (`datapoint_ids[]=a&datapoint_ids[]=b`); other
clients repeat the plain key, send a comma list or a JSON array. All are accepted.
A dict or list the SDK passes as one parameter (`dateRange`, `filters`) reaches the
wire as its Python repr (`{'$gte': 1}`: httpx formats it with `str`), so structured
values are read as JSON or, failing that, as a Python literal. A repeated
single-valued key takes its last value.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

import orjson

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.events import parse_id
from hivekeeper.domain.fields import Fields
from hivekeeper.domain.filters import (
    DEFAULT_MAX_FILTERS,
    Condition,
    FieldRef,
    check_filter_count,
    integer_or_none,
    parse_condition,
    parse_date_range,
)

QueryParams = Mapping[str, list[str]]
MAX_PAGE = 1_000_000_000
"""Keeps OFFSET = (page - 1) * limit far inside the integers SQL engines bind."""

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})


def last(params: QueryParams, key: str) -> str | None:
    """The last value of `key`, None when absent."""
    values = params.get(key)
    return values[-1] if values else None


def query_fields(params: QueryParams) -> Fields:
    """The query's last value per key, read like a body (errors name the bare key)."""
    return Fields({key: last(params, key) for key in params}, "query")


def flag(params: QueryParams, key: str) -> bool:
    """`true`/`1` or `false`/`0` (absent: false). Raises ValidationFailed otherwise."""
    text = (last(params, key) or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationFailed(f"{key} must be true or false, got {text!r}", field=key)


def id_list(params: QueryParams, key: str) -> list[str] | None:
    """Every id sent as `key[]` (each value one id, as the SDK sends them) or as `key`
    (repeated, a comma list or a JSON array), in order, duplicates dropped; None when
    neither is present."""
    bracketed = params.get(f"{key}[]", [])
    plain = params.get(key, [])
    if not bracketed and not plain:
        return None
    raw: list[object] = list(bracketed)
    for text in plain:
        if text.lstrip().startswith("["):
            try:
                parsed = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise ValidationFailed(f"{key} is not a valid JSON array", field=key) from None
            if not isinstance(parsed, list):
                raise ValidationFailed(f"{key} must be an array of ids", field=key)
            raw.extend(parsed)
        else:
            raw.extend(part.strip() for part in text.split(",") if part.strip())
    return list(dict.fromkeys(parse_id(item, f"{key}[{i}]") for i, item in enumerate(raw)))


def structured(params: QueryParams, key: str) -> object:
    """The last value of `key` read by `literal`; None when absent."""
    text = last(params, key)
    return None if text is None else literal(text, key)


def literal(text: str, key: str) -> object:
    """`text` as JSON, or as the Python literal httpx makes of a dict or list
    (`{'$gte': 1}`, `[{'field': 'x'}]`); other text as it is.

    `ast.literal_eval` evaluates literals only (no names, calls or operators). Raises
    ValidationFailed naming `key` for a bracketed value that is neither.
    """
    if text.strip()[:1] not in ("{", "["):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ValidationFailed(f"{key} is neither JSON nor a literal", field=key) from None


def conditions(
    params: QueryParams, key: str, max_filters: int = DEFAULT_MAX_FILTERS
) -> tuple[Condition, ...]:
    """The filters sent as `key` (a filter object or an array of them) or as `key[]`
    (one filter each: what the SDK makes of a list), as JSON or Python literals, in the
    export filter language; () when absent. More than `max_filters` is a
    ValidationFailed naming `key`, counted before any is parsed."""
    items: list[object] = []
    for text in params.get(f"{key}[]", ()):
        items.append(literal(text, key))
    for text in params.get(key, ()):
        if text.strip():
            value = literal(text, key)
            items.extend(value if isinstance(value, list) else [value])
    check_filter_count(len(items), max_filters, key)
    return tuple(parse_condition(item, f"{key}[{i}]") for i, item in enumerate(items))


_START_TIME = FieldRef(column="start_time")


def date_conditions(params: QueryParams, key: str, *, now_ms: float) -> tuple[Condition, ...]:
    """The date range sent as `key` (see `filters.parse_date_range`; JSON or a Python
    literal) as conditions on `start_time`, bounds included; () when absent."""
    start, end = parse_date_range(structured(params, key), now_ms=now_ms, where=key)
    out = []
    if start is not None:
        out.append(Condition(_START_TIME, "greater than or equal", "datetime", start))
    if end is not None:
        out.append(Condition(_START_TIME, "less than or equal", "datetime", end))
    return tuple(out)


def page_number(params: QueryParams, key: str, default: int, maximum: int) -> int:
    """A whole number from 1 to `maximum` (`page`, `limit`); `default` when absent."""
    text = last(params, key)
    if text is None or not text.strip():
        return default
    return whole_number(text, key, maximum)


def whole_number(text: str, key: str, maximum: int) -> int:
    """`text` as a whole number from 1 to `maximum`, however many digits it has.
    Raises ValidationFailed naming `key` otherwise."""
    value = integer_or_none(text, maximum)
    if value is None or not 1 <= value <= maximum:
        raise ValidationFailed(f"{key} must be a whole number from 1 to {maximum}", field=key)
    return value

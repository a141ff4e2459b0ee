"""A dashboard view saved under a name: the same saved chart objects as the API's
`charts` (`domain.saved_charts`), written from the view's state and read back into it.

A view's chart counts requests (`metric` duration, `func` count), keeps the view's
split (`groupBy`), bucket (`bucketing`), time range (`dateRange`: `relative` or
`$gte`/`$lte`) and filters (`query`, the event type as an `event_type is` filter).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hivekeeper.domain.types import JsonObject
from hivekeeper.ui.params import AUTO_TYPE, FilterRow, ViewState

_TYPE_FIELD = "event_type"


def chart_fields(
    state: ViewState, name: str, splits: Mapping[str, str | None]
) -> JsonObject:
    """The saved chart body (`POST /v1/charts`'s) of a dashboard view; `splits` maps the
    view's split names to the field path each groups by."""
    query: list[JsonObject] = []
    for row in state.filters:
        condition: JsonObject = {"field": row.field, "operator": row.op, "value": row.value}
        if row.type not in (AUTO_TYPE, ""):
            condition["type"] = row.type
        query.append(condition)
    if state.type:
        query.append({"field": _TYPE_FIELD, "operator": "is", "value": state.type})
    fields: JsonObject = {"name": name, "metric": "duration", "func": "count", "query": query}
    group = splits.get(state.split)
    if group:
        fields["groupBy"] = group
    if state.bucket:
        fields["bucketing"] = state.bucket
    if state.from_ or state.to:
        fields["dateRange"] = {
            key: value for key, value in (("$gte", state.from_), ("$lte", state.to)) if value
        }
    elif state.range:
        fields["dateRange"] = {"relative": state.range}
    return fields


def view_params(
    definition: Mapping[str, Any], splits: Mapping[str, str | None]
) -> list[tuple[str, str]]:
    """The dashboard's query parameters that show a saved chart's view (what it can of
    a chart saved through the API: unknown splits and ranges are left at defaults)."""
    out: list[tuple[str, str]] = []
    by_field = {field: name for name, field in splits.items() if field}
    group = definition.get("groupBy")
    if isinstance(group, str) and group in by_field:
        out.append(("split", by_field[group]))
    bucket = definition.get("bucketing")
    if isinstance(bucket, str):
        out.append(("bucket", bucket))
    dates = definition.get("dateRange")
    if isinstance(dates, Mapping):
        if isinstance(dates.get("relative"), str):
            out.append(("range", dates["relative"]))
        for key, param in (("$gte", "from"), ("$lte", "to")):
            if isinstance(dates.get(key), str | int | float):
                out.append((param, str(dates[key])))
    filters = definition.get("query")
    event_type = ""
    for condition in filters if isinstance(filters, list) else ():
        if not isinstance(condition, Mapping):
            continue
        field = str(condition.get("field") or "")
        if field == _TYPE_FIELD and condition.get("operator") == "is":
            event_type = str(condition.get("value") or "")
            continue
        row = FilterRow(
            field=field,
            op=str(condition.get("operator") or "is"),
            value=str(condition.get("value") if condition.get("value") is not None else ""),
            type=str(condition.get("type") or AUTO_TYPE),
        )
        out.extend([("f", row.field), ("op", row.op), ("v", row.value), ("t", row.type)])
    out.append(("type", event_type))
    return out

"""Saved charts (`charts` client namespace): create and update bodies, and a chart → its answer.

A saved chart is the stored definition of a `GET /v1/events/chart` query: `metric`,
`func` (its aggregation), `groupBy`, `bucketing`, `dateRange` and `query` (filters).
Each part is checked with the chart route's own parsers, so a chart that saves also
draws; it is kept as sent. An update changes only the fields it names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hivekeeper.domain.charts import iso_time, parse_aggregation, parse_bucket
from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.fields import Fields
from hivekeeper.domain.filters import parse_condition, parse_date_range, parse_field
from hivekeeper.domain.types import JsonObject

_NULLABLE = ("description", "func", "groupBy", "dateRange", "query", "owner_id")
_KNOWN = ("name", "metric", "bucketing", *_NULLABLE)


@dataclass(frozen=True, slots=True)
class SavedChart:
    """A stored chart: its definition (the fields of the request) and its times."""

    id: str
    definition: JsonObject
    created_at_ms: float
    updated_at_ms: float | None = None


def parse_chart(raw: object, *, creating: bool, now_ms: float) -> JsonObject:
    """The fields a CreateChart (`name` and `metric` required) or UpdateChart body sets.
    Raises ValidationFailed naming the field."""
    body = Fields(raw, "body")
    out: JsonObject = {}
    if creating or body.has("name"):
        out["name"] = body.text("name")
    if creating or body.has("metric"):
        out["metric"] = body.text("metric")
        parse_field(out["metric"], "metric")
    for key in ("description", "owner_id"):
        if body.has(key):
            out[key] = body.string(key)
    if body.has("func"):
        out["func"] = _as(body.string("func"), parse_aggregation, "func")
    if body.has("groupBy"):
        out["groupBy"] = body.text("groupBy")
        parse_field(out["groupBy"], "groupBy")
    if body.has("bucketing"):
        out["bucketing"] = _as(body.string("bucketing"), parse_bucket, "bucketing")
    if body.has("dateRange"):
        parse_date_range(body.json_object("dateRange"), now_ms=now_ms)
        out["dateRange"] = body.raw("dateRange")
    for i, condition in enumerate(body.json_objects("query") or ()):
        parse_condition(condition, f"query[{i}]")
    if body.has("query"):
        out["query"] = body.raw("query")
    out.update(body.extra(_KNOWN))
    return out


def render_chart(chart: SavedChart) -> JsonObject:
    """The chart object of every chart answer: nullable fields present as null."""
    definition = chart.definition
    return {
        **definition,
        **{key: definition.get(key) for key in _NULLABLE},
        "id": chart.id,
        "name": definition.get("name"),
        "metric": definition.get("metric"),
        "bucketing": definition.get("bucketing") or "hour",
        "owner_profile": None,
        "is_active": True,
        "created_at": iso_time(chart.created_at_ms),
        "updated_at": None if chart.updated_at_ms is None else iso_time(chart.updated_at_ms),
    }


def _as(value: str | None, parse: Callable[[str | None], str], field: str) -> str | None:
    """`value` checked by one of the chart route's parsers, the error renamed to `field`."""
    if value is None:
        return None
    try:
        parse(value)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=field) from None
    return value

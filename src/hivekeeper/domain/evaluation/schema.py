"""The field schema of events (`GET /v1/events/schema`, `/v1/runs/schema`, `/v1/runs/{id}/schema`).

Which fields the events hold, per event type, so a client can offer them as columns
or filters: every key of the payload namespaces one level deep (`inputs.question`,
`metrics.accuracy`, `feedback.rating`). `mappings` groups the same field name across
event types. The store decides which events are read (a run's, or a sample of the
project's in the date range).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from hivekeeper.domain.fields import as_object
from hivekeeper.domain.types import JsonObject

SCHEMA_NAMESPACES = (
    "inputs",
    "outputs",
    "metrics",
    "feedback",
    "metadata",
    "config",
    "user_properties",
)
"""The namespaces a schema lists the keys of."""


def event_schema(rows: Iterable[Mapping[str, object]], datasets: Sequence[str]) -> JsonObject:
    """`{fields: [{name, event_type}], datasets, mappings: {name: [{field_name,
    event_type}]}}` of `rows` (stored-event-shaped mappings), fields sorted by name."""
    found: dict[tuple[str, str], None] = {}
    for row in rows:
        event_type = row.get("event_type")
        if not isinstance(event_type, str):
            continue
        for namespace in SCHEMA_NAMESPACES:
            for key in as_object(row.get(namespace)):
                found[(f"{namespace}.{key}", event_type)] = None
    fields = sorted(found)
    mappings: dict[str, list[JsonObject]] = {}
    for name, event_type in fields:
        mappings.setdefault(name, []).append({"field_name": name, "event_type": event_type})
    return {
        "fields": [{"name": name, "event_type": event_type} for name, event_type in fields],
        "datasets": list(datasets),
        "mappings": mappings,
    }

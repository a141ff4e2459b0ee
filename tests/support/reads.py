"""Reads stored events back through the REST API, the way a user checks what was kept.

The OTLP tests (tracer, exporters, capture replay) all ingest through one route and
verify through the same three reads: the session tree, one event by id, and export
with filters. Every read asserts a 200, since the server answers only after commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

Event = dict[str, Any]


def session_tree(api: httpx.Client, session_id: str) -> Event:
    """`GET /v1/sessions/{id}`: the session event with its events nested in `children`."""
    answer = api.get(f"/v1/sessions/{session_id}")
    assert answer.status_code == 200, f"session {session_id}: {answer.text}"
    tree: Event = answer.json()
    return tree


def stored_event(api: httpx.Client, event_id: str) -> Event:
    """`GET /v1/events/{id}`: the one event."""
    answer = api.get(f"/v1/events/{event_id}")
    assert answer.status_code == 200, f"event {event_id}: {answer.text}"
    event: Event = answer.json()["event"]
    return event


def export(api: httpx.Client, **equal_to: str) -> list[Event]:
    """`POST /v1/events/export` with one `is` string filter per keyword (ANDed)."""
    filters = [
        {"field": field.replace("__", "."), "operator": "is", "value": value, "type": "string"}
        for field, value in equal_to.items()
    ]
    answer = api.post("/v1/events/export", json={"filters": filters, "limit": 7500})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["totalEvents"] == len(body["events"]), "more events than one page"
    events: list[Event] = body["events"]
    return events


def walk(tree: Event) -> Iterator[tuple[Event, Event]]:
    """Every (parent, child) pair of a session tree, depth first."""
    for child in tree["children"]:
        yield tree, child
        yield from walk(child)


def by_name(tree: Event) -> dict[str, Event]:
    """The events under a session tree by `event_name`; names must be unique."""
    nodes: dict[str, Event] = {}
    for _, node in walk(tree):
        assert node["event_name"] not in nodes, f"two events named {node['event_name']}"
        nodes[node["event_name"]] = node
    return nodes


def shape(tree: Event) -> dict[str, Any]:
    """The tree reduced to `{name: (event_type, {child name: ...})}`, to compare nesting.

    Siblings must have distinct names, so that none is hidden by another."""
    names = [node["event_name"] for node in tree["children"]]
    assert len(names) == len(set(names)), f"siblings share a name: {sorted(names)}"
    return {node["event_name"]: (node["event_type"], shape(node)) for node in tree["children"]}


def assert_kept_unmapped(event: Event, key: str, value: Any) -> None:
    """An attribute no mapping rule covers is kept in `metadata` under its own key,
    rebuilt from its dots, and listed in `metadata.otel.unmapped_attributes`."""
    kept: Any = event["metadata"]
    for part in key.split("."):
        kept = kept[part]
    assert kept == value, event["metadata"]
    assert key in event["metadata"]["otel"]["unmapped_attributes"], event["metadata"]["otel"]

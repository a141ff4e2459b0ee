"""Reads the web UI and `hivekeeper copy` make through the Store protocol, on every store.

Data goes in through the real REST API, so the rows read back are the ones the writer
stored; the reads are the store methods the UI calls (sort, search, uncounted pages,
session outlines) and the ones `copy` calls (key-ordered scans, raw puts, tenancy).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hivekeeper.domain.filters import Condition, EventQuery, SortKey, parse_condition
from hivekeeper.store import Store, open_store
from tests.support.databases import fresh_database_url
from tests.support.server import LiveServer
from tests.support.statements import count_statements

T0 = 1_795_694_400_000.0  # 2026-11-26T12:00:00Z
SESSIONS = {"cheap": 0.01, "dear": 0.50, "middling": 0.10}


def _is(field: str, value: str) -> Condition:
    return parse_condition({"field": field, "operator": "is", "value": value}, "f")


def _sessions_only(**options: Any) -> EventQuery:
    return EventQuery(conditions=(_is("event_type", "session"),), **options)


def _seed(api: httpx.Client) -> dict[str, str]:
    """Three sessions, one model event each, costs and start times differing."""
    ids = {}
    for i, (name, cost) in enumerate(SESSIONS.items()):
        sid = str(uuid.uuid4())
        ids[name] = sid
        started = api.post(
            "/v1/sessions",
            json={"session": {"session_id": sid, "session_name": name, "start_time": T0 + i}},
        )
        assert started.status_code == 200, started.text
        event = {
            "session_id": sid,
            "event_type": "model",
            "event_name": "chat",
            "start_time": T0 + 100 + i,
            "duration": 10.0,
            "config": {"model": f"model-{name}"},
            "metadata": {"cost": cost, "total_tokens": 10 * (i + 1)},
            "inputs": {"chat_history": [{"role": "user", "content": f"About the {name} Zebra"}]},
            "outputs": {"content": f"answer {name}"},
            "error": "rate limited" if name == "dear" else None,
        }
        assert api.post("/events/batch", json={"events": [event]}).status_code == 200
    return ids


def _names(server: LiveServer, query: EventQuery) -> list[str]:
    rows, _ = server.store.query_events(_project_id(server), query)
    return [str(row["event_name"]) for row in rows]


def _project_id(server: LiveServer) -> str:
    return next(p.id for p in server.store.list_projects() if p.name == "default")


@pytest.mark.parametrize(
    ("sort", "descending", "expected"),
    [
        ("cost", True, ["dear", "middling", "cheap"]),
        ("cost", False, ["cheap", "middling", "dear"]),
        ("start_time", True, ["middling", "dear", "cheap"]),
        ("total_tokens", True, ["middling", "dear", "cheap"]),
        ("error_count", True, ["dear", "middling", "cheap"]),
    ],
)
def test_sessions_sort_by_rollups_and_columns(
    server: LiveServer, api: httpx.Client, sort: SortKey, descending: bool, expected: list[str]
) -> None:
    _seed(api)
    query = _sessions_only(sort=sort, descending=descending)
    # error_count ties (0, 0) fall back to event_id order; only the first is fixed.
    got = _names(server, query)
    assert got[: 1 if sort == "error_count" else 3] == expected[: 1 if sort == "error_count" else 3]


def test_an_uncounted_page_has_no_total_and_the_same_rows(
    server: LiveServer, api: httpx.Client
) -> None:
    _seed(api)
    project = _project_id(server)
    counted, total = server.store.query_events(project, _sessions_only(limit=2, page=2))
    uncounted, none = server.store.query_events(
        project, _sessions_only(limit=2, page=2, count_total=False)
    )
    assert (total, none) == (3, None)
    assert [r["event_id"] for r in uncounted] == [r["event_id"] for r in counted]
    assert len(uncounted) == 1


def test_search_finds_sessions_by_their_events_text(server: LiveServer, api: httpx.Client) -> None:
    ids = _seed(api)
    project = _project_id(server)
    # Case-insensitive, inside a nested message; the session rows match through events.
    rows, total = server.store.query_events(project, _sessions_only(search="dear ZEBRA"))
    assert [r["event_id"] for r in rows] == [ids["dear"]] and total == 1
    # Outputs too, and the matching event row itself.
    rows, _ = server.store.query_events(project, EventQuery(search="ANSWER cheap"))
    assert {r["event_type"] for r in rows} == {"session", "model"}
    assert {r["session_id"] for r in rows} == {ids["cheap"]}
    assert server.store.query_events(project, EventQuery(search="no such words"))[0] == []


def test_events_are_read_by_ids_in_one_query(server: LiveServer, api: httpx.Client) -> None:
    ids = _seed(api)
    project = _project_id(server)
    wanted = [ids["cheap"], ids["dear"], "no-such-id", ids["cheap"]]
    with count_statements(server.store) as statements:
        rows = server.store.get_events(project, wanted)
    assert len(statements) == 1
    assert sorted(r["event_id"] for r in rows) == sorted([ids["cheap"], ids["dear"]])
    assert {r["event_name"] for r in rows} == {"cheap", "dear"}
    assert rows == [server.store.get_event(project, r["event_id"]) for r in rows]
    other = server.store.create_project("other").id
    assert server.store.get_events(other, wanted) == []
    assert server.store.get_events(project, []) == []


def test_search_respects_the_date_range(server: LiveServer, api: httpx.Client) -> None:
    _seed(api)
    query = _sessions_only(search="zebra", start_ms=T0 + 10_000)
    assert server.store.query_events(_project_id(server), query)[0] == []


def test_session_outline_has_the_tree_and_timeline_fields_only(
    server: LiveServer, api: httpx.Client
) -> None:
    ids = _seed(api)
    outline = server.store.session_outline(_project_id(server), ids["dear"])
    session, model = outline
    assert session["event_id"] == ids["dear"] and session["event_type"] == "session"
    assert model == {
        "event_id": model["event_id"],
        "parent_id": ids["dear"],
        "event_type": "model",
        "event_name": "chat",
        "start_time": T0 + 101,
        "end_time": T0 + 111,
        "duration": 10.0,
        "error": "rate limited",
        "model": "model-dear",
        "total_tokens": 20,
        "cost": 0.5,
    }
    assert server.store.session_outline(_project_id(server), str(uuid.uuid4())) == []


@pytest.fixture
def empty_store(tmp_path: Path, store_kind: str) -> Iterator[Store]:
    """A second, never bootstrapped store of the same engine: a copy target."""
    target = tmp_path / "target"
    target.mkdir()
    store = open_store(fresh_database_url(store_kind, target))
    store.open()
    yield store
    store.close()


def test_rows_and_tenancy_copy_in_key_order(
    server: LiveServer, api: httpx.Client, empty_store: Store
) -> None:
    _seed(api)
    # An update before its event leaves a pending row: copied too.
    pending = api.put("/events", json={"event_id": str(uuid.uuid4()), "metadata": {"a": 1}})
    assert pending.status_code == 200, pending.text
    # A project's own price travels with its project.
    price = api.post("/v1/prices", json={"provider": "openai", "model": "m", "rates": {"input": 1}})
    assert price.status_code == 200, price.text
    source = server.store
    everything = source.scan_rows(None, 1000)
    keys = [(r["project_id"], r["event_id"]) for r in everything]
    assert keys == sorted(keys) and len(keys) == 7
    assert source.last_key() == keys[-1]
    assert source.count_rows() == {_project_id(server): 7}
    # Paging by the last key seen walks the same rows.
    walked, after = [], None
    while batch := source.scan_rows(after, 3):
        walked += batch
        after = (batch[-1]["project_id"], batch[-1]["event_id"])
    assert walked == everything

    empty_store.import_tenancy(source.export_tenancy())
    empty_store.import_tenancy(source.export_tenancy())  # idempotent
    empty_store.put_rows(everything[:4])
    empty_store.put_rows(everything)  # a resumed copy re-puts rows
    assert empty_store.scan_rows(None, 1000) == everything
    assert empty_store.last_key() == source.last_key()
    assert empty_store.export_tenancy() == source.export_tenancy()
    assert empty_store.list_prices() == source.list_prices() != []
    # The copied key signs in on the target.
    principal = empty_store.authenticate(server.key)
    assert principal is not None and principal.project.id == _project_id(server)


@pytest.mark.parametrize("descending", [True, False], ids=["desc", "asc"])
@pytest.mark.parametrize("sort", ["duration", "start_time", "cost"])
def test_keyset_pages_walk_the_same_order_as_one_page(
    server: LiveServer, api: httpx.Client, sort: SortKey, descending: bool
) -> None:
    _seed(api)
    sid = str(uuid.uuid4())
    # Ties on start time, duration and cost, broken by event id.
    events = [
        {
            "session_id": sid,
            "event_type": "tool",
            "event_name": f"t{i}",
            "start_time": T0 + i % 3,
            "duration": float(i % 2),
        }
        for i in range(11)
    ]
    assert api.post("/events/batch", json={"events": events}).status_code == 200
    project = _project_id(server)
    whole, _ = server.store.query_events(
        project, EventQuery(sort=sort, descending=descending, limit=100)
    )
    walked: list[str] = []
    after = None
    while True:
        page, total = server.store.query_events(
            project,
            EventQuery(sort=sort, descending=descending, limit=4, after=after, count_total=False),
        )
        assert total is None
        if not page:
            break
        walked += [r["event_id"] for r in page]
        last = page[-1]
        after = (last[sort], last["event_id"])  # type: ignore[literal-required]
    assert walked == [r["event_id"] for r in whole]
    assert len(walked) == 11 + 1 + 3 * 2


def test_search_finds_a_session_by_events_after_the_date_range(
    server: LiveServer, api: httpx.Client
) -> None:
    """The range selects sessions by their start; their later events still count."""
    ids = _seed(api)
    late = {
        "session_id": ids["cheap"],
        "event_type": "tool",
        "event_name": "late",
        "start_time": T0 + 3_600_000,
        "outputs": {"text": "a Quokka appeared"},
    }
    assert api.post("/events/batch", json={"events": [late]}).status_code == 200
    query = _sessions_only(search="quokka", start_ms=T0 - 1, end_ms=T0 + 10)
    rows, _ = server.store.query_events(_project_id(server), query)
    assert [r["event_id"] for r in rows] == [ids["cheap"]]

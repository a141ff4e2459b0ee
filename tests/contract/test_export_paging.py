"""A page of export, search or `GET /events` read in many small batches is the page:
the same events, in the same order, whatever rows the batch boundaries fall between.

The server reads at most `export_read_bytes` of stored rows at once; set to 4 KiB
against rows of 0.5 to 7 KB (and ties on `start_time`, broken by `event_id`), a page
of 50 is read in dozens of queries, each starting after the last row of the one
before.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.server import LiveServer, run_server

T0 = 1_795_694_400_000.0
ROWS = 130
WIDTHS = (10, 300, 2500, 40, 6000, 900, 120)
NOT_SESSIONS = [{"field": "event_type", "operator": "is not", "value": "session"}]


def _event(i: int) -> dict[str, object]:
    """Event `i`: ids out of insertion order, start times tied in threes, every fifth
    event the parent of the four after it."""
    return {
        "event_id": _id(i),
        "session_id": "paging",
        "parent_id": _id(i - i % 5) if i % 5 else "paging",
        "event_type": "chain" if i % 5 == 0 else "tool",
        "event_name": f"step-{i}",
        "start_time": T0 + (i // 3) * 1000,
        "inputs": {"doc": f"{i:03d}" + "y" * WIDTHS[i % len(WIDTHS)]},
    }


def _id(i: int) -> str:
    return f"e{(i * 7919) % 10007:05d}"


EVENTS = [_event(i) for i in range(ROWS)]
ORDER = [e["event_id"] for e in sorted(EVENTS, key=lambda e: (e["start_time"], e["event_id"]))]
BY_ID = {e["event_id"]: e for e in EVENTS}
CHILDREN = {
    parent: sorted(str(e["event_id"]) for e in EVENTS if e["parent_id"] == parent)
    for parent in BY_ID
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, module_store: str) -> Iterator[LiveServer]:
    data = Path(tmp_path_factory.mktemp("paging"))
    with run_server(data, module_store, export_read_bytes=4096) as server:
        with server.client() as api:
            answer = api.post("/events/batch", json={"events": EVENTS})
            assert answer.status_code == 200, answer.text
        yield server


@pytest.fixture
def api(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as client:
        yield client


def _post(api: httpx.Client, path: str, **body: object) -> dict:
    answer = api.post(path, json={"filters": NOT_SESSIONS, **body})
    assert answer.status_code == 200, answer.text
    page: dict = answer.json()
    assert list(page) == ["events", "totalEvents", "count"]
    assert page["totalEvents"] == page["count"] == ROWS
    return page


@pytest.mark.parametrize("path", ["/v1/events/export", "/v1/events/search"])
def test_page_two_of_fifty_is_rows_fifty_to_a_hundred(api: httpx.Client, path: str) -> None:
    page = _post(api, path, limit=50, page=2)
    assert [e["event_id"] for e in page["events"]] == ORDER[50:100]
    for event in page["events"]:
        sent = BY_ID[event["event_id"]]
        assert event["inputs"] == sent["inputs"]
        assert event["event_name"] == sent["event_name"]
        assert event["parent_id"] == sent["parent_id"]
        assert sorted(event["children_ids"]) == CHILDREN[event["event_id"]]


def test_every_page_in_turn_holds_every_row_once(api: httpx.Client) -> None:
    pages = [_post(api, "/v1/events/export", limit=50, page=n)["events"] for n in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [50, 50, 30, 0]
    assert [e["event_id"] for p in pages for e in p] == ORDER
    whole = _post(api, "/v1/events/export", limit=ROWS)["events"]
    assert whole == [e for p in pages for e in p]


def test_descending_pages_run_the_other_way(api: httpx.Client) -> None:
    page = _post(api, "/v1/events/export", limit=50, page=2, sort_order="desc")
    assert [e["event_id"] for e in page["events"]] == ORDER[::-1][50:100]


def test_projections_apply_to_every_row_of_every_batch(api: httpx.Client) -> None:
    page = _post(
        api, "/v1/events/export", limit=50, page=2, projections=["inputs.doc", "children_ids"]
    )
    assert [e["event_id"] for e in page["events"]] == ORDER[50:100]
    for event in page["events"]:
        assert set(event) == {"event_id", "inputs", "children_ids"}
        assert event["inputs"]["doc"] == BY_ID[event["event_id"]]["inputs"]["doc"]  # type: ignore[index]
        assert sorted(event["children_ids"]) == CHILDREN[event["event_id"]]


def test_the_legacy_list_pages_the_same(api: httpx.Client) -> None:
    params = {"filters": orjson.dumps(NOT_SESSIONS).decode(), "limit": 50, "page": 2}
    answer = api.get("/events", params=params)
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert list(page) == ["events", "totalEvents"]
    assert page["totalEvents"] == ROWS
    assert [e["event_id"] for e in page["events"]] == ORDER[50:100]

"""`GET /v1/sessions`: the sessions of the project, with the web UI list's filters,
search, sort and paging, and an exact total."""

from __future__ import annotations

import httpx
import orjson
import pytest


def _start(api: httpx.Client, name: str, start: float, **more: object) -> str:
    answer = api.post("/v1/sessions", json={"session_name": name, "start_time": start, **more})
    assert answer.status_code == 200, answer.text
    session_id: str = answer.json()["session_id"]
    return session_id


@pytest.fixture
def sessions(api: httpx.Client) -> dict[str, str]:
    ids = {
        "old": _start(api, "old", 1_000, source="prod"),
        "mid": _start(api, "mid", 2_000, source="staging", inputs={"q": "parcel 42"}),
        "new": _start(api, "new", 3_000, source="prod"),
    }
    events = [
        {"session_id": ids["old"], "event_type": "tool", "event_name": "a", "start_time": 1_100,
         "error": "boom"},
        {"session_id": ids["old"], "event_type": "tool", "event_name": "b", "start_time": 1_200},
        {"session_id": ids["new"], "event_type": "model", "event_name": "llm",
         "start_time": 3_100, "outputs": {"content": "the answer is tracked"}},
    ]  # fmt: skip
    assert api.post("/events/batch", json={"events": events}).status_code == 200
    return ids


def _names(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [s["event_name"] for s in answer.json()["sessions"]]


def test_lists_sessions_newest_first_with_roll_ups(
    api: httpx.Client, sessions: dict[str, str]
) -> None:
    answer = api.get("/v1/sessions")
    assert _names(answer) == ["new", "mid", "old"]
    body = answer.json()
    assert body["totalSessions"] == 3
    old = body["sessions"][2]
    assert old["event_id"] == sessions["old"] and old["event_type"] == "session"
    assert (old["metadata"]["num_events"], old["metadata"]["error_count"]) == (2, 1)


def test_filters_search_sort_and_pages(api: httpx.Client, sessions: dict[str, str]) -> None:
    prod = [{"field": "source", "operator": "is", "value": "prod", "type": "string"}]
    answer = api.get("/v1/sessions", params={"filters": orjson.dumps(prod).decode()})
    assert _names(answer) == ["new", "old"] and answer.json()["totalSessions"] == 2
    # The search finds a session by its own inputs, or by any of its events.
    assert _names(api.get("/v1/sessions", params={"q": "PARCEL"})) == ["mid"]
    assert _names(api.get("/v1/sessions", params={"q": "tracked"})) == ["new"]
    by_events = api.get("/v1/sessions", params={"sort_by": "num_events", "sort_order": "desc"})
    assert _names(by_events)[0] == "old"
    assert _names(api.get("/v1/sessions", params={"sort_order": "asc"})) == ["old", "mid", "new"]
    page2 = api.get("/v1/sessions", params={"limit": "2", "page": "2"})
    assert _names(page2) == ["old"] and page2.json()["totalSessions"] == 3
    ranged = api.get("/v1/sessions", params={"dateRange": '{"$gte": 1500, "$lte": 2500}'})
    assert _names(ranged) == ["mid"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort_by": "event_name"}, "sort_by"),
        ({"sort_order": "sideways"}, "sort_order"),
        ({"limit": "0"}, "limit"),
        ({"filters": "[{]"}, "filters"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(
    api: httpx.Client, params: dict[str, str], field: str
) -> None:
    answer = api.get("/v1/sessions", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field

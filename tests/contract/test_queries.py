"""Export, search, list and charts over HTTP."""

from __future__ import annotations

import urllib.parse
import uuid

import httpx
import orjson

HOUR_MS = 3_600_000
T0 = 1_795_694_400_000.0  # 2026-11-26T12:00:00Z, on an hour boundary


def _seed(api: httpx.Client) -> str:
    sid = str(uuid.uuid4())
    events = [
        {
            "event_type": "model",
            "event_name": "llm",
            "start_time": T0 + i * 60_000,
            "duration": 100.0 * (i + 1),
            "metadata": {"cost": 0.01 * i, "model": "a" if i % 2 else "b"},
            "feedback": {"rating": i % 5},
            "user_properties": {"user_id": f"u{i % 3}"},
            "inputs": {"chat_history": [{"role": "user", "content": f"question {i}"}]},
        }
        for i in range(10)
    ] + [
        {
            "event_type": "tool",
            "event_name": "search",
            "start_time": T0 + HOUR_MS + i,
            "duration": 5,
            "error": "boom" if i == 0 else None,
        }
        for i in range(4)
    ]
    for event in events:
        event["session_id"] = sid
    assert api.post("/events/batch", json={"events": events}).status_code == 200
    return sid


def _export(api: httpx.Client, **body: object) -> dict:
    got = api.post("/v1/events/export", json=body)
    assert got.status_code == 200, got.text
    answer: dict = got.json()
    assert answer["totalEvents"] == answer["count"]
    return answer


def test_export_filters_nested_fields(api: httpx.Client) -> None:
    sid = _seed(api)

    def names(filters: list) -> int:
        return _export(api, filters=filters)["totalEvents"]

    session = {"field": "session_id", "operator": "is", "value": sid, "type": "string"}
    assert names([session]) == 15
    assert names([session, {"field": "event_type", "operator": "is", "value": "model"}]) == 10
    # Four model events, and the session whose summed cost (0.45) is a roll-up.
    assert (
        names(
            [
                {
                    "field": "metadata.cost",
                    "operator": "greater than",
                    "value": "0.05",
                    "type": "number",
                }
            ]
        )
        == 5
    )
    assert (
        names([{"field": "feedback.rating", "operator": "is", "value": "0", "type": "number"}]) == 2
    )
    assert (
        names(
            [
                {
                    "field": "user_properties.user_id",
                    "operator": "is not",
                    "value": "u0",
                    "type": "string",
                }
            ]
        )
        == 15 - 4
    )
    assert names([{"field": "error", "operator": "exists"}]) == 1
    assert names([{"field": "inputs", "operator": "contains", "value": "QUESTION 7"}]) == 1
    assert (
        names([{"field": "duration", "operator": "less than", "value": 300, "type": "number"}])
        == 2 + 4
    )
    assert (
        names(
            [
                {
                    "field": "start_time",
                    "operator": "after",
                    "value": "2026-11-26T12:30:00Z",
                    "type": "datetime",
                }
            ]
        )
        == 4
    )


def test_export_paging_projection_and_date_range(api: httpx.Client) -> None:
    _seed(api)
    page = _export(
        api,
        filters=[{"field": "event_type", "operator": "is", "value": "model"}],
        limit=3,
        page=2,
        projections=["event_name", "metadata.cost"],
    )
    assert page["totalEvents"] == 10
    assert len(page["events"]) == 3
    assert [set(e) for e in page["events"]] == [{"event_id", "event_name", "metadata"}] * 3
    assert [e["metadata"]["cost"] for e in page["events"]] == [0.03, 0.04, 0.05]
    ranged = _export(api, dateRange={"$gte": "2026-11-26T13:00:00Z", "$lte": T0 + 2 * HOUR_MS})
    assert ranged["totalEvents"] == 4


def test_session_rollups_are_filterable(api: httpx.Client) -> None:
    _seed(api)
    sessions = _export(
        api,
        filters=[
            {"field": "event_type", "operator": "is", "value": "session"},
            {
                "field": "metadata.num_events",
                "operator": "greater than",
                "value": "13",
                "type": "number",
            },
        ],
    )
    assert sessions["totalEvents"] == 1
    assert sessions["events"][0]["metadata"]["num_events"] == 14


def test_legacy_list_with_query_parameters(api: httpx.Client) -> None:
    _seed(api)
    filters = orjson.dumps([{"field": "event_name", "operator": "is", "value": "search"}])
    query = urllib.parse.urlencode({"filters": filters.decode(), "limit": 2, "page": 1})
    got = api.get(f"/events?{query}").json()
    assert got["totalEvents"] == 4
    assert len(got["events"]) == 2


def test_chart_buckets_and_groups(api: httpx.Client) -> None:
    _seed(api)
    params = {
        "metric": "duration",
        "bucket": "hour",
        "aggregation": "p50",
        "groupBy": "event_name",
        "filters": orjson.dumps(
            [{"field": "event_type", "operator": "is not", "value": "session"}]
        ).decode(),
    }
    got = api.get("/v1/events/chart", params=params).json()
    by_group = {b["group"]: b for b in got["events"]}
    assert set(by_group) == {"llm", "search"}
    assert by_group["llm"]["count"] == 10
    assert by_group["llm"]["value"] == by_group["llm"]["p50"] == 550
    assert by_group["llm"]["max"] == 1000
    assert by_group["search"]["bucket_start_ms"] == T0 + HOUR_MS
    assert got["totalEvents"] == 14

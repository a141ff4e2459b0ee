"""Numbers no engine or parser can hold: a 400 naming the parameter, never a 500.

Python's int() refuses decimal strings of more than 4300 digits, SQLite binds no
integer past 2**63, datetimes end at year 9999 and float sums overflow: each of those
limits sits behind a query parameter, a body field or a stored value somewhere. One
server per store and module; the tests only read or add data of their own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from hivekeeper.domain.events import MAX_TIME_MS
from tests.support.server import LiveServer, run_app

HUGE = "9" * 5000  # past Python's 4300-digit limit for int(str)
# Messages quote what they refuse, but never thousands of digits of it.
MAX_MESSAGE_CHARS = 300


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, module_store: str) -> Iterator[LiveServer]:
    with run_app(tmp_path_factory.mktemp("numbers"), module_store) as server:
        yield server


@pytest.fixture
def api(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as client:
        yield client


def _refused(answer: httpx.Response, field: str) -> dict[str, object]:
    assert answer.status_code == 400, answer.text
    body: dict[str, object] = answer.json()
    assert body["errorCode"] == "VALIDATION_ERROR", body
    assert body["field"] == field, body
    assert len(str(body["message"])) <= MAX_MESSAGE_CHARS, body["message"]
    return body


def _post(api: httpx.Client, path: str, body: object, method: str = "POST") -> httpx.Response:
    # The stdlib encoder writes integers of any size (up to 4300 digits), as lax clients do.
    content = json.dumps(body)
    return api.request(method, path, content=content, headers={"content-type": "application/json"})


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/events", {"limit": HUGE}, "limit"),
        ("/events", {"limit": "-" + HUGE}, "limit"),
        ("/events", {"page": HUGE}, "page"),
        ("/events", {"page": str(10**20)}, "page"),
        ("/events", {"page": str(2**63)}, "page"),
        ("/events", {f"filters[{HUGE}][field]": "event_name"}, "filters"),
        ("/events", {f"filters[{HUGE}][operator]": "exists"}, "filters"),
        ("/events", {"dateRange[$gte]": HUGE}, "dateRange.$gte"),
        ("/v1/events/chart", {f"filters[{HUGE}][field]": "event_name"}, "filters"),
        ("/v1/events/chart", {"dateRange[$lte]": "-" + HUGE}, "dateRange.$lte"),
        ("/v1/events/chart", {"bucket": HUGE}, "bucket"),
    ],
)
def test_oversized_query_parameters_name_the_parameter(
    api: httpx.Client, path: str, params: dict[str, str], field: str
) -> None:
    _refused(api.get(path, params=params), field)


def test_long_but_small_numbers_are_still_numbers(api: httpx.Client) -> None:
    """Leading zeros make a long string, not a large number: page 1 of 1 event."""
    event_id = str(uuid.uuid4())
    assert _post(api, "/events", {"event": {"event_type": "tool", "event_id": event_id}}).is_success
    answer = api.get(
        "/events",
        params={
            "page": "0" * 5000 + "1",
            "limit": "0" * 5000 + "7500",
            "filters[0000000000000000000000000000][field]": "event_id",
            "filters[0000000000000000000000000000][operator]": "is",
            "filters[0000000000000000000000000000][value]": event_id,
        },
    )
    assert answer.status_code == 200, answer.text
    assert [e["event_id"] for e in answer.json()["events"]] == [event_id]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"page": 2**63}, "page"),
        ({"page": 2**64 + 1}, "page"),
        ({"page": 1e300}, "page"),
        ({"page": -(2**63) - 1}, "page"),
        ({"limit": 10**30}, "limit"),
        ({"page": str(10**4000)}, "page"),
        ({"limit": "9" * 4400}, "limit"),
        ({"dateRange": {"$gte": 1e308}}, "dateRange.$gte"),
        ({"dateRange": {"$lte": -1e308}}, "dateRange.$lte"),
        ({"dateRange": {"$gte": HUGE}}, "dateRange.$gte"),
        ({"dateRange": {"$gte": "NaN"}}, "dateRange.$gte"),
        ({"dateRange": {"$gte": "-Infinity"}}, "dateRange.$gte"),
        ({"dateRange": {"relative": HUGE + "d"}}, "dateRange.relative"),
        (
            {
                "filters": [
                    {"field": "metadata.cost", "operator": "is", "value": HUGE, "type": "number"}
                ]
            },
            "filters[0].value",
        ),
        (
            {"filters": [{"field": "start_time", "operator": "after", "value": -1e308}]},
            "filters[0].value",
        ),
    ],
)
def test_oversized_export_bodies_name_the_field(
    api: httpx.Client, body: dict[str, object], field: str
) -> None:
    for path in ("/v1/events/export", "/v1/events/search"):
        _refused(_post(api, path, body), field)


@pytest.mark.parametrize(
    "condition",
    [
        {"operator": "is", "value": "1" * 100_000 + "x", "type": "number"},
        {"operator": "greater than", "value": "1" * 100_000 + "." + "1" * 100_000 + "e"},
    ],
)
def test_long_runs_of_digits_are_refused_at_once(
    api: httpx.Client, condition: dict[str, str]
) -> None:
    """Not a number, refused in linear time (also when the type is inferred): the old
    pattern tried every split of the digits, holding the event loop, and with it every
    other request, for minutes."""
    filters = [{"field": "metadata.cost", **condition}]
    _refused(_post(api, "/v1/events/export", {"filters": filters}), "filters[0].value")


@pytest.mark.parametrize("value", [2**63, 2**64 - 1, -(2**63), 1e308, -1e308])
def test_number_filters_past_int64_compare_as_numbers(api: httpx.Client, value: float) -> None:
    """A stored value past every engine's integer type is found by a number filter."""
    event_id = str(uuid.uuid4())
    marker = str(uuid.uuid4())
    event = {"event_type": "tool", "event_id": event_id, "metadata": {"n": value, "m": marker}}
    assert _post(api, "/events", {"event": event}).status_code == 200
    filters = [
        {"field": "metadata.m", "operator": "is", "value": marker, "type": "string"},
        {"field": "metadata.n", "operator": "is", "value": value, "type": "number"},
    ]
    found = _post(api, "/v1/events/export", {"filters": filters})
    assert found.status_code == 200, found.text
    assert [e["event_id"] for e in found.json()["events"]] == [event_id]
    filters[1] = {"field": "metadata.n", "operator": "less than", "value": value, "type": "number"}
    assert _post(api, "/v1/events/export", {"filters": filters}).json()["events"] == []


@pytest.mark.parametrize("field", ["start_time", "end_time", "duration"])
@pytest.mark.parametrize(
    "value", [1e308, -1e308, "NaN", "Infinity", "-1e400", HUGE, MAX_TIME_MS + 1]
)
def test_event_times_outside_the_storable_range(
    api: httpx.Client, field: str, value: object
) -> None:
    event_id = str(uuid.uuid4())
    event = {"event_type": "tool", "event_id": event_id, field: value}
    _refused(_post(api, "/events", {"event": event}), f"event.{field}")
    _refused(_post(api, "/events/batch", {"events": [event]}), f"events[0].{field}")
    _refused(_post(api, "/v1/sessions", {"session_id": event_id, field: value}), f"session.{field}")
    _refused(_post(api, f"/v1/events/{event_id}", {field: value}, "PUT"), f"body.{field}")
    assert api.get(f"/v1/events/{event_id}").status_code == 404


def test_chart_of_values_whose_sum_overflows(api: httpx.Client) -> None:
    """1e308 + 1e308 - 1e308 is 1e308, though no double holds the partial sum; the
    median of -1e308 and 1e308 is 0, though their difference overflows."""
    marker = str(uuid.uuid4())
    t0 = 1_795_694_400_000
    events = [
        {"event_type": "model", "start_time": t0 + i, "metadata": {"cost": cost, "m": marker}}
        for i, cost in enumerate([1e308, 1e308, -1e308])
    ]
    assert _post(api, "/events/batch", {"events": events}).status_code == 200

    def chart(aggregation: str, *filters: dict[str, object]) -> dict[str, object]:
        mine = {"field": "metadata.m", "operator": "is", "value": marker}
        answer = api.get(
            "/v1/events/chart",
            params={
                "metric": "metadata.cost",
                "aggregation": aggregation,
                "bucket": "month",
                "filters": json.dumps([mine, *filters]),
            },
        )
        assert answer.status_code == 200, answer.text
        [point] = answer.json()["events"]
        assert isinstance(point, dict)
        return point

    total = chart("sum")
    assert (total["count"], total["sum"], total["value"]) == (3, 1e308, 1e308)
    assert (total["min"], total["max"], total["p50"]) == (-1e308, 1e308, 1e308)
    later = {"field": "start_time", "operator": "greater than", "value": t0, "type": "number"}
    assert chart("p50", later)["value"] == 0.0


@pytest.mark.parametrize(
    "span",
    [
        {"kind": HUGE},
        {"kind": "²"},
        {"status": {"code": HUGE}},
        {"status": {"code": "³"}},
    ],
)
def test_otlp_enum_numbers_of_any_length(api: httpx.Client, span: dict[str, object]) -> None:
    """An unknown kind or status number is unknown, however many digits it has."""
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": uuid.uuid4().hex,
                                "spanId": "00000000000000ab",
                                "name": "odd-enum",
                                "startTimeUnixNano": "1795694400000000000",
                                "endTimeUnixNano": "1795694400000000001",
                                **span,
                            }
                        ]
                    }
                ]
            }
        ]
    }
    answer = _post(api, "/opentelemetry/v1/traces", body)
    assert answer.status_code == 200, answer.text
    assert "partialSuccess" not in answer.json()

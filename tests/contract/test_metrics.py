"""`GET /metrics`: Prometheus text that counts requests, ingestion, rejections and commits."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.support.otlp_json import JsonTrace
from tests.support.overload import SESSION_ID, full_write_queue
from tests.support.server import LiveServer, run_app

_Labels = dict[str, str]


def _samples(api: httpx.Client) -> list[Sample]:
    answer = api.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return [s for family in text_string_to_metric_families(answer.text) for s in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 if none)."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def test_metrics_parse_and_need_no_key(server: LiveServer) -> None:
    with server.anonymous() as anonymous:
        samples = _samples(anonymous)
    names = {s.name for s in samples}
    for name in (
        "hivekeeper_writer_queued_ops",
        "hivekeeper_writer_queue_limit_ops",
        "hivekeeper_writer_batch_ops_count",
        "hivekeeper_writer_commit_duration_seconds_count",
        "hivekeeper_ingested_events_total",
        "hivekeeper_otlp_spans_total",
    ):
        assert name in names
    assert _value(samples, "hivekeeper_writer_queue_limit_ops") == server.settings.max_queue_ops


def test_counters_move_by_what_was_sent(tmp_path: Path, store_kind: str) -> None:
    with (
        run_app(tmp_path, store_kind, max_queue_ops=2, max_batch_ops=1) as live,
        live.client() as api,
    ):
        before = _samples(api)
        events = [{"event_type": "tool", "session_id": "s-metrics"} for _ in range(3)]
        assert api.post("/events/batch", json={"events": events}).status_code == 200
        trace = JsonTrace(spans=5, bad_spans=1)
        exported = api.post(
            "/opentelemetry/v1/traces",
            content=trace.body(),
            headers={"Content-Type": "application/json"},
        )
        assert exported.status_code == 200, exported.text
        assert exported.json()["partialSuccess"]["rejectedSpans"] in (1, "1")
        with full_write_queue(live, api) as pending:
            refused = api.post("/events", json={"event": {"event_type": "tool"}})
            assert refused.status_code == 429
        assert [f.result().status_code for f in pending] == [200] * 3
        with live.client(key="hh_not_a_key") as stranger:
            assert stranger.get(f"/v1/sessions/{SESSION_ID}").status_code == 401
        assert api.get(f"/v1/sessions/{SESSION_ID}").status_code == 200
        after = _samples(api)
        project_ids = [p.id for p in live.store.list_projects()]
        text = api.get("/metrics").text

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    requests = "hivekeeper_http_requests_total"
    assert moved(requests, route="/events/batch", method="POST", status="200") == 1
    assert moved(requests, route="/opentelemetry/v1/traces", method="POST", status="200") == 1
    assert moved(requests, route="/events", method="POST", status="200") == 3
    assert moved(requests, route="/events", method="POST", status="429") == 1
    assert moved(requests, route="/v1/sessions/{session_id}", method="GET", status="401") == 1
    assert moved(requests, route="/v1/sessions/{session_id}", method="GET", status="200") == 1
    assert moved("hivekeeper_http_request_duration_seconds_count", route="/events") == 4

    rejected = "hivekeeper_http_rejected_requests_total"
    assert moved(rejected, reason="overloaded") == 1
    assert moved(rejected, reason="unauthorized") == 1
    assert moved(rejected) == 2

    assert moved("hivekeeper_ingested_events_total") == 3 + 3  # the batch, the queue's three
    assert moved("hivekeeper_otlp_spans_total", outcome="accepted") == 5
    assert moved("hivekeeper_otlp_spans_total", outcome="rejected") == 1

    # With max_batch_ops=1, each request's writes were a transaction of their own ...
    assert moved("hivekeeper_writer_commit_duration_seconds_count") == 1 + 1 + 3
    assert moved("hivekeeper_writer_batch_ops_count") == 1 + 1 + 3
    assert moved("hivekeeper_writer_batch_ops_sum") >= 3 + 5 + 3
    assert _value(after, "hivekeeper_writer_queued_ops") == 0

    # ... and nothing identifies a tenant: no raw path, session id, project id or key.
    assert "s-metrics" not in text and SESSION_ID not in text
    assert live.key not in text and "hh_" not in text
    for project_id in project_ids:
        assert project_id not in text


def test_unmatched_paths_do_not_become_labels(api: httpx.Client) -> None:
    assert api.get("/no/such/route/12345").status_code == 404
    samples = _samples(api)
    routes = {s.labels.get("route") for s in samples if "route" in s.labels}
    assert "unmatched" in routes
    assert not any("12345" in route for route in routes if route)

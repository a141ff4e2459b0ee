"""Data care on a running server: the retention job and redaction before storage."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from hivekeeper.domain.retention import DAY_MS
from hivekeeper.ingest.span_mapping import span_event_id
from tests.support.poll import eventually
from tests.support.retention import RETENTION_SEEN, a_whole_run_since, expired_pending
from tests.support.server import LiveServer, run_app

SECRET = "sk-live-" + "Q7x9Lm2Pz8Rt4Wv6Yb3N"
PATTERN = r"sk-live-[A-Za-z0-9]{20}"


@pytest.fixture
def care_server(tmp_path: Path, store_kind: str) -> Iterator[LiveServer]:
    """A server whose retention job runs every 0.2 s, and whose runs can be seen."""
    with run_app(tmp_path, store_kind, retention_interval_s=0.2, **RETENTION_SEEN) as live:
        yield live


def _session_with_events(api: httpx.Client, *starts: float) -> str:
    sid = str(uuid.uuid4())
    answer = api.post("/v1/sessions", json={"session_id": sid, "start_time": starts[0]})
    assert answer.status_code == 200, answer.text
    events = [
        {
            "event_type": "model",
            "event_name": f"llm-{i}",
            "start_time": start,
            "duration": 10.0,
            "metadata": {"total_tokens": 7, "cost": 0.25},
        }
        for i, start in enumerate(starts)
    ]
    answer = api.post(f"/v1/sessions/{sid}/events/batch", json={"events": events})
    assert answer.status_code == 200, answer.text
    return sid


def _exists(api: httpx.Client, sid: str) -> bool:
    status = api.get(f"/v1/sessions/{sid}").status_code
    assert status in (200, 404)
    return status == 200


def test_retention_deletes_old_sessions_whole_and_keeps_the_rest(
    care_server: LiveServer,
) -> None:
    now = time.time() * 1000
    old = now - 40 * DAY_MS
    care_server.store.create_project("keep-all")
    other_key = care_server.new_key("keep-all")
    with care_server.client() as api, care_server.client(other_key) as other:
        expired = [_session_with_events(api, old, old + 1000) for _ in range(3)]
        revived = _session_with_events(api, old, now - DAY_MS)  # a recent event
        recent = _session_with_events(api, now - 20 * DAY_MS)
        elsewhere = _session_with_events(other, old)
        a_whole_run_since(api)  # and found nothing due
        assert all(_exists(api, sid) for sid in expired)

        care_server.store.set_retention("default", 30)
        eventually(lambda: not any(_exists(api, sid) for sid in expired), timeout_s=15)
        for sid in expired:
            tree = api.post(
                "/v1/events/export",
                json={
                    "filters": [
                        {"field": "session_id", "operator": "is", "value": sid, "type": "string"}
                    ]
                },
            )
            assert tree.json()["totalEvents"] == 0  # no event of it is left behind
        kept = api.get(f"/v1/sessions/{revived}").json()
        assert kept["metadata"]["num_events"] == 2
        assert kept["metadata"]["total_tokens"] == 14
        assert kept["metadata"]["cost"] == 0.5
        assert len(kept["children"]) == 2
        assert _exists(api, recent)
        assert _exists(other, elsewhere)  # its project keeps data forever

        care_server.store.set_retention("default", 10)
        eventually(lambda: not _exists(api, recent), timeout_s=15)
        assert _exists(api, revived)


def _otlp_json(session_id: str, value: str) -> tuple[bytes, str]:
    trace_id, span_id = uuid.uuid4().hex, "00000000000000a1"
    start = time.time_ns()
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": "llm-call",
        "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 5_000_000),
        "attributes": [
            {"key": "honeyhive.session_id", "value": {"stringValue": session_id}},
            {"key": "honeyhive_event_type", "value": {"stringValue": "model"}},
            {"key": "honeyhive_inputs.prompt", "value": {"stringValue": f"use {value}"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": value}},
        ],
        "status": {"code": "STATUS_CODE_ERROR", "message": f"bad key {value}"},
    }
    body = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [span]}]}]}
    return orjson.dumps(body), span_event_id(trace_id, span_id)


def test_redaction_rules_apply_to_rest_and_otlp_before_storage(care_server: LiveServer) -> None:
    rule = care_server.store.add_redaction("default", PATTERN, "[REDACTED]")
    with care_server.client() as api:
        # A rule added on a live server applies within a few seconds: probe until it does.
        def probe_redacted() -> bool:
            probe = "sk-live-" + uuid.uuid4().hex[:20]
            answer = api.post("/v1/sessions", json={"session_name": probe}).json()
            return bool(answer["event_name"] == "[REDACTED]")

        eventually(probe_redacted, timeout_s=15)

        sid = str(uuid.uuid4())
        session = api.post(
            "/v1/sessions",
            json={"session_id": sid, "inputs": {"q": f"key={SECRET}"}, "metadata": {"k": SECRET}},
        ).json()
        assert session["inputs"] == {"q": "key=[REDACTED]"}
        assert session["metadata"]["k"] == "[REDACTED]"
        batch = api.post(
            "/events/batch",
            json={
                "events": [
                    {
                        "session_id": sid,
                        "event_type": "tool",
                        "event_name": "fetch",
                        "error": f"401: {SECRET} was refused",
                        "outputs": {"headers": [["authorization", f"Bearer {SECRET}"]]},
                        "config": {"api_key": SECRET},
                        "user_properties": {"note": SECRET},
                    }
                ]
            },
        ).json()
        event = api.get(f"/v1/events/{batch['event_ids'][0]}").json()["event"]
        assert event["error"] == "401: [REDACTED] was refused"
        assert event["outputs"] == {"headers": [["authorization", "Bearer [REDACTED]"]]}
        assert event["config"] == {"api_key": "[REDACTED]"}
        assert event["user_properties"] == {"note": "[REDACTED]"}
        update = api.put(f"/v1/events/{event['event_id']}", json={"feedback": {"c": SECRET}})
        assert update.status_code == 200
        assert api.get(f"/v1/events/{event['event_id']}").json()["event"]["feedback"] == {
            "c": "[REDACTED]"
        }

        body, span_event = _otlp_json(sid, SECRET)
        answer = api.post(
            "/opentelemetry/v1/traces", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200, answer.text
        span = api.get(f"/v1/events/{span_event}").json()["event"]
        assert span["inputs"]["prompt"] == "use [REDACTED]"
        assert SECRET not in orjson.dumps(span).decode()

        raw = b"".join(p.read_bytes() for p in care_server.settings.data_dir.glob("hivekeeper.db*"))
        assert SECRET.encode() not in raw

        care_server.store.remove_redaction(rule.id)
        eventually(lambda: not probe_redacted(), timeout_s=15)


def test_pending_updates_expire_and_are_counted(tmp_path: Path, store_kind: str) -> None:
    with (
        run_app(
            tmp_path, store_kind, retention_interval_s=0.2, pending_expiry_hours=1 / 3600
        ) as live,
        live.client() as api,
    ):
        assert expired_pending(api) == 0
        orphan, kept = str(uuid.uuid4()), str(uuid.uuid4())
        created = api.post("/events", json={"event": {"event_id": kept, "event_type": "tool"}})
        assert created.status_code == 200, created.text
        for event_id in (orphan, kept):
            answer = api.put("/events", json={"event_id": event_id, "metadata": {"late": 1}})
            assert answer.status_code == 200, answer.text
        eventually(lambda: expired_pending(api) == 1, timeout_s=15)
        assert api.delete(f"/v1/events/{orphan}").status_code == 404  # gone
        event = {"event_id": orphan, "event_type": "tool"}
        assert api.post("/events", json={"event": event}).status_code == 200
        assert api.get(f"/v1/events/{orphan}").json()["event"]["metadata"] == {}
        # A visible event is never a pending update, however old.
        assert api.get(f"/v1/events/{kept}").json()["event"]["metadata"] == {"late": 1}
        assert expired_pending(api) == 1

"""The server remembers which session a trace named: a span of the trace that names no
session joins it in a later export, on every store; after a restart the memory is
empty, and such a span lands in its trace's own session (nothing is lost either way)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from hivekeeper.ingest.span_mapping import span_event_id, trace_session_id
from tests.support.server import run_app

_START_NS = time.time_ns() - 60_000_000_000


def _export(trace_id: str, span_id: str, parent: str | None, **attributes: str) -> bytes:
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": f"span-{span_id[-1]}",
        "kind": "SPAN_KIND_INTERNAL",
        "startTimeUnixNano": str(_START_NS),
        "endTimeUnixNano": str(_START_NS + 1_000_000),
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
    }
    if parent:
        span["parentSpanId"] = parent
    scope_spans = [{"scope": {"name": "some.lib"}, "spans": [span]}]
    return orjson.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": scope_spans}]})


def _send(api: httpx.Client, body: bytes) -> None:
    answer = api.post("/v1/traces", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text


def _session_of(api: httpx.Client, trace_id: str, span_id: str) -> str:
    answer = api.get(f"/v1/events/{span_event_id(trace_id, span_id)}")
    assert answer.status_code == 200, answer.text
    session_id: str = answer.json()["event"]["session_id"]
    return session_id


def test_a_trace_keeps_its_named_session_across_exports_until_a_restart(
    tmp_path: Path, store_kind: str
) -> None:
    trace_id, chat = uuid.uuid4().hex, f"chat-{uuid.uuid4()}"
    root, child, late = "0" * 15 + "1", "0" * 15 + "2", "0" * 15 + "3"
    with run_app(tmp_path, store_kind) as first, first.client() as api:
        _send(api, _export(trace_id, root, None, **{"session.id": chat}))
        _send(api, _export(trace_id, child, root))
        assert _session_of(api, trace_id, child) == chat
        url, key = first.settings.database_url, first.key
    restarted = run_app(tmp_path, store_kind, key=key, database_url=url)
    with restarted as second, second.client() as api:
        _send(api, _export(trace_id, late, root))
        assert _session_of(api, trace_id, late) == trace_session_id(trace_id)
        assert _session_of(api, trace_id, child) == chat  # what was stored stays

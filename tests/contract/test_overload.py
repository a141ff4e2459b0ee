"""Overload over HTTP: a full write queue answers 429 with Retry-After, loses nothing."""

from __future__ import annotations

from pathlib import Path

from tests.support.overload import SESSION_ID, full_write_queue
from tests.support.server import run_app


def test_full_queue_is_429_with_retry_after(tmp_path: Path, store_kind: str) -> None:
    with (
        run_app(tmp_path, store_kind, max_queue_ops=2, max_batch_ops=1) as live,
        live.client() as api,
    ):
        with full_write_queue(live, api) as pending:
            event = {"event": {"event_type": "tool", "session_id": SESSION_ID}}
            refused = api.post("/events", json=event)
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "1"
            assert refused.json()["errorCode"] == "OVERLOADED"
        answers = [f.result() for f in pending]
        assert [a.status_code for a in answers] == [200, 200, 200]
        tree = api.get(f"/v1/sessions/{SESSION_ID}").json()
        assert tree["metadata"]["num_events"] == 3
        assert {c["event_id"] for c in tree["children"]} == {a.json()["event_id"] for a in answers}

"""SIGKILL at random moments under sustained REST and OTLP load loses nothing acknowledged.

The real `hivekeeper serve` process takes event batches (`POST /events/batch`) and OTLP
protobuf exports from several client threads; each client keeps what got a 2xx. The
server is killed with SIGKILL at a random moment of each short burst and restarted on
the same data directory, `KILLS` times. Then every acknowledged event must be stored
as sent, every session's roll-up must count exactly its stored events, and SQLite's
integrity checks must pass. A request cut off by a kill may or may not be stored: the
client was never told, so neither outcome is asserted.

The RNG seed is printed (shown on failure); set HIVEKEEPER_TEST_SEED to replay the
same kill moments and payloads (thread timing still differs from run to run).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from hivekeeper.ingest.span_mapping import span_event_id
from tests.support.otlp_protobuf import key_values
from tests.support.process import ServeProcess, serve_process

KILLS = 20
SESSIONS = 6
REST_CLIENTS, OTLP_CLIENTS = 2, 2
# Each burst of load lasts this long before the kill (seconds): long enough for many
# commits, short enough that 20 restarts (~1 s each to start) fit in CI's budget.
BURST_S = (0.05, 1.0)
EVENT_TYPES = ("tool", "model", "chain")
PROTOBUF = {"Content-Type": "application/x-protobuf"}


@dataclass
class Sent:
    """What clients had acknowledged, by event id, and what went wrong meanwhile."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    spans: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def test_acknowledged_writes_survive_repeated_kill_9(tmp_path: Path) -> None:
    seed = int(os.environ.get("HIVEKEEPER_TEST_SEED", time.time_ns()))
    print(f"crash safety seed: {seed}")
    rng = random.Random(seed)
    sessions = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(SESSIONS)]
    sent = Sent()
    key: str | None = None
    started = time.monotonic()
    for kill in range(KILLS):
        with serve_process(tmp_path, key=key) as served:
            key = served.key
            _burst_then_kill(served, rng, sessions, sent, rng.uniform(*BURST_S))
        assert not sent.problems, f"seed {seed}, kill {kill}: {sent.problems[:5]}"
    elapsed = time.monotonic() - started
    print(
        f"{KILLS} kills in {elapsed:.1f} s; acknowledged {len(sent.events)} events "
        f"and {len(sent.spans)} spans"
    )
    assert len(sent.events) > 500 and len(sent.spans) > 500, "too little load to mean much"

    with serve_process(tmp_path, key=key) as served, served.client() as api:
        probe = {"event_type": "tool", "session_id": sessions[0], "event_name": "after"}
        answer = api.post("/events", json={"event": probe})
        assert answer.status_code == 200, answer.text
        sent.events[answer.json()["event_id"]] = probe
        for event_id in rng.sample(sorted(sent.events), 20) + rng.sample(sorted(sent.spans), 20):
            assert api.get(f"/v1/events/{event_id}").status_code == 200, (seed, event_id)
        _assert_all_stored(tmp_path / "hivekeeper.db", sent, seed)


def _burst_then_kill(
    served: ServeProcess,
    rng: random.Random,
    sessions: list[str],
    sent: Sent,
    burst_s: float,
) -> None:
    stop = threading.Event()
    clients: list[Callable[[], None]] = [
        *(
            _rest_client(served, random.Random(rng.getrandbits(64)), sessions, sent, stop)
            for _ in range(REST_CLIENTS)
        ),
        *(
            _otlp_client(served, random.Random(rng.getrandbits(64)), sessions, sent, stop)
            for _ in range(OTLP_CLIENTS)
        ),
    ]
    threads = [threading.Thread(target=client) for client in clients]
    for thread in threads:
        thread.start()
    time.sleep(burst_s)
    served.proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: only commits remain
    served.proc.wait(10)
    stop.set()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive(), "a client hung after the kill"


def _rest_client(
    served: ServeProcess, rng: random.Random, sessions: list[str], sent: Sent, stop: threading.Event
) -> Callable[[], None]:
    def run() -> None:
        with served.client() as api:
            while not stop.is_set():
                batch = [_event(rng, sessions) for _ in range(rng.randint(1, 40))]
                try:
                    answer = api.post("/events/batch", json={"events": batch})
                except httpx.HTTPError:
                    return  # killed: this batch may or may not be stored
                if answer.status_code != 200:
                    sent.problems.append(f"/events/batch: {answer.status_code} {answer.text}")
                    return
                ids = answer.json()["event_ids"]
                if ids != [e["event_id"] for e in batch]:
                    sent.problems.append(f"/events/batch answered other ids: {ids[:3]}")
                sent.events.update((e["event_id"], e) for e in batch)

    return run


def _event(rng: random.Random, sessions: list[str]) -> dict[str, Any]:
    start_ms = 1.7e12 + rng.randrange(10**9)
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "session_id": rng.choice(sessions),
        "event_type": rng.choice(EVENT_TYPES),
        "event_name": f"step-{rng.randrange(1000)}",
        "inputs": {"question": "q" * rng.randrange(400), "n": rng.randrange(10**6)},
        "outputs": {"answer": "a" * rng.randrange(400), "ok": rng.random() < 0.5},
        "metadata": {"attempt": rng.randrange(5), "tags": ["crash", str(rng.random())]},
        "start_time": start_ms,
        "end_time": start_ms + rng.randrange(5000),
    }


def _otlp_client(
    served: ServeProcess, rng: random.Random, sessions: list[str], sent: Sent, stop: threading.Event
) -> Callable[[], None]:
    def run() -> None:
        with served.client() as api:
            while not stop.is_set():
                body, spans = _export_request(rng, sessions, rng.randint(1, 40))
                try:
                    answer = api.post("/opentelemetry/v1/traces", content=body, headers=PROTOBUF)
                except httpx.HTTPError:
                    return  # killed: this export may or may not be stored
                if answer.status_code != 200:
                    sent.problems.append(f"OTLP: {answer.status_code} {answer.content!r}")
                    return
                rejected = ExportTraceServiceResponse.FromString(answer.content).partial_success
                if rejected.rejected_spans:
                    sent.problems.append(f"OTLP rejected spans: {rejected.error_message}")
                sent.spans.update(spans)

    return run


def _export_request(
    rng: random.Random, sessions: list[str], count: int
) -> tuple[bytes, dict[str, dict[str, Any]]]:
    """One ExportTraceServiceRequest of `count` spans of one trace, and what each span
    must become, by event id."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values({"service.name": "crash-safety"}))
    scope_spans = resource_spans.scope_spans.add()
    trace_id = rng.randbytes(16)
    session_id = rng.choice(sessions)
    expected: dict[str, dict[str, Any]] = {}
    for _ in range(count):
        span = scope_spans.spans.add()
        span.trace_id = trace_id
        span.span_id = rng.randbytes(8)
        span.name = f"span-{rng.randrange(1000)}"
        span.start_time_unix_nano = 1_700_000_000_000_000_000 + rng.randrange(10**15)
        span.end_time_unix_nano = span.start_time_unix_nano + rng.randrange(10**9)
        inputs = {"prompt": "p" * rng.randrange(400), "n": rng.randrange(10**6)}
        span.attributes.extend(
            key_values(
                {
                    "honeyhive.session_id": session_id,
                    **{f"honeyhive_inputs.{k}": v for k, v in inputs.items()},
                }
            )
        )
        event_id = span_event_id(trace_id.hex(), span.span_id.hex())
        expected[event_id] = {"event_name": span.name, "session_id": session_id, "inputs": inputs}
    return request.SerializeToString(), expected


def _assert_all_stored(db: Path, sent: Sent, seed: int) -> None:
    """Read the database file itself: every acknowledged write as sent, roll-ups equal to
    the stored events, and no corruption."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], seed
        assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)], seed
        stored = {
            row[0]: {
                "event_id": row[0],
                "session_id": row[1],
                "event_type": row[2],
                "event_name": row[3],
                "inputs": json.loads(row[4]),
                "outputs": json.loads(row[5]),
                "metadata": json.loads(row[6]),
                "start_time": row[7],
                "end_time": row[8],
            }
            for row in conn.execute(
                "SELECT event_id, session_id, event_type, event_name, inputs, outputs, "
                "metadata, start_time, end_time FROM events WHERE event_type IS NOT NULL"
            )
        }
        rollups = conn.execute(
            "SELECT s.event_id, s.num_events, s.num_model_events, "
            "(SELECT COUNT(*) FROM events e WHERE e.project_id = s.project_id "
            " AND e.session_id = s.event_id AND e.event_type IS NOT NULL "
            " AND e.event_type != 'session'), "
            "(SELECT COUNT(*) FROM events e WHERE e.project_id = s.project_id "
            " AND e.session_id = s.event_id AND e.event_type = 'model') "
            "FROM events s WHERE s.event_type = 'session'"
        ).fetchall()
    lost = [i for i in [*sent.events, *sent.spans] if i not in stored]
    assert not lost, f"seed {seed}: {len(lost)} acknowledged events lost, e.g. {lost[:3]}"
    changed = [
        (event_id, {k: (v, stored[event_id][k]) for k, v in sent_fields.items()})
        for event_id, sent_fields in [*sent.events.items(), *sent.spans.items()]
        if any(stored[event_id][k] != v for k, v in sent_fields.items())
    ]
    assert not changed, f"seed {seed}: {len(changed)} events differ, e.g. {changed[:2]}"
    wrong = [r for r in rollups if (r[1], r[2]) != (r[3], r[4])]
    assert not wrong, f"seed {seed}: roll-ups (id, events, model, counted, model) {wrong}"
    sessions = {e["session_id"] for e in stored.values()}
    assert sessions == {r[0] for r in rollups}, f"seed {seed}: an event's session is missing"

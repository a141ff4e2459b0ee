"""SIGTERM or SIGINT stops `hivekeeper serve` gracefully: it stops accepting, finishes the
requests in flight, commits what the writer queued and exits 0; nothing acknowledged is lost.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.metrics import metric
from tests.support.otlp_json import JsonTrace
from tests.support.poll import eventually
from tests.support.process import ServeProcess, serve_process

SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]


@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_under_load_keeps_every_acknowledged_write(
    tmp_path: Path, sig: signal.Signals
) -> None:
    with serve_process(tmp_path) as served:
        load = _Load(served)
        load.run_until(acknowledged=3000)
        served.proc.send_signal(sig)
        load.signalled.set()
        code = served.proc.wait(30)
        load.stop()
    assert code == 0, (tmp_path / "server.log").read_text()
    assert not load.failures, load.failures[:5]
    assert load.refused_after_signal, "no client saw the server stop accepting"
    stored = _stored(tmp_path)
    missing = load.expected.keys() - stored.keys()
    assert not missing, f"{len(missing)} of {len(load.expected)} acknowledged events were lost"
    damaged = [eid for eid, want in load.expected.items() if stored[eid] != want]
    assert not damaged, f"{len(damaged)} acknowledged events differ from what was sent"


def test_in_flight_writes_finish_and_new_connections_are_refused(tmp_path: Path) -> None:
    """The writer is held by SQLite's write lock, taken from outside, so requests are
    certainly in flight when SIGTERM arrives; the lock is released only once the server
    refuses new connections."""
    trace = JsonTrace(spans=3)
    with serve_process(tmp_path) as served:
        blocker = sqlite3.connect(tmp_path / "hivekeeper.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        locked = True
        try:
            with ThreadPoolExecutor(5) as pool:
                rest = [pool.submit(_post_event, served, "in-flight-0")]
                eventually(
                    lambda: _health(served)["writing"] == 1,
                    timeout_s=10,
                    message="timed out waiting for the writer to take the first write",
                )  # and wait for the lock with it
                rest += [pool.submit(_post_event, served, f"in-flight-{i}") for i in (1, 2, 3)]
                otlp = pool.submit(_post_trace, served, trace)
                eventually(
                    lambda: _health(served)["queued_writes"] >= 3 + trace.spans,
                    timeout_s=10,
                    message="timed out waiting for writes queued",
                )
                served.proc.send_signal(signal.SIGTERM)
                eventually(
                    lambda: _refused(served, "GET", "/health"),
                    timeout_s=10,
                    message="timed out waiting for new connections refused",
                )
                assert _refused(served, "POST", "/events"), "a new connection was accepted"
                in_flight: list[Future[httpx.Response]] = [*rest, otlp]
                assert not any(f.done() for f in in_flight), "a write was answered before commit"
                blocker.execute("ROLLBACK")
                locked = False
                answers = [f.result(30) for f in in_flight]
        finally:
            if locked:
                blocker.execute("ROLLBACK")
            blocker.close()
        code = served.proc.wait(30)
    assert code == 0, (tmp_path / "server.log").read_text()
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    stored = _stored(tmp_path)
    for answer, name in zip(answers[:4], [f"in-flight-{i}" for i in range(4)], strict=True):
        assert stored[answer.json()["event_id"]] == (name, {"n": name})
    for i, event_id in enumerate(trace.event_ids()):
        assert stored[event_id] == (f"span-{i}", {"n": str(i)})


@dataclass
class _Load:
    """Three clients send REST batches and two send OTLP exports, until told to stop or
    the server stops answering; `expected` holds every acknowledged event."""

    served: ServeProcess
    expected: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    """event_id → (event_name, inputs) of every event whose request got a 200."""
    failures: list[str] = field(default_factory=list)
    refused_after_signal: int = 0
    signalled: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def run_until(self, acknowledged: int) -> None:
        senders = [self._send_rest] * 3 + [self._send_otlp] * 2
        self._threads = [threading.Thread(target=send, args=(n,)) for n, send in enumerate(senders)]
        for thread in self._threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(self.expected) < acknowledged and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.expected) >= acknowledged, "the server acknowledged too little"

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _send_rest(self, client_no: int) -> None:
        def post(client: httpx.Client, round_no: int) -> httpx.Response | None:
            names = [f"rest-{client_no}-{round_no}-{i}" for i in range(50)]
            session_id = f"rest-{client_no}"
            events = [
                {
                    "event_type": "tool",
                    "session_id": session_id,
                    "event_name": name,
                    "inputs": {"n": name},
                }
                for name in names
            ]
            answer = self._post(client, "/events/batch", json={"events": events})
            if answer is not None and answer.status_code == 200:
                for name, event_id in zip(names, answer.json()["event_ids"], strict=True):
                    self.expected[event_id] = (name, {"n": name})
            return answer

        self._loop(post)

    def _send_otlp(self, client_no: int) -> None:
        def post(client: httpx.Client, round_no: int) -> httpx.Response | None:
            trace = JsonTrace(spans=20)
            headers = {"Content-Type": "application/json"}
            answer = self._post(
                client, "/opentelemetry/v1/traces", content=trace.body(), headers=headers
            )
            if answer is not None and answer.status_code == 200:
                for i, event_id in enumerate(trace.event_ids()):
                    self.expected[event_id] = (f"span-{i}", {"n": str(i)})
            return answer

        self._loop(post)

    def _loop(self, post: Callable[[httpx.Client, int], httpx.Response | None]) -> None:
        headers = {"Authorization": f"Bearer {self.served.key}"}
        with httpx.Client(base_url=self.served.url, headers=headers, timeout=30) as client:
            round_no = 0
            while not self._stop.is_set():
                answer = post(client, round_no)
                round_no += 1
                if answer is None:  # the server is gone: stop once it has refused us
                    if self.signalled.is_set():
                        return
                elif answer.status_code in (429, 503):
                    time.sleep(0.01)
                elif answer.status_code != 200:
                    self.failures.append(f"{answer.status_code}: {answer.text[:200]}")

    def _post(self, client: httpx.Client, path: str, **kwargs: object) -> httpx.Response | None:
        try:
            return client.post(path, **kwargs)  # type: ignore[arg-type]  # httpx's keywords
        except httpx.ConnectError:
            if self.signalled.is_set():
                self.refused_after_signal += 1
            else:
                self.failures.append("connection refused before the signal")
            return None
        except httpx.TransportError as exc:
            # An idle keep-alive connection closed by the shutdown: never acknowledged.
            if not self.signalled.is_set():
                self.failures.append(f"{type(exc).__name__} before the signal")
            return None


def _post_event(served: ServeProcess, name: str) -> httpx.Response:
    event = {"event_type": "tool", "session_id": "s", "event_name": name, "inputs": {"n": name}}
    return httpx.post(
        f"{served.url}/events",
        json={"event": event},
        headers={"Authorization": f"Bearer {served.key}"},
        timeout=60,
    )


def _post_trace(served: ServeProcess, trace: JsonTrace) -> httpx.Response:
    headers = {"Authorization": f"Bearer {served.key}", "Content-Type": "application/json"}
    return httpx.post(
        f"{served.url}/opentelemetry/v1/traces", content=trace.body(), headers=headers, timeout=60
    )


def _health(served: ServeProcess) -> dict[str, Any]:
    health: dict[str, Any] = httpx.get(f"{served.url}/health").json()
    return health


def _refused(served: ServeProcess, method: str, path: str) -> bool:
    """Whether a request on a fresh connection is refused before it is read."""
    try:
        httpx.request(
            method,
            f"{served.url}{path}",
            json={"event": {"event_type": "tool", "event_name": "too-late"}},
            headers={"Authorization": f"Bearer {served.key}"},
            timeout=5,
        )
    except httpx.ConnectError:
        return True
    except httpx.ReadError:
        # Connected while the listening socket was closing: queued by the kernel, never
        # accepted, then reset with the socket. It was not read either.
        return True
    except httpx.TimeoutException:  # taken in, and stuck behind the lock like the others
        return False
    return False


def _stored(data_dir: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """event_id → (event_name, inputs) of every stored event."""
    with contextlib.closing(sqlite3.connect(data_dir / "hivekeeper.db")) as conn:
        rows = conn.execute("SELECT event_id, event_name, inputs FROM events").fetchall()
    return {event_id: (name, json.loads(inputs)) for event_id, name, inputs in rows}


def test_a_trickling_client_cannot_hold_a_stopping_server(tmp_path: Path) -> None:
    """A request whose body never finishes is cancelled after `shutdown_timeout_s`; the
    server still commits what it acknowledged and exits 0."""
    with serve_process(tmp_path, shutdown_timeout_s=1) as served:
        assert _post_event(served, "before-stop").status_code == 200
        host, port = served.url.removeprefix("http://").split(":")
        with served.client() as api, socket.create_connection((host, int(port))) as slow:
            part = b'{"event": '
            slow.sendall(
                b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {served.key}\r\n".encode()
                + b"Content-Length: 1000\r\n\r\n"
                + part
            )
            eventually(
                lambda: metric(api, "hivekeeper_request_body_bytes_in_flight") == len(part),
                timeout_s=10,
                message="the server never read the start of the body",
            )  # and waits for the rest of it
            served.proc.send_signal(signal.SIGTERM)
            # Within the 60 s the body has (`body_timeout_s`): only the shutdown timeout
            # can end this request in time.
            code = served.proc.wait(20)
    log = (tmp_path / "server.log").read_text()
    assert code == 0, log
    assert "Cancel 1 running task(s), timeout graceful shutdown exceeded" in log, log
    assert ("before-stop", {"n": "before-stop"}) in _stored(tmp_path).values()

"""Slow clients cannot hold `hivekeeper serve`: header and body read deadlines, a bound on
header size and a connection cap, seen through raw sockets against the real process.

Every check waits for something the server does (an answer, an EOF) within a bound far
above the deadline under test; none asserts how long anything took.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.poll import eventually
from tests.support.process import ServeProcess, serve_process

BOUND_S = 30.0
"""How long a test waits for the server to act on a deadline of a second or two."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    data_dir = tmp_path_factory.mktemp("slow")
    with serve_process(data_dir, header_timeout_s=1, body_timeout_s=3) as server:
        yield server
    log = (data_dir / "server.log").read_text()
    assert "Traceback" not in log, log


def _connect(served: ServeProcess) -> socket.socket:
    host, port = served.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=BOUND_S)


def _until_closed(sock: socket.socket, *, trickle: bytes = b"") -> bytes:
    """What the server sends until it closes the connection, sending it one byte of
    `trickle` every quarter second (far more often than any deadline) until it answers.
    Fails if the connection is still open after BOUND_S."""
    received = b""
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        sock.settimeout(0.25 if trickle and not received else BOUND_S)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if trickle and not received:
                try:
                    sock.sendall(trickle[:1])
                except OSError:  # closed by the server while we were sending
                    return received
                trickle = trickle[1:] or trickle
            continue
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the connection is still open after {BOUND_S} s: {received!r}")


def _request_head(served: ServeProcess, body_bytes: int) -> bytes:
    return (
        b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {served.key}\r\nContent-Length: {body_bytes}\r\n\r\n".encode()
    )


def test_a_connection_that_sends_nothing_is_closed(served: ServeProcess) -> None:
    with _connect(served) as sock:
        assert _until_closed(sock) == b""


def test_trickled_headers_are_cut_off(served: ServeProcess) -> None:
    with _connect(served) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        answer = _until_closed(sock, trickle=b"X-Slow: " + b"a" * 1000)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer


def test_a_stalled_body_is_answered_408(served: ServeProcess) -> None:
    with _connect(served) as sock:
        sock.sendall(_request_head(served, 1000) + b'{"event": ')
        answer = _until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"body not complete" in answer


def test_a_trickled_body_is_cut_off(served: ServeProcess) -> None:
    with _connect(served) as sock:
        sock.sendall(_request_head(served, 100_000) + b'{"event": ')
        answer = _until_closed(sock, trickle=b" " * 1000)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer


def test_oversized_headers_are_answered_431(served: ServeProcess) -> None:
    with _connect(served) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(100):
                sock.sendall(b"X-Big-" + b"a" * 1000 + b": 1\r\n")
        except OSError:
            pass  # closed while we were still sending: the answer may still be there
        answer = _until_closed(sock)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer
    assert answer, "the server closed without answering"


def test_clients_that_keep_pace_are_unaffected(served: ServeProcess) -> None:
    """A kept-alive connection idle for longer than the header deadline between two
    requests stays open, and a 5 MB body sent at full speed is served as ever."""
    host, port = served.url.removeprefix("http://").split(":")
    kept = http.client.HTTPConnection(host, int(port), timeout=BOUND_S)  # never reconnects
    try:
        kept.request("GET", "/health")
        assert kept.getresponse().read() and kept.sock is not None
        time.sleep(1.5)  # the scenario, not a wait: idle past header_timeout_s=1
        kept.request("GET", "/health")
        assert kept.getresponse().status == 200
    finally:
        kept.close()
    events = [{"event_type": "tool", "event_name": f"e{i}", "inputs": {"pad": "x" * 5000}}
              for i in range(1000)]  # fmt: skip
    with served.client() as client:
        batch = client.post("/events/batch", json={"events": events})
        assert batch.status_code == 200, batch.text
        assert len(batch.json()["event_ids"]) == 1000


def test_past_max_connections_requests_are_answered_503(tmp_path: Path) -> None:
    with serve_process(tmp_path, max_connections=3, header_timeout_s=120) as served:
        held = [_connect(served) for _ in range(3)]
        try:
            for sock in held:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers never finish
            eventually(
                lambda: httpx.get(f"{served.url}/health").status_code == 503,
                timeout_s=BOUND_S,
                message="a request on a fourth connection was never refused",
            )
            held.pop().close()
            eventually(
                lambda: httpx.get(f"{served.url}/health").status_code == 200,
                timeout_s=BOUND_S,
                message="with two connections held, a third was still refused",
            )
        finally:
            for sock in held:
                sock.close()

"""HTTP connections with read deadlines: a client must send its request in bounded time.

uvicorn arms no timer on a fresh connection, and its keep-alive timer is cancelled by
the first byte of a request and re-armed only after the response; ASGI middleware runs
only once the headers are parsed. So a client that sends nothing, or trickles its
headers or its body a byte now and then, would hold a connection (and a request) for
ever. `DeadlineProtocol` is uvicorn's httptools protocol with two deadlines on top:

- **headers**: from the moment a connection opens, or the first byte of a later request
  on a kept-alive one, until that request's headers are complete (`header_s`). Past it a
  connection that sent part of a request is answered 408 and closed; one that sent
  nothing is closed (an idle kept-alive connection is uvicorn's to close, after its
  keep-alive timeout).
- **body**: from the end of the headers until the whole body is in (`body_s`). It is a
  total, not a gap between reads, so a byte now and then gains nothing. Past it the
  answer is 408 if no response has started, the app sees the client disconnect, and
  the connection is closed. If the server itself had stopped reading by then (flow
  control: the app has not consumed what already arrived), the client is not at fault
  and the body's time starts again.

A request's headers are also bounded in size (`MAX_HEADER_BYTES`, 431 past it):
httptools itself accepts headers of any size.

A gRPC exporter pointed at this port opens with the HTTP/2 preface, which uvicorn
answers with a bare 400 before any app code runs; the connection logs (rate-limited)
that OTLP/gRPC belongs on `--grpc-port`, or that OTLP/HTTP is served here.

Connections past `--max-connections` are uvicorn's `limit_concurrency`: see
`limit_concurrency`. `uvicorn_options` puts it all together for `hivekeeper serve`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any, Literal

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from hivekeeper.config import Settings
from hivekeeper.logs import RateLimitedLog

logger = logging.getLogger(__name__)
_log = RateLimitedLog(logger)
# An exporter retries each failed export a few times: a few lines a minute say it all.
_grpc_log = RateLimitedLog(logger, per_minute=6)

# nginx reads headers into at most 4 buffers of 8 KiB, h11 and Node stop at 16 KiB; the
# UI's cookie of 20 keys is under 2 KiB. A check runs before each read is parsed, so a
# request may overshoot by one read (at most 256 KiB) before it is refused.
MAX_HEADER_BYTES = 64 * 1024
Phase = Literal["headers", "body"]


# What an HTTP/2 client sends first (RFC 9113 §3.4); gRPC speaks HTTP/2 only.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n"


@dataclass(frozen=True, slots=True)
class ReadDeadlines:
    """Seconds a client has for a request's headers and for its body."""

    header_s: float
    body_s: float


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The options of `uvicorn.run` (or `uvicorn.Config`) that make its connections ours:
    the protocol with read deadlines, the connection cap, no WebSockets (we have no
    WebSocket route, so an upgrade request is answered as plain HTTP)."""
    deadlines = ReadDeadlines(settings.header_timeout_s, settings.body_timeout_s)
    return {
        # A partial of a module-level class survives the pickling `--workers` does.
        "http": functools.partial(
            DeadlineProtocol, deadlines=deadlines, grpc_port=settings.grpc_port
        ),
        "limit_concurrency": limit_concurrency(settings.max_connections),
        "ws": "none",
    }


def limit_concurrency(max_connections: int) -> int:
    """uvicorn's `limit_concurrency` for at most `max_connections` served connections.

    uvicorn answers a request 503 (plain text, `Connection: close`) when its server
    process has `limit_concurrency` connections open *counting the asking one*, or as
    many requests in progress *not* counting it; so with the limit one more than
    `max_connections`, that many connections are served. The connection past the cap
    is accepted and its headers read (under the header deadline) before its 503.
    """
    return max_connections + 1


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools HTTP/1.1 protocol with header and body read deadlines.

    uvicorn builds one per connection, with `deadlines` and `grpc_port` (the gRPC
    receiver's port, 0 when off, for the hint to gRPC clients) bound by
    `uvicorn_options`.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        deadlines: ReadDeadlines,
        grpc_port: int = 0,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._deadlines = deadlines
        self._grpc_port = grpc_port
        self._waiting: Phase | None = None
        """What the client still owes: a request's headers, its body, or nothing."""
        self._since = 0.0
        """Loop time at which that wait began."""
        self._timer: asyncio.TimerHandle | None = None
        self._timer_for: Phase | None = None
        self._request_begun = False
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn's own signature
        super().connection_made(transport)
        self._await("headers")
        self._sync_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._waiting == "headers":
            if not self._request_begun and data.startswith(_HTTP2_PREFACE):
                self._hint_grpc()
            if self._header_bytes > MAX_HEADER_BYTES:
                text = f"request headers larger than {MAX_HEADER_BYTES} bytes"
                self._refuse(431, text, answer=self._idle())
                return
            self._header_bytes += len(data)
        super().data_received(data)
        # The timer follows the parser once per read, not per parser event: a request
        # that arrives whole in one read costs no timer at all.
        self._sync_timer()

    def _hint_grpc(self) -> None:
        """Say where a gRPC (HTTP/2) client should go; uvicorn then answers it 400."""
        peer = self.client[0] if self.client else "unknown"
        if self._grpc_port:
            where = f"send OTLP/gRPC to port {self._grpc_port} (--grpc-port)"
        else:
            where = "the OTLP/gRPC receiver is off (--grpc-port 0)"
        _grpc_log.info(
            "a gRPC (HTTP/2) client at %s connected to the HTTP port, which answers it 400: "
            "%s, or export OTLP/HTTP (http/protobuf) to this port",
            peer,
            where,
        )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        if self._waiting is None:  # a later request on a kept-alive connection
            self._await("headers")

    def on_headers_complete(self) -> None:
        self._header_bytes = 0
        self._await("body")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._waiting = None
        self._request_begun = False
        super().on_message_complete()

    def _await(self, phase: Phase) -> None:
        self._waiting = phase
        self._since = self.loop.time()

    def _limit_s(self, phase: Phase) -> float:
        return self._deadlines.header_s if phase == "headers" else self._deadlines.body_s

    def _sync_timer(self) -> None:
        """Have a timer pending for the current wait's deadline, or none without a wait.

        A pending timer for the same phase is kept even when that wait began anew (a
        later request): it fires no later than the new deadline, and `_expired` then
        arms the timer again for the time that is left.
        """
        if self._waiting == self._timer_for:
            return
        self._cancel_timer()
        if self._waiting is not None:
            self._timer_for = self._waiting
            due = self._since + self._limit_s(self._waiting)
            self._timer = self.loop.call_at(due, self._expired)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_for = None

    def _expired(self) -> None:
        self._timer = self._timer_for = None
        waiting = self._waiting
        if waiting is None or self.transport.is_closing():
            return
        if self.loop.time() < self._since + self._limit_s(waiting):
            self._sync_timer()  # the wait began anew since the timer was set
            return
        if waiting == "headers":
            if not self._request_begun:
                self.transport.close()  # nothing sent: nobody to answer
                return
            text = f"request headers not complete within {self._deadlines.header_s:g} s"
            self._refuse(408, text, answer=self._idle())
            return
        if self.flow.read_paused:
            # The server, not the client, is behind: the body's time starts again.
            self._await("body")
            self._sync_timer()
            return
        text = f"request body not complete within {self._deadlines.body_s:g} s"
        cycle = self.cycle
        if cycle.response_started:
            self._refuse(408, text, answer=False)
            return
        # The app, still waiting for the body, now receives `http.disconnect`; whatever
        # it answers is dropped.
        cycle.disconnected = True
        cycle.message_event.set()
        self._refuse(408, text, answer=True)

    def _idle(self) -> bool:
        """Whether no response is being written: before the current request's headers
        are in, `cycle` is the previous (possibly pipelined) request's."""
        return self.cycle is None or self.cycle.response_complete

    def _refuse(self, status: Literal[408, 431], text: str, *, answer: bool) -> None:
        """Close the connection, first answering `status` with `text` if `answer`
        (never into a response already started)."""
        peer = self.client[0] if self.client else "unknown"
        _log.info("closed a connection from %s (%d): %s", peer, status, text)
        if answer:
            phrase = "Request Timeout" if status == 408 else "Request Header Fields Too Large"
            body = f"{text}\n".encode()
            self.transport.write(
                f"HTTP/1.1 {status} {phrase}\r\ncontent-type: text/plain; charset=utf-8\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body
            )
        self._waiting = None
        self._cancel_timer()
        self.transport.close()

"""A recording HTTP proxy on loopback: what a client really put on the wire, and our answer.

End-to-end tests drive real SDKs whose wire format is chosen by environment variables
(JSON or protobuf, gzip or not). Reading the stored events back proves what we kept;
only the wire proves which encoding the SDK actually used and that every request was
answered 200, so the proxy sits between the client and the live server and keeps both.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import httpx

from tests.support.loopback import QuietHandler, serve_loopback

# Headers that describe one hop, not the request; httpx sets its own.
_HOP_HEADERS = frozenset(
    {"host", "connection", "content-length", "transfer-encoding", "keep-alive", "accept-encoding"}
)


@dataclass(frozen=True, slots=True)
class Exchange:
    method: str
    path: str
    content_type: str
    content_encoding: str | None
    status: int
    answer: bytes
    answer_type: str


@dataclass
class RecordingProxy:
    url: str
    exchanges: list[Exchange] = field(default_factory=list)

    def to(self, path: str) -> list[Exchange]:
        """The exchanges whose request went to `path`, in order."""
        return [e for e in self.exchanges if e.path == path]


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while size := int(handler.rfile.readline().split(b";")[0].strip(), 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        handler.rfile.readline()  # the blank line after the last chunk
        return b"".join(chunks)
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


@contextlib.contextmanager
def recording_proxy(target_url: str) -> Iterator[RecordingProxy]:
    """A proxy on a free loopback port forwarding every request to `target_url`."""
    upstream = httpx.Client(base_url=target_url, timeout=30)
    lock = threading.Lock()
    proxy = RecordingProxy(url="")

    class Handler(QuietHandler):
        def _forward(self) -> None:
            body = _read_body(self)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
            answer = upstream.request(self.command, self.path, headers=headers, content=body)
            with lock:
                proxy.exchanges.append(
                    Exchange(
                        method=self.command,
                        path=self.path.split("?", 1)[0],
                        content_type=self.headers.get("Content-Type", ""),
                        content_encoding=self.headers.get("Content-Encoding"),
                        status=answer.status_code,
                        answer=answer.content,
                        answer_type=answer.headers.get("Content-Type", ""),
                    )
                )
            self.send_response(answer.status_code)
            for name in ("Content-Type", "Retry-After"):
                if name in answer.headers:
                    self.send_header(name, answer.headers[name])
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

    try:
        with serve_loopback(Handler) as url:
            proxy.url = url
            yield proxy
    finally:
        upstream.close()

"""The real app served in this process: sync httpx clients over its ASGI interface.

httpx's `ASGITransport` is async, and it sends no lifespan events. `serve_in_process`
runs an event loop on a thread of its own (an anyio blocking portal, on uvloop as
`hivekeeper serve` runs), enters the app's lifespan there as uvicorn does at startup
(the store opens, the writer and the background jobs start) and leaves it at the end as
uvicorn does at shutdown (the writer commits what it queued, the store closes). Each
request of a client it hands out runs on that loop through `ASGITransport`: the real
app, store and writer, with no socket, port or HTTP parser in between.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import anyio
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI

Transports = Callable[[str], httpx.BaseTransport]
"""A transport to the app for requests from the given client address."""

_PEER_PORT = 50000  # the client port the app sees, as Starlette's TestClient has it


class InProcessTransport(httpx.BaseTransport):
    """A sync transport whose requests run on the app's loop through `ASGITransport`.

    A request's read timeout bounds its whole exchange, so a request the app never
    answers fails the test as it would over a socket. An app exception is raised
    here (rather than answered 500) with its traceback.
    """

    def __init__(self, app: FastAPI, portal: BlockingPortal, peer: str) -> None:
        self._asgi = httpx.ASGITransport(app, client=(peer, _PEER_PORT))
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.AsyncByteStream):
            # A body from an iterator, sent chunked: the app receives its chunks one
            # by one, each as an `http.request` message with `more_body`.
            request.stream = _Chunks(list(request.stream))
        return self._portal.call(self._exchange, request)

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        timeout_s = request.extensions.get("timeout", {}).get("read")
        try:
            with anyio.fail_after(timeout_s):
                answer = await self._asgi.handle_async_request(request)
                raw = b"".join([chunk async for chunk in answer.aiter_raw()])
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"no answer in {timeout_s} s", request=request) from exc
        # Undecoded, so that the client decodes a Content-Encoding as it would off a socket.
        return httpx.Response(
            answer.status_code, headers=answer.headers, stream=httpx.ByteStream(raw)
        )


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


@contextlib.contextmanager
def serve_in_process(app: FastAPI) -> Iterator[Transports]:
    """Run `app`'s lifespan for the block; yields transports to it, one per client."""
    with (
        start_blocking_portal(backend_options={"use_uvloop": True}) as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
    ):
        yield lambda peer: InProcessTransport(app, portal, peer)

"""The middleware that watches every HTTP request: its status and duration go to observers
(the metrics, the access log)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Observer = Callable[[Scope, int, float], None]
"""Told of each answered request: its scope (with the matched `route`, if any), the
status answered and the seconds it took."""


class ObserveRequests:
    """Tells each observer of every HTTP request, once answered.

    A plain ASGI middleware, not Starlette's `BaseHTTPMiddleware`: it only wraps `send`
    to see the status, so it costs microseconds on the ingest path. Observers run after
    the app, so the scope holds the `route` the router matched.
    """

    def __init__(self, app: ASGIApp, observers: Sequence[Observer]) -> None:
        self._app = app
        self._observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before starting a response

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_noting_status)
        finally:
            seconds = time.perf_counter() - started
            for observe in self._observers:
                observe(scope, status, seconds)

"""What the server logs about the requests it answers: one line each in the access log
(`--access-log`, logger `hivekeeper.access`), and requests for unknown routes (always,
at info, rate-limited so a scanner cannot flood the log).

A logged path never carries its query string (clients put keys there) and anything
shaped like an API key in it is masked; bodies and headers are never logged.
"""

from __future__ import annotations

import logging

from starlette.requests import HTTPConnection
from starlette.types import Scope

from hivekeeper.domain.tenancy import mask_keys
from hivekeeper.logs import ACCESS_LOGGER, FIELDS, RateLimitedLog
from hivekeeper.web.throttle import client_host

logger = logging.getLogger(__name__)
_unmatched = RateLimitedLog(logger)
_access = logging.getLogger(ACCESS_LOGGER)
# A scanner's paths can be long; what is logged of one is enough to recognise it.
_MAX_PATH_CHARS = 300


class AccessLog:
    """An observer of `ObserveRequests` writing one line per answered request."""

    def __init__(self, *, trust_forwarded_for: bool) -> None:
        self._trust_forwarded_for = trust_forwarded_for

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        client = client_host(HTTPConnection(scope), trust_forwarded_for=self._trust_forwarded_for)
        client, method, path = loggable(client), loggable(scope["method"]), logged_path(scope)
        route = getattr(scope.get("route"), "path", None)
        duration_ms = round(seconds * 1000, 1)
        _access.info(
            '%s "%s %s" %d %.1f ms',
            client, method, path, status, duration_ms,
            extra={FIELDS: {
                "client": client, "method": method, "path": path, "route": route,
                "status": status, "duration_ms": duration_ms,
            }},
        )  # fmt: skip


def log_unmatched(scope: Scope, status: int, seconds: float) -> None:
    """An observer noting (at info) requests no route matched."""
    if status != 404 or scope.get("route") is not None:
        return
    method, path = loggable(scope["method"]), logged_path(scope)
    _unmatched.info("no route for %s %s", method, path, fields={"method": method, "path": path})


def logged_path(scope: Scope) -> str:
    """The request's path as it may be logged: as the client sent it (still
    percent-encoded, so it cannot break a log line), without the query, keys masked,
    cut to `_MAX_PATH_CHARS`."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    path = loggable(raw.decode("latin-1"))
    return path if len(path) <= _MAX_PATH_CHARS else path[:_MAX_PATH_CHARS] + "…"


def loggable(text: str) -> str:
    """`text` with keys masked and anything unprintable percent-escaped."""
    return mask_keys("".join(ch if ch.isprintable() else f"%{ord(ch):02X}" for ch in text))

"""One handler per error family, all answering `{"message", "errorCode"[, "field"]}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.web.http import JsonResponse
from hivekeeper.web.metrics import note_rejection

logger = logging.getLogger(__name__)
_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}
# nginx's status for "the client closed the connection before it was answered": what
# `/metrics` counts for a request whose client left (or was cut off by a read deadline)
# while its body was being read. Nobody receives it.
CLIENT_CLOSED_REQUEST = 499


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HivekeeperError, _ours)  # type: ignore[arg-type]  # Starlette's handler type is too narrow
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]  # same
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]  # same
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)


def note_error(request: Request, exc: HivekeeperError) -> None:
    """What every answer to one of our errors does besides rendering it: note its
    errorCode for the metrics, and log it when it is the server's fault (5xx; a 501
    says what the API lacks, not that anything failed)."""
    note_rejection(request, exc.error_code)
    if exc.status >= 500 and exc.status != 501:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc.message)


async def _ours(request: Request, exc: HivekeeperError) -> Response:
    note_error(request, exc)
    return JsonResponse(exc.body(), status_code=exc.status, headers=exc.headers())


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body"))
    body = {
        "message": f"{field or 'request'}: {first.get('msg', 'invalid value')}",
        "errorCode": "VALIDATION_ERROR",
        "field": field,
    }
    note_rejection(request, body["errorCode"])
    return JsonResponse(body, status_code=400)


async def _http(request: Request, exc: HTTPException) -> Response:
    code = _HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
    note_rejection(request, code)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route for {request.method} {request.url.path}"
    return JsonResponse(
        {"message": message, "errorCode": code},
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _client_gone(request: Request, exc: Exception) -> Response:
    # An expected end, not a server fault: handled here, so no traceback is logged. The
    # request's body was never whole, so nothing of it was written.
    logger.debug("a client left before sending its whole %s request", request.method)
    return Response(status_code=CLIENT_CLOSED_REQUEST)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette's ServerErrorMiddleware re-raises after this answer, so the traceback
    # is still logged by the server.
    return JsonResponse(
        {"message": "internal server error", "errorCode": "INTERNAL_ERROR"}, status_code=500
    )

"""The route class of every page: failures become pages, answers carry security headers.

The API answers errors as JSON; a page must answer them as a page. `UiRoute` turns
`Redirect` into a 303 (clearing the session cookie when it signs out) and our errors
into an HTML error page with their status, and puts the security headers on every
response, so no page can forget them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.ui.auth import sign_out
from hivekeeper.ui.browser import Redirect, secure
from hivekeeper.ui.templating import page
from hivekeeper.web import note_error


class UiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def ui_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Redirect as redirect:
                response = RedirectResponse(redirect.url, status_code=303)
                if redirect.sign_out:
                    sign_out(request, response)
            except HivekeeperError as exc:
                response = error_page(request, exc)
            return secure(response)

        return ui_handler


def error_page(request: Request, exc: HivekeeperError) -> Response:
    """`exc` as a page with its status and headers (Retry-After for a 429)."""
    note_error(request, exc)
    response = page(
        request, "error.html", status=exc.status, ui=None, project=None, error=exc, section=""
    )
    response.headers.update(exc.headers())
    return response

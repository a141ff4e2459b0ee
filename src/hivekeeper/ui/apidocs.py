"""The API's interactive docs, `/docs` (Swagger UI) and `/redoc` (ReDoc), and
`/openapi.json`, with the UI's security headers.

The docs pages load Swagger UI and ReDoc from our own `/assets` (see `assets`), never a
CDN, so they work without internet; a script of ours starts them, since the CSP allows
no inline script.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.ui.browser import content_security_policy
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.templating import page
from hivekeeper.web import JsonResponse

router = APIRouter(route_class=UiRoute, include_in_schema=False)
OPENAPI_URL = "/openapi.json"


@router.get(OPENAPI_URL)
async def openapi(request: Request) -> Response:
    return JsonResponse(request.app.openapi())


@router.get("/docs")
async def swagger_ui(request: Request) -> Response:
    return page(request, "apidocs.html", viewer="swagger", openapi_url=OPENAPI_URL, nonce="")


@router.get("/redoc")
async def redoc(request: Request) -> Response:
    # ReDoc writes its CSS into <style> elements (a fresh nonce admits those alone) and
    # searches in a worker it starts from a blob: URL.
    nonce = secrets.token_urlsafe(16)
    response = page(request, "apidocs.html", viewer="redoc", openapi_url=OPENAPI_URL, nonce=nonce)
    response.headers["Content-Security-Policy"] = content_security_policy(
        style_nonce=nonce, blob_workers=True
    )
    return response

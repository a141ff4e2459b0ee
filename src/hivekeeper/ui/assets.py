"""Our CSS and JS, and the API docs' Swagger UI and ReDoc, served from the installed
packages with long-lived caching: nothing is fetched from a CDN, so every page and the
API docs work offline.

Pages link each asset as `/assets/<name>?v=<hash of its content>`, so a browser may
keep it for a year (`immutable`) and a new release is fetched at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.domain.errors import NotFound
from hivekeeper.ui.browser import secure

router = APIRouter(include_in_schema=False)
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
}
_IMMUTABLE = "public, max-age=31536000, immutable"
# Swagger UI 5 and ReDoc 2 builds, as the fastapi-offline package ships them.
_VENDOR_PACKAGE = "fastapi_offline"
_VENDOR = frozenset(
    {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"}
)


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _asset(name: str) -> Asset | None:
    """The named file of `ui/static` or an allowed vendor file; None for any other
    name (so what clients ask for never grows the cache)."""
    return _load(name) if name in _names() else None


@cache
def _names() -> frozenset[str]:
    ours = resources.files("hivekeeper.ui").joinpath("static").iterdir()
    return _VENDOR | {f.name for f in ours if f.is_file() and _suffix(f.name) in _TYPES}


def _suffix(name: str) -> str:
    return name[name.rfind(".") :] if "." in name else ""


@cache
def _load(name: str) -> Asset:
    """An asset's bytes, read once."""
    package = _VENDOR_PACKAGE if name in _VENDOR else "hivekeeper.ui"
    body = resources.files(package).joinpath("static", name).read_bytes()
    return Asset(body, _TYPES[_suffix(name)], hashlib.sha256(body).hexdigest()[:16])


def asset_url(name: str) -> str:
    """The cache-busting URL of an asset; raises NotFound for a name we do not ship."""
    found = _asset(name)
    if found is None:
        raise NotFound(f"no asset {name}")
    return f"/assets/{name}?v={found.etag}"


@router.get("/assets/{name}")
async def get_asset(request: Request, name: str) -> Response:
    found = _asset(name)
    if found is None:
        raise NotFound(f"no asset {name}")
    etag = f'"{found.etag}"'
    headers = {"Cache-Control": _IMMUTABLE, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return secure(Response(status_code=304, headers=headers))
    return secure(Response(found.body, media_type=found.media_type, headers=headers))

"""Our CSS and JS, served from the package with long-lived caching.

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
from hivekeeper.ui.web import secure

router = APIRouter(include_in_schema=False)
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def _asset(name: str) -> Asset | None:
    """The named file of `ui/static`, read once; None when there is no such asset."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in _TYPES or "/" in name or name.startswith("."):
        return None
    path = resources.files("hivekeeper.ui").joinpath("static", name)
    if not path.is_file():
        return None
    body = path.read_bytes()
    return Asset(body, _TYPES[suffix], hashlib.sha256(body).hexdigest()[:16])


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

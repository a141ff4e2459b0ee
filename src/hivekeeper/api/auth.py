"""Bearer API keys: who is calling, and may they read?"""

from __future__ import annotations

from fastapi import Request

from hivekeeper.api.context import context
from hivekeeper.domain.errors import Forbidden, Unauthorized
from hivekeeper.domain.tenancy import Principal

# Literal tokens clients send when no key is configured (the tracer sends "Bearer None").
_NO_KEY = frozenset({"", "none", "null", "undefined"})


async def writer_principal(request: Request) -> Principal:
    """Any valid key (full or ingest): for routes that write."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if not header:
        raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <api key>'")
    if scheme.lower() != "bearer" or token.lower() in _NO_KEY:
        raise Unauthorized("the Authorization header must be 'Bearer <api key>'")
    ctx = context(request)
    principal = await ctx.read(ctx.store.authenticate, token)
    if principal is None:
        raise Unauthorized("unknown or revoked API key")
    return principal


async def reader_principal(request: Request) -> Principal:
    """A full key: for routes that read or delete data."""
    principal = await writer_principal(request)
    if not principal.can_read:
        raise Forbidden("this is an ingest-only key: it may write events but not read them")
    return principal

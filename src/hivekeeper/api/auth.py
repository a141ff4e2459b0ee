"""Bearer API keys: who is calling, and may they read?"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from fastapi import Request

from hivekeeper.domain.errors import Forbidden, Unauthorized
from hivekeeper.domain.tenancy import Principal
from hivekeeper.web import AppContext, client_address, context

logger = logging.getLogger(__name__)
# Literal tokens clients send when no key is configured (the tracer sends "Bearer None").
_NO_KEY = frozenset({"", "none", "null", "undefined"})


async def writer_principal(request: Request) -> Principal:
    """Any valid key (full or ingest): for routes that write.

    Raises Unauthorized (401) for a missing, malformed, unknown or revoked key, and
    AuthThrottled (429) for a client that presented too many unknown or revoked keys
    lately, before its key is even looked up. Error messages never quote the key.
    """
    ctx = context(request)
    trust_forwarded_for = ctx.settings.trust_forwarded_for
    return await bearer_principal(
        ctx,
        request.headers.get("authorization", ""),
        lambda: client_address(request, trust_forwarded_for=trust_forwarded_for),
    )


async def bearer_principal(ctx: AppContext, header: str, client: Callable[[], str]) -> Principal:
    """The principal of an `Authorization` value (`Bearer <key>`), full or ingest.

    `client` names the caller for the failed-key throttle; it is called only when
    needed. Raises as `writer_principal` does; HTTP routes and gRPC calls both use it.
    """
    throttle = ctx.auth_throttle
    # Working out the client (an IPv6 /64, a proxy header) is skipped while no client
    # has failed lately: then there is nobody to refuse.
    if throttle.tracked_clients:
        throttle.check(client())
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    # A missing or malformed header is a misconfigured client, not a guess: refused,
    # but not charged against the client's budget.
    if not header:
        raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <api key>'")
    if scheme.lower() != "bearer" or token.lower() in _NO_KEY:
        raise Unauthorized("the Authorization header must be 'Bearer <api key>'")
    principal = await ctx.lookup(ctx.store.authenticate, token)
    if principal is None:
        caller = client()
        throttle.record_failure(caller)
        # Never the key, nor the path: a client may have put a key there too.
        logger.debug("refused an unknown or revoked API key from client %s", caller)
        raise Unauthorized("unknown or revoked API key")
    return principal


async def reader_principal(request: Request) -> AsyncIterator[Principal]:
    """A full key: for routes that read or delete data.

    The request holds a read slot of the key's project until it is answered; raises
    TooManyReads (429) when the project's slots are all taken.
    """
    principal = await writer_principal(request)
    if not principal.can_read:
        raise Forbidden("this is an ingest-only key: it may write events but not read them")
    with context(request).read_slots.hold(principal.project.id):
        yield principal

"""Bearer API keys: who is calling, and may their kind of key use this route?

Three dependencies, one per kind of route:

- `writer_principal`: telemetry writes (sessions, events, spans): full and ingest keys;
- `reader_principal`: everything else of the key's project (reads, deletes, datasets,
  prompts, evaluators, runs, charts): full keys;
- `project_principal`: the `/v1/projects/{project_id}/…` routes: full and data-plane
  keys of that project; another project's id answers 404, as a foreign id does.

A key whose kind may not use a route gets 403 saying what that kind may do.

Under `/api/public/` (the Langfuse routes, `api.langfuse`) a key may also come as HTTP
Basic credentials, the way Langfuse's SDKs send theirs: the secret (password) is the
hivekeeper key, the public key (user name) is not checked. Nowhere else: a browser
keeps Basic credentials and sends them by itself.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator, Callable

from fastapi import Request

from hivekeeper.domain.errors import Forbidden, NotFound, Unauthorized
from hivekeeper.domain.tenancy import Principal
from hivekeeper.web import AppContext, client_address, context

logger = logging.getLogger(__name__)
# Literal tokens clients send when no key is configured (the tracer sends "Bearer None").
_NO_KEY = frozenset({"", "none", "null", "undefined"})
BASIC_AUTH_PREFIX = "/api/public/"
"""Paths under which a key may come as HTTP Basic credentials (Langfuse's SDKs)."""


async def writer_principal(request: Request) -> Principal:
    """A key that may write telemetry (full or ingest): for the routes that write
    sessions, events and spans.

    Raises Unauthorized (401) for a missing, malformed, unknown or revoked key, and
    AuthThrottled (429) for a client that presented too many unknown or revoked keys
    lately, before its key is even looked up; Forbidden (403) for a data-plane key.
    Error messages never quote the key.
    """
    return telemetry_writer(await _principal(request))


async def reader_principal(request: Request) -> AsyncIterator[Principal]:
    """A full key: for routes that read, delete or manage the project's records.

    The request holds a read slot of the key's project until it is answered; raises
    TooManyReads (429) when the project's slots are all taken, Forbidden (403) for an
    ingest or data-plane key.
    """
    principal = await _principal(request)
    if not principal.can_read:
        raise Forbidden(f"this is {principal.limits}")
    with context(request).read_slots.hold(principal.project.id):
        yield principal


async def project_principal(request: Request, project_id: str) -> AsyncIterator[Principal]:
    """A full or data-plane key of `project_id`: for `/v1/projects/{project_id}/…`.

    Holds a read slot like `reader_principal`. Forbidden (403) for an ingest key;
    NotFound (404) for any project but the key's own, so a key learns nothing of
    another project's id.
    """
    principal = await _principal(request)
    if not principal.can_use_project_routes:
        raise Forbidden(f"this is {principal.limits}")
    if principal.project.id != project_id:
        # The id is not quoted back: it may be another tenant's.
        raise NotFound(
            "no such project for this key (a key reaches only its own project)", field="project_id"
        )
    with context(request).read_slots.hold(principal.project.id):
        yield principal


def telemetry_writer(principal: Principal) -> Principal:
    """`principal` if its key may write telemetry; Forbidden (403) otherwise. The
    OTLP/gRPC receiver checks its callers with it too."""
    if not principal.can_write_telemetry:
        raise Forbidden(f"this is {principal.limits}")
    return principal


async def _principal(request: Request) -> Principal:
    ctx = context(request)
    trust_forwarded_for = ctx.settings.trust_forwarded_for
    return await bearer_principal(
        ctx,
        request.headers.get("authorization", ""),
        lambda: client_address(request, trust_forwarded_for=trust_forwarded_for),
        allow_basic=request.url.path.startswith(BASIC_AUTH_PREFIX),
    )


async def bearer_principal(
    ctx: AppContext, header: str, client: Callable[[], str], *, allow_basic: bool = False
) -> Principal:
    """The principal of an `Authorization` value (`Bearer <key>`, or with
    `allow_basic` `Basic base64(anything:<key>)`), of any kind.

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
    if allow_basic and scheme.lower() == "basic":
        token = _basic_secret(token)
    elif scheme.lower() != "bearer":
        token = ""
    if token.lower() in _NO_KEY:
        basic = " or 'Basic base64(<public key>:<api key>)'" if allow_basic else ""
        raise Unauthorized(f"the Authorization header must be 'Bearer <api key>'{basic}")
    principal = await ctx.lookup(ctx.store.authenticate, token)
    if principal is None:
        caller = client()
        throttle.record_failure(caller)
        # Never the key, nor the path: a client may have put a key there too.
        logger.debug("refused an unknown or revoked API key from client %s", caller)
        raise Unauthorized("unknown or revoked API key")
    return principal


def _basic_secret(credentials: str) -> str:
    """The password of Basic credentials (`base64(user:password)`); "" if malformed."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    _, colon, secret = decoded.partition(":")
    return secret.strip() if colon else ""

"""The UI's cookie session: which API keys a browser holds, CSRF tokens, Origin checks.

The session *is* the keys: the cookie `hk_keys` holds one full API key per project
(HttpOnly, SameSite=Strict, Secure over https), and every request checks each of them
with the store, as a Bearer request would. A revoked key therefore signs the browser
out at its next request; there is no server-side session to forget to expire.

CSRF: every form carries a token derived from the cookie's keys (an HMAC keyed by
them), which a page on another origin can neither read nor compute; POSTs must also
come from our own origin when the browser says where they come from. The sign-in form,
before there are keys, uses a random token in the cookie `hk_pre` (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.domain.errors import Forbidden, NotFound
from hivekeeper.domain.tenancy import Principal, Project
from hivekeeper.ui.browser import Redirect, with_query
from hivekeeper.web import client_address, context

KEYS_COOKIE = "hk_keys"
PRE_COOKIE = "hk_pre"
# Twenty ~90-character keys stay well inside the 4 KB browsers allow one cookie.
MAX_KEYS = 20
_KEY_SEPARATOR = "."  # never part of a key (letters, digits, `_` and `-`)
_CSRF_MESSAGE = b"hivekeeper-ui-csrf-v1"


@dataclass(frozen=True, slots=True)
class UiSession:
    """The signed-in browser: its keys' principals, in the order they were added."""

    keys: tuple[str, ...]
    principals: tuple[Principal, ...]

    @property
    def csrf(self) -> str:
        return csrf_token(self.keys)

    @property
    def projects(self) -> tuple[Project, ...]:
        return tuple(p.project for p in self.principals)

    def principal_for(self, project_id: str) -> Principal | None:
        return next((p for p in self.principals if p.project.id == project_id), None)


@dataclass(frozen=True, slots=True)
class ProjectPage:
    """A page of one project: the session and the principal that may read it."""

    session: UiSession
    principal: Principal

    @property
    def project(self) -> Project:
        return self.principal.project

    @property
    def csrf(self) -> str:
        return self.session.csrf


def cookie_keys(request: Request) -> list[str]:
    """The keys the browser's cookie holds (possibly none)."""
    raw = request.cookies.get(KEYS_COOKIE, "")
    return [key for key in raw.split(_KEY_SEPARATOR) if key][:MAX_KEYS]


def csrf_token(keys: tuple[str, ...] | list[str]) -> str:
    """The form token of a session: only a holder of all its keys can compute it."""
    secret = _KEY_SEPARATOR.join(keys).encode()
    return hmac.new(secret, _CSRF_MESSAGE, hashlib.sha256).hexdigest()


def signin_url(request: Request, reason: str | None = None) -> str:
    """The sign-in page, coming back to the current page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return with_query("/signin", next=here if request.method == "GET" else None, reason=reason)


async def current_session(request: Request) -> UiSession | None:
    """The browser's session, None when it holds no keys.

    Raises Redirect (signing out) when any key is no longer valid: a revoked key ends
    the session rather than silently narrowing it. Each unknown or revoked key is a
    failed authentication of the client, as in a Bearer header, so a cookie of guesses
    meets the same throttle; AuthThrottled (429) once it is spent.
    """
    keys = cookie_keys(request)
    if not keys:
        return None
    ctx = context(request)
    store = ctx.store
    client = client_address(request, trust_forwarded_for=ctx.settings.trust_forwarded_for)
    ctx.auth_throttle.check(client)

    def check_all() -> list[Principal | None]:
        return [store.authenticate(key) for key in keys]

    principals = await ctx.lookup(check_all)
    for principal in principals:
        if principal is None:
            ctx.auth_throttle.record_failure(client)
    valid = [p for p in principals if p is not None and p.can_read]
    if len(valid) != len(principals):
        raise Redirect(signin_url(request, "revoked"), sign_out=True)
    return UiSession(tuple(keys), tuple(valid))


async def require_session(request: Request) -> UiSession:
    """Dependency: the signed-in session, else a redirect to the sign-in page."""
    session = await current_session(request)
    if session is None:
        raise Redirect(signin_url(request))
    return session


async def project_page(
    request: Request, pid: str, session: Annotated[UiSession, Depends(require_session)]
) -> AsyncIterator[ProjectPage]:
    """Dependency for `/p/{pid}/…`: NotFound for a project none of the keys belongs to
    (the same answer whether or not it exists).

    The page holds a read slot of its project until it is answered (a download until
    its last byte); TooManyReads (429) when the project's slots are all taken.
    """
    principal = session.principal_for(pid)
    if principal is None:
        raise NotFound(
            "none of your keys belongs to this project; add it by signing in with its key"
        )
    with context(request).read_slots.hold(principal.project.id):
        yield ProjectPage(session, principal)


def check_origin(request: Request) -> None:
    """Refuse a POST another site made the browser send.

    Browsers send `Origin` with every cross-origin POST (and `null` from opaque
    origins); a request with neither Origin nor Referer comes from a non-browser
    client, which carries no ambient cookie to abuse.
    """
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return
    if origin == "null" or urlsplit(origin).netloc.lower() != _public_host(request).lower():
        raise Forbidden("this form was sent from another site; reload the page and try again")


def _forwarded(request: Request, header: str) -> str | None:
    """A proxy's X-Forwarded-* value (the last one: the one our proxy set), only when
    the operator said a proxy is trusted (`trust_forwarded_for`)."""
    if not context(request).settings.trust_forwarded_for:
        return None
    value = request.headers.get(header)
    return value.split(",")[-1].strip() if value else None


def _public_host(request: Request) -> str:
    return _forwarded(request, "x-forwarded-host") or request.headers.get("host", "")


def _is_https(request: Request) -> bool:
    proto = _forwarded(request, "x-forwarded-proto")
    return (proto or request.url.scheme).lower() == "https"


def check_csrf(request: Request, form: dict[str, str], expected: str | None) -> None:
    """Refuse a POST whose origin is foreign or whose form token is not `expected`
    (every token, when None: the request has no session to hold one)."""
    check_origin(request)
    if expected is None or not hmac.compare_digest(
        form.get("csrf", "").encode(), expected.encode()
    ):
        raise Forbidden(
            "the form's security token is missing or stale; reload the page and try again"
        )


def new_pre_token() -> str:
    return secrets.token_urlsafe(24)


def set_keys(request: Request, response: Response, keys: list[str]) -> None:
    """Store `keys` as the session cookie of `response`."""
    response.set_cookie(
        KEYS_COOKIE,
        _KEY_SEPARATOR.join(keys[:MAX_KEYS]),
        httponly=True,
        samesite="strict",
        secure=_is_https(request),
        path="/",
    )


def set_pre_token(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        PRE_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_is_https(request),
        path="/signin",
    )


def sign_out(request: Request, response: Response) -> None:
    """Clear the session cookie on `response`."""
    response.delete_cookie(
        KEYS_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_is_https(request),
    )


Page = Annotated[ProjectPage, Depends(project_page)]
"""A route parameter: the project page the request is for (see `project_page`)."""


def chrome(page: ProjectPage, section: str) -> dict[str, Any]:
    """What every project page's frame shows: the project switcher, the active section,
    the form token."""
    return {"ui": page.session, "project": page.project, "csrf": page.csrf, "section": section}

"""Sign in with an API key, add a project (another key), sign out."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hivekeeper.domain.errors import Forbidden
from hivekeeper.ui import auth
from hivekeeper.ui.browser import Redirect, read_form, safe_next
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.templating import page
from hivekeeper.web import client_address, context

router = APIRouter(route_class=UiRoute, include_in_schema=False)

_REASONS = {
    "revoked": "One of your keys was revoked or deleted, so you were signed out. "
    "Sign in again with a valid key.",
    "signed-out": "You are signed out.",
}


@router.get("/")
async def home(request: Request) -> Response:
    session = await auth.current_session(request)
    if session is None:
        raise Redirect("/signin")
    raise Redirect(f"/p/{session.principals[0].project.id}/sessions")


@router.get("/signin")
async def signin_form(request: Request) -> Response:
    session = await auth.current_session(request)
    return _form(request, session, reason=_REASONS.get(request.query_params.get("reason", "")))


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await read_form(request)
    auth.check_origin(request)
    session = await auth.current_session(request)
    # Signed in, the session's token guards the form; before, the double-submit cookie.
    expected = session.csrf if session is not None else request.cookies.get(auth.PRE_COOKIE, "")
    if not expected:
        raise Forbidden("your browser did not keep the sign-in cookie; enable cookies and reload")
    auth.check_csrf(request, form, expected)
    key = form.get("key", "").strip()
    ctx = context(request)
    client = client_address(request, trust_forwarded_for=ctx.settings.trust_forwarded_for)
    ctx.auth_throttle.check(client)
    principal = await ctx.lookup(ctx.store.authenticate, key) if key else None
    if principal is None:
        if key:
            ctx.auth_throttle.record_failure(client)
        return _form(
            request, session, error="That key is unknown or revoked.", status=401,
            next_url=form.get("next"),
        )  # fmt: skip
    if not principal.can_read:
        return _form(
            request,
            session,
            error=f"This is {principal.limits}, so it cannot sign in. Use a full key of the "
            "project.",
            status=403,
            next_url=form.get("next"),
        )
    keys = [] if session is None else [
        k for k, p in zip(session.keys, session.principals, strict=True)
        if p.project.id != principal.project.id
    ]  # fmt: skip
    if len(keys) >= auth.MAX_KEYS:
        return _form(
            request, session, error=f"At most {auth.MAX_KEYS} projects at once.", status=400
        )
    target = safe_next(form.get("next"), f"/p/{principal.project.id}/sessions")
    response = RedirectResponse(target, status_code=303)
    auth.set_keys(request, response, [*keys, key])
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    form = await read_form(request)
    session = await auth.current_session(request)
    # Another site's form never carries our SameSite=Strict cookie, so it arrives without
    # a session; clearing the cookie anyway (browsers honour it on a top-level
    # navigation) would let any page sign the user out. No session, no valid token.
    auth.check_csrf(request, form, session.csrf if session is not None else None)
    raise Redirect("/signin?reason=signed-out", sign_out=True)


def _form(
    request: Request,
    session: auth.UiSession | None,
    *,
    reason: str | None = None,
    error: str | None = None,
    status: int = 200,
    next_url: str | None = None,
) -> Response:
    token = session.csrf if session is not None else auth.new_pre_token()
    response = page(
        request,
        "signin.html",
        status=status,
        ui=session,
        project=None,
        csrf=token,
        next=safe_next(next_url or request.query_params.get("next"), ""),
        reason=reason,
        error=error,
    )
    if session is None:
        auth.set_pre_token(request, response, token)
    return response

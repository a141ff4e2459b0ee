"""The sessions list and one session's page (tree, waterfall, detail) and outline."""

from __future__ import annotations

import gzip
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.filters import OPERATORS, SORT_KEYS
from hivekeeper.ui import auth, params
from hivekeeper.ui.detail import load_detail
from hivekeeper.ui.paging import read_page
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.templating import page as render_page
from hivekeeper.ui.views import flatten, outline_json, session_row
from hivekeeper.web import JsonResponse, context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
# Rows a page without JavaScript renders at once; the script draws any number.
STATIC_ROWS = 200
# The outline of a 10,000-event session is ~1 MB of JSON and ~10% of that gzipped.
_GZIP_OVER_BYTES = 16 * 1024
SORT_LABELS = {
    "start_time": "start",
    "end_time": "end",
    "duration": "duration",
    "num_events": "events",
    "total_tokens": "tokens",
    "cost": "cost",
    "error_count": "errors",
    "feedback_count": "feedback",
}


@router.get("/p/{pid}/sessions")
async def sessions_list(request: Request, page: auth.Page) -> Response:
    ctx = context(request)
    state = params.read_state(_query(request))
    error = None
    rows = []
    more = False
    try:
        query = params.event_query(
            state, ctx.now_ms(), max_filters=ctx.settings.max_filters, sessions_only=True
        )
        found, more = await read_page(ctx, page.project.id, query)
        rows = [session_row(r) for r in found]
    except ValidationFailed as exc:
        error = exc.message
    return render_page(
        request,
        "sessions.html",
        **auth.chrome(page, "sessions"),
        state=state,
        rows=rows,
        more=more,
        error=error,
        sort_keys=SORT_KEYS,
        sort_labels=SORT_LABELS,
        operators=OPERATORS,
        ranges=params.RANGES,
        limits=params.LIMITS,
    )


@router.get("/p/{pid}/sessions/{session_id}")
async def session_page(request: Request, session_id: str, page: auth.Page) -> Response:
    ctx = context(request)
    rows = await ctx.read(ctx.store.session_outline, page.project.id, session_id)
    outline = flatten(rows, session_id)
    if not outline.rows:
        raise NotFound(f"no session with id {session_id} in this project")
    selected = request.query_params.get("event") or session_id
    index = next((r.index for r in outline.rows if r.event["event_id"] == selected), None)
    if index is None:
        raise NotFound(f"no event {selected} in this session")
    start = _int(request.query_params.get("start"), (index // STATIC_ROWS) * STATIC_ROWS)
    start = min(max(start, 0), max(len(outline.rows) - 1, 0))
    detail = await load_detail(ctx, page.project, selected)
    base = f"/p/{page.project.id}/sessions/{session_id}"
    return render_page(
        request,
        "session.html",
        **auth.chrome(page, "sessions"),
        outline=outline,
        shown=outline.rows[start : start + STATIC_ROWS],
        start=start,
        step=STATIC_ROWS,
        selected=selected,
        d=detail,
        base=base,
        back=f"{base}?{urlencode({'event': selected})}",
        session_id=session_id,
    )


@router.get("/p/{pid}/sessions/{session_id}/outline.json")
async def session_outline(request: Request, session_id: str, page: auth.Page) -> Response:
    """Every event of the session without payloads, for the virtualised tree."""
    ctx = context(request)
    rows = await ctx.read(ctx.store.session_outline, page.project.id, session_id)
    outline = flatten(rows, session_id)
    if not outline.rows:
        raise NotFound(f"no session with id {session_id} in this project")
    response = JsonResponse(
        outline_json(outline, session_id), headers={"Cache-Control": "no-store"}
    )
    accepts = request.headers.get("accept-encoding", "")
    if len(response.body) > _GZIP_OVER_BYTES and "gzip" in accepts.lower():
        response.body = gzip.compress(response.body, compresslevel=5)
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Content-Length"] = str(len(response.body))
        response.headers["Vary"] = "Accept-Encoding"
    return response


def _query(request: Request) -> dict[str, list[str]]:
    return {k: request.query_params.getlist(k) for k in request.query_params}


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default

"""The sessions list and one session's page (tree, waterfall, detail) and outline.

Below the routes, what they show: a line per session of the list, and the session's
events in depth-first order with their place on the time axis.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.filters import OPERATORS, SORT_KEYS
from hivekeeper.domain.render import render_event
from hivekeeper.domain.tenancy import Project
from hivekeeper.domain.types import OutlineRow, StoredRow
from hivekeeper.ui import auth, formats, params, previews
from hivekeeper.ui.columns import value_at
from hivekeeper.ui.detail import load_detail
from hivekeeper.ui.paging import read_page
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.run_links import list_filter, session_run
from hivekeeper.ui.templating import page as render_page
from hivekeeper.web import JsonResponse, context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
# Rows a page without JavaScript renders at once; the script draws any number.
STATIC_ROWS = 200
MAX_SEARCH_CHARS = 500
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
    total: int | None = None
    count_url = ""
    columns: tuple[str, ...] = ()
    try:
        columns = params.columns(state)
        query = params.event_query(
            state, ctx.now_ms(), max_filters=ctx.settings.max_filters, sessions_only=True
        )
        found, more = await read_page(ctx, page.project.id, query)
        if previews.counts_from_index(query):
            _, total = await ctx.read(
                ctx.store.query_events, page.project.id, previews.count_query(query)
            )
        else:
            count_url = f"/p/{page.project.id}/session-count{state.query_string(page=1)}"
        shown = await previews.previews(ctx, page.project.id, found)
        rows = [
            session_row(r, preview, _cells(r, page.project, columns) if columns else [])
            for r, preview in zip(found, shown, strict=True)
        ]
    except ValidationFailed as exc:
        error = exc.message
    of_run = None
    if state.run or state.dataset:
        of_run = await ctx.read(list_filter, ctx.store, page.project.id, state.run, state.dataset)
    return render_page(
        request,
        "sessions.html",
        **auth.chrome(page, "sessions"),
        state=state,
        of_run=of_run,
        rows=rows,
        more=more,
        error=error,
        match_count=previews.bounded_count(total),
        count_url=count_url,
        columns=columns,
        column_choices=COLUMN_CHOICES,
        sort_keys=SORT_KEYS,
        sort_labels=SORT_LABELS,
        operators=OPERATORS,
        ranges=params.RANGES,
        limits=params.LIMITS,
    )


@router.get("/p/{pid}/session-count")
async def session_count(request: Request, page: auth.Page) -> Response:
    """How many sessions the list's view matches (`10,000+` past the bound), for a
    filtered or searched list: its page is sent first, and its script asks for this."""
    ctx = context(request)
    state = params.read_state(_query(request))
    query = params.event_query(
        state, ctx.now_ms(), max_filters=ctx.settings.max_filters, sessions_only=True
    )
    _, total = await ctx.read(ctx.store.query_events, page.project.id, previews.count_query(query))
    return JsonResponse(
        {"count": previews.bounded_count(total), "exact": (total or 0) <= previews.COUNT_BOUND}
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
    run_link = await ctx.read(session_run, ctx.store, page.project.id, session_id)
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
        run_link=run_link,
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


@router.get("/p/{pid}/sessions/{session_id}/search.json")
async def session_search(request: Request, session_id: str, page: auth.Page) -> Response:
    """The ids of the session's events whose name, inputs, outputs or metadata hold `q`,
    in start order: what the session page's search steps through."""
    ctx = context(request)
    text = (request.query_params.get("q") or "").strip()
    if len(text) > MAX_SEARCH_CHARS:
        raise ValidationFailed(f"q is longer than {MAX_SEARCH_CHARS} characters", field="q")
    ids = []
    if text:
        ids = await ctx.read(ctx.store.search_session, page.project.id, session_id, text)
    return JsonResponse({"q": text, "ids": ids}, headers={"Cache-Control": "no-store"})


def _query(request: Request) -> dict[str, list[str]]:
    return {k: request.query_params.getlist(k) for k in request.query_params}


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


# --- a line of the sessions list -------------------------------------------------

_USER_KEYS = ("user_id", "user", "email", "id", "name")
SHORT_ID_CHARS = 8
# Offered in the list's column chooser; any field path may be typed.
COLUMN_CHOICES = (
    "metadata.num_events",
    "metadata.total_tokens",
    "metadata.cost",
    "config.model",
    "user_properties.user_id",
    "metrics",
    "feedback.rating",
)


@dataclass(frozen=True, slots=True)
class SessionRow:
    session_id: str
    name: str
    source: str
    user: str
    start_time: float | None
    duration: float | None
    num_events: int
    total_tokens: float
    cost: float
    error_count: int
    feedback: str
    first_input: str = ""
    last_output: str = ""
    cells: tuple[str, ...] = ()

    @property
    def short_id(self) -> str:
        return self.session_id[:SHORT_ID_CHARS]


def session_row(
    row: StoredRow,
    preview: previews.Preview | None = None,
    cells: Sequence[str] = (),
) -> SessionRow:
    """One line of the sessions list, from a session row and its roll-ups, with its
    preview and the chosen columns' cells."""
    return SessionRow(
        session_id=row["event_id"],
        name=row["event_name"] or "",
        source=row["source"] or "",
        user=_user(row["user_properties"]),
        start_time=row["start_time"],
        duration=_duration(row),
        num_events=row["num_events"],
        total_tokens=row["total_tokens"],
        cost=row["cost"],
        error_count=row["error_count"] + (1 if row["error"] is not None else 0),
        feedback=feedback_summary(row["feedback"], row["feedback_count"]),
        first_input=preview.first_input if preview else "",
        last_output=preview.last_output if preview else "",
        cells=tuple(cells),
    )


def _cells(row: StoredRow, project: Project, columns: Sequence[str]) -> list[str]:
    """The chosen columns of a session, read from it as the API renders it (roll-ups
    in `metadata`)."""
    event = render_event(row, project)
    out = []
    for column in columns:
        value = value_at(event, column)
        out.append(formats.cost(value) if column.endswith("cost") else formats.cell(value))
    return out


def feedback_summary(feedback: Mapping[str, Any], events_with_feedback: int = 0) -> str:
    """`★4 · “too long…” · 3 events`: the rating, the comment's start, and how many of
    the session's events carry feedback."""
    parts = []
    rating = feedback.get("rating")
    if isinstance(rating, int | float) and not isinstance(rating, bool):
        parts.append(f"★{rating:g}")
    elif rating is not None:
        parts.append(f"rating {rating}")
    comment = feedback.get("comment")
    if isinstance(comment, str) and comment.strip():
        text = comment.strip()
        parts.append(f"“{text[:40]}{'…' if len(text) > 40 else ''}”")
    others = [k for k in feedback if k not in ("rating", "comment")]
    if others:
        parts.append(", ".join(others[:3]))
    if events_with_feedback:
        parts.append(f"{events_with_feedback} event{'s' if events_with_feedback != 1 else ''}")
    return " · ".join(parts)


def _user(properties: Mapping[str, Any]) -> str:
    for key in _USER_KEYS:
        value = properties.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return ""


def _duration(row: StoredRow) -> float | None:
    if row["duration"] is not None:
        return row["duration"]
    if row["start_time"] is not None and row["end_time"] is not None:
        return row["end_time"] - row["start_time"]
    return None


# --- the session outline ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlatRow:
    """One outline row in depth-first order; `parent` is the index of its parent row."""

    index: int
    parent: int
    depth: int
    has_children: bool
    event: OutlineRow


@dataclass(frozen=True, slots=True)
class Outline:
    rows: list[FlatRow]
    t0: float | None
    t1: float | None

    @property
    def num_events(self) -> int:
        """The session's events, its own row left out (`metadata.num_events`)."""
        return max(len(self.rows) - 1, 0)

    @property
    def span_ms(self) -> float:
        if self.t0 is None or self.t1 is None:
            return 0.0
        return max(self.t1 - self.t0, 0.0)

    def bar(self, row: FlatRow) -> tuple[float, float] | None:
        """Where an event's bar sits on the shared time axis: (left, width) in 0..1000."""
        start = row.event["start_time"]
        if start is None or self.t0 is None:
            return None
        span = self.span_ms or 1.0
        end = _end(row.event)
        left = (start - self.t0) / span * 1000
        width = max(((end if end is not None else start) - start) / span * 1000, 2.0)
        left = min(max(left, 0.0), 998.0)
        return round(left, 2), round(min(width, 1000 - left), 2)

    def ticks(self) -> list[float]:
        """Offsets (ms from t0) of five axis labels, start to end."""
        return [self.span_ms * i / 4 for i in range(5)]


def flatten(outline: Sequence[OutlineRow], session_id: str) -> Outline:
    """The session's events in depth-first order under the session row.

    Children keep the store's order (start time, then id). An event whose parent is
    missing, or that sits on a parent cycle, hangs off the session root, as in the
    API's tree, so every event of the session shows.
    """
    by_id = {row["event_id"]: row for row in outline}
    root = by_id.get(session_id)
    if root is None:
        return Outline([], None, None)
    children: dict[str, list[OutlineRow]] = {}
    for row in outline:
        if row["event_id"] == session_id:
            continue
        parent = row["parent_id"]
        if parent is None or parent not in by_id or parent == row["event_id"]:
            parent = session_id
        children.setdefault(parent, []).append(row)
    flat: list[FlatRow] = []
    placed: set[str] = set()

    def walk(start: OutlineRow, parent_index: int, depth: int) -> None:
        # Iterative: a chain of thousands of nested spans must not hit the recursion limit.
        stack: list[tuple[OutlineRow, int, int]] = [(start, parent_index, depth)]
        while stack:
            row, parent_at, level = stack.pop()
            if row["event_id"] in placed:
                continue
            placed.add(row["event_id"])
            kids = [k for k in children.get(row["event_id"], []) if k["event_id"] not in placed]
            index = len(flat)
            flat.append(FlatRow(index, parent_at, level, bool(kids), row))
            stack.extend((kid, index, level + 1) for kid in reversed(kids))

    walk(root, -1, 0)
    stray = [row for row in outline if row["event_id"] not in placed]
    if stray:  # parent cycles: attach each unreached event to the root
        children[session_id] = stray
        flat[0] = FlatRow(0, -1, 0, True, root)
        for row in stray:
            walk(row, 0, 1)
    starts = [r["start_time"] for r in outline if r["start_time"] is not None]
    ends = [e for e in (_end(r) for r in outline) if e is not None]
    t0 = min(starts) if starts else None
    t1 = max([*ends, *starts]) if starts else None
    return Outline(flat, t0, t1)


def outline_json(outline: Outline, session_id: str) -> dict[str, Any]:
    """The compact outline the session page's script draws: one array per row.

    Columns: id, parent index, depth, has children, type, name, start offset (ms from
    t0), duration, error (1/0), model, tokens, cost. Arrays, not objects, keep a
    10,000-event session near a megabyte.
    """
    t0 = outline.t0
    rows = []
    for row in outline.rows:
        event = row.event
        start = event["start_time"]
        end = _end(event)
        rows.append(
            [
                event["event_id"],
                row.parent,
                row.depth,
                1 if row.has_children else 0,
                event["event_type"],
                event["event_name"] or "",
                None if start is None or t0 is None else round(start - t0, 3),
                None if start is None or end is None else round(end - start, 3),
                1 if event["error"] is not None else 0,
                event["model"],
                event["total_tokens"],
                event["cost"],
            ]
        )
    return {
        "session_id": session_id,
        "t0": t0,
        "span": outline.span_ms,
        "columns": [
            "id",
            "parent",
            "depth",
            "kids",
            "type",
            "name",
            "start",
            "duration",
            "error",
            "model",
            "tokens",
            "cost",
        ],
        "rows": rows,
    }


def _end(row: OutlineRow) -> float | None:
    if row["end_time"] is not None:
        return row["end_time"]
    if row["start_time"] is not None and row["duration"] is not None:
        return row["start_time"] + row["duration"]
    return None

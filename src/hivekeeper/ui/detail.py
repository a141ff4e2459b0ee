"""One event's detail (the fragment the session page loads) and feedback on it."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.events import parse_update
from hivekeeper.domain.render import render_event
from hivekeeper.domain.tenancy import Project
from hivekeeper.domain.types import Update
from hivekeeper.ui import auth
from hivekeeper.ui.browser import read_form, safe_next
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.templating import render
from hivekeeper.ui.views import EventDetail, event_detail
from hivekeeper.web import AppContext, context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
MAX_COMMENT_CHARS = 10_000
_RATING_RANGE = (-1_000_000.0, 1_000_000.0)


async def load_detail(ctx: AppContext, project: Project, event_id: str) -> EventDetail:
    """The detail of an event of `project`; NotFound otherwise."""
    row = await ctx.read(ctx.store.get_event, project.id, event_id)
    if row is None:
        raise NotFound(f"no event with id {event_id} in this project")
    children = await ctx.read(ctx.store.children_of, project.id, [event_id])
    return event_detail(render_event(row, project, children.get(event_id, [])))


def session_link(project: Project, detail: EventDetail) -> str:
    """Where an event is seen in context: its session's page with it selected."""
    event = detail.event
    session_id = event.get("session_id") or event["event_id"]
    return f"/p/{project.id}/sessions/{session_id}?event={event['event_id']}"


@router.get("/p/{pid}/events/{event_id}/detail")
async def detail_fragment(request: Request, event_id: str, page: auth.Page) -> Response:
    """The detail pane as an HTML fragment, for the session page's script."""
    detail = await load_detail(context(request), page.project, event_id)
    html = render(
        "_detail.html",
        d=detail,
        project=page.project,
        csrf=page.csrf,
        back=session_link(page.project, detail),
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.post("/p/{pid}/events/{event_id}/feedback")
async def add_feedback(request: Request, event_id: str, page: auth.Page) -> Response:
    """Merge `{rating, comment}` into the event's feedback through the writer, as
    `PUT /v1/events/{id}` does, and answer only once it is committed, so the page the
    browser is sent back to already shows it."""
    form = await read_form(request)
    auth.check_csrf(request, form, page.csrf)
    ctx = context(request)
    if await ctx.read(ctx.store.get_event, page.project.id, event_id) is None:
        raise NotFound(f"no event with id {event_id} in this project")
    feedback: dict[str, object] = {}
    rating = form.get("rating", "").strip()
    if rating:
        try:
            value = float(rating)
        except ValueError:
            raise ValidationFailed("rating must be a number", field="rating") from None
        if not _RATING_RANGE[0] <= value <= _RATING_RANGE[1]:
            raise ValidationFailed("rating is out of range", field="rating")
        feedback["rating"] = int(value) if value.is_integer() else value
    comment = form.get("comment", "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValidationFailed(
            f"comment is longer than {MAX_COMMENT_CHARS} characters", field="comment"
        )
    if comment:
        feedback["comment"] = comment
    target = safe_next(
        form.get("next"), f"/p/{page.project.id}/sessions/{event_id}?event={event_id}"
    )
    if not feedback:
        raise ValidationFailed("give a rating, a comment or both", field="rating")
    patch = parse_update({"feedback": feedback}, event_id=event_id)
    await ctx.writer.submit([Update(page.project.id, patch)])
    return RedirectResponse(target, status_code=303)

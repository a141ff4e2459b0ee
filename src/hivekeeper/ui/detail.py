"""One event's detail (the fragment the session page loads) and feedback on it.

Below the routes, what the detail pane shows of a rendered event: its chat messages
and answers, model and usage, and each namespace as a section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hivekeeper.domain.error_repeats import REPEATS_KEY
from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.events import OBJECT_FIELDS, parse_update
from hivekeeper.domain.render import render_event
from hivekeeper.domain.tenancy import Project
from hivekeeper.domain.types import Update
from hivekeeper.ui import auth
from hivekeeper.ui.browser import read_form, safe_next
from hivekeeper.ui.columns import value_at
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.stacktrace import StackTrace, event_traces
from hivekeeper.ui.templating import render
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


# --- what the detail pane shows --------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: Any


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: `content` is text when `text` is True, else any JSON."""

    role: str
    content: Any
    text: bool
    tool_calls: list[ToolCall]
    extra: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    value: Any
    size: int
    open: bool


@dataclass(frozen=True, slots=True)
class EventDetail:
    event: dict[str, Any]
    messages: list[Message]
    answers: list[Message]
    model: dict[str, Any]
    usage: dict[str, Any]
    sections: list[Section]
    unmapped: list[tuple[str, Any]]
    feedback: dict[str, Any]
    traces: list[StackTrace] = field(default_factory=list)
    repeats: str | None = None

    @property
    def is_model(self) -> bool:
        return bool(self.event.get("event_type") == "model")


_USAGE_KEYS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cache_read_tokens",
    "reasoning_tokens",
    "cost",
    "prompt_cost",
    "completion_cost",
)
_ANSWER_KEYS = frozenset({"role", "content", "tool_calls", "parts"})
# `metadata` keys that are noise beside the event's own columns and panes: OTel's
# bookkeeping, the columns again (`event_type`, `event_name`, `duration_ms`), the
# exceptions drawn as stack traces. They move to a closed "raw" section.
_RAW_METADATA = ("otel", "event_type", "event_name", "duration_ms", "exceptions")


def event_detail(event: dict[str, Any]) -> EventDetail:
    """Everything the detail pane shows of a rendered event (`render_event`'s shape)."""
    inputs = _object(event.get("inputs"))
    outputs = _object(event.get("outputs"))
    config = _object(event.get("config"))
    metadata = _object(event.get("metadata"))
    history = inputs.get("chat_history")
    messages = [message(m) for m in history] if isinstance(history, list) else []
    answers: list[Message] = []
    choices = outputs.get("choices")
    if isinstance(choices, list) and choices:
        answers = [message(c, "assistant") for c in choices]
    elif _ANSWER_KEYS.intersection(outputs):
        answers = [message(outputs, "assistant")]
    model = {k: config[k] for k in ("model", "provider") if config.get(k) is not None}
    params = config.get("hyperparameters")
    if isinstance(params, dict):
        model.update(params)
    usage = {k: metadata[k] for k in _USAGE_KEYS if metadata.get(k) is not None}
    raw = {f"metadata.{k}": metadata[k] for k in _RAW_METADATA if k in metadata}
    sections = []
    for name in OBJECT_FIELDS:
        value = event.get(name)
        if name == "metadata" and raw:
            value = {k: v for k, v in metadata.items() if k not in _RAW_METADATA}
        size = len(value) if isinstance(value, dict | list) else 0
        # Closed when long: a pane of tool results should not bury the chat above it.
        sections.append(Section(name, value if value is not None else {}, size, 0 < size <= 8))
    extra = {k: v for k, v in event.items() if k not in _KNOWN_EVENT_KEYS}
    if extra:
        sections.append(Section("other fields", extra, len(extra), False))
    if raw:
        sections.append(Section("raw", raw, len(raw), False))
    repeats = metadata.get(REPEATS_KEY)
    return EventDetail(
        event=event,
        messages=messages,
        answers=answers,
        model=model,
        usage=usage,
        sections=sections,
        unmapped=_unmapped(metadata),
        feedback=_object(event.get("feedback")),
        traces=event_traces(event),
        repeats=repeats if isinstance(repeats, str) else None,
    )


def message(raw: Any, default_role: str = "") -> Message:
    """A chat message in any shape ingest produces (`{role, content, tool_calls, …}`)."""
    if not isinstance(raw, dict):
        return Message(default_role or "message", raw, isinstance(raw, str), [], {})
    role = raw.get("role")
    content = raw.get("content")
    calls = raw.get("tool_calls")
    extra = {k: v for k, v in raw.items() if k not in ("role", "content", "tool_calls")}
    return Message(
        role=str(role) if role is not None else default_role or "message",
        content=content,
        text=isinstance(content, str),
        tool_calls=[_tool_call(c) for c in calls] if isinstance(calls, list) else [],
        extra=extra,
    )


def _tool_call(raw: Any) -> ToolCall:
    if not isinstance(raw, dict):
        return ToolCall("", "", raw)
    function = raw.get("function")
    fn = function if isinstance(function, dict) else raw
    return ToolCall(
        id=str(raw.get("id") or ""),
        name=str(fn.get("name") or ""),
        arguments=_maybe_json(fn.get("arguments")),
    )


def _maybe_json(value: Any) -> Any:
    """Tool arguments often arrive as a JSON string: shown parsed when they parse."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _unmapped(metadata: Mapping[str, Any]) -> list[tuple[str, Any]]:
    otel = metadata.get("otel")
    keys = otel.get("unmapped_attributes") if isinstance(otel, dict) else None
    if not isinstance(keys, list):
        return []
    return [(str(key), value_at(metadata, str(key))) for key in keys]


_KNOWN_EVENT_KEYS = frozenset(
    {
        *OBJECT_FIELDS,
        "event_id",
        "session_id",
        "org_id",
        "workspace_id",
        "project_id",
        "parent_id",
        "children_ids",
        "event_type",
        "event_name",
        "error",
        "source",
        "duration",
        "start_time",
        "end_time",
    }
)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

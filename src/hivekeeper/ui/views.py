"""Stored rows → what the templates show: list rows, the session outline, event detail.

Pure functions over our own data types; templates only lay these out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from hivekeeper.domain.events import OBJECT_FIELDS
from hivekeeper.domain.types import OutlineRow, StoredRow
from hivekeeper.ui import formats

_USER_KEYS = ("user_id", "user", "email", "id", "name")
DEFAULT_COLUMNS = (
    "start_time",
    "event_type",
    "event_name",
    "duration",
    "config.model",
    "metadata.total_tokens",
    "metadata.cost",
    "error",
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


def session_row(row: StoredRow) -> SessionRow:
    """One line of the sessions list, from a session row and its roll-ups."""
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
    )


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


def value_at(event: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a rendered event (array indices as digits), or None."""
    current: Any = event
    for segment in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(segment)
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return None
    return current


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


# --- event detail ----------------------------------------------------------------


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
    sections = []
    for name in OBJECT_FIELDS:
        value = event.get(name)
        size = len(value) if isinstance(value, dict | list) else 0
        # Closed when long: a pane of tool results should not bury the chat above it.
        sections.append(Section(name, value if value is not None else {}, size, 0 < size <= 8))
    extra = {k: v for k, v in event.items() if k not in _KNOWN_EVENT_KEYS}
    if extra:
        sections.append(Section("other fields", extra, len(extra), False))
    return EventDetail(
        event=event,
        messages=messages,
        answers=answers,
        model=model,
        usage=usage,
        sections=sections,
        unmapped=_unmapped(metadata),
        feedback=_object(event.get("feedback")),
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


def _end(row: OutlineRow) -> float | None:
    if row["end_time"] is not None:
        return row["end_time"]
    if row["start_time"] is not None and row["duration"] is not None:
        return row["start_time"] + row["duration"]
    return None


def event_cells(event: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The explorer's cells of a rendered event, each formatted for its column."""
    out = []
    for column in columns:
        value = value_at(event, column)
        if column in ("start_time", "end_time"):
            out.append(formats.when(value))
        elif column == "duration":
            out.append(formats.duration(value))
        elif column.endswith("cost"):
            out.append(formats.cost(value) if not isinstance(value, str) else value)
        else:
            out.append(formats.cell(value))
    return out

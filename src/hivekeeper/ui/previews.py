"""What tells sessions apart in the list: a one-line preview of the first input and the
last output, taken from the session or, when it has none, from its first and last
events, and the count of matching sessions, exact up to a bound."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from hivekeeper.domain.filters import Condition, EventQuery, FieldRef
from hivekeeper.domain.types import StoredRow
from hivekeeper.store import Store
from hivekeeper.web import AppContext

PREVIEW_CHARS = 140
COUNT_BOUND = 10_000
"""Matches counted exactly; past it the list says `10,000+`. Counting stops one row
past the bound, so a count reads at most that many rows, never a full scan."""
# Keys whose value reads as the gist of an input or an output, most telling first.
_INPUT_KEYS = ("question", "query", "prompt", "input", "task", "message", "text")
_OUTPUT_KEYS = ("content", "answer", "final_answer", "result", "output", "text", "response")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Preview:
    first_input: str
    last_output: str


def bounded_count(total: int | None) -> str:
    """`1,234`, or `10,000+` past the bound."""
    if total is None:
        return ""
    return f"{COUNT_BOUND:,}+" if total > COUNT_BOUND else f"{total:,}"


def counts_from_index(query: EventQuery) -> bool:
    """Whether the bounded count of a sessions list reads the sessions index alone (no
    filter, no search: a millisecond); otherwise it reads up to the bound's rows, so
    the page is sent first and the count follows (`/session-count`)."""
    return query.search is None and all(c.field.column == "event_type" for c in query.conditions)


def count_query(query: EventQuery) -> EventQuery:
    """`query` as a bounded count: one row read, matches counted up to the bound + 1."""
    return replace(
        query, limit=1, page=1, after=None, count_total=True, count_limit=COUNT_BOUND + 1
    )


def input_text(inputs: Mapping[str, Any]) -> str:
    """The gist of an `inputs` object on one line: the last user message of a chat, a
    telling key's text, the first text value, else the compact JSON."""
    history = inputs.get("chat_history") or inputs.get("messages")
    if isinstance(history, list):
        for message in reversed(history):
            if isinstance(message, Mapping) and message.get("role") == "user":
                return _line(message.get("content"))
    return _gist(inputs, _INPUT_KEYS)


def output_text(outputs: Mapping[str, Any]) -> str:
    """The gist of an `outputs` object on one line (as `input_text`)."""
    return _gist(outputs, _OUTPUT_KEYS)


def read_previews(store: Store, project_id: str, sessions: Sequence[StoredRow]) -> list[Preview]:
    """Each session's preview, in order. A session without inputs (outputs) reads its
    first event with inputs (the last to start with outputs): one indexed query each.
    Runs on the read lane, as one call."""
    out = []
    for row in sessions:
        first = input_text(row["inputs"]) if row["inputs"] else ""
        last = output_text(row["outputs"]) if row["outputs"] else ""
        if not first:
            event = _edge_event(store, project_id, row["event_id"], "inputs", descending=False)
            first = input_text(event["inputs"]) if event else ""
        if not last:
            event = _edge_event(store, project_id, row["event_id"], "outputs", descending=True)
            last = output_text(event["outputs"]) if event else ""
        out.append(Preview(first, last))
    return out


async def previews(ctx: AppContext, project_id: str, rows: Sequence[StoredRow]) -> list[Preview]:
    """`read_previews` on the read lane."""
    return await ctx.read(read_previews, ctx.store, project_id, rows)


def _edge_event(
    store: Store, project_id: str, session_id: str, namespace: str, *, descending: bool
) -> StoredRow | None:
    query = EventQuery(
        conditions=(
            Condition(FieldRef(column="session_id"), "is", "string", session_id),
            Condition(FieldRef(column="event_type"), "is not", "string", "session"),
            Condition(FieldRef(namespace=namespace), "exists", "string", None),  # type: ignore[arg-type]  # "inputs" | "outputs"
        ),
        limit=1,
        # Start order, as the session index holds its events: the last to start with
        # an output is read first, without sorting the session's rows.
        sort="start_time",
        descending=descending,
        count_total=False,
    )
    found, _ = store.query_events(project_id, query)
    return found[0] if found else None


def _gist(value: Mapping[str, Any], keys: Sequence[str]) -> str:
    for key in keys:
        text = value.get(key)
        if isinstance(text, str) and text.strip():
            return _line(text)
    for text in value.values():
        if isinstance(text, str) and text.strip():
            return _line(text)
    return _line(orjson.dumps(value, default=repr).decode()) if value else ""


def _line(value: object) -> str:
    if not isinstance(value, str):
        value = orjson.dumps(value, default=repr).decode() if value is not None else ""
    text = _SPACE.sub(" ", value).strip()
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"

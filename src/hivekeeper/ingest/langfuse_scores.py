"""Langfuse scores (`POST /api/public/scores`) → updates of the events they score.

A score names an observation (`traceId` + `observationId`: the event of that span), a
trace (`traceId` alone: the trace's session) or a session (`sessionId`). Its value
goes to the event's `metrics` under its name, or to `feedback` when a person gave it
(`source` `ANNOTATION`); a `comment` beside it as `<name>_comment`; the score as sent
is kept in `metadata.scores.<name>`. A boolean score (`dataType` `BOOLEAN`, value 1 or
0) is stored as true or false. Each score is an `Update`, so one that arrives before
its span waits for it like any update of an unknown event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hivekeeper.domain.types import EventPatch, JsonObject, Update
from hivekeeper.ingest.span_mapping import span_event_id

_TRACE_ID_CHARS = 32
_SPAN_ID_CHARS = 16
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Score:
    """One score, checked: whom it scores and what it says."""

    name: str
    value: float | bool | str
    trace_id: str | None
    observation_id: str | None
    session_id: str | None
    by_person: bool
    comment: str | None
    sent: JsonObject

    def patch(self, event_id: str) -> EventPatch:
        """The update that puts this score on the event `event_id`."""
        values: JsonObject = {self.name: self.value}
        if self.comment is not None:
            values[f"{self.name}_comment"] = self.comment
        patch: EventPatch = {"event_id": event_id, "metadata": {"scores": {self.name: self.sent}}}
        patch["feedback" if self.by_person else "metrics"] = values
        return patch

    @property
    def observation_event_id(self) -> str | None:
        """The event of the scored observation, if the score names one."""
        if self.trace_id is None or self.observation_id is None:
            return None
        return span_event_id(self.trace_id, self.observation_id)


class ScoreError(ValueError):
    """A score that cannot be stored: the field at fault, and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


def parse_score(raw: object) -> Score:
    """One score of a request body; ScoreError naming what is wrong."""
    if not isinstance(raw, dict):
        raise ScoreError("score", "must be a JSON object")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ScoreError("name", "must be a non-empty string")
    trace_id = _hex_id(raw.get("traceId"), _TRACE_ID_CHARS, "traceId")
    observation_id = _hex_id(raw.get("observationId"), _SPAN_ID_CHARS, "observationId")
    session_id = raw.get("sessionId")
    if session_id is not None and (not isinstance(session_id, str) or not session_id.strip()):
        raise ScoreError("sessionId", "must be a non-empty string")
    if observation_id is not None and trace_id is None:
        raise ScoreError("traceId", "an observationId needs the traceId of its trace")
    if trace_id is None and session_id is None:
        raise ScoreError(
            "traceId",
            "a score must name the trace (or the sessionId) it scores; "
            "dataset run scores are not stored",
        )
    comment = raw.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ScoreError("comment", "must be a string")
    return Score(
        name=name.strip(),
        value=_value(raw.get("value"), raw.get("dataType")),
        trace_id=trace_id,
        observation_id=observation_id,
        session_id=session_id.strip() if isinstance(session_id, str) else None,
        by_person=raw.get("source") == "ANNOTATION",
        comment=comment,
        sent=dict(raw),
    )


def score_update(project_id: str, score: Score, trace_session: str | None) -> Update:
    """The write that stores `score` in `project_id`: on its observation's event, else
    on `trace_session` (the session of its trace), else on its session."""
    event_id = score.observation_event_id or trace_session or score.session_id
    assert event_id is not None  # parse_score refuses a score naming none
    return Update(project_id, score.patch(event_id))


def _hex_id(value: Any, length: int, where: str) -> str | None:
    if value is None:
        return None
    text = value.strip().lower() if isinstance(value, str) else ""
    if len(text) != length or not _HEX.issuperset(text):
        raise ScoreError(where, f"must be the {length}-hex-digit OpenTelemetry id exported")
    return text


def _value(value: Any, data_type: Any) -> float | bool | str:
    if data_type == "BOOLEAN":
        if value in (0, 1) and not isinstance(value, str):
            return bool(value)
        raise ScoreError("value", "a BOOLEAN score is 1 or 0")
    if isinstance(value, str):
        if not value:
            raise ScoreError("value", "must not be empty")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScoreError("value", "must be a finite number or a string")
    return value

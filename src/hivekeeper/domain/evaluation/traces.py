"""A run's stored events → one `SessionTrace` per session: its datapoint, scores, errors.

What `evaluate()` leaves behind (spec/evaluation.md §2, §5), and where this reads it:

- the datapoint: `metadata.datapoint_id` of the session, else of any of its events;
- scores: `metrics` of every event of the session, the root `chain` span's above all
  (a dict evaluator result is flattened to `<name>`, `<name>_explanation`, …); booleans,
  numbers and strings are scores, other values are not;
- ground truth: the session's `feedback.ground_truth`, else `ground_truth` inside the
  root span's `inputs.dp` (a JSON string of the whole row);
- output: the session's `outputs`, else the root span's `outputs.result`; the SDK
  sends no session update when the function returned a non-dict;
- an error anywhere in the session (the function raised) fails the datapoint.

Rows are plain mappings shaped like stored event rows (`RunRow`, a projection of
`StoredRow`), so every engine can supply them; rows may arrive in any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, TypedDict

import orjson

from hivekeeper.domain.fields import as_object, finite_number
from hivekeeper.domain.types import JsonObject

ScoreValue = bool | float | str
"""A score: a boolean, a finite number or a string (a label, an explanation)."""


class RunRow(TypedDict):
    """The columns of one stored event a run's result reads.

    Stores may project the namespaces down to what is read: `inputs.dp`,
    `feedback.ground_truth`, `metadata.datapoint_id` (and `run_id`), whole `outputs` and
    `metrics`. Pending rows (no `event_type` yet) are skipped.
    """

    event_id: str
    session_id: str | None
    parent_id: str | None
    event_type: str | None
    event_name: str | None
    start_time: float | None
    error: str | None
    inputs: JsonObject
    outputs: JsonObject
    metrics: JsonObject
    feedback: JsonObject
    metadata: JsonObject


class Score(NamedTuple):
    """One metric value recorded on one event (a tuple: a result makes one per score)."""

    name: str
    event_name: str
    event_type: str
    value: ScoreValue
    event_id: str

    @property
    def group(self) -> tuple[str, str, str]:
        """What a result aggregates over: (metric name, event name, event type)."""
        return (self.name, self.event_name, self.event_type)


class EventRef(NamedTuple):
    """An event of a session, as run comparisons pair them."""

    event_id: str
    event_name: str
    event_type: str
    start_time: float | None


@dataclass(frozen=True, slots=True)
class SessionTrace:
    """What one session of a run shows about its datapoint."""

    session_id: str
    datapoint_id: str | None
    start_time: float | None
    error: str | None
    inputs: JsonObject
    outputs: object
    ground_truth: object
    scores: tuple[Score, ...]
    events: tuple[EventRef, ...]

    @property
    def key(self) -> str:
        """The id results list it under: its datapoint's, else its own."""
        return self.datapoint_id or self.session_id


def read_sessions(rows: Iterable[Mapping[str, object]]) -> list[SessionTrace]:
    """One trace per session among `rows`, ordered by session start (then id).

    Each row is a `RunRow`-shaped mapping. Rows without a session id or an event type
    are skipped; a session whose own row is missing is still read from its events.
    """
    sessions: dict[str, list[Mapping[str, object]]] = {}
    for row in rows:
        session_id = row.get("session_id")
        if isinstance(session_id, str) and row.get("event_type") is not None:
            sessions.setdefault(session_id, []).append(row)
    traces = [_trace(session_id, events) for session_id, events in sessions.items()]
    return sorted(traces, key=lambda t: (_order(t.start_time), t.session_id))


def _trace(session_id: str, rows: list[Mapping[str, object]]) -> SessionTrace:
    rows = sorted(rows, key=lambda r: (_order(r.get("start_time")), str(r.get("event_id"))))
    session = next((r for r in rows if r.get("event_id") == session_id), None)
    events = [r for r in rows if r is not session]
    root = _function_span(session_id, events)
    dp = _row_of_dataset(root)
    feedback = as_object((session or {}).get("feedback"))
    ground_truth = feedback.get("ground_truth")
    if ground_truth is None:
        ground_truth = dp.get("ground_truth")
    outputs: object = as_object((session or {}).get("outputs")) or None
    if outputs is None and root is not None:
        root_outputs = as_object(root.get("outputs"))
        outputs = root_outputs.get("result", root_outputs or None)
    return SessionTrace(
        session_id=session_id,
        datapoint_id=_datapoint_id(session, events),
        start_time=finite_number((session or rows[0]).get("start_time")),
        error=next((str(r["error"]) for r in rows if r.get("error") is not None), None),
        inputs=as_object((session or {}).get("inputs")) or as_object(dp.get("inputs")),
        outputs=outputs,
        ground_truth=ground_truth,
        scores=tuple(score for row in rows for score in _scores(row)),
        events=tuple(
            EventRef(
                event_id=str(r.get("event_id")),
                event_name=_name(r),
                event_type=str(r.get("event_type")),
                start_time=finite_number(r.get("start_time")),
            )
            for r in rows
        ),
    )


def _function_span(
    session_id: str, events: list[Mapping[str, object]]
) -> Mapping[str, object] | None:
    """The span of the evaluated function: the first carrying the datapoint row
    (`inputs.dp`), else the first child of the session."""
    with_row = next((e for e in events if "dp" in as_object(e.get("inputs"))), None)
    if with_row is not None:
        return with_row
    return next((e for e in events if e.get("parent_id") in (session_id, None)), None)


def _row_of_dataset(span: Mapping[str, object] | None) -> JsonObject:
    """The datapoint row the SDK put in `inputs.dp` (JSON text, or an object)."""
    raw = as_object(span.get("inputs")).get("dp") if span is not None else None
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {}
    return raw if isinstance(raw, dict) else {}


def _datapoint_id(
    session: Mapping[str, object] | None, events: list[Mapping[str, object]]
) -> str | None:
    for row in (session, *events):
        value = as_object(row.get("metadata")).get("datapoint_id") if row is not None else None
        if isinstance(value, str) and value:
            return value
    return None


def _scores(row: Mapping[str, object]) -> list[Score]:
    out = []
    for name, raw in as_object(row.get("metrics")).items():
        value = score_value(raw)
        if value is not None:
            out.append(
                Score(
                    name=name,
                    event_name=_name(row),
                    event_type=str(row.get("event_type")),
                    value=value,
                    event_id=str(row.get("event_id")),
                )
            )
    return out


def score_value(raw: object) -> ScoreValue | None:
    """A metric value as a score: a boolean, a finite number (as float) or a string;
    None for anything else (null, objects, arrays), which no result aggregates."""
    if isinstance(raw, bool | str):
        return raw
    return finite_number(raw)


def _name(row: Mapping[str, object]) -> str:
    name = row.get("event_name")
    return name if isinstance(name, str) else "unknown"


def _order(start: object) -> float:
    number = finite_number(start)
    return number if number is not None else float("inf")

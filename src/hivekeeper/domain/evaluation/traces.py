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

import math
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
    """One pass over the session's rows in start order: the session row, the function
    span (the first carrying the datapoint row in `inputs.dp`, else the first child of
    the session), the datapoint, the first error, every score and event."""
    starts = [_start(row) for row in rows]
    ordered = sorted(zip(starts, rows, strict=True), key=_row_order)
    session: Mapping[str, object] | None = None
    with_row: Mapping[str, object] | None = None
    first_child: Mapping[str, object] | None = None
    datapoint_id: str | None = None
    error: str | None = None
    scores: list[Score] = []
    events: list[EventRef] = []
    for start, row in ordered:
        event_id = str(row.get("event_id"))
        if session is None and event_id == session_id:
            session = row
        else:
            if with_row is None and "dp" in as_object(row.get("inputs")):
                with_row = row
            if first_child is None and row.get("parent_id") in (session_id, None):
                first_child = row
            if datapoint_id is None:
                datapoint_id = _datapoint_of(row)
        if error is None and row.get("error") is not None:
            error = str(row["error"])
        name, kind = _name(row), str(row.get("event_type"))
        scores.extend(_scores(row, name, kind, event_id))
        events.append(EventRef(event_id, name, kind, start))
    if session is not None:
        datapoint_id = _datapoint_of(session) or datapoint_id
    root = with_row or first_child
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
        datapoint_id=datapoint_id,
        start_time=_start(session) if session is not None else ordered[0][0],
        error=error,
        inputs=as_object((session or {}).get("inputs")) or as_object(dp.get("inputs")),
        outputs=outputs,
        ground_truth=ground_truth,
        scores=tuple(scores),
        events=tuple(events),
    )


def _start(row: Mapping[str, object]) -> float | None:
    start = row.get("start_time")
    if type(start) is float and math.isfinite(start):  # the stored case: skip the checks
        return start
    return finite_number(start)


def _row_order(started: tuple[float | None, Mapping[str, object]]) -> tuple[float, str]:
    start, row = started
    return (_order(start), str(row.get("event_id")))


def _row_of_dataset(span: Mapping[str, object] | None) -> JsonObject:
    """The datapoint row the SDK put in `inputs.dp` (JSON text, or an object)."""
    raw = as_object(span.get("inputs")).get("dp") if span is not None else None
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {}
    return raw if isinstance(raw, dict) else {}


def _datapoint_of(row: Mapping[str, object]) -> str | None:
    value = as_object(row.get("metadata")).get("datapoint_id")
    return value if isinstance(value, str) and value else None


def _scores(row: Mapping[str, object], name: str, kind: str, event_id: str) -> list[Score]:
    """The scores of one event's `metrics` (the types are checked inline: this runs
    for every value of every run read)."""
    out = []
    for metric, raw in as_object(row.get("metrics")).items():
        kind_of = type(raw)
        if kind_of is float:
            value: ScoreValue | None = raw if math.isfinite(raw) else None
        elif kind_of is bool or kind_of is str:
            value = raw
        else:
            value = score_value(raw)
        if value is not None:
            out.append(Score(metric, name, kind, value, event_id))
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


def _order(start: float | None) -> float:
    """A start time as a sort key: a missing one sorts last."""
    return math.inf if start is None else start

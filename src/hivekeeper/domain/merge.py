"""The merge rule and the write planner: how patches become stored rows and roll-ups.

Parts of one event arrive in any order (an update before its span, a session start
repeated by every worker), so every write is an upsert keyed by `(project_id,
event_id)` and goes through `merge_fields`: object namespaces merge key by key,
non-null scalars replace, `children_ids` is a union. The planner applies a batch of
operations to rows the store has loaded and keeps session roll-ups (counts, tokens,
cost, errors, first start, last end) in step, so the store only loads and saves.
Everything here is pure and engine-neutral.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, TypedDict, cast

from hivekeeper.domain.events import OBJECT_FIELDS, EventPatch, JsonObject

Key = tuple[str, str]
"""A stored row's identity: `(project_id, event_id)`."""

_MERGED_DICTS = (*OBJECT_FIELDS, "extra")


class Rollups(TypedDict):
    """Session aggregates kept at write time (zero on other rows)."""

    num_events: int
    num_model_events: int
    prompt_tokens: float
    completion_tokens: float
    total_tokens: float
    cost: float
    feedback_count: int
    error_count: int


ROLLUP_FIELDS = tuple(Rollups.__annotations__)


class StoredRow(Rollups):
    """One row of the events table, identical for every engine.

    `event_type` is None for a *pending* row: an update whose event has not arrived
    yet. Pending rows are invisible to reads and merged when the event comes.
    Roll-up fields are meaningful on session rows only (zero elsewhere).
    """

    project_id: str
    event_id: str
    session_id: str | None
    parent_id: str | None
    event_type: str | None
    event_name: str | None
    source: str | None
    start_time: float | None
    end_time: float | None
    duration: float | None
    duration_set: bool
    error: str | None
    config: JsonObject
    inputs: JsonObject
    outputs: JsonObject
    metadata: JsonObject
    metrics: JsonObject
    feedback: JsonObject
    user_properties: JsonObject
    children_ids: list[str]
    extra: JsonObject


@dataclass(frozen=True, slots=True)
class Upsert:
    """Create an event or merge into it; the patch carries `event_id`, `session_id`,
    `event_type` (the API assigns missing ids before submitting)."""

    project_id: str
    patch: EventPatch


@dataclass(frozen=True, slots=True)
class Update:
    """Merge a partial update (`PUT /events`); kept pending if the event is unknown."""

    project_id: str
    patch: EventPatch


@dataclass(frozen=True, slots=True)
class DeleteSession:
    """Remove a session event and every event of its session."""

    project_id: str
    session_id: str


@dataclass(frozen=True, slots=True)
class DeleteEvent:
    """Remove one event (a session id removes the whole session)."""

    project_id: str
    event_id: str


@dataclass(frozen=True, slots=True)
class ExpireSessions:
    """Retention: remove up to `limit` whole sessions of a project last active before
    `before_ms` (see `domain.retention`), and up to `limit` events without a session
    row older than that. The condition is checked inside the transaction, so a session
    that came back to life since it was found is kept. Repeat until none remain."""

    project_id: str
    before_ms: float
    limit: int = 100


WriteOp = Upsert | Update | DeleteSession | DeleteEvent | ExpireSessions
MergeOp = Upsert | Update


# Numbers only, so sharing it is safe: `**` copies the values into each new row.
_NO_ROLLUPS = Rollups(
    num_events=0,
    num_model_events=0,
    prompt_tokens=0.0,
    completion_tokens=0.0,
    total_tokens=0.0,
    cost=0.0,
    feedback_count=0,
    error_count=0,
)


def merge_fields(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Return `base` with `patch` merged in by the one merge rule.

    Object namespaces (and `extra`) merge key by key, `children_ids` is an ordered
    union, any other non-null value replaces. Idempotent: merging the same patch twice
    gives the same result. Neither argument is modified.
    """
    merged = dict(base)
    for key, value in patch.items():
        if key in _MERGED_DICTS:
            if value:
                merged[key] = {**(merged.get(key) or {}), **value}
        elif key == "children_ids":
            if value:
                merged[key] = list(dict.fromkeys([*(merged.get(key) or ()), *value]))
        elif value is not None:
            merged[key] = value
    return merged


def empty_row(project_id: str, event_id: str) -> StoredRow:
    """A pending row holding nothing yet."""
    return StoredRow(
        project_id=project_id,
        event_id=event_id,
        session_id=None,
        parent_id=None,
        event_type=None,
        event_name=None,
        source=None,
        start_time=None,
        end_time=None,
        duration=None,
        duration_set=False,
        error=None,
        config={},
        inputs={},
        outputs={},
        metadata={},
        metrics={},
        feedback={},
        user_properties={},
        children_ids=[],
        extra={},
        **_NO_ROLLUPS,
    )


def new_row(project_id: str, patch: EventPatch, now_ms: float) -> StoredRow:
    """A visible row for a first-seen event, with every default applied."""
    # Built field by field rather than merged into `empty_row`: this runs for every
    # event ingested.
    event_id = patch["event_id"]
    is_session = patch.get("event_type") == "session"
    session_id = event_id if is_session else patch.get("session_id")
    start, end, duration = patch.get("start_time"), patch.get("end_time"), patch.get("duration")
    if start is None:
        start = end - duration if end is not None and duration is not None else now_ms
    if end is None:
        end = start + (duration or 0.0)
    row = StoredRow(
        project_id=project_id,
        event_id=event_id,
        session_id=session_id,
        parent_id=None if is_session else (patch.get("parent_id") or session_id),
        event_type=patch.get("event_type"),
        event_name=patch.get("event_name") or "unknown",
        source=patch.get("source") or "unknown",
        start_time=start,
        end_time=end,
        duration=end - start if duration is None else duration,
        duration_set=duration is not None,
        error=patch.get("error"),
        config=patch.get("config") or {},
        inputs=patch.get("inputs") or {},
        outputs=patch.get("outputs") or {},
        metadata=patch.get("metadata") or {},
        metrics=patch.get("metrics") or {},
        feedback=patch.get("feedback") or {},
        user_properties=patch.get("user_properties") or {},
        children_ids=list(dict.fromkeys(patch.get("children_ids") or ())),
        extra=patch.get("extra") or {},
        **_NO_ROLLUPS,
    )
    return row


def apply_ops(
    rows: MutableMapping[Key, StoredRow], ops: Iterable[MergeOp], now_ms: float
) -> set[Key]:
    """Apply upserts and updates, in order, to `rows` (the loaded existing rows).

    `rows` must hold every existing row named by `keys_to_load(ops)` and the session
    rows of those rows (`session_keys(...)`). Missing sessions are created on the fly
    (a span or event that names an unknown session). Returns the keys whose rows
    changed and must be saved. Idempotent for a repeated batch.
    """
    changed: set[Key] = set()
    for op in ops:
        key = (op.project_id, op.patch["event_id"])
        before = rows.get(key)
        if isinstance(op, Upsert):
            after = _upsert(before, op, now_ms)
        else:
            after = _merge_row(before or empty_row(*key), op.patch)
            if after["event_type"] is not None:
                _derive_duration(after)
        rows[key] = after
        changed.add(key)
        _roll_up(rows, before, after, now_ms, changed)
    return changed


Removal = DeleteSession | DeleteEvent | ExpireSessions


def in_write_order(ops: Iterable[WriteOp]) -> Iterator[list[MergeOp] | Removal]:
    """The steps a store applies a batch in: each run of consecutive merges as one
    list (loaded and merged together), and each removal on its own after them, so a
    delete sees every merge queued before it."""
    merges: list[MergeOp] = []
    for op in ops:
        if isinstance(op, MergeOp):
            merges.append(op)
            continue
        if merges:
            yield merges
            merges = []
        yield op
    if merges:
        yield merges


def keys_to_load(ops: Iterable[MergeOp]) -> set[Key]:
    """Rows a batch touches directly: its event ids and the sessions they name."""
    keys: set[Key] = set()
    for op in ops:
        keys.add((op.project_id, op.patch["event_id"]))
        session_id = op.patch.get("session_id")
        if session_id:
            keys.add((op.project_id, session_id))
    return keys


def session_keys(rows: Iterable[StoredRow]) -> set[Key]:
    """The session rows that roll-ups of these rows will update."""
    return {
        (row["project_id"], row["session_id"])
        for row in rows
        if row["session_id"] and row["event_type"] not in (None, "session")
    }


def subtract_from_session(session: StoredRow, row: StoredRow) -> None:
    """Remove a deleted event's contribution from its session's roll-ups."""
    _add(session, _contribution(row), -1)


def rollup_metadata(row: StoredRow) -> JsonObject:
    """The session aggregates HoneyHive clients read from `metadata`."""
    return {
        "num_events": row["num_events"],
        "num_model_events": row["num_model_events"],
        "has_feedback": row["feedback_count"] > 0 or bool(row["feedback"]),
        "prompt_tokens": _plain(row["prompt_tokens"]),
        "completion_tokens": _plain(row["completion_tokens"]),
        "total_tokens": _plain(row["total_tokens"]),
        # Sums kept by adding and subtracting floats drift in the last digits.
        "cost": round(row["cost"], 10),
        "error_count": row["error_count"],
    }


def _upsert(before: StoredRow | None, op: Upsert, now_ms: float) -> StoredRow:
    if before is None:
        return new_row(op.project_id, op.patch, now_ms)
    if before["event_type"] is None:
        # An update arrived first: it describes a later state, so it wins over the event.
        after = _merge_row(new_row(op.project_id, op.patch, now_ms), _pending_patch(before))
    else:
        after = _merge_row(before, op.patch)
    _derive_duration(after)
    return after


def _roll_up(
    rows: MutableMapping[Key, StoredRow],
    before: StoredRow | None,
    after: StoredRow,
    now_ms: float,
    changed: set[Key],
) -> None:
    """Move an event's contribution from its old session's roll-ups to its new one's."""
    if after["event_type"] == "session":
        return
    project_id = after["project_id"]
    old_session = before["session_id"] if before is not None and before["event_type"] else None
    new_session = after["session_id"] if after["event_type"] else None
    old = _contribution(before) if old_session and before is not None else None
    new = _contribution(after) if new_session else None
    if old_session == new_session and old == new:
        # Same session, same numbers; only the times may have moved.
        session = rows.get((project_id, new_session)) if new_session else None
        if session is not None and _extend_session(session, after):
            changed.add((project_id, session["event_id"]))
        return
    if old is not None and old_session:
        session = rows.get((project_id, old_session))
        if session is not None:
            _add(session, old, -1)
            changed.add((project_id, old_session))
    if new is not None and new_session:
        key = (project_id, new_session)
        session = rows.get(key)
        if session is None or session["event_type"] is None:
            session = _implicit_session(after, session, now_ms)
            rows[key] = session
        _add(session, new, +1)
        _extend_session(session, after)
        changed.add(key)


def _implicit_session(child: StoredRow, pending: StoredRow | None, now_ms: float) -> StoredRow:
    session_id = cast(str, child["session_id"])
    patch: EventPatch = {
        "event_id": session_id,
        "session_id": session_id,
        "event_type": "session",
        "source": child["source"] or "unknown",
    }
    if child["start_time"] is not None:
        patch["start_time"] = child["start_time"]
    row = new_row(child["project_id"], patch, now_ms)
    return _merge_row(row, _pending_patch(pending)) if pending is not None else row


def _extend_session(session: StoredRow, child: StoredRow) -> bool:
    """Stretch the session's times over the child's; True if they changed."""
    start, end = child["start_time"], child["end_time"]
    extended = False
    if start is not None and (session["start_time"] is None or start < session["start_time"]):
        session["start_time"] = start
        extended = True
    if end is not None and (session["end_time"] is None or end > session["end_time"]):
        session["end_time"] = end
        extended = True
    if extended:
        _derive_duration(session)
    return extended


def _derive_duration(row: StoredRow) -> None:
    if not row["duration_set"] and row["start_time"] is not None and row["end_time"] is not None:
        row["duration"] = row["end_time"] - row["start_time"]


def _merge_row(row: StoredRow, patch: Mapping[str, Any]) -> StoredRow:
    merged = cast(StoredRow, merge_fields(row, patch))
    if patch.get("duration") is not None:
        merged["duration_set"] = True
    return merged


def _pending_patch(row: StoredRow) -> dict[str, Any]:
    """A pending row as a patch: only what its updates set."""
    patch = {k: v for k, v in row.items() if k not in ROLLUP_FIELDS and k != "duration_set"}
    if not row["duration_set"]:
        patch["duration"] = None
    return patch


_Contribution = tuple[int, int, float, float, float, float, int, int]


def _contribution(row: StoredRow) -> _Contribution:
    is_model = row["event_type"] == "model"
    meta = row["metadata"]
    prompt = _number(meta.get("prompt_tokens")) if is_model else 0.0
    completion = _number(meta.get("completion_tokens")) if is_model else 0.0
    total = _number(meta.get("total_tokens"), prompt + completion) if is_model else 0.0
    cost = _number(meta.get("cost")) if is_model else 0.0
    return (
        1,
        int(is_model),
        prompt,
        completion,
        total,
        cost,
        int(bool(row["feedback"])),
        int(row["error"] is not None),
    )


def _add(session: StoredRow, c: _Contribution, sign: int) -> None:
    # Spelled out, not looped over ROLLUP_FIELDS: this runs for every event ingested.
    session["num_events"] += sign * c[0]
    session["num_model_events"] += sign * c[1]
    session["prompt_tokens"] += sign * c[2]
    session["completion_tokens"] += sign * c[3]
    session["total_tokens"] += sign * c[4]
    session["cost"] += sign * c[5]
    session["feedback_count"] += sign * c[6]
    session["error_count"] += sign * c[7]


def _number(value: object, default: float = 0.0) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


def _plain(value: float) -> int | float:
    """Token sums are whole numbers: answer them as integers."""
    return int(value) if float(value).is_integer() else value

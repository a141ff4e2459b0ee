"""The merge rule and the write planner: how patches become stored rows and roll-ups.

Parts of one event arrive in any order (an update before its span, a session start
repeated by every worker), so every write is an upsert keyed by `(project_id,
event_id)` and goes through `merge_fields`: object namespaces merge key by key,
non-null scalars replace, `children_ids` is a union (of at most `max_children_ids`
ids). An event's type is set once: a pending row (type null) takes the first type a
write names, and a write naming another type is refused (`EventTypeConflict`) or,
for OTLP spans, skipped and reported. The planner applies a batch of operations to
rows the store has loaded and keeps session roll-ups (counts, tokens, cost, errors,
first start, last end) in step, so the store only loads and saves. Everything here
is pure and engine-neutral.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any, cast

from hivekeeper.domain.error_repeats import (
    REPEATS_KEY,
    ErrorFamily,
    counts_error,
    error_shape,
    neighbours,
    repeated_event,
)
from hivekeeper.domain.errors import EventTypeConflict, HivekeeperError, ValidationFailed
from hivekeeper.domain.evaluation.ops import EvaluationOp
from hivekeeper.domain.events import OBJECT_FIELDS
from hivekeeper.domain.log_slots import SLOTS_KEY, merge_slots, rebuild_from_slots
from hivekeeper.domain.pricing.billing import PriceBook, bill, shipped_prices
from hivekeeper.domain.session_names import NAME_SOURCE_KEY, name_precedence
from hivekeeper.domain.types import (
    ROLLUP_FIELDS,
    DeleteEvent,
    DeleteSession,
    EventPatch,
    ExpirePending,
    ExpireSessions,
    JsonObject,
    Key,
    MergeOp,
    Rollups,
    Skipped,
    StoredRow,
    Upsert,
    WriteOp,
)

_MERGED_DICTS = (*OBJECT_FIELDS, "extra")

DEFAULT_MAX_CHILDREN_IDS = 10_000
"""Most ids one event's `children_ids` may hold (setting `max_children_ids`).

The list is rewritten whole with its row on every write to that event, and a tree is
built from `parent_id` anyway, so the list only needs to name what a client itself
tracks: 10,000 is the largest batch (`max_batch_events`), about 400 KB of UUIDs."""


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

    Object namespaces (and `extra`) merge key by key, and so do the log-record slots
    in `metadata` (`log_slots`); `children_ids` is an ordered union, any other
    non-null value replaces, except that a derived session name never replaces a
    better one (`session_names`). Idempotent: merging the same patch twice
    gives the same result. Neither argument is modified.
    """
    patch, unmark = name_precedence(base, patch)
    merged = dict(base)
    for key, value in patch.items():
        if key in _MERGED_DICTS:
            if value:
                old = merged.get(key) or {}
                merged[key] = {**old, **value}
                if key == "metadata" and SLOTS_KEY in value:
                    merge_slots(old, value, merged[key])
        elif key == "children_ids":
            if value:
                merged[key] = list(dict.fromkeys([*(merged.get(key) or ()), *value]))
        elif value is not None:
            merged[key] = value
    if unmark:
        merged["metadata"] = {k: v for k, v in merged["metadata"].items() if k != NAME_SOURCE_KEY}
    return merged


def empty_row(project_id: str, event_id: str, now_ms: float | None = None) -> StoredRow:
    """A pending row holding nothing yet, first written at `now_ms`."""
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
        pending_since=now_ms,
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
        pending_since=None,
        **_NO_ROLLUPS,
    )
    return row


def apply_ops(
    rows: MutableMapping[Key, StoredRow],
    ops: Iterable[MergeOp],
    now_ms: float,
    *,
    max_children_ids: int = DEFAULT_MAX_CHILDREN_IDS,
    skipped: list[Skipped] | None = None,
    prices: PriceBook = shipped_prices,
    family: ErrorFamily | None = None,
) -> set[Key]:
    """Apply upserts and updates, in order, to `rows` (the loaded existing rows).

    `rows` must hold every existing row named by `keys_to_load(ops)` and the session
    rows of those rows (`session_keys(...)`). Missing sessions are created on the fly
    (a span or event that names an unknown session). Model events are priced with
    their project's table from `prices` (`pricing.billing.bill`) before their session's
    roll-ups take their cost. With `family`, the errors that repeat another event's are
    then marked (`domain.error_repeats`), the rows read through it added to `rows`, and
    a repeated error leaves its session's `error_count`. Returns the keys whose rows
    changed and must be saved. Idempotent for a repeated batch.

    Raises EventTypeConflict when an op names another type than its row already has
    (a `keep_stored` upsert is appended to `skipped` instead and changes nothing), and
    ValidationFailed when an op would grow a row's `children_ids` past
    `max_children_ids`; either error's `culprit` is the op. `rows` is then partly
    applied: the caller's transaction must be abandoned.
    """
    changed: set[Key] = set()
    moved: list[StoredRow] = []
    for op in ops:
        key = (op.project_id, op.patch["event_id"])
        before = rows.get(key)
        conflict = _type_conflict(before, op)
        if conflict is not None:
            if isinstance(op, Upsert) and op.on_type_conflict == "keep_stored":
                if skipped is not None:
                    skipped.append(Skipped(op, conflict))
                continue
            raise _blame(conflict, op)
        if isinstance(op, Upsert):
            after = _upsert(before, op, now_ms)
        else:
            after = _merge_row(before or empty_row(*key, now_ms), op.patch)
            if after["event_type"] is not None:
                after["pending_since"] = None
                _derive_duration(after)
        if after["event_type"] == "model":
            bill(after, op.patch.get("metadata"), prices(op.project_id))
        _check_children(before, after, op, max_children_ids)
        if SLOTS_KEY in after["metadata"]:
            rebuild_from_slots(after)
        rows[key] = after
        changed.add(key)
        _roll_up(rows, before, after, now_ms, changed)
        if error_shape(before) != error_shape(after):
            # A row without an error, before or after, makes no other row a repeat.
            moved.extend(row for row in (before, after) if row is not None and row["error"])
    if family is not None and moved:
        _mark_repeats(rows, moved, family, now_ms, changed)
    return changed


Removal = DeleteSession | DeleteEvent | ExpireSessions | ExpirePending


def in_write_order(
    ops: Iterable[WriteOp],
) -> Iterator[list[MergeOp] | Removal | EvaluationOp]:
    """The steps a store applies a batch in: each run of consecutive merges as one
    list (loaded and merged together), and each removal or evaluation op on its own
    after them, so a delete sees every merge queued before it (and a run deleted with
    its sessions, every event)."""
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


def assumed_new(ops: Iterable[MergeOp]) -> set[Key]:
    """The rows a batch may write without reading first: those of its upserts that no
    op names as a session and no update targets. Such a row is new unless the event
    was sent before (a retry), which inserting it reveals."""
    upserted: set[Key] = set()
    named: set[Key] = set()
    for op in ops:
        key = (op.project_id, op.patch["event_id"])
        if isinstance(op, Upsert):
            upserted.add(key)
        else:
            named.add(key)
        session_id = op.patch.get("session_id")
        if session_id:
            named.add((op.project_id, session_id))
    return upserted - named


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


def _mark_repeats(
    rows: MutableMapping[Key, StoredRow],
    moved: list[StoredRow],
    family: ErrorFamily,
    now_ms: float,
    changed: set[Key],
) -> None:
    """Mark or unmark the repeated errors around the rows whose error, name, type or
    parent changed (`moved`, before and after), and move their sessions' counts."""
    view: dict[Key, StoredRow] = dict(rows)
    asked: set[Key] = set()

    def read_children(of: Iterable[StoredRow]) -> None:
        wanted = {
            (row["project_id"], parent)
            for row in of
            for parent in (row["event_id"], row["parent_id"])
            if parent
        } - asked
        asked.update(wanted)
        by_project: dict[str, set[str]] = defaultdict(set)
        for project_id, parent in wanted:
            by_project[project_id].add(parent)
        for project_id, parents in by_project.items():
            for child in family.erring_children(project_id, parents):
                view.setdefault((project_id, child["event_id"]), child)

    read_children(moved)
    named: dict[tuple[Key, str], list[Key]] = defaultdict(list)
    for key, row in view.items():
        named[((key[0], row["parent_id"] or ""), row["event_name"] or "")].append(key)
    candidates: set[Key] = set()
    for row in moved:
        candidates |= neighbours(row, lambda parent, name: named.get((parent, name), []))
    view.update(family.load(candidates - view.keys()))
    read_children(view[key] for key in candidates if key in view)
    kids: dict[Key, list[StoredRow]] = defaultdict(list)
    for kid in view.values():
        if kid["error"] is not None and kid["event_type"] is not None and kid["parent_id"]:
            kids[(kid["project_id"], kid["parent_id"])].append(kid)
    for key in sorted(candidates & view.keys()):
        row = view[key]
        project_id = row["project_id"]
        mark = repeated_event(
            row, kids[(project_id, row["parent_id"] or "")], kids[(project_id, row["event_id"])]
        )
        if mark == row["metadata"].get(REPEATS_KEY):
            continue
        metadata = {k: v for k, v in row["metadata"].items() if k != REPEATS_KEY}
        if mark is not None:
            metadata[REPEATS_KEY] = mark
        after = cast(StoredRow, {**row, "metadata": metadata})
        session_key = (project_id, row["session_id"] or "")
        if session_key not in rows:
            rows.update(family.load([session_key]))
        rows[key] = after
        changed.add(key)
        _roll_up(rows, row, after, now_ms, changed)


def _type_conflict(before: StoredRow | None, op: MergeOp) -> EventTypeConflict | None:
    """The conflict when `op` names a type and the stored row has another one."""
    sent = op.patch.get("event_type")
    stored = before["event_type"] if before is not None else None
    if sent is None or stored is None or sent == stored:
        return None
    return EventTypeConflict(op.patch["event_id"], stored, sent)


def _check_children(
    before: StoredRow | None, after: StoredRow, op: MergeOp, max_children_ids: int
) -> None:
    """Refuse an op that grows `children_ids` past the cap. A row already past it
    (the cap was lowered) still takes writes that add no child."""
    count = len(after["children_ids"])
    if count <= max_children_ids or count <= (len(before["children_ids"]) if before else 0):
        return
    raise _blame(
        ValidationFailed(
            f"event {after['event_id']} would hold {count} children_ids; at most "
            f"{max_children_ids} (setting max_children_ids)",
            field="children_ids",
        ),
        op,
    )


def _blame(exc: HivekeeperError, op: MergeOp) -> HivekeeperError:
    exc.culprit = op
    return exc


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
    patch = {k: v for k, v in row.items() if k not in _NOT_PATCHED}
    if not row["duration_set"]:
        patch["duration"] = None
    return patch


_NOT_PATCHED = frozenset({*ROLLUP_FIELDS, "duration_set", "pending_since"})

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
        int(counts_error(row)),
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

"""The shared vocabulary: event patches, stored rows and their keys, write operations
(the evaluation plane's are in `domain.evaluation.ops`) and what a committed batch
reports back. Every layer speaks these names; they hold no behaviour, so this module
imports nothing of ours but the error classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypedDict, get_args

from hivekeeper.domain.errors import EventTypeConflict

if TYPE_CHECKING:
    from hivekeeper.domain.evaluation.ops import EvaluationOp

EventType = Literal["session", "model", "tool", "chain"]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))
JsonObject = dict[str, Any]


class EventPatch(TypedDict, total=False):
    """The fields of one event a single request supplied, already validated."""

    event_id: str
    session_id: str
    parent_id: str | None
    event_type: EventType
    event_name: str
    source: str
    start_time: float
    end_time: float
    duration: float
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


Key = tuple[str, str]
"""A stored row's identity: `(project_id, event_id)`."""


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
    yet. Pending rows are invisible to reads and merged when the event comes;
    `pending_since` (Unix ms, None on visible rows) is when the first of their updates
    was written, and they expire by it (`ExpirePending`). Roll-up fields are
    meaningful on session rows only (zero elsewhere).
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
    pending_since: float | None


TypeConflictPolicy = Literal["refuse", "keep_stored"]
"""What an upsert naming another type than its stored event's does: `refuse` fails
the whole batch with `EventTypeConflict` (REST: a 409, nothing written); `keep_stored`
skips this upsert alone and reports it as `Skipped` (OTLP: `partialSuccess`)."""


@dataclass(frozen=True, slots=True)
class Upsert:
    """Create an event or merge into it; the patch carries `event_id`, `session_id`,
    `event_type` (the API assigns missing ids before submitting)."""

    project_id: str
    patch: EventPatch
    on_type_conflict: TypeConflictPolicy = "refuse"


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


@dataclass(frozen=True, slots=True)
class ExpirePending:
    """Remove up to `limit` pending rows of a project (updates whose event never came)
    first written before `before_ms`; the store reports how many as `Expired`."""

    project_id: str
    before_ms: float
    limit: int = 1000


EventOp = Upsert | Update | DeleteSession | DeleteEvent | ExpireSessions | ExpirePending
WriteOp: TypeAlias = "EventOp | EvaluationOp"
"""Every operation the writer takes. A name for annotations only: the evaluation ops
(`domain.evaluation.ops`) import this module, so the union names them lazily."""
MergeOp = Upsert | Update


@dataclass(frozen=True, slots=True)
class Skipped:
    """A `keep_stored` upsert left unapplied: it named another type than the stored one."""

    op: Upsert
    conflict: EventTypeConflict


@dataclass(frozen=True, slots=True)
class Expired:
    """How many pending rows an `ExpirePending` removed."""

    op: ExpirePending
    rows: int


WriteNote = Skipped | Expired
"""What a committed batch tells its writer besides success, about one of its ops."""


class OutlineRow(TypedDict):
    """What a session tree and timeline draw of one event, without its payloads.

    A 10,000-event session outlines in a few hundred kilobytes; the UI loads an
    event's full JSON only when it is selected. `model` is `config.model` when it is
    a string; `total_tokens` and `cost` come from `metadata` when they are numbers.
    """

    event_id: str
    parent_id: str | None
    event_type: str
    event_name: str | None
    start_time: float | None
    end_time: float | None
    duration: float | None
    error: str | None
    model: str | None
    total_tokens: float | None
    cost: float | None

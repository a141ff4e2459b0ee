"""The evaluation plane's write operations: what one request asks the writer to store.

Each op is one request's whole write (all-or-nothing), built in the API from a parsed
body before `submit`: ids, content with the mapping applied, the change id its
versions are keyed by. Stores apply them in the writer's transaction, in the order
they were queued (`merge.in_write_order` gives each its own step). An op that names
something missing raises NotFound, one that collides with what is stored Conflict;
either carries the op as its `culprit`, so only its request fails.

Every versioned record is ordered by `(at_ms, change_id)`. `at_ms` is stamped by the
writer, never by the request: a batch's ops get `stamp(now_ms, index)`, and the writer
starts each batch past the previous one's last stamp (`batch_span_ms`), so on one
writer the key order is the commit order, even within one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the op union in `types` names these classes: no runtime import back
    from hivekeeper.domain.evaluation.datapoints import DatapointContent
    from hivekeeper.domain.evaluation.runs import RunPatch
    from hivekeeper.domain.types import JsonObject

DefinitionKind = Literal["configuration", "metric"]
"""Prompts and evaluators share one versioning model and one set of tables."""

STAMP_STEP_MS = 0.001
"""How far apart the ops of one batch are stamped: 1 µs, four times the resolution of
a float64 of epoch milliseconds, so stamps stay distinct and ordered."""


def new_change_id() -> str:
    """A fresh change (or revision, version, deployment, patch) id."""
    return uuid.uuid4().hex


def stamp(now_ms: float, index: int) -> float:
    """The `at_ms` of the op at `index` in a batch written at `now_ms`."""
    return now_ms + index * STAMP_STEP_MS


def batch_span_ms(op_count: int) -> float:
    """How far past `now_ms` the stamps of a batch of `op_count` ops reach: the next
    batch starts at least this far on."""
    return op_count * STAMP_STEP_MS


@dataclass(frozen=True, slots=True)
class SaveDataset:
    """Create a dataset (`create`; Conflict if the id is taken), or change the name or
    description of a live one (None: unchanged; NotFound if there is none)."""

    project_id: str
    dataset_id: str
    name: str | None = None
    description: str | None = None
    create: bool = False
    change_id: str = field(default_factory=new_change_id)


@dataclass(frozen=True, slots=True)
class ChangeMembership:
    """Add datapoints to a live dataset and remove others, or (`replace`, not None)
    make its membership exactly those datapoints, in order: one new version holding
    what changed, none if nothing did.

    Added datapoints join with their current revision; re-adding a member and removing
    a non-member change nothing. NotFound for a dataset, or an added datapoint, that is
    not live.
    """

    project_id: str
    dataset_id: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    replace: tuple[str, ...] | None = None
    key_id: str | None = None
    change_id: str = field(default_factory=new_change_id)

    def __post_init__(self) -> None:
        if self.replace is not None and (self.add or self.remove):
            raise ValueError("a membership change either replaces or adds and removes")


@dataclass(frozen=True, slots=True)
class DatapointWrite:
    """One datapoint's next content, whole: `new` creates it (Conflict if the id is
    taken), else it must be live (NotFound)."""

    datapoint_id: str
    content: DatapointContent
    new: bool


@dataclass(frozen=True, slots=True)
class PutDatapoints:
    """Write datapoints, each a new revision keyed `change_id`, and add them (in order)
    to the live datasets `dataset_ids`.

    Every dataset holding an updated datapoint gets a version with it `edited`; each of
    `dataset_ids` one with the datapoints it lacked `added` (the edits in the same
    version). A 10,000-row import is one op, committed whole or not at all.
    """

    project_id: str
    datapoints: tuple[DatapointWrite, ...]
    dataset_ids: tuple[str, ...] = ()
    key_id: str | None = None
    change_id: str = field(default_factory=new_change_id)

    def __post_init__(self) -> None:
        if len({w.datapoint_id for w in self.datapoints}) != len(self.datapoints):
            raise ValueError("a datapoint is written once per op")


@dataclass(frozen=True, slots=True)
class DeleteDatapoint:
    """Delete a live datapoint (NotFound otherwise): a tombstone revision, and a version
    with it `removed` in every dataset holding it. Old versions keep its content."""

    project_id: str
    datapoint_id: str
    key_id: str | None = None
    change_id: str = field(default_factory=new_change_id)


@dataclass(frozen=True, slots=True)
class DeleteDataset:
    """Delete a live dataset (NotFound otherwise). Conflict while a run uses it, unless
    `force`; its change log and the revisions it names stay, so runs keep their
    version."""

    project_id: str
    dataset_id: str
    force: bool = False
    change_id: str = field(default_factory=new_change_id)


@dataclass(frozen=True, slots=True)
class SaveVersion:
    """A new version of a configuration or metric, `content` whole; `create` makes the
    definition (Conflict if the id is taken), else it must be live (NotFound). `deploy`
    points those environments at this version."""

    project_id: str
    kind: DefinitionKind
    definition_id: str
    content: JsonObject
    create: bool = False
    message: str | None = None
    deploy: tuple[str, ...] = ()
    key_id: str | None = None
    change_id: str = field(default_factory=new_change_id)


@dataclass(frozen=True, slots=True)
class Deploy:
    """Point `env` of a live definition at its version `version_change_id` (NotFound
    for either missing)."""

    project_id: str
    kind: DefinitionKind
    definition_id: str
    env: str
    version_change_id: str
    change_id: str = field(default_factory=new_change_id)


@dataclass(frozen=True, slots=True)
class DeleteDefinition:
    """Delete a live configuration or metric with its versions (NotFound otherwise)."""

    project_id: str
    kind: DefinitionKind
    definition_id: str
    change_id: str = field(default_factory=new_change_id)


@dataclass(frozen=True, slots=True)
class PutRun:
    """Create a run (`create`; Conflict while a run has that id) from `patch`, or merge
    `patch` into a live one (NotFound otherwise) by `runs.apply_patch`."""

    project_id: str
    run_id: str
    patch: RunPatch
    create: bool = False
    change_id: str = field(default_factory=new_change_id)


@dataclass(frozen=True, slots=True)
class DeleteRun:
    """Delete a run (NotFound if there is none); its sessions stay unless
    `delete_sessions`, then they go in the same transaction, as `DeleteSession`."""

    project_id: str
    run_id: str
    delete_sessions: bool = False
    change_id: str = field(default_factory=new_change_id)


@dataclass(frozen=True, slots=True)
class SaveChart:
    """Create a saved chart (`create`; Conflict if the id is taken) from `fields`, or
    replace the fields given of a live one (NotFound otherwise)."""

    project_id: str
    chart_id: str
    fields: JsonObject
    create: bool = False
    change_id: str = field(default_factory=new_change_id)


@dataclass(frozen=True, slots=True)
class DeleteChart:
    """Delete a saved chart (NotFound if there is none)."""

    project_id: str
    chart_id: str
    change_id: str = field(default_factory=new_change_id)


EvaluationOp = (
    SaveDataset
    | ChangeMembership
    | PutDatapoints
    | DeleteDatapoint
    | DeleteDataset
    | SaveVersion
    | Deploy
    | DeleteDefinition
    | PutRun
    | DeleteRun
    | SaveChart
    | DeleteChart
)


def weight(op: object) -> int:
    """What an op counts for against the writer's queue and batch limits: one per row
    it writes, so a 10,000-datapoint import weighs 10,000 (events weigh one each)."""
    if isinstance(op, PutDatapoints):
        return max(1, len(op.datapoints))
    if isinstance(op, ChangeMembership):
        return max(1, len(op.add) + len(op.remove) + len(op.replace or ()))
    if isinstance(op, PutRun):
        ids = len(op.patch.get("event_ids", ())) + len(op.patch.get("datapoint_ids", ()))
        return max(1, ids)
    return 1

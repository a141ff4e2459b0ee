"""Datapoints: create and update bodies → typed content, and content → the Datapoint answer.

A datapoint is a record of its own (inputs, chat history, ground truth, metadata, the
event it was made from), not an event: an update replaces the fields it names and
makes a new immutable revision (see `changelog`). `ground_truth` takes any JSON value;
the SDK insists on an object or null, so a stored scalar or array goes out as
`{"value": x}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TypedDict

from hivekeeper.domain.charts import iso_time
from hivekeeper.domain.evaluation._params import MAX_PAGE, QueryParams, id_list, last, page_number
from hivekeeper.domain.fields import Fields
from hivekeeper.domain.filters import DEFAULT_LIMIT, MAX_LIMIT
from hivekeeper.domain.types import JsonObject

_FIELDS = ("inputs", "history", "ground_truth", "metadata", "linked_event", "linked_datasets")


@dataclass(frozen=True, slots=True)
class DatapointContent:
    """What one revision of a datapoint holds. `ground_truth` None means none was given."""

    inputs: JsonObject = field(default_factory=dict)
    history: list[JsonObject] = field(default_factory=list)
    ground_truth: object = None
    metadata: JsonObject = field(default_factory=dict)
    linked_event: str | None = None
    extra: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DatapointRecord:
    """A stored datapoint as a read answers it: the content of one revision (the
    current one, or the one a dataset version names), when it was first and last
    written (`updated_at_ms` None until a second revision), and the live datasets
    holding it now."""

    id: str
    content: DatapointContent
    revision: str
    created_at_ms: float
    updated_at_ms: float | None
    linked_datasets: tuple[str, ...] = ()


class DatapointPatch(TypedDict, total=False):
    """The fields one create or update body supplied, validated."""

    inputs: JsonObject
    history: list[JsonObject]
    ground_truth: object
    metadata: JsonObject
    linked_event: str
    linked_datasets: list[str]
    extra: JsonObject


@dataclass(frozen=True, slots=True)
class DatapointQuery:
    """`GET /v1/datapoints`: by ids, by dataset (name or id), or every datapoint of the
    project when neither is given, a page at a time."""

    datapoint_ids: tuple[str, ...] | None = None
    dataset_name: str | None = None
    dataset_id: str | None = None
    page: int = 1
    limit: int = DEFAULT_LIMIT


def parse_datapoint_query(params: QueryParams) -> DatapointQuery:
    """`datapoint_ids[]` (as the SDK sends them, 100 at a time), `dataset_name`,
    `dataset_id`, `page`, `limit` (default 1000, at most 7500)."""
    ids = id_list(params, "datapoint_ids")
    return DatapointQuery(
        datapoint_ids=None if ids is None else tuple(ids),
        dataset_name=last(params, "dataset_name"),
        dataset_id=last(params, "dataset_id"),
        page=page_number(params, "page", 1, MAX_PAGE),
        limit=page_number(params, "limit", DEFAULT_LIMIT, MAX_LIMIT),
    )


def parse_datapoint(raw: object, *, where: str = "body") -> DatapointPatch:
    """A `POST /v1/datapoints` or `PUT /v1/datapoints/{id}` body (every field optional).

    Unknown keys are kept in `extra` and echoed back. Raises ValidationFailed naming
    the field.
    """
    body = Fields(raw, where)
    patch = DatapointPatch()
    if (inputs := body.json_object("inputs")) is not None:
        patch["inputs"] = inputs
    if (history := body.json_objects("history")) is not None:
        patch["history"] = history
    if body.has("ground_truth"):
        patch["ground_truth"] = body.raw("ground_truth")
    if (metadata := body.json_object("metadata")) is not None:
        patch["metadata"] = metadata
    if (linked_event := body.identifier("linked_event")) is not None:
        patch["linked_event"] = linked_event
    if (linked := body.identifiers("linked_datasets")) is not None:
        patch["linked_datasets"] = linked
    if extra := body.extra(_FIELDS):
        patch["extra"] = extra
    return patch


def apply_patch(content: DatapointContent | None, patch: DatapointPatch) -> DatapointContent:
    """The next revision: `content` (empty for a new datapoint) with the patch's fields
    replacing its own; `extra` merges key by key. `linked_datasets` is membership, not
    content, and is left to the caller."""
    base = content or DatapointContent()
    return replace(
        base,
        inputs=patch.get("inputs", base.inputs),
        history=patch.get("history", base.history),
        ground_truth=patch.get("ground_truth", base.ground_truth),
        metadata=patch.get("metadata", base.metadata),
        linked_event=patch.get("linked_event", base.linked_event),
        extra={**base.extra, **patch.get("extra", {})},
    )


def ground_truth_out(value: object) -> JsonObject | None:
    """A stored ground truth as the SDK parses it: an object or null; anything else
    (a string, number, boolean or array) wrapped as `{"value": x}`."""
    if value is None or isinstance(value, dict):
        return value
    return {"value": value}


def render_datapoint(
    datapoint_id: str,
    content: DatapointContent,
    *,
    created_at_ms: float,
    updated_at_ms: float | None,
    linked_datasets: list[str],
) -> JsonObject:
    """The Datapoint object of the API: every field present, nullable ones as null."""
    out: JsonObject = {
        "id": datapoint_id,
        "inputs": content.inputs,
        "history": content.history,
        "ground_truth": ground_truth_out(content.ground_truth),
        "metadata": content.metadata,
        "linked_event": content.linked_event,
        "created_at": iso_time(created_at_ms),
        "updated_at": None if updated_at_ms is None else iso_time(updated_at_ms),
        "linked_datasets": linked_datasets,
    }
    for key, value in content.extra.items():
        out.setdefault(key, value)
    return out


def render_record(record: DatapointRecord) -> JsonObject:
    """The Datapoint object of a stored datapoint, as a read found it."""
    return render_datapoint(
        record.id,
        record.content,
        created_at_ms=record.created_at_ms,
        updated_at_ms=record.updated_at_ms,
        linked_datasets=list(record.linked_datasets),
    )

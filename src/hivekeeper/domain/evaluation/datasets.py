"""Datasets: create and update bodies → typed requests, and a dataset → its API object.

Both route generations are served: `PUT /v1/datasets` with `dataset_id` in the body
(what the 1.7.0 client calls) and `PUT /v1/datasets/{id}`. `datapoints` in an update
replaces the membership (a new version records what was added and removed). Datasets
of offline runs (`EXT-…` ids, made up by the SDK from local rows) are never stored as
datasets: they live only in their runs' metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hivekeeper.domain.charts import iso_time
from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation._params import (
    MAX_PAGE,
    QueryParams,
    flag,
    last,
    query_fields,
    whole_number,
)
from hivekeeper.domain.evaluation.changelog import ChangeSummary, render_history
from hivekeeper.domain.fields import Fields
from hivekeeper.domain.types import JsonObject

DEFAULT_NAME = "Untitled Dataset"
OFFLINE_PREFIX = "EXT-"
"""Dataset and datapoint ids the SDK derives from local rows; no stored dataset has one."""


@dataclass(frozen=True, slots=True)
class DatasetRequest:
    """A create or update: `None` leaves a field as it is (on create: the default)."""

    name: str | None = None
    description: str | None = None
    datapoint_ids: list[str] | None = None
    """The whole membership wanted, in order; None leaves it unchanged."""


@dataclass(frozen=True, slots=True)
class DatasetQuery:
    """Which datasets a list answers, and how: `version` asks for that version's
    membership instead of the current one; `include_datapoints` inlines datapoints."""

    dataset_id: str | None = None
    name: str | None = None
    include_datapoints: bool = False
    version: int | None = None


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """A stored dataset, as a read answers it (membership comes from the change log)."""

    id: str
    name: str
    description: str | None
    created_at_ms: float
    updated_at_ms: float | None


def parse_dataset(raw: object) -> DatasetRequest:
    """`POST /v1/datasets` or `PUT /v1/datasets/{id}`: `{name?, description?,
    datapoints?}`. Raises ValidationFailed naming the field."""
    body = Fields(raw, "body")
    name = body.string("name")
    if name is not None and not name.strip():
        raise ValidationFailed("name must not be empty", field="name")
    return DatasetRequest(
        name=None if name is None else name.strip(),
        description=body.string("description"),
        datapoint_ids=body.identifiers("datapoints"),
    )


def parse_legacy_update(raw: object) -> tuple[str, DatasetRequest]:
    """`PUT /v1/datasets` (the 1.7.0 client): the same fields plus the required
    `dataset_id`."""
    dataset_id = Fields(raw, "body").identifier("dataset_id", required=True)
    return str(dataset_id), parse_dataset(raw)


def is_offline(dataset_id: str) -> bool:
    """Whether `dataset_id` names an offline (`EXT-…`) dataset of local rows."""
    return dataset_id.startswith(OFFLINE_PREFIX)


def render_dataset(
    record: DatasetRecord,
    datapoints: Sequence[str] | Sequence[JsonObject],
    history: Sequence[ChangeSummary],
) -> JsonObject:
    """The Dataset object: `datapoints` are ids (or whole datapoints, when the request
    asked `include_datapoints`); `version` is the current version number (0 for a
    dataset never given a datapoint) and `versions` the history, oldest first."""
    versions = render_history(history)
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "datapoints": list(datapoints),
        "num_datapoints": len(datapoints),
        "created_at": iso_time(record.created_at_ms),
        "updated_at": None if record.updated_at_ms is None else iso_time(record.updated_at_ms),
        "version": len(versions),
        "versions": versions,
    }


def parse_dataset_query(params: QueryParams) -> DatasetQuery:
    """`GET /v1/datasets` query: `dataset_id`, `name`, `include_datapoints`, `version`."""
    version = last(params, "version")
    return DatasetQuery(
        dataset_id=last(params, "dataset_id"),
        name=last(params, "name"),
        include_datapoints=flag(params, "include_datapoints"),
        version=None if version is None else whole_number(version, "version", MAX_PAGE),
    )


def parse_delete(params: QueryParams, dataset_id: str | None = None) -> tuple[str, bool]:
    """A dataset delete: `(dataset_id, force)`, the id from the path, else from the
    query (`DELETE /v1/datasets?dataset_id=`, what the 1.7.0 client sends); `force=true`
    deletes a dataset runs use."""
    if dataset_id is None:
        dataset_id = str(query_fields(params).identifier("dataset_id", required=True))
    return dataset_id, flag(params, "force")

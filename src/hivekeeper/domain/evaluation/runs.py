"""Experiment runs: create, update and list requests → typed objects, a run → RunObject.

`evaluate()` creates a run (`POST /v1/runs`), then sends its sessions, then marks it
`completed` with the session ids (`PUT /v1/runs/{id}`). Updates merge as events
do: `metadata`, `results`, `configuration` and `passing_ranges` key by key, id lists
as ordered unions (several workers may each report their sessions), other values
replace. A `run_id` is any id the client chooses (a UUID when it gives none) that
can stand as one URL path segment, since every later call names it in the path. A
dataset id of local rows (`EXT-…`) is moved to `metadata.offline_dataset_id`, as
HoneyHive does, so a run names a stored dataset or none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal, TypedDict, cast, get_args

from hivekeeper.domain.charts import iso_time
from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation._params import (
    MAX_PAGE,
    QueryParams,
    id_list,
    page_number,
    query_fields,
    structured,
)
from hivekeeper.domain.evaluation.datasets import is_offline
from hivekeeper.domain.fields import Fields
from hivekeeper.domain.filters import parse_date_range
from hivekeeper.domain.types import JsonObject

RunStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
RunSort = Literal["created_at", "updated_at", "name", "status"]
RUN_SORTS: tuple[str, ...] = get_args(RunSort)
DEFAULT_RUN_LIMIT = 100
MAX_RUN_LIMIT = 1000
_KNOWN = (
    "run_id",
    "name",
    "description",
    "status",
    "dataset_id",
    "evaluators",
    "session_ids",
    "event_ids",
    "datapoint_ids",
    "metadata",
    "results",
    "configuration",
    "passing_ranges",
)


class RunPatch(TypedDict, total=False):
    """What one create or update body set, validated. `event_ids` already holds
    `session_ids` too (the two names mean the same: the run's sessions)."""

    run_id: str
    name: str
    description: str
    status: RunStatus
    dataset_id: str
    metadata: JsonObject
    results: JsonObject
    configuration: JsonObject
    passing_ranges: JsonObject
    evaluators: list[object]
    event_ids: list[str]
    datapoint_ids: list[str]
    extra: JsonObject


@dataclass(frozen=True, slots=True)
class Run:
    """A stored run. The dataset version it used is derived, not stored: the one in force
    at `created_at_ms` (`changelog.version_at`)."""

    run_id: str
    created_at_ms: float
    updated_at_ms: float | None = None
    name: str | None = None
    description: str | None = None
    status: RunStatus = "pending"
    dataset_id: str | None = None
    metadata: JsonObject = field(default_factory=dict)
    results: JsonObject = field(default_factory=dict)
    configuration: JsonObject = field(default_factory=dict)
    passing_ranges: JsonObject = field(default_factory=dict)
    evaluators: list[object] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    datapoint_ids: list[str] = field(default_factory=list)
    extra: JsonObject = field(default_factory=dict)

    @property
    def offline_dataset_id(self) -> str | None:
        """The `EXT-…` dataset of local rows the run was made from, if any."""
        value = self.metadata.get("offline_dataset_id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class RunListQuery:
    """`GET /v1/runs` filters, order and page."""

    dataset_id: str | None = None
    run_ids: tuple[str, ...] | None = None
    name: str | None = None
    status: RunStatus | None = None
    start_ms: float | None = None
    end_ms: float | None = None
    sort_by: RunSort = "created_at"
    descending: bool = True
    page: int = 1
    limit: int = DEFAULT_RUN_LIMIT


@dataclass(frozen=True, slots=True)
class RunPage:
    """One page of a run list: the runs, how many match the filters, how many the
    project has."""

    runs: tuple[Run, ...]
    total: int
    total_unfiltered: int


def parse_run_create(raw: object) -> RunPatch:
    """A PostExperimentRun body. Raises ValidationFailed naming the field."""
    return _parse(raw, creating=True)


def parse_run_update(raw: object) -> RunPatch:
    """A PutExperimentRun body (`run_id` and `dataset_id` are not updatable)."""
    return _parse(raw, creating=False)


def new_run(patch: RunPatch, *, run_id: str, now_ms: float) -> Run:
    """The run a create makes; `run_id` is used when the body named none."""
    return apply_patch(Run(run_id=patch.get("run_id", run_id), created_at_ms=now_ms), patch, None)


def apply_patch(run: Run, patch: RunPatch, now_ms: float | None) -> Run:
    """`run` with an update merged in (see the module docstring); `now_ms` stamps
    `updated_at` (None on create)."""
    return replace(
        run,
        updated_at_ms=now_ms if now_ms is not None else run.updated_at_ms,
        name=patch.get("name", run.name),
        description=patch.get("description", run.description),
        status=patch.get("status", run.status),
        dataset_id=patch.get("dataset_id", run.dataset_id),
        evaluators=patch.get("evaluators", run.evaluators),
        metadata={**run.metadata, **patch.get("metadata", {})},
        results={**run.results, **patch.get("results", {})},
        configuration={**run.configuration, **patch.get("configuration", {})},
        passing_ranges={**run.passing_ranges, **patch.get("passing_ranges", {})},
        extra={**run.extra, **patch.get("extra", {})},
        event_ids=list(dict.fromkeys([*run.event_ids, *patch.get("event_ids", [])])),
        datapoint_ids=list(dict.fromkeys([*run.datapoint_ids, *patch.get("datapoint_ids", [])])),
    )


def render_run(
    run: Run,
    *,
    project_id: str,
    dataset_name: str | None = None,
    dataset_version: int | None = None,
) -> JsonObject:
    """The RunObject (`evaluation`) of the API: every field the SDK requires present."""
    out: JsonObject = {
        **run.extra,
        "id": run.run_id,
        "run_id": run.run_id,
        "name": run.name,
        "description": run.description,
        "status": run.status,
        "metadata": run.metadata,
        "results": run.results,
        "event_ids": run.event_ids,
        "datapoint_ids": run.datapoint_ids,
        "configuration": run.configuration,
        "evaluators": run.evaluators,
        "passing_ranges": run.passing_ranges,
        "is_active": True,
        "created_at": iso_time(run.created_at_ms),
        "updated_at": None if run.updated_at_ms is None else iso_time(run.updated_at_ms),
        "scope_type": "project",
        "scope_id": project_id,
        "dataset_id": run.dataset_id,
        "dataset_name": dataset_name,
        "dataset_version": dataset_version,
    }
    return out


def parse_run_list(params: QueryParams, *, now_ms: float) -> RunListQuery:
    """`GET /v1/runs` query: `dataset_id` (an `EXT-…` id matches offline runs), `run_ids[]`,
    `name`, `status`, `dateRange` (on creation time), `sort_by`, `sort_order`, `page`,
    `limit` (default 100, at most 1000)."""
    fields = query_fields(params)
    status = fields.choice("status", RUN_STATUSES)
    sort_by = fields.choice("sort_by", RUN_SORTS) or "created_at"
    order = fields.choice("sort_order", ("asc", "desc")) or "desc"
    start, end = parse_date_range(structured(params, "dateRange"), now_ms=now_ms)
    limit = page_number(params, "limit", DEFAULT_RUN_LIMIT, MAX_RUN_LIMIT)
    ids = id_list(params, "run_ids")
    return RunListQuery(
        dataset_id=fields.identifier("dataset_id"),
        run_ids=None if ids is None else tuple(ids),
        name=fields.string("name"),
        status=cast(RunStatus | None, status),
        start_ms=start,
        end_ms=end,
        sort_by=cast(RunSort, sort_by),
        descending=order == "desc",
        page=page_number(params, "page", 1, MAX_PAGE),
        limit=limit,
    )


def pagination(page: int, limit: int, total: int, total_unfiltered: int) -> JsonObject:
    """The Pagination object: every field the SDK requires."""
    pages = max(1, math.ceil(total / limit)) if limit else 1
    return {
        "page": page,
        "limit": limit,
        "total": total,
        "total_unfiltered": total_unfiltered,
        "total_pages": pages,
        "has_next": page < pages,
        "has_prev": page > 1,
    }


def _parse(raw: object, *, creating: bool) -> RunPatch:
    body = Fields(raw, "body")
    patch = RunPatch()
    if creating and (run_id := body.identifier("run_id")) is not None:
        patch["run_id"] = _path_segment(run_id, body.path("run_id"))
    if (name := body.string("name")) is not None:
        patch["name"] = name
    if (description := body.string("description")) is not None:
        patch["description"] = description
    if (status := body.choice("status", RUN_STATUSES)) is not None:
        patch["status"] = cast(RunStatus, status)
    if (metadata := body.json_object("metadata")) is not None:
        patch["metadata"] = metadata
    if (results := body.json_object("results")) is not None:
        patch["results"] = results
    if (configuration := body.json_object("configuration")) is not None:
        patch["configuration"] = configuration
    if (ranges := body.nested("passing_ranges")) is not None:
        patch["passing_ranges"] = _passing_ranges(ranges)
    if (evaluators := body.raw("evaluators")) is not None:
        if not isinstance(evaluators, list):
            raise ValidationFailed("evaluators must be an array", field="evaluators")
        patch["evaluators"] = evaluators
    sessions = [*(body.identifiers("event_ids") or ()), *(body.identifiers("session_ids") or ())]
    if body.has("event_ids") or body.has("session_ids"):
        patch["event_ids"] = list(dict.fromkeys(sessions))
    if (datapoints := body.identifiers("datapoint_ids")) is not None:
        patch["datapoint_ids"] = datapoints
    dataset_id = body.identifier("dataset_id") if creating else None
    if dataset_id is not None and is_offline(dataset_id):
        patch["metadata"] = {**patch.get("metadata", {}), "offline_dataset_id": dataset_id}
    elif dataset_id is not None:
        patch["dataset_id"] = dataset_id
    if extra := body.extra(_KNOWN):
        patch["extra"] = extra
    return patch


def listed_metrics(runs: Iterable[Run]) -> list[str]:
    """The metric names a run list answers (`metrics`): the evaluators the runs name in
    `configuration.evaluators` or `evaluators`, in order of first mention."""
    names: dict[str, None] = {}
    for run in runs:
        configured = run.configuration.get("evaluators")
        for name in [*(configured if isinstance(configured, list) else ()), *run.evaluators]:
            if isinstance(name, str):
                names[name] = None
    return list(names)


def _path_segment(run_id: str, path: str) -> str:
    """A run id the SDK can put in a URL path as it does (`/v1/runs/{run_id}`, unquoted):
    no `/`, `?` or `#`, and not `.` or `..`. Raises ValidationFailed naming `path`."""
    if any(c in run_id for c in "/?#") or run_id in (".", ".."):
        raise ValidationFailed(
            f"{path} must not contain '/', '?' or '#' nor be '.' or '..': "
            "it is part of every later URL of the run",
            field=path,
        )
    return run_id


def _passing_ranges(ranges: Fields) -> JsonObject:
    """`{metric: {min?, max?}}`, bounds finite numbers with min ≤ max."""
    out: JsonObject = {}
    for metric in ranges.obj:
        bounds = ranges.nested(metric)
        if bounds is None:
            continue
        low, high = bounds.number("min"), bounds.number("max")
        if low is not None and high is not None and low > high:
            raise ValidationFailed(
                f"{bounds.path('min')} is above {bounds.path('max')}", field=bounds.path("min")
            )
        out[metric] = {"min": low, "max": high}
    return out

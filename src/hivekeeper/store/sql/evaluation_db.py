"""What the row stores' evaluation SQL needs of an engine, and the records' row codec.

`store.sql.evaluation_writes` and `evaluation_reads` are written once, with `?`
placeholders, over an `EvaluationDb`: the engine's connection in its transaction, plus
the few things the two dialects spell differently (row locks, the projection of a
run's events, the filter language). The codec turns table rows into the domain's
records and back; ClickHouse selects the same columns, so it decodes with it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import orjson

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation.changelog import ChangeItem, ChangeSummary
from hivekeeper.domain.evaluation.datapoints import DatapointContent, DatapointRecord
from hivekeeper.domain.evaluation.runs import Run, RunStatus
from hivekeeper.domain.evaluation.traces import RunRow
from hivekeeper.domain.evaluation.versions import Deployment, Version
from hivekeeper.domain.filters import Condition
from hivekeeper.domain.saved_charts import SavedChart
from hivekeeper.store.sql.fragments import Sql
from hivekeeper.store.sql.tenancy import Cursor


class EvaluationDb(Protocol):
    """An engine's connection inside one transaction, taking `?` placeholders."""

    @property
    def for_update(self) -> str:
        """What locks the rows a SELECT reads until the commit (`" FOR UPDATE"`), or
        `""` where the transaction already excludes other writers (SQLite)."""

    @property
    def run_columns(self) -> str:
        """The SELECT list of a run's events, shaped like `traces.RunRow`: the
        namespaces projected down to what a result reads (`inputs.dp` but on session
        rows, `outputs` of session rows and their children, `feedback.ground_truth`,
        `metadata.datapoint_id`, whole `metrics`), each as JSON text."""

    @property
    def score_columns(self) -> str:
        """`run_columns` with `inputs`, `outputs` and `feedback` as `{}`: what a
        comparison of runs reads."""

    def execute(self, query: str, params: Sequence[object] = ()) -> Cursor: ...

    def executemany(self, query: str, params: Sequence[Sequence[object]]) -> None: ...

    def session_filter(self, project_id: str, conditions: Sequence[Condition]) -> Sql:
        """A condition on the `events` table keeping the visible rows of the project
        that match every filter (the export language), placeholders as `execute`
        binds them."""


def in_marks(count: int) -> str:
    """`(?, ?, …)` for an `IN` list of `count` values."""
    return "(" + ", ".join("?" for _ in range(count)) + ")"


def dump(value: object) -> str:
    """A JSON column's text. ValidationFailed for a value nested past orjson's limit."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:
        raise ValidationFailed(f"the value cannot be stored: {exc}", field="body") from None


def load(text: Any) -> Any:
    return orjson.loads(text)


REVISION_COLUMNS = "inputs, history, ground_truth, metadata, linked_event, extra"
"""A datapoint revision's content, as `content_values` writes and `decode_content` reads."""


def content_values(content: DatapointContent) -> list[object]:
    """Bound values of `REVISION_COLUMNS`."""
    return [
        dump(content.inputs),
        dump(content.history),
        dump(content.ground_truth),
        dump(content.metadata),
        content.linked_event,
        dump(content.extra),
    ]


def decode_content(values: Sequence[Any]) -> DatapointContent:
    """`REVISION_COLUMNS` values back into content."""
    inputs, history, ground_truth, metadata, linked_event, extra = values
    return DatapointContent(
        inputs=load(inputs),
        history=load(history),
        ground_truth=load(ground_truth),
        metadata=load(metadata),
        linked_event=linked_event,
        extra=load(extra),
    )


def decode_datapoint(values: Sequence[Any], linked: dict[str, list[str]]) -> DatapointRecord:
    """`datapoint_id, created_at_ms, revision, revision_at_ms, <REVISION_COLUMNS>`; the
    revision's time is the update time unless it is the first."""
    datapoint_id, created_at_ms, revision, revision_at_ms = values[:4]
    return DatapointRecord(
        id=datapoint_id,
        content=decode_content(values[4:]),
        revision=revision,
        created_at_ms=created_at_ms,
        updated_at_ms=None if revision_at_ms == created_at_ms else revision_at_ms,
        linked_datasets=tuple(linked.get(datapoint_id, ())),
    )


CHANGE_COLUMNS = "dataset_id, at_ms, change_id, key_id, added, removed, edited"


def decode_change(values: Sequence[Any]) -> tuple[str, ChangeSummary]:
    """`CHANGE_COLUMNS` → the dataset id and the change."""
    dataset_id, at_ms, change_id, key_id, added, removed, edited = values
    summary = ChangeSummary((at_ms, change_id), key_id, int(added), int(removed), int(edited))
    return dataset_id, summary


ITEM_COLUMNS = "at_ms, change_id, ordinal, datapoint_id, kind, revision"


def decode_item(values: Sequence[Any]) -> ChangeItem:
    at_ms, change_id, ordinal, datapoint_id, kind, revision = values
    return ChangeItem((at_ms, change_id), int(ordinal), datapoint_id, kind, revision)


VERSION_COLUMNS = "definition_id, at_ms, change_id, key_id, message, content"


def decode_version(values: Sequence[Any]) -> tuple[str, Version]:
    definition_id, at_ms, change_id, key_id, message, content = values
    return definition_id, Version((at_ms, change_id), load(content), key_id, message)


DEPLOYMENT_COLUMNS = "definition_id, at_ms, change_id, env, version_change_id"


def decode_deployment(values: Sequence[Any]) -> tuple[str, Deployment]:
    definition_id, at_ms, change_id, env, version_change_id = values
    return definition_id, Deployment(env, version_change_id, (at_ms, change_id))


RUN_COLUMNS = (
    "run_id, name, description, status, dataset_id, metadata, results, configuration, "
    "evaluators, passing_ranges, extra, created_at_ms, updated_at_ms"
)
"""A run's own columns (its session and datapoint ids live in tables of their own)."""


def run_values(run: Run) -> list[object]:
    """Bound values of `RUN_COLUMNS`, then `offline_dataset_id`."""
    return [
        run.run_id,
        run.name,
        run.description,
        run.status,
        run.dataset_id,
        dump(run.metadata),
        dump(run.results),
        dump(run.configuration),
        dump(run.evaluators),
        dump(run.passing_ranges),
        dump(run.extra),
        run.created_at_ms,
        run.updated_at_ms,
        run.offline_dataset_id,
    ]


def decode_run(
    values: Sequence[Any],
    event_ids: list[str] | None = None,
    datapoint_ids: list[str] | None = None,
) -> Run:
    """`RUN_COLUMNS` values (and the run's id lists) back into a run."""
    (run_id, name, description, status, dataset_id, metadata, results, configuration,
     evaluators, passing_ranges, extra, created_at_ms, updated_at_ms) = values  # fmt: skip
    run_status: RunStatus = status
    return Run(
        run_id=run_id,
        created_at_ms=created_at_ms,
        updated_at_ms=updated_at_ms,
        name=name,
        description=description,
        status=run_status,
        dataset_id=dataset_id,
        metadata=load(metadata),
        results=load(results),
        configuration=load(configuration),
        passing_ranges=load(passing_ranges),
        evaluators=load(evaluators),
        event_ids=event_ids or [],
        datapoint_ids=datapoint_ids or [],
        extra=load(extra),
    )


CHART_COLUMNS = "chart_id, definition, created_at_ms, updated_at_ms"


def decode_chart(values: Sequence[Any]) -> SavedChart:
    chart_id, definition, created_at_ms, updated_at_ms = values
    return SavedChart(chart_id, load(definition), created_at_ms, updated_at_ms)


def decode_run_row(values: Sequence[Any]) -> RunRow:
    """A row of `EvaluationDb.run_columns` (or `score_columns`) as a `traces.RunRow`.

    Spelled out field by field, and `{}` not parsed: this runs for every event of
    every run result read (30,000 rows for a run of 10,000 datapoints)."""
    (event_id, session_id, parent_id, event_type, event_name, start_time, error,
     inputs, outputs, metrics, feedback, metadata) = values  # fmt: skip
    return {
        "event_id": event_id,
        "session_id": session_id,
        "parent_id": parent_id,
        "event_type": event_type,
        "event_name": event_name,
        "start_time": start_time,
        "error": error,
        "inputs": _object(inputs),
        "outputs": _object(outputs),
        "metrics": _object(metrics),
        "feedback": _object(feedback),
        "metadata": _object(metadata),
    }


def _object(text: Any) -> Any:
    return {} if text == "{}" else load(text)

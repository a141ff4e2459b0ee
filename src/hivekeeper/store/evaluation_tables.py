"""The evaluation plane as `hivekeeper copy` moves it between engines: the row stores'
tables (`sqlite._schema._create_evaluation`), column for column.

Every engine exports its evaluation records in this shape and imports it back as its
own rows (ClickHouse folds its patch rows into it, and writes it as patch rows), so a
copy keeps ids, version keys `(at_ms, change_id)`, the key that made each version and
every deployment, whatever the two engines are. JSON columns travel parsed, flags as
`bool`, so no engine's spelling of either leaks into another. A run's id lists keep
their order, not always their numbers: a row store skips a number where an id was
reported again, ClickHouse numbers them afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EvaluationRow = dict[str, Any]
"""One row of an `EvaluationTable`: column name → value."""


@dataclass(frozen=True, slots=True)
class EvaluationTable:
    """A table of the evaluation plane: its columns, primary key, JSON and flag columns."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    json: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()


def _table(name: str, key: str, rest: str, json: str = "", flags: str = "") -> EvaluationTable:
    keys, others = tuple(key.split()), tuple(rest.split())
    return EvaluationTable(
        name, (*keys, *others), keys, frozenset(json.split()), frozenset(flags.split())
    )


_REVISION_JSON = "inputs history ground_truth metadata extra"
_RUN_JSON = "metadata results configuration evaluators passing_ranges extra"

EVALUATION_TABLES: tuple[EvaluationTable, ...] = (
    _table(
        "datasets",
        "project_id dataset_id",
        "name description created_at_ms updated_at_ms deleted_at_ms",
    ),
    _table(
        "datapoints",
        "project_id datapoint_id",
        "revision created_at_ms updated_at_ms deleted_at_ms",
    ),
    _table(
        "datapoint_revisions",
        "project_id datapoint_id change_id",
        f"at_ms key_id {_REVISION_JSON} linked_event deleted",
        json=_REVISION_JSON,
        flags="deleted",
    ),
    _table(
        "dataset_changes",
        "project_id dataset_id change_id",
        "at_ms key_id added removed edited",
    ),
    _table(
        "dataset_items",
        "project_id dataset_id change_id ordinal",
        "at_ms datapoint_id kind revision",
    ),
    _table(
        "dataset_members",
        "project_id dataset_id datapoint_id",
        "at_ms change_id ordinal revision",
    ),
    _table("definitions", "project_id kind definition_id", "name created_at_ms"),
    _table(
        "definition_versions",
        "project_id kind definition_id change_id",
        "at_ms key_id message content",
        json="content",
    ),
    _table(
        "deployments",
        "project_id kind definition_id change_id",
        "at_ms env version_change_id",
    ),
    _table(
        "runs",
        "project_id run_id",
        f"name description status dataset_id offline_dataset_id {_RUN_JSON} "
        "created_at_ms updated_at_ms",
        json=_RUN_JSON,
    ),
    _table("run_sessions", "project_id run_id session_id", "ordinal"),
    _table("run_datapoints", "project_id run_id datapoint_id", "ordinal"),
    _table(
        "saved_charts",
        "project_id chart_id",
        "definition created_at_ms updated_at_ms",
        json="definition",
    ),
)
"""Parents before children: a run's ids after the run, a version after its record."""

TABLES_BY_NAME = {table.name: table for table in EVALUATION_TABLES}

"""ClickHouse's evaluation plane in and out of the row stores' shape, for `hivekeeper
copy` (`store.evaluation_tables`).

Export folds a project's rows as the reads do (`_evaluation`): a record is its live
patches, a dataset's members the replay of its items, a run's ids those reported since
it was created; a deleted dataset stays, with its history. Import writes each row as
the rows ClickHouse would hold: a record becomes a create patch at its creation time
carrying all it is, an empty update at its update time and a delete at its deletion;
revisions, changes, items, versions and deployments go in as they are; the row stores'
derived tables (`datapoints`, `dataset_members`) need nothing. Patch rows written here
have fixed change ids, so a copy run again replaces what it wrote.

The project's rows are read whole (an evaluation plane is small beside its events).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, get_args

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation import changelog
from hivekeeper.domain.evaluation.ops import DefinitionKind
from hivekeeper.store.clickhouse._evaluation import (
    PATCH_COLUMNS,
    chart_of,
    dataset_record,
    fold,
    patch_rows,
    run_of,
)
from hivekeeper.store.clickhouse._schema import (
    DATAPOINT_REVISIONS,
    DATASET_CHANGES,
    DATASET_ITEMS,
    DEFINITION_VERSIONS,
    DEPLOYMENTS,
    EVAL_PATCHES,
    RUN_IDS,
    Table,
)
from hivekeeper.store.clickhouse._session import Session
from hivekeeper.store.evaluation_tables import (
    EVALUATION_TABLES,
    TABLES_BY_NAME,
    EvaluationRow,
    EvaluationTable,
)
from hivekeeper.store.sql.evaluation_db import RUN_COLUMNS, dump, load, run_values
from hivekeeper.store.sql.rows import chunks

_AS_STORED: dict[str, Table] = {
    table.name: table
    for table in (
        DATAPOINT_REVISIONS,
        DATASET_CHANGES,
        DATASET_ITEMS,
        DEFINITION_VERSIONS,
        DEPLOYMENTS,
    )
}
"""The tables ClickHouse holds with the row stores' columns."""
_DERIVED = ("datapoints", "dataset_members")
_RUN_LISTS = {
    "run_sessions": ("sessions", "session_id"),
    "run_datapoints": ("datapoints", "datapoint_id"),
}
_DEFINITION_KINDS: tuple[DefinitionKind, ...] = get_args(DefinitionKind)
_RUN_FIELDS = (*RUN_COLUMNS.split(", "), "offline_dataset_id")
"""`evaluation_db.run_values`' order."""
# A copied record's patch rows: (change id, kind); the ids sort in this order, so
# equal times still fold create, update, delete.
_CREATE, _UPDATE, _DELETE = ("copy:1", "create"), ("copy:2", "update"), ("copy:3", "delete")


def export_evaluation(
    session: Session, project_id: str, batch_size: int
) -> Iterator[tuple[str, list[EvaluationRow]]]:
    """`TransferStore.export_evaluation`: the project's rows, a table at a time."""
    plane = _Plane(session, project_id)
    for table in EVALUATION_TABLES:
        rows = sorted(plane.rows(table), key=lambda row: tuple(row[c] for c in table.key))
        for chunk in chunks(rows, batch_size):
            yield table.name, list(chunk)


def import_evaluation(
    session: Session, version: int, table_name: str, rows: Sequence[EvaluationRow]
) -> None:
    """`TransferStore.import_evaluation`, as ClickHouse rows of `version` (one INSERT)."""
    table = TABLES_BY_NAME.get(table_name)
    if table is None:
        raise ValidationFailed(f"no evaluation table {table_name!r}", field="table")
    if table.name in _DERIVED:
        return
    if table.name in _AS_STORED:
        target = _AS_STORED[table.name]
        values = [
            [dump(row[c]) if c in table.json else row[c] for c, _ in target.columns] for row in rows
        ]
    elif table.name in _RUN_LISTS:
        target, values = RUN_IDS, _run_ids(session, table.name, rows)
    else:
        target, values = EVAL_PATCHES, [patch for row in rows for patch in _patches(table, row)]
    session.insert(target, [[*row, version, 0] for row in values])


def _patches(table: EvaluationTable, row: EvaluationRow) -> list[list[Any]]:
    """A record's patch rows: its create (all it is), its update and deletion if any."""
    entity, entity_id, patch = _record(table, row)
    rows = []
    for (change_id, kind), at_ms, body in (
        (_CREATE, row["created_at_ms"], patch),
        (_UPDATE, row.get("updated_at_ms"), {}),
        (_DELETE, row.get("deleted_at_ms"), {}),
    ):
        if at_ms is not None:
            rows.append([row["project_id"], entity, entity_id, at_ms, change_id, kind, dump(body)])
    return rows


def _record(table: EvaluationTable, row: EvaluationRow) -> tuple[str, str, dict[str, Any]]:
    """A record row's entity, id, and the create patch that makes it."""
    if table.name == "datasets":
        return (
            "dataset",
            row["dataset_id"],
            {"name": row["name"], "description": row["description"]},
        )
    if table.name == "definitions":
        return row["kind"], row["definition_id"], {"name": row["name"]}
    if table.name == "saved_charts":
        return "chart", row["chart_id"], row["definition"]
    fixed = ("run_id", "created_at_ms", "updated_at_ms", "offline_dataset_id")
    return "run", row["run_id"], {c: row[c] for c in _RUN_FIELDS if c not in fixed}


def _run_ids(session: Session, table_name: str, rows: Sequence[EvaluationRow]) -> list[list[Any]]:
    """`run_ids` rows of a run's list, reported when the run (imported before) was created."""
    name, column = _RUN_LISTS[table_name]
    created: dict[tuple[str, str], float] = {}
    for project_id in sorted({row["project_id"] for row in rows}):
        ids = sorted({row["run_id"] for row in rows if row["project_id"] == project_id})
        for run in fold(patch_rows(session, project_id, "run", ids)).values():
            created[project_id, run.id] = run.created_at_ms
    out = []
    for row in rows:
        at_ms = created.get((row["project_id"], row["run_id"]))
        if at_ms is None:
            raise ValidationFailed(f"no run {row['run_id']} for its {name}", field=table_name)
        out.append(
            [row["project_id"], row["run_id"], name, at_ms, _CREATE[0], row["ordinal"], row[column]]
        )
    return out


class _Plane:
    """One project's evaluation rows, folded into the row stores' tables."""

    def __init__(self, session: Session, project_id: str) -> None:
        self._session = session
        self._project_id = project_id
        self._patches: dict[str, list[Sequence[Any]]] = {}
        for entity, *patch in self._select(f"entity, {PATCH_COLUMNS}", "eval_patches"):
            self._patches.setdefault(entity, []).append(patch)

    def _select(self, columns: str, table: str, *, order: bool = False) -> Sequence[Sequence[Any]]:
        """The project's rows of `table`; with `order`, ordered by `columns`."""
        query = f"SELECT {columns} FROM {table} FINAL WHERE project_id = {{p:String}}"
        return self._session.rows(
            f"{query} ORDER BY {columns}" if order else query, {"p": self._project_id}
        )

    def rows(self, table: EvaluationTable) -> list[EvaluationRow]:
        """The table's rows of the project, in no order."""
        if table.name in _AS_STORED:
            return self._stored(table)
        if table.name in _RUN_LISTS:
            return self._run_list(table.name)
        return {
            "datasets": self._datasets,
            "datapoints": self._datapoints,
            "dataset_members": self._members,
            "definitions": self._definitions,
            "runs": self._runs,
            "saved_charts": self._charts,
        }[table.name]()

    def _row(self, **values: Any) -> EvaluationRow:
        return {"project_id": self._project_id, **values}

    def _stored(self, table: EvaluationTable) -> list[EvaluationRow]:
        names = [c for c, _ in _AS_STORED[table.name].columns]
        out = []
        for values in self._select(", ".join(names), table.name):
            row = dict(zip(names, values, strict=True))
            row.update({c: load(row[c]) for c in table.json})
            row.update({c: bool(row[c]) for c in table.flags})
            out.append(row)
        if table.name not in ("definition_versions", "deployments"):
            return out
        live = {(kind, f) for kind in _DEFINITION_KINDS for f in fold(self._patches.get(kind, []))}
        return [r for r in out if (r["kind"], r["definition_id"]) in live]

    def _datasets(self) -> list[EvaluationRow]:
        patches = self._patches.get("dataset", [])
        live = fold(patches)
        deleted: dict[str, float] = {}
        for entity_id, at_ms, _, kind, _ in patches:
            if kind == "delete":
                deleted[entity_id] = max(at_ms, deleted.get(entity_id, at_ms))
        # No update follows a deletion: without the deletions, a deleted dataset folds
        # to what it was when deleted.
        ever = fold(p for p in patches if p[3] != "delete")
        return [
            self._row(
                dataset_id=d.id,
                name=d.name,
                description=d.description,
                created_at_ms=d.created_at_ms,
                updated_at_ms=d.updated_at_ms,
                deleted_at_ms=None if d.id in live else deleted[d.id],
            )
            for d in map(dataset_record, ever.values())
        ]

    def _datapoints(self) -> list[EvaluationRow]:
        revisions: dict[str, list[Sequence[Any]]] = {}
        for row in self._select(
            "datapoint_id, at_ms, change_id, deleted", "datapoint_revisions", order=True
        ):
            revisions.setdefault(row[0], []).append(row)
        out = []
        for datapoint_id, (first, *later) in revisions.items():
            last = later[-1] if later else first
            out.append(
                self._row(
                    datapoint_id=datapoint_id,
                    revision=last[2],
                    created_at_ms=first[1],
                    updated_at_ms=last[1] if later else None,
                    deleted_at_ms=last[1] if last[3] else None,
                )
            )
        return out

    def _members(self) -> list[EvaluationRow]:
        live = fold(self._patches.get("dataset", []))
        items: dict[str, list[changelog.ChangeItem]] = {}
        for dataset_id, at_ms, change_id, ordinal, datapoint_id, kind, revision in self._select(
            "dataset_id, at_ms, change_id, ordinal, datapoint_id, kind, revision", "dataset_items"
        ):
            item = changelog.ChangeItem(
                (at_ms, change_id), int(ordinal), datapoint_id, kind, revision
            )
            items.setdefault(dataset_id, []).append(item)
        return [
            self._row(
                dataset_id=dataset_id,
                datapoint_id=datapoint_id,
                at_ms=at_ms,
                change_id=change_id,
                ordinal=ordinal,
                revision=revision,
            )
            for dataset_id in live
            for datapoint_id, (((at_ms, change_id), ordinal), revision) in changelog.places(
                items.get(dataset_id, ())
            )
        ]

    def _definitions(self) -> list[EvaluationRow]:
        return [
            self._row(
                kind=kind,
                definition_id=f.id,
                name=f.merged.get("name"),
                created_at_ms=f.created_at_ms,
            )
            for kind in _DEFINITION_KINDS
            for f in fold(self._patches.get(kind, [])).values()
        ]

    def _runs(self) -> list[EvaluationRow]:
        out = []
        for folded in fold(self._patches.get("run", [])).values():
            row = self._row(**dict(zip(_RUN_FIELDS, run_values(run_of(folded)), strict=True)))
            row.update({c: load(row[c]) for c in TABLES_BY_NAME["runs"].json})
            out.append(row)
        return out

    def _run_list(self, table_name: str) -> list[EvaluationRow]:
        """A run's reported ids since it was (last) created, first report first."""
        name, column = _RUN_LISTS[table_name]
        since = {f.id: f.created_at_ms for f in fold(self._patches.get("run", [])).values()}
        ids: dict[str, dict[str, None]] = {}
        for run_id, at_ms, _, _, listed, value in self._select(
            "run_id, at_ms, change_id, ordinal, list, value", "run_ids", order=True
        ):
            if listed == name and run_id in since and at_ms >= since[run_id]:
                ids.setdefault(run_id, {})[value] = None
        return [
            self._row(run_id=run_id, **{column: value}, ordinal=ordinal)
            for run_id, values in ids.items()
            for ordinal, value in enumerate(values)
        ]

    def _charts(self) -> list[EvaluationRow]:
        return [
            self._row(
                chart_id=chart.id,
                definition=chart.definition,
                created_at_ms=chart.created_at_ms,
                updated_at_ms=chart.updated_at_ms,
            )
            for chart in map(chart_of, fold(self._patches.get("chart", [])).values())
        ]

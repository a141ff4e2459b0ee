"""The row stores' evaluation reads (`store.protocol.EvaluationStore`), written once.

`SqlEvaluationReads` is mixed into the SQLite and PostgreSQL engines, which supply
`_evaluation_db()`: a read snapshot as an `EvaluationDb`, so the queries of one call
agree with each other. Every method costs a fixed number of queries whatever the size
of what it reads (id lists past `IN_CHUNK` ids take one query per chunk); a run's
result rows are one query (`run_rows`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from hivekeeper.domain.evaluation import changelog
from hivekeeper.domain.evaluation.changelog import ChangeSummary, Member, VersionKey
from hivekeeper.domain.evaluation.datapoints import DatapointRecord
from hivekeeper.domain.evaluation.datasets import DatasetRecord, is_offline
from hivekeeper.domain.evaluation.ops import DefinitionKind
from hivekeeper.domain.evaluation.runs import Run, RunListQuery, RunPage
from hivekeeper.domain.evaluation.schema import SCHEMA_NAMESPACES
from hivekeeper.domain.evaluation.traces import RunRow
from hivekeeper.domain.evaluation.versions import Definition, Deployment, Version
from hivekeeper.domain.filters import Condition
from hivekeeper.domain.saved_charts import SavedChart
from hivekeeper.store.sql.evaluation_db import (
    CHANGE_COLUMNS,
    CHART_COLUMNS,
    DEPLOYMENT_COLUMNS,
    ITEM_COLUMNS,
    REVISION_COLUMNS,
    RUN_COLUMNS,
    VERSION_COLUMNS,
    EvaluationDb,
    decode_change,
    decode_chart,
    decode_datapoint,
    decode_deployment,
    decode_item,
    decode_run,
    decode_run_row,
    decode_version,
    in_marks,
    load,
)
from hivekeeper.store.sql.evaluation_writes import IN_CHUNK
from hivekeeper.store.sql.rows import chunks

SCHEMA_SAMPLE = 10_000
"""Events a schema reads when no run is named: the project's latest in the range."""

_DATAPOINT_SELECT = (
    "SELECT d.datapoint_id, d.created_at_ms, r.change_id, r.at_ms, "
    + ", ".join(f"r.{c}" for c in REVISION_COLUMNS.split(", "))
    + " FROM datapoints d JOIN datapoint_revisions r ON r.project_id = d.project_id "
    "AND r.datapoint_id = d.datapoint_id"
)
_RUN_SESSIONS = (
    "SELECT session_id FROM events WHERE project_id = ? AND run_id = ? "
    "AND session_id IS NOT NULL UNION "
    "SELECT session_id FROM run_sessions WHERE project_id = ? AND run_id = ?"
)
"""Every session of a run: those whose events name it, and those its client reported."""
_RUN_SORTS = {
    "created_at": "created_at_ms",
    "updated_at": "COALESCE(updated_at_ms, created_at_ms)",
    "name": "name",
    "status": "status",
}


class SqlEvaluationReads:
    """The evaluation plane's reads over an engine's `_evaluation_db()`."""

    def _evaluation_db(self) -> AbstractContextManager[EvaluationDb]:
        """A read snapshot of the engine's database."""
        raise NotImplementedError

    # --- datasets ---
    def list_datasets(
        self, project_id: str, *, dataset_id: str | None = None, name: str | None = None
    ) -> list[DatasetRecord]:
        where, params = "project_id = ? AND deleted_at_ms IS NULL", [project_id]
        if dataset_id is not None:
            where, params = f"{where} AND dataset_id = ?", [*params, dataset_id]
        if name is not None:
            where, params = f"{where} AND name = ?", [*params, name]
        with self._evaluation_db() as db:
            rows = db.execute(
                "SELECT dataset_id, name, description, created_at_ms, updated_at_ms FROM datasets "
                f"WHERE {where} ORDER BY created_at_ms, dataset_id",
                params,
            ).fetchall()
        return [DatasetRecord(*row) for row in rows]

    def dataset_histories(
        self, project_id: str, dataset_ids: Sequence[str]
    ) -> dict[str, list[ChangeSummary]]:
        out: dict[str, list[ChangeSummary]] = {d: [] for d in dataset_ids}
        with self._evaluation_db() as db:
            for rows in _by_chunk(
                db,
                f"SELECT {CHANGE_COLUMNS} FROM dataset_changes WHERE project_id = ? "
                "AND dataset_id IN {ids} ORDER BY dataset_id, at_ms, change_id",
                project_id,
                dataset_ids,
            ):
                for row in rows:
                    dataset_id, change = decode_change(row)
                    out[dataset_id].append(change)
        return out

    def dataset_members(
        self, project_id: str, dataset_ids: Sequence[str]
    ) -> dict[str, list[Member]]:
        out: dict[str, list[Member]] = {d: [] for d in dataset_ids}
        with self._evaluation_db() as db:
            for rows in _by_chunk(
                db,
                "SELECT dataset_id, datapoint_id, revision FROM dataset_members "
                "WHERE project_id = ? AND dataset_id IN {ids} "
                "ORDER BY dataset_id, at_ms, change_id, ordinal",
                project_id,
                dataset_ids,
            ):
                for dataset_id, datapoint_id, revision in rows:
                    out[dataset_id].append(Member(datapoint_id, revision))
        return out

    def version_members(self, project_id: str, dataset_id: str, at: VersionKey) -> list[Member]:
        with self._evaluation_db() as db:
            return _version_members(db, project_id, dataset_id, at)

    # --- datapoints ---
    def get_datapoints(
        self, project_id: str, datapoint_ids: Sequence[str]
    ) -> list[DatapointRecord]:
        ids = list(dict.fromkeys(datapoint_ids))
        found: dict[str, Sequence[Any]] = {}
        with self._evaluation_db() as db:
            for rows in _by_chunk(
                db,
                f"{_DATAPOINT_SELECT} AND r.change_id = d.revision WHERE d.project_id = ? "
                "AND d.datapoint_id IN {ids} AND d.deleted_at_ms IS NULL",
                project_id,
                ids,
            ):
                found.update((row[0], row) for row in rows)
            linked = _linked_datasets(db, project_id, list(found))
        return [decode_datapoint(found[i], linked) for i in ids if i in found]

    def list_datapoints(
        self,
        project_id: str,
        *,
        dataset_id: str | None = None,
        at: VersionKey | None = None,
        limit: int,
        offset: int = 0,
    ) -> list[DatapointRecord]:
        with self._evaluation_db() as db:
            if dataset_id is None:
                rows = db.execute(
                    f"{_DATAPOINT_SELECT} AND r.change_id = d.revision WHERE d.project_id = ? "
                    "AND d.deleted_at_ms IS NULL ORDER BY d.created_at_ms, d.datapoint_id "
                    "LIMIT ? OFFSET ?",
                    (project_id, limit, offset),
                ).fetchall()
            elif at is None:
                rows = db.execute(
                    f"{_DATAPOINT_SELECT} JOIN dataset_members m ON m.project_id = d.project_id "
                    "AND m.datapoint_id = d.datapoint_id AND m.revision = r.change_id "
                    "WHERE d.project_id = ? AND m.dataset_id = ? "
                    "ORDER BY m.at_ms, m.change_id, m.ordinal LIMIT ? OFFSET ?",
                    (project_id, dataset_id, limit, offset),
                ).fetchall()
            else:
                members = _version_members(db, project_id, dataset_id, at)[offset : offset + limit]
                rows = _revisions(db, project_id, members)
            linked = _linked_datasets(db, project_id, [row[0] for row in rows])
        return [decode_datapoint(row, linked) for row in rows]

    # --- configurations and metrics ---
    def list_definitions(
        self,
        project_id: str,
        kind: DefinitionKind,
        *,
        definition_id: str | None = None,
        names: Sequence[str] | None = None,
    ) -> list[Definition]:
        where, params = "project_id = ? AND kind = ?", [project_id, kind]
        if definition_id is not None:
            where, params = f"{where} AND definition_id = ?", [*params, definition_id]
        if names is not None:
            if not names:
                return []
            where, params = f"{where} AND name IN {in_marks(len(names))}", [*params, *names]
        chosen = f"definition_id IN (SELECT definition_id FROM definitions WHERE {where})"
        versions: dict[str, list[Version]] = {}
        deployments: dict[str, list[Deployment]] = {}
        with self._evaluation_db() as db:
            ids = [
                row[0]
                for row in db.execute(
                    f"SELECT definition_id FROM definitions WHERE {where} "
                    "ORDER BY created_at_ms, definition_id",
                    params,
                ).fetchall()
            ]
            for row in db.execute(
                f"SELECT {VERSION_COLUMNS} FROM definition_versions WHERE project_id = ? "
                f"AND kind = ? AND {chosen} ORDER BY at_ms, change_id",
                [project_id, kind, *params],
            ).fetchall():
                owner, version = decode_version(row)
                versions.setdefault(owner, []).append(version)
            for row in db.execute(
                f"SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE project_id = ? "
                f"AND kind = ? AND {chosen} ORDER BY at_ms, change_id",
                [project_id, kind, *params],
            ).fetchall():
                owner, deployment = decode_deployment(row)
                deployments.setdefault(owner, []).append(deployment)
        return [
            Definition(i, tuple(versions[i]), tuple(deployments.get(i, ())))
            for i in ids
            if i in versions
        ]

    # --- runs ---
    def get_run(self, project_id: str, run_id: str) -> Run | None:
        with self._evaluation_db() as db:
            row = db.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE project_id = ? AND run_id = ?",
                (project_id, run_id),
            ).fetchone()
            if row is None:
                return None
            sessions, datapoints = _run_ids(db, project_id, [run_id])
        return decode_run(row, sessions.get(run_id), datapoints.get(run_id))

    def list_runs(self, project_id: str, query: RunListQuery) -> RunPage:
        where, params = _run_filters(project_id, query)
        sort = _RUN_SORTS[query.sort_by]
        direction = "DESC" if query.descending else "ASC"
        with self._evaluation_db() as db:
            (total,) = db.execute(f"SELECT COUNT(*) FROM runs WHERE {where}", params).fetchone()
            (unfiltered,) = db.execute(
                "SELECT COUNT(*) FROM runs WHERE project_id = ?", (project_id,)
            ).fetchone()
            rows = db.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE {where} ORDER BY {sort} IS NOT NULL "
                f"{direction}, {sort} {direction}, run_id {direction} LIMIT ? OFFSET ?",
                [*params, query.limit, (query.page - 1) * query.limit],
            ).fetchall()
            sessions, datapoints = _run_ids(db, project_id, [row[0] for row in rows])
        runs = tuple(decode_run(r, sessions.get(r[0]), datapoints.get(r[0])) for r in rows)
        return RunPage(runs, int(total), int(unfiltered))

    def run_rows(
        self,
        project_id: str,
        run_id: str,
        conditions: Sequence[Condition] = (),
        *,
        scores_only: bool = False,
    ) -> list[RunRow]:
        sessions, params = _RUN_SESSIONS, [project_id, run_id, project_id, run_id]
        with self._evaluation_db() as db:
            columns = db.score_columns if scores_only else db.run_columns
            query = (
                f"SELECT {columns} FROM events WHERE project_id = ? "
                f"AND event_type IS NOT NULL AND session_id IN ({sessions})"
            )
            args: list[object] = [project_id, *params]
            if conditions:
                matching = db.session_filter(project_id, conditions)
                query += (
                    " AND session_id IN (SELECT event_id FROM events WHERE "
                    f"event_id IN ({sessions}) AND event_type = 'session' AND {matching.text})"
                )
                args += [*params, *matching.params]
            rows = db.execute(query, args).fetchall()
        return [decode_run_row(row) for row in rows]

    def schema_rows(
        self,
        project_id: str,
        *,
        run_id: str | None = None,
        start_ms: float | None = None,
        end_ms: float | None = None,
        limit: int = SCHEMA_SAMPLE,
    ) -> list[dict[str, object]]:
        where = "project_id = ? AND event_type IS NOT NULL"
        params: list[object] = [project_id]
        if run_id is not None:
            where += f" AND session_id IN ({_RUN_SESSIONS})"
            params += [project_id, run_id, project_id, run_id]
        if start_ms is not None:
            where, params = f"{where} AND start_time >= ?", [*params, start_ms]
        if end_ms is not None:
            where, params = f"{where} AND start_time <= ?", [*params, end_ms]
        columns = ", ".join(SCHEMA_NAMESPACES)
        with self._evaluation_db() as db:
            rows = db.execute(
                f"SELECT event_type, {columns} FROM events WHERE {where} "
                "ORDER BY start_time DESC LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [
            {
                "event_type": row[0],
                **{n: load(v) for n, v in zip(SCHEMA_NAMESPACES, row[1:], strict=True)},
            }
            for row in rows
        ]

    # --- saved charts ---
    def list_charts(self, project_id: str) -> list[SavedChart]:
        with self._evaluation_db() as db:
            rows = db.execute(
                f"SELECT {CHART_COLUMNS} FROM saved_charts WHERE project_id = ? "
                "ORDER BY created_at_ms, chart_id",
                (project_id,),
            ).fetchall()
        return [decode_chart(row) for row in rows]

    def get_chart(self, project_id: str, chart_id: str) -> SavedChart | None:
        with self._evaluation_db() as db:
            row = db.execute(
                f"SELECT {CHART_COLUMNS} FROM saved_charts WHERE project_id = ? AND chart_id = ?",
                (project_id, chart_id),
            ).fetchone()
        return None if row is None else decode_chart(row)


def _by_chunk(
    db: EvaluationDb, query: str, project_id: str, ids: Sequence[str]
) -> Iterator[Sequence[Any]]:
    """The rows of `query` (its `{ids}` an IN list) for each chunk of `ids`."""
    for chunk in chunks(ids, IN_CHUNK):
        yield db.execute(query.format(ids=in_marks(len(chunk))), (project_id, *chunk)).fetchall()


def _version_members(
    db: EvaluationDb, project_id: str, dataset_id: str, at: VersionKey
) -> list[Member]:
    at_ms, change_id = at
    items = db.execute(
        f"SELECT {ITEM_COLUMNS} FROM dataset_items WHERE project_id = ? AND dataset_id = ? "
        "AND (at_ms < ? OR (at_ms = ? AND change_id <= ?))",
        (project_id, dataset_id, at_ms, at_ms, change_id),
    ).fetchall()
    return changelog.materialize(map(decode_item, items), at)


def _revisions(db: EvaluationDb, project_id: str, members: Sequence[Member]) -> list[Sequence[Any]]:
    """The datapoint rows of the revisions `members` name, in their order."""
    found: dict[tuple[str, str], Sequence[Any]] = {}
    for chunk in chunks(members, IN_CHUNK):
        pairs = ", ".join("(?, ?)" for _ in chunk)
        for row in db.execute(
            f"{_DATAPOINT_SELECT} WHERE d.project_id = ? "
            f"AND (r.datapoint_id, r.change_id) IN (VALUES {pairs})",
            (project_id, *(v for m in chunk for v in (m.datapoint_id, m.revision))),
        ).fetchall():
            found[(row[0], row[2])] = row
    return [found[key] for m in members if (key := (m.datapoint_id, m.revision)) in found]


def _linked_datasets(
    db: EvaluationDb, project_id: str, datapoint_ids: Sequence[str]
) -> dict[str, list[str]]:
    """Datapoint id → the live datasets holding it."""
    out: dict[str, list[str]] = {}
    for rows in _by_chunk(
        db,
        "SELECT datapoint_id, dataset_id FROM dataset_members WHERE project_id = ? "
        "AND datapoint_id IN {ids} ORDER BY dataset_id",
        project_id,
        datapoint_ids,
    ):
        for datapoint_id, dataset_id in rows:
            out.setdefault(datapoint_id, []).append(dataset_id)
    return out


def _run_ids(
    db: EvaluationDb, project_id: str, run_ids: Sequence[str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Each run's session ids and datapoint ids, in the order they were reported."""
    lists: list[dict[str, list[str]]] = []
    for table, column in (("run_sessions", "session_id"), ("run_datapoints", "datapoint_id")):
        ids: dict[str, list[str]] = {}
        for rows in _by_chunk(
            db,
            f"SELECT run_id, {column} FROM {table} WHERE project_id = ? AND run_id IN {{ids}} "
            "ORDER BY run_id, ordinal",
            project_id,
            run_ids,
        ):
            for run_id, value in rows:
                ids.setdefault(run_id, []).append(value)
        lists.append(ids)
    return lists[0], lists[1]


def _run_filters(project_id: str, query: RunListQuery) -> tuple[str, list[object]]:
    where = "project_id = ?"
    params: list[object] = [project_id]
    if query.dataset_id is not None:
        column = "offline_dataset_id" if is_offline(query.dataset_id) else "dataset_id"
        where, params = f"{where} AND {column} = ?", [*params, query.dataset_id]
    if query.run_ids is not None:
        # An empty list matches nothing (and `IN ()` is no SQL in PostgreSQL).
        where += f" AND run_id IN {in_marks(len(query.run_ids))}" if query.run_ids else " AND 0 = 1"
        params += query.run_ids
    for column, value in (("name", query.name), ("status", query.status)):
        if value is not None:
            where, params = f"{where} AND {column} = ?", [*params, value]
    if query.start_ms is not None:
        where, params = f"{where} AND created_at_ms >= ?", [*params, query.start_ms]
    if query.end_ms is not None:
        where, params = f"{where} AND created_at_ms <= ?", [*params, query.end_ms]
    return where, params

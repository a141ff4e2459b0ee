"""ClickHouse's `EvaluationStore` reads, over the insert-only rows of `_evaluation`.

Each read folds patch rows and replays items as `_evaluation` describes, in a fixed
number of `FINAL` queries whatever the sizes read (id lists go `IN_CHUNK` at a time);
a run's result rows are one query, its sessions found by the `run_id` skip index and
its reported ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hivekeeper.domain.evaluation import changelog
from hivekeeper.domain.evaluation.changelog import ChangeItem, ChangeSummary, Member, VersionKey
from hivekeeper.domain.evaluation.datapoints import DatapointRecord
from hivekeeper.domain.evaluation.datasets import DatasetRecord, is_offline
from hivekeeper.domain.evaluation.ops import DefinitionKind
from hivekeeper.domain.evaluation.runs import Run, RunListQuery, RunPage
from hivekeeper.domain.evaluation.schema import SCHEMA_NAMESPACES
from hivekeeper.domain.evaluation.traces import RunRow
from hivekeeper.domain.evaluation.versions import Definition, Deployment, Version
from hivekeeper.domain.filters import Condition, EventQuery
from hivekeeper.domain.saved_charts import SavedChart
from hivekeeper.store.clickhouse._evaluation import (
    Folded,
    Reader,
    chart_of,
    datapoint_row,
    dataset_record,
    fold,
    item_rows,
    live_datasets,
    memberships,
    patch_rows,
    revision_rows,
    run_of,
)
from hivekeeper.store.clickhouse._reads import render, where_clause
from hivekeeper.store.clickhouse._session import IN_CHUNK
from hivekeeper.store.sql.evaluation_db import (
    CHANGE_COLUMNS,
    DEPLOYMENT_COLUMNS,
    VERSION_COLUMNS,
    decode_change,
    decode_datapoint,
    decode_deployment,
    decode_item,
    decode_run_row,
    decode_version,
    load,
)
from hivekeeper.store.sql.fragments import Sql, param, sql
from hivekeeper.store.sql.rows import chunks

_RUN_COLUMNS = """event_id, session_id, parent_id, event_type, event_name, start_time, error,
    if(event_type = 'session', inputs, if(JSONHas(inputs, 'dp'),
        concat('{"dp":', JSONExtractRaw(inputs, 'dp'), '}'), '{}')),
    if(event_type = 'session' OR parent_id IS NULL OR parent_id = session_id, outputs, '{}'),
    metrics,
    if(JSONHas(feedback, 'ground_truth'),
        concat('{"ground_truth":', JSONExtractRaw(feedback, 'ground_truth'), '}'), '{}'),
    if(JSONHas(metadata, 'datapoint_id'),
        concat('{"datapoint_id":', JSONExtractRaw(metadata, 'datapoint_id'), '}'), '{}')"""
"""A run's events as `traces.RunRow` (see `EvaluationDb.run_columns`)."""
_SCORE_COLUMNS = """event_id, session_id, parent_id, event_type, event_name, start_time, error,
    '{}', '{}', metrics, '{}',
    if(JSONHas(metadata, 'datapoint_id'),
        concat('{"datapoint_id":', JSONExtractRaw(metadata, 'datapoint_id'), '}'), '{}')"""
"""`_RUN_COLUMNS` with inputs, outputs and feedback left out (see `EvaluationDb.score_columns`)."""
_MARK = "{?}"


def run_sessions_sql(project_id: str, run_id: str) -> Sql:
    """Every session of a run: those whose events name it, and those its client reported."""
    p, r = param(project_id, _MARK), param(run_id, _MARK)
    return sql(
        "SELECT session_id FROM events FINAL WHERE project_id = ",
        p,
        " AND run_id = ",
        r,
        " AND session_id IS NOT NULL UNION DISTINCT SELECT value FROM run_ids FINAL "
        "WHERE project_id = ",
        p,
        " AND run_id = ",
        r,
        " AND list = 'sessions'",
    )


class ClickHouseEvaluationReads:
    """The evaluation plane's reads over the engine's `_session()`."""

    def _session(self) -> Reader:
        raise NotImplementedError

    # --- datasets ---
    def list_datasets(
        self, project_id: str, *, dataset_id: str | None = None, name: str | None = None
    ) -> list[DatasetRecord]:
        ids = None if dataset_id is None else [dataset_id]
        records = [
            dataset_record(f) for f in live_datasets(self._session(), project_id, ids).values()
        ]
        return sorted(
            (r for r in records if name is None or r.name == name),
            key=lambda r: (r.created_at_ms, r.id),
        )

    def dataset_histories(
        self, project_id: str, dataset_ids: Sequence[str]
    ) -> dict[str, list[ChangeSummary]]:
        out: dict[str, list[ChangeSummary]] = {d: [] for d in dataset_ids}
        for chunk in chunks(list(dataset_ids), IN_CHUNK):
            for row in self._session().rows(
                f"SELECT {CHANGE_COLUMNS} FROM dataset_changes FINAL WHERE project_id = "
                "{p:String} AND dataset_id IN {ids:Array(String)} "
                "ORDER BY dataset_id, at_ms, change_id",
                {"p": project_id, "ids": list(chunk)},
            ):
                dataset_id, change = decode_change(row)
                out[dataset_id].append(change)
        return out

    def dataset_members(
        self, project_id: str, dataset_ids: Sequence[str]
    ) -> dict[str, list[Member]]:
        session = self._session()
        live = live_datasets(session, project_id, dataset_ids)
        items: dict[str, list[ChangeItem]] = {}
        for row in item_rows(session, project_id, list(live)):
            items.setdefault(row[0], []).append(decode_item(row[1:]))
        return {
            d: changelog.materialize(items.get(d, ())) if d in live else [] for d in dataset_ids
        }

    def version_members(self, project_id: str, dataset_id: str, at: VersionKey) -> list[Member]:
        rows = item_rows(self._session(), project_id, [dataset_id])
        return changelog.materialize((decode_item(r[1:]) for r in rows), at)

    # --- datapoints ---
    def get_datapoints(
        self, project_id: str, datapoint_ids: Sequence[str]
    ) -> list[DatapointRecord]:
        session = self._session()
        revisions = revision_rows(session, project_id, datapoint_ids)
        live = [
            i for i in dict.fromkeys(datapoint_ids) if i in revisions and not revisions[i][-1][3]
        ]
        linked = self._linked(project_id, live)
        return [decode_datapoint(datapoint_row(revisions[i]), linked) for i in live]

    def list_datapoints(
        self,
        project_id: str,
        *,
        dataset_id: str | None = None,
        at: VersionKey | None = None,
        limit: int,
        offset: int = 0,
    ) -> list[DatapointRecord]:
        session = self._session()
        if dataset_id is None:
            rows = session.rows(
                "SELECT datapoint_id FROM datapoint_revisions FINAL WHERE project_id = {p:String} "
                "GROUP BY datapoint_id HAVING argMax(deleted, (at_ms, change_id)) = false "
                "ORDER BY min(at_ms), datapoint_id LIMIT {limit:Int64} OFFSET {offset:Int64}",
                {"p": project_id, "limit": limit, "offset": offset},
            )
            wanted: list[tuple[str, str | None]] = [(row[0], None) for row in rows]
        else:
            members = (
                self.dataset_members(project_id, [dataset_id])[dataset_id]
                if at is None
                else self.version_members(project_id, dataset_id, at)
            )
            wanted = [(m.datapoint_id, m.revision) for m in members[offset : offset + limit]]
        ids = [datapoint_id for datapoint_id, _ in wanted]
        revisions = revision_rows(session, project_id, ids)
        linked = self._linked(project_id, ids)
        return [
            decode_datapoint(datapoint_row(revisions[datapoint_id], revision), linked)
            for datapoint_id, revision in wanted
            if datapoint_id in revisions
        ]

    def _linked(self, project_id: str, datapoint_ids: Sequence[str]) -> dict[str, list[str]]:
        """Datapoint id → the live datasets holding it, by dataset id."""
        session = self._session()
        held = memberships(item_rows(session, project_id, datapoint_ids, by="datapoint_id"))
        live = live_datasets(session, project_id, list(held)) if held else {}
        out: dict[str, list[str]] = {}
        for dataset_id in sorted(held):
            if dataset_id in live:
                for datapoint_id in held[dataset_id]:
                    out.setdefault(datapoint_id, []).append(dataset_id)
        return out

    # --- configurations and metrics ---
    def list_definitions(
        self,
        project_id: str,
        kind: DefinitionKind,
        *,
        definition_id: str | None = None,
        names: Sequence[str] | None = None,
    ) -> list[Definition]:
        session = self._session()
        ids = None if definition_id is None else [definition_id]
        live = fold(patch_rows(session, project_id, kind, ids))
        chosen = sorted(
            (f for f in live.values() if names is None or f.merged.get("name") in names),
            key=lambda f: (f.created_at_ms, f.id),
        )
        versions: dict[str, list[Version]] = {}
        deployments: dict[str, list[Deployment]] = {}
        for chunk in chunks([f.id for f in chosen], IN_CHUNK):
            params: dict[str, object] = {"p": project_id, "k": kind, "ids": list(chunk)}
            where = (
                "WHERE project_id = {p:String} AND kind = {k:String} "
                "AND definition_id IN {ids:Array(String)} ORDER BY at_ms, change_id"
            )
            for row in session.rows(
                f"SELECT {VERSION_COLUMNS} FROM definition_versions FINAL {where}", params
            ):
                owner, version = decode_version(row)
                versions.setdefault(owner, []).append(version)
            for row in session.rows(
                f"SELECT {DEPLOYMENT_COLUMNS} FROM deployments FINAL {where}", params
            ):
                owner, deployment = decode_deployment(row)
                deployments.setdefault(owner, []).append(deployment)
        return [
            Definition(f.id, tuple(versions[f.id]), tuple(deployments.get(f.id, ())))
            for f in chosen
            if f.id in versions
        ]

    # --- runs ---
    def get_run(self, project_id: str, run_id: str) -> Run | None:
        folded = fold(patch_rows(self._session(), project_id, "run", [run_id])).get(run_id)
        if folded is None:
            return None
        return self._runs_with_ids(project_id, [folded])[0]

    def list_runs(self, project_id: str, query: RunListQuery) -> RunPage:
        live = fold(patch_rows(self._session(), project_id, "run"))
        runs = [run_of(f) for f in live.values()]
        matching = [r for r in runs if _matches(r, query)]
        matching.sort(
            key=lambda r: (_sort_value(r, query.sort_by), r.run_id), reverse=query.descending
        )
        start = (query.page - 1) * query.limit
        page = [live[r.run_id] for r in matching[start : start + query.limit]]
        return RunPage(tuple(self._runs_with_ids(project_id, page)), len(matching), len(runs))

    def _runs_with_ids(self, project_id: str, runs: Sequence[Folded]) -> list[Run]:
        """The runs with their reported ids: those since each was (last) created."""
        since = {f.id: f.created_at_ms for f in runs}
        lists: dict[tuple[str, str], list[str]] = {}
        for chunk in chunks(list(since), IN_CHUNK):
            for run_id, name, at_ms, value in self._session().rows(
                "SELECT run_id, list, at_ms, value FROM run_ids FINAL WHERE project_id = "
                "{p:String} AND run_id IN {ids:Array(String)} "
                "ORDER BY run_id, at_ms, change_id, ordinal",
                {"p": project_id, "ids": list(chunk)},
            ):
                if at_ms >= since[run_id]:
                    lists.setdefault((run_id, name), []).append(value)
        return [
            run_of(f, lists.get((f.id, "sessions"), ()), lists.get((f.id, "datapoints"), ()))
            for f in runs
        ]

    def run_rows(
        self,
        project_id: str,
        run_id: str,
        conditions: Sequence[Condition] = (),
        *,
        scores_only: bool = False,
    ) -> list[RunRow]:
        sessions = run_sessions_sql(project_id, run_id)
        project = param(project_id, _MARK)
        columns = _SCORE_COLUMNS if scores_only else _RUN_COLUMNS
        query = sql(
            f"SELECT {columns} FROM events FINAL WHERE project_id = ",
            project,
            " AND event_type IS NOT NULL AND session_id IN (",
            sessions,
            ")",
        )
        if conditions:
            matching = where_clause(project_id, EventQuery(conditions=tuple(conditions)))
            query = sql(
                query,
                " AND session_id IN (SELECT event_id FROM events FINAL WHERE event_id IN (",
                sessions,
                ") AND event_type = 'session' AND ",
                matching,
                ")",
            )
        return [decode_run_row(row) for row in self._session().rows(*render(query))]

    def schema_rows(
        self,
        project_id: str,
        *,
        run_id: str | None = None,
        start_ms: float | None = None,
        end_ms: float | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, object]]:
        query = sql(
            f"SELECT event_type, {', '.join(SCHEMA_NAMESPACES)} FROM events FINAL WHERE ",
            where_clause(project_id, EventQuery(start_ms=start_ms, end_ms=end_ms)),
        )
        if run_id is not None:
            query = sql(query, " AND session_id IN (", run_sessions_sql(project_id, run_id), ")")
        query = sql(query, " ORDER BY start_time DESC LIMIT ", param(limit, _MARK))
        return [
            {"event_type": row[0], **dict(zip(SCHEMA_NAMESPACES, map(load, row[1:]), strict=True))}
            for row in self._session().rows(*render(query))
        ]

    # --- saved charts ---
    def list_charts(self, project_id: str) -> list[SavedChart]:
        live = fold(patch_rows(self._session(), project_id, "chart"))
        return sorted(map(chart_of, live.values()), key=lambda c: (c.created_at_ms, c.id))

    def get_chart(self, project_id: str, chart_id: str) -> SavedChart | None:
        folded = fold(patch_rows(self._session(), project_id, "chart", [chart_id])).get(chart_id)
        return None if folded is None else chart_of(folded)


def _matches(run: Run, query: RunListQuery) -> bool:
    """`list_runs`' filters, as the row stores' SQL applies them."""
    if query.dataset_id is not None:
        dataset = run.offline_dataset_id if is_offline(query.dataset_id) else run.dataset_id
        if dataset != query.dataset_id:
            return False
    return (
        (query.run_ids is None or run.run_id in query.run_ids)
        and (query.name is None or run.name == query.name)
        and (query.status is None or run.status == query.status)
        and (query.start_ms is None or run.created_at_ms >= query.start_ms)
        and (query.end_ms is None or run.created_at_ms <= query.end_ms)
    )


def _sort_value(run: Run, sort_by: str) -> tuple[bool, Any]:
    """A run's sort key: absent values first (ascending), as in the row stores."""
    value: Any = {
        "created_at": run.created_at_ms,
        "updated_at": run.updated_at_ms if run.updated_at_ms is not None else run.created_at_ms,
        "name": run.name,
        "status": run.status,
    }[sort_by]
    return (value is not None, value if value is not None else "")

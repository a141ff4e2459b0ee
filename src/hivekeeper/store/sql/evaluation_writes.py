"""The row stores' evaluation writes: each op of `domain.evaluation.ops` as SQL, inside
the writer's transaction (called by `store.sql.writes.apply`, in batch order).

Versions are appended rows keyed `(at_ms, change_id)`; nothing older is rewritten.
The current state is kept beside them in the same transaction: `datapoints` points at
each datapoint's latest revision, `dataset_members` is each dataset's current version
(read in one indexed query), `runs` holds each run folded by `runs.apply_patch`. The
reads here are the ones that must see committed state: membership, the datasets
holding a datapoint, whether a run uses a dataset, the run to fold a patch into. On
PostgreSQL they lock what they read (`EvaluationDb.for_update`), so writers in other
processes take turns per dataset, definition, run and chart.

A missing record raises NotFound and a clash Conflict, with the op as the culprit:
the writer then fails that request alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, cast

from hivekeeper.domain.errors import Conflict, HivekeeperError, NotFound
from hivekeeper.domain.evaluation import changelog
from hivekeeper.domain.evaluation.changelog import ChangeItem, ChangeKind
from hivekeeper.domain.evaluation.datapoints import DatapointContent
from hivekeeper.domain.evaluation.ops import (
    ChangeMembership,
    DefinitionKind,
    DeleteChart,
    DeleteDatapoint,
    DeleteDataset,
    DeleteDefinition,
    DeleteRun,
    Deploy,
    EvaluationOp,
    PutDatapoints,
    PutRun,
    SaveChart,
    SaveDataset,
    SaveVersion,
)
from hivekeeper.domain.evaluation.runs import Run, RunPatch, apply_patch
from hivekeeper.store.sql.evaluation_db import (
    CHART_COLUMNS,
    REVISION_COLUMNS,
    RUN_COLUMNS,
    EvaluationDb,
    content_values,
    decode_chart,
    decode_run,
    dump,
    in_marks,
    run_values,
)
from hivekeeper.store.sql.rows import chunks

SessionDeleter = Callable[[str, Sequence[str]], None]
"""`RowWrites.delete_sessions`: delete whole sessions of a project, their roll-ups kept."""

# Ids per `IN` list: far below SQLite's 32,766 parameters and PostgreSQL's 65,535.
IN_CHUNK = 500
_EMPTY = DatapointContent()
_ID_LISTS = ("event_ids", "datapoint_ids")


def apply(
    db: EvaluationDb, op: EvaluationOp, at_ms: float, delete_sessions: SessionDeleter
) -> None:
    """Apply `op` at `at_ms` (its stamp). Raises NotFound or Conflict naming `op` as the
    culprit; the caller abandons the transaction on any error."""
    try:
        _apply(db, op, at_ms, delete_sessions)
    except HivekeeperError as exc:
        exc.culprit = op
        raise


def _apply(
    db: EvaluationDb, op: EvaluationOp, at_ms: float, delete_sessions: SessionDeleter
) -> None:
    if isinstance(op, SaveDataset):
        _save_dataset(db, op, at_ms)
    elif isinstance(op, ChangeMembership):
        _change_membership(db, op, at_ms)
    elif isinstance(op, PutDatapoints):
        _put_datapoints(db, op, at_ms)
    elif isinstance(op, DeleteDatapoint):
        _delete_datapoint(db, op, at_ms)
    elif isinstance(op, DeleteDataset):
        _delete_dataset(db, op, at_ms)
    elif isinstance(op, SaveVersion):
        _save_version(db, op, at_ms)
    elif isinstance(op, Deploy):
        _deploy(db, op, at_ms)
    elif isinstance(op, DeleteDefinition):
        _delete_definition(db, op)
    elif isinstance(op, PutRun):
        _put_run(db, op, at_ms)
    elif isinstance(op, DeleteRun):
        _delete_run(db, op, delete_sessions)
    elif isinstance(op, SaveChart):
        _save_chart(db, op, at_ms)
    else:
        _delete_chart(db, op)


# --- datasets and datapoints ---


def _save_dataset(db: EvaluationDb, op: SaveDataset, at_ms: float) -> None:
    if op.create:
        inserted = db.execute(
            "INSERT INTO datasets (project_id, dataset_id, name, description, created_at_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, dataset_id) DO NOTHING",
            (op.project_id, op.dataset_id, op.name or "", op.description, at_ms),
        ).rowcount
        if not inserted:
            raise Conflict(f"dataset {op.dataset_id} already exists", field="dataset_id")
        return
    _lock_datasets(db, op.project_id, [op.dataset_id])
    db.execute(
        "UPDATE datasets SET name = COALESCE(?, name), description = COALESCE(?, description), "
        "updated_at_ms = ? WHERE project_id = ? AND dataset_id = ?",
        (op.name, op.description, at_ms, op.project_id, op.dataset_id),
    )


def _change_membership(db: EvaluationDb, op: ChangeMembership, at_ms: float) -> None:
    project_id, dataset_id = op.project_id, op.dataset_id
    _lock_datasets(db, project_id, [dataset_id])
    key = (at_ms, op.change_id)
    wanted = op.add if op.replace is None else op.replace
    revisions = _live_revisions(db, project_id, wanted)
    missing = [d for d in wanted if d not in revisions]
    if missing:
        raise NotFound(f"no datapoint {missing[0]}", field="datapoints")
    if op.replace is not None:
        current = _members(db, project_id, dataset_id)
        items = changelog.membership_items(key, current, op.replace, revisions)
    else:
        current = _members(db, project_id, dataset_id, among=[*op.add, *op.remove])
        items = changelog.addition_items(key, current, op.add, revisions)
        items += changelog.removal_items(key, current, op.remove, len(items))
    _append_change(db, project_id, dataset_id, items, op.key_id)


def _put_datapoints(db: EvaluationDb, op: PutDatapoints, at_ms: float) -> None:
    project_id = op.project_id
    ids = [w.datapoint_id for w in op.datapoints]
    stored = _stored_datapoints(db, project_id, ids)
    for write in op.datapoints:
        deleted = stored.get(write.datapoint_id, True)
        if write.new and write.datapoint_id in stored:
            raise Conflict(f"datapoint {write.datapoint_id} already exists", field="id")
        if not write.new and deleted:
            raise NotFound(f"no datapoint {write.datapoint_id}", field="id")
    updated = [w.datapoint_id for w in op.datapoints if not w.new]
    holding = _holding(db, project_id, updated)
    targets = sorted({*op.dataset_ids, *holding})
    _lock_datasets(db, project_id, targets)
    _insert_revisions(
        db,
        project_id,
        op.change_id,
        at_ms,
        op.key_id,
        [(w.datapoint_id, w.content) for w in op.datapoints],
    )
    db.executemany(
        "INSERT INTO datapoints (project_id, datapoint_id, revision, created_at_ms) "
        "VALUES (?, ?, ?, ?)",
        [(project_id, w.datapoint_id, op.change_id, at_ms) for w in op.datapoints if w.new],
    )
    _point_at(db, project_id, updated, op.change_id, at_ms)
    key = (at_ms, op.change_id)
    for dataset_id in targets:
        # `holding` names every updated datapoint a dataset holds; new ones it cannot.
        held = holding.get(dataset_id, set())
        adding = dataset_id in op.dataset_ids
        items: list[ChangeItem] = []
        for datapoint_id in ids:
            if datapoint_id in held or adding:
                kind: ChangeKind = "edited" if datapoint_id in held else "added"
                items.append(ChangeItem(key, len(items), datapoint_id, kind, op.change_id))
        _append_change(db, project_id, dataset_id, items, op.key_id)


def _delete_datapoint(db: EvaluationDb, op: DeleteDatapoint, at_ms: float) -> None:
    project_id, datapoint_id = op.project_id, op.datapoint_id
    if _stored_datapoints(db, project_id, [datapoint_id]).get(datapoint_id, True):
        raise NotFound(f"no datapoint {datapoint_id}", field="id")
    holding = _holding(db, project_id, [datapoint_id])
    _lock_datasets(db, project_id, sorted(holding))
    _insert_revisions(db, project_id, op.change_id, at_ms, op.key_id, [(datapoint_id, None)])
    _point_at(db, project_id, [datapoint_id], op.change_id, at_ms, deleted=True)
    for dataset_id in sorted(holding):
        item = ChangeItem((at_ms, op.change_id), 0, datapoint_id, "removed", None)
        _append_change(db, project_id, dataset_id, [item], op.key_id)


def _delete_dataset(db: EvaluationDb, op: DeleteDataset, at_ms: float) -> None:
    project_id, dataset_id = op.project_id, op.dataset_id
    _lock_datasets(db, project_id, [dataset_id])
    if (
        not op.force
        and db.execute(
            "SELECT run_id FROM runs WHERE project_id = ? AND dataset_id = ? LIMIT 1",
            (project_id, dataset_id),
        ).fetchone()
    ):
        raise Conflict(
            f"dataset {dataset_id} is used by runs; delete them first, or force the delete "
            "(the runs keep the version they used)",
            field="dataset_id",
        )
    db.execute(
        "UPDATE datasets SET deleted_at_ms = ? WHERE project_id = ? AND dataset_id = ?",
        (at_ms, project_id, dataset_id),
    )
    # The current membership is a cache of the live dataset; its change log stays.
    db.execute(
        "DELETE FROM dataset_members WHERE project_id = ? AND dataset_id = ?",
        (project_id, dataset_id),
    )


def _lock_datasets(db: EvaluationDb, project_id: str, dataset_ids: Sequence[str]) -> None:
    """Lock these live datasets (sorted: one order in every transaction). NotFound for
    one that is not live."""
    found: set[str] = set()
    for chunk in chunks(dataset_ids, IN_CHUNK):
        found.update(
            row[0]
            for row in db.execute(
                f"SELECT dataset_id FROM datasets WHERE project_id = ? AND dataset_id IN "
                f"{in_marks(len(chunk))} AND deleted_at_ms IS NULL "
                f"ORDER BY dataset_id{db.for_update}",
                (project_id, *chunk),
            ).fetchall()
        )
    for dataset_id in dataset_ids:
        if dataset_id not in found:
            raise NotFound(f"no dataset {dataset_id}", field="dataset_id")


def _live_revisions(db: EvaluationDb, project_id: str, ids: Sequence[str]) -> dict[str, str]:
    """The current revision of each of these datapoints that is live."""
    out: dict[str, str] = {}
    for chunk in chunks(list(dict.fromkeys(ids)), IN_CHUNK):
        out.update(
            db.execute(
                f"SELECT datapoint_id, revision FROM datapoints WHERE project_id = ? AND "
                f"datapoint_id IN {in_marks(len(chunk))} AND deleted_at_ms IS NULL{db.for_update}",
                (project_id, *chunk),
            ).fetchall()
        )
    return out


def _stored_datapoints(db: EvaluationDb, project_id: str, ids: Sequence[str]) -> dict[str, bool]:
    """Each of these datapoints that was ever stored, and whether it is deleted."""
    out: dict[str, bool] = {}
    for chunk in chunks(ids, IN_CHUNK):
        for datapoint_id, deleted_at_ms in db.execute(
            f"SELECT datapoint_id, deleted_at_ms FROM datapoints WHERE project_id = ? AND "
            f"datapoint_id IN {in_marks(len(chunk))}{db.for_update}",
            (project_id, *chunk),
        ).fetchall():
            out[datapoint_id] = deleted_at_ms is not None
    return out


def _members(
    db: EvaluationDb, project_id: str, dataset_id: str, among: Sequence[str] | None = None
) -> set[str]:
    """The dataset's current members (only those `among`, when given)."""
    query = "SELECT datapoint_id FROM dataset_members WHERE project_id = ? AND dataset_id = ?"
    if among is None:
        return {row[0] for row in db.execute(query, (project_id, dataset_id)).fetchall()}
    out: set[str] = set()
    for chunk in chunks(list(dict.fromkeys(among)), IN_CHUNK):
        out.update(
            row[0]
            for row in db.execute(
                f"{query} AND datapoint_id IN {in_marks(len(chunk))}",
                (project_id, dataset_id, *chunk),
            ).fetchall()
        )
    return out


def _holding(
    db: EvaluationDb, project_id: str, datapoint_ids: Sequence[str]
) -> dict[str, set[str]]:
    """Dataset id → which of these datapoints it holds now."""
    out: dict[str, set[str]] = {}
    for chunk in chunks(datapoint_ids, IN_CHUNK):
        for dataset_id, datapoint_id in db.execute(
            f"SELECT dataset_id, datapoint_id FROM dataset_members WHERE project_id = ? "
            f"AND datapoint_id IN {in_marks(len(chunk))}",
            (project_id, *chunk),
        ).fetchall():
            out.setdefault(dataset_id, set()).add(datapoint_id)
    return out


def _insert_revisions(
    db: EvaluationDb,
    project_id: str,
    change_id: str,
    at_ms: float,
    key_id: str | None,
    contents: Sequence[tuple[str, DatapointContent | None]],
) -> None:
    """A revision per datapoint; None content is a deletion's tombstone."""
    db.executemany(
        f"INSERT INTO datapoint_revisions (project_id, datapoint_id, change_id, at_ms, key_id, "
        f"{REVISION_COLUMNS}, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                project_id,
                datapoint_id,
                change_id,
                at_ms,
                key_id,
                *content_values(content or _EMPTY),
                content is None,
            )
            for datapoint_id, content in contents
        ],
    )


def _point_at(
    db: EvaluationDb,
    project_id: str,
    datapoint_ids: Collection[str],
    change_id: str,
    at_ms: float,
    *,
    deleted: bool = False,
) -> None:
    """Make `change_id` the current revision of these stored datapoints."""
    db.executemany(
        "UPDATE datapoints SET revision = ?, updated_at_ms = ?, deleted_at_ms = ? "
        "WHERE project_id = ? AND datapoint_id = ?",
        [(change_id, at_ms, at_ms if deleted else None, project_id, d) for d in datapoint_ids],
    )


def _append_change(
    db: EvaluationDb,
    project_id: str,
    dataset_id: str,
    items: Sequence[ChangeItem],
    key_id: str | None,
) -> None:
    """Record one change of a dataset (a new version) and bring its current membership
    in step. No items, no version."""
    if not items:
        return
    at_ms, change_id = items[0].key
    counts = {
        kind: sum(1 for i in items if i.kind == kind) for kind in ("added", "removed", "edited")
    }
    db.execute(
        "INSERT INTO dataset_changes (project_id, dataset_id, change_id, at_ms, key_id, added, "
        "removed, edited) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            project_id,
            dataset_id,
            change_id,
            at_ms,
            key_id,
            counts["added"],
            counts["removed"],
            counts["edited"],
        ),
    )
    db.executemany(
        "INSERT INTO dataset_items (project_id, dataset_id, change_id, ordinal, at_ms, "
        "datapoint_id, kind, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                project_id,
                dataset_id,
                change_id,
                i.ordinal,
                at_ms,
                i.datapoint_id,
                i.kind,
                i.revision,
            )
            for i in items
        ],
    )
    db.executemany(
        "INSERT INTO dataset_members (project_id, dataset_id, datapoint_id, at_ms, change_id, "
        "ordinal, revision) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (project_id, dataset_id, i.datapoint_id, at_ms, change_id, i.ordinal, i.revision)
            for i in items
            if i.kind == "added"
        ],
    )
    db.executemany(
        "UPDATE dataset_members SET revision = ? WHERE project_id = ? AND dataset_id = ? "
        "AND datapoint_id = ?",
        [(i.revision, project_id, dataset_id, i.datapoint_id) for i in items if i.kind == "edited"],
    )
    db.executemany(
        "DELETE FROM dataset_members WHERE project_id = ? AND dataset_id = ? AND datapoint_id = ?",
        [(project_id, dataset_id, i.datapoint_id) for i in items if i.kind == "removed"],
    )
    db.execute(
        "UPDATE datasets SET updated_at_ms = ? WHERE project_id = ? AND dataset_id = ?",
        (at_ms, project_id, dataset_id),
    )


# --- configurations and metrics ---


def _save_version(db: EvaluationDb, op: SaveVersion, at_ms: float) -> None:
    name = op.content.get("name")
    name = name if isinstance(name, str) else None
    if op.create:
        inserted = db.execute(
            "INSERT INTO definitions (project_id, kind, definition_id, name, created_at_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, kind, definition_id) DO NOTHING",
            (op.project_id, op.kind, op.definition_id, name, at_ms),
        ).rowcount
        if not inserted:
            raise Conflict(f"{op.kind} {op.definition_id} already exists", field="id")
    else:
        _lock_definition(db, op.project_id, op.kind, op.definition_id)
        db.execute(
            "UPDATE definitions SET name = ? WHERE project_id = ? AND kind = ? "
            "AND definition_id = ?",
            (name, op.project_id, op.kind, op.definition_id),
        )
    db.execute(
        "INSERT INTO definition_versions (project_id, kind, definition_id, change_id, at_ms, "
        "key_id, message, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            op.project_id,
            op.kind,
            op.definition_id,
            op.change_id,
            at_ms,
            op.key_id,
            op.message,
            dump(op.content),
        ),
    )
    # One deployment per environment, keyed by the version's change id and the env.
    deployments = [(f"{op.change_id}:{env}", env, op.change_id) for env in dict.fromkeys(op.deploy)]
    _insert_deployments(db, op.project_id, op.kind, op.definition_id, at_ms, deployments)


def _deploy(db: EvaluationDb, op: Deploy, at_ms: float) -> None:
    _lock_definition(db, op.project_id, op.kind, op.definition_id)
    if not db.execute(
        "SELECT 1 FROM definition_versions WHERE project_id = ? AND kind = ? "
        "AND definition_id = ? AND change_id = ?",
        (op.project_id, op.kind, op.definition_id, op.version_change_id),
    ).fetchone():
        raise NotFound(f"no version {op.version_change_id!r}", field="version")
    deployment = (op.change_id, op.env, op.version_change_id)
    _insert_deployments(db, op.project_id, op.kind, op.definition_id, at_ms, [deployment])


def _lock_definition(
    db: EvaluationDb, project_id: str, kind: DefinitionKind, definition_id: str
) -> None:
    if not db.execute(
        "SELECT 1 FROM definitions WHERE project_id = ? AND kind = ? AND definition_id = ?"
        f"{db.for_update}",
        (project_id, kind, definition_id),
    ).fetchone():
        raise NotFound(f"no {kind} {definition_id}", field="id")


def _insert_deployments(
    db: EvaluationDb,
    project_id: str,
    kind: DefinitionKind,
    definition_id: str,
    at_ms: float,
    deployments: Sequence[tuple[str, str, str]],
) -> None:
    """`(change_id, env, version_change_id)` per deployment."""
    db.executemany(
        "INSERT INTO deployments (project_id, kind, definition_id, change_id, at_ms, env, "
        "version_change_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (project_id, kind, definition_id, change_id, at_ms, env, version)
            for change_id, env, version in deployments
        ],
    )


def _delete_definition(db: EvaluationDb, op: DeleteDefinition) -> None:
    _lock_definition(db, op.project_id, op.kind, op.definition_id)
    for table in ("deployments", "definition_versions", "definitions"):
        db.execute(
            f"DELETE FROM {table} WHERE project_id = ? AND kind = ? AND definition_id = ?",
            (op.project_id, op.kind, op.definition_id),
        )


# --- runs ---


def _put_run(db: EvaluationDb, op: PutRun, at_ms: float) -> None:
    project_id, run_id = op.project_id, op.run_id
    # The id lists are rows of their own, appended below; the rest folds into `runs`.
    scalars = cast(RunPatch, {k: v for k, v in op.patch.items() if k not in _ID_LISTS})
    columns = f"{RUN_COLUMNS}, offline_dataset_id".split(", ")
    if op.create:
        run = apply_patch(Run(run_id=run_id, created_at_ms=at_ms), scalars, None)
        if not db.execute(
            f"INSERT INTO runs (project_id, {', '.join(columns)}) VALUES "
            f"{in_marks(len(columns) + 1)} ON CONFLICT (project_id, run_id) DO NOTHING",
            (project_id, *run_values(run)),
        ).rowcount:
            raise Conflict(f"a run {run_id} already exists", field="run_id")
    else:
        row = db.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE project_id = ? AND run_id = ?{db.for_update}",
            (project_id, run_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"no run {run_id}", field="run_id")
        run = apply_patch(decode_run(row), scalars, at_ms)
        db.execute(
            f"UPDATE runs SET {', '.join(f'{c} = ?' for c in columns[1:])} "
            "WHERE project_id = ? AND run_id = ?",
            (*run_values(run)[1:], project_id, run_id),
        )
    _append_ids(db, "run_sessions", "session_id", project_id, run_id, op.patch.get("event_ids", []))
    _append_ids(
        db,
        "run_datapoints",
        "datapoint_id",
        project_id,
        run_id,
        op.patch.get("datapoint_ids", []),
    )


def _append_ids(
    db: EvaluationDb, table: str, column: str, project_id: str, run_id: str, ids: Sequence[str]
) -> None:
    """Append ids to one of a run's ordered id sets (an id already there keeps its place)."""
    if not ids:
        return
    (last,) = db.execute(
        f"SELECT MAX(ordinal) FROM {table} WHERE project_id = ? AND run_id = ?",
        (project_id, run_id),
    ).fetchone()
    start = -1 if last is None else int(last)
    db.executemany(
        f"INSERT INTO {table} (project_id, run_id, {column}, ordinal) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (project_id, run_id, {column}) DO NOTHING",
        [(project_id, run_id, value, start + 1 + i) for i, value in enumerate(ids)],
    )


def _delete_run(db: EvaluationDb, op: DeleteRun, delete_sessions: SessionDeleter) -> None:
    project_id, run_id = op.project_id, op.run_id
    if not db.execute(
        f"SELECT 1 FROM runs WHERE project_id = ? AND run_id = ?{db.for_update}",
        (project_id, run_id),
    ).fetchone():
        raise NotFound(f"no run {run_id}", field="run_id")
    if op.delete_sessions:
        sessions = db.execute(
            "SELECT session_id FROM run_sessions WHERE project_id = ? AND run_id = ? UNION "
            "SELECT session_id FROM events WHERE project_id = ? AND run_id = ? "
            "AND session_id IS NOT NULL",
            (project_id, run_id, project_id, run_id),
        ).fetchall()
        delete_sessions(project_id, sorted(row[0] for row in sessions))
    for table in ("run_sessions", "run_datapoints", "runs"):
        db.execute(f"DELETE FROM {table} WHERE project_id = ? AND run_id = ?", (project_id, run_id))


# --- saved charts ---


def _save_chart(db: EvaluationDb, op: SaveChart, at_ms: float) -> None:
    if op.create:
        inserted = db.execute(
            "INSERT INTO saved_charts (project_id, chart_id, definition, created_at_ms) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (project_id, chart_id) DO NOTHING",
            (op.project_id, op.chart_id, dump(op.fields), at_ms),
        ).rowcount
        if not inserted:
            raise Conflict(f"chart {op.chart_id} already exists", field="id")
        return
    row = db.execute(
        f"SELECT {CHART_COLUMNS} FROM saved_charts WHERE project_id = ? AND chart_id = ?"
        f"{db.for_update}",
        (op.project_id, op.chart_id),
    ).fetchone()
    if row is None:
        raise NotFound(f"no chart {op.chart_id}", field="id")
    definition: dict[str, Any] = {**decode_chart(row).definition, **op.fields}
    db.execute(
        "UPDATE saved_charts SET definition = ?, updated_at_ms = ? "
        "WHERE project_id = ? AND chart_id = ?",
        (dump(definition), at_ms, op.project_id, op.chart_id),
    )


def _delete_chart(db: EvaluationDb, op: DeleteChart) -> None:
    if not db.execute(
        "DELETE FROM saved_charts WHERE project_id = ? AND chart_id = ?",
        (op.project_id, op.chart_id),
    ).rowcount:
        raise NotFound(f"no chart {op.chart_id}", field="id")

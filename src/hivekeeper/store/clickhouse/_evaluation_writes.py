"""ClickHouse's evaluation writes: each op of `domain.evaluation.ops` as rows to insert,
in the writer's batch (`engine.write_batch`).

Every op only appends rows (`_evaluation` says which). The rows wait in the batch until
`flush`, after every op of the batch was checked, so a refused op (NotFound, Conflict,
with it as the culprit) leaves nothing behind, and the writer can run the others again.
Checks read what is stored and what the batch already holds: whether a record is live,
a datapoint's latest revision, a dataset's membership, whether a run uses a dataset.
Those reads are on the write path of rare operations; no row is ever read to be
rewritten, and no counter is read to number a version.

ClickHouse has no transaction across tables: `flush` inserts one block per table, each
whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hivekeeper.domain.errors import Conflict, HivekeeperError, NotFound
from hivekeeper.domain.evaluation import changelog
from hivekeeper.domain.evaluation.changelog import ChangeItem, ChangeKind, VersionKey
from hivekeeper.domain.evaluation.datapoints import DatapointContent
from hivekeeper.domain.evaluation.ops import (
    ChangeMembership,
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
from hivekeeper.domain.types import JsonObject
from hivekeeper.store.clickhouse._evaluation import (
    Entity,
    Folded,
    fold,
    item_rows,
    memberships,
    patch_rows,
    revision_rows,
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
from hivekeeper.store.clickhouse._writes import Batch
from hivekeeper.store.sql.evaluation_db import content_values, decode_item, dump

_EMPTY = DatapointContent()
_ID_LISTS = {"event_ids": "sessions", "datapoint_ids": "datapoints"}


class EvaluationBatch:
    """The evaluation ops of one `write_batch`, as rows waiting for `flush`."""

    def __init__(self, session: Session, events: Batch) -> None:
        self._session = session
        self._events = events
        self._rows: dict[Table, list[list[Any]]] = {}

    def apply(self, op: EvaluationOp, at_ms: float) -> None:
        """Check `op` and queue its rows at `at_ms`. NotFound or Conflict name `op`."""
        try:
            self._apply(op, at_ms)
        except HivekeeperError as exc:
            exc.culprit = op
            raise

    def flush(self, version: int) -> None:
        """Insert every queued row, one INSERT per table."""
        for table, rows in self._rows.items():
            self._session.insert(table, [[*row, version, 0] for row in rows])

    def _apply(self, op: EvaluationOp, at_ms: float) -> None:
        if isinstance(op, SaveDataset):
            # Created without a name, a dataset is named ""; updated, None keeps the name.
            name = op.name or "" if op.create else op.name
            patch = {"name": name, "description": op.description}
            self._save(
                op.project_id, "dataset", op.dataset_id, op.create, at_ms, op.change_id, patch
            )
        elif isinstance(op, ChangeMembership):
            self._change_membership(op, at_ms)
        elif isinstance(op, PutDatapoints):
            self._put_datapoints(op, at_ms)
        elif isinstance(op, DeleteDatapoint):
            self._delete_datapoint(op, at_ms)
        elif isinstance(op, DeleteDataset):
            self._live(op.project_id, "dataset", op.dataset_id)
            if not op.force and any(
                run_of(f).dataset_id == op.dataset_id
                for f in self._folded(op.project_id, "run").values()
            ):
                raise Conflict(
                    f"dataset {op.dataset_id} is used by runs; delete them first, or force "
                    "the delete (the runs keep the version they used)",
                    field="dataset_id",
                )
            self._patch(op.project_id, "dataset", op.dataset_id, at_ms, op.change_id, "delete")
        elif isinstance(op, SaveVersion):
            self._save_version(op, at_ms)
        elif isinstance(op, Deploy):
            self._live(op.project_id, op.kind, op.definition_id)
            if not self._version_exists(op):
                raise NotFound(f"no version {op.version_change_id!r}", field="version")
            self._deploy(op.project_id, op, at_ms, op.change_id, op.env, op.version_change_id)
        elif isinstance(op, DeleteDefinition):
            self._live(op.project_id, op.kind, op.definition_id)
            self._patch(op.project_id, op.kind, op.definition_id, at_ms, op.change_id, "delete")
        elif isinstance(op, PutRun):
            self._put_run(op, at_ms)
        elif isinstance(op, DeleteRun):
            self._delete_run(op, at_ms)
        elif isinstance(op, SaveChart):
            self._save(
                op.project_id, "chart", op.chart_id, op.create, at_ms, op.change_id, op.fields
            )
        else:
            self._live(op.project_id, "chart", op.chart_id)
            self._patch(op.project_id, "chart", op.chart_id, at_ms, op.change_id, "delete")

    # --- records as patch rows ---
    def _folded(
        self, project_id: str, entity: Entity, ids: Sequence[str] | None = None
    ) -> dict[str, Folded]:
        """The live records of `entity` (of `ids`), this batch's patches included."""
        stored = patch_rows(self._session, project_id, entity, ids)
        queued = [
            row[2:]
            for row in self._rows.get(EVAL_PATCHES, ())
            if row[0] == project_id and row[1] == entity and (ids is None or row[2] in ids)
        ]
        return fold([*stored, *queued])

    def _live(self, project_id: str, entity: Entity, entity_id: str) -> Folded:
        folded = self._folded(project_id, entity, [entity_id]).get(entity_id)
        if folded is None:
            raise NotFound(f"no {entity} {entity_id}", field=_id_field(entity))
        return folded

    def _save(
        self,
        project_id: str,
        entity: Entity,
        entity_id: str,
        create: bool,
        at_ms: float,
        change_id: str,
        patch: JsonObject,
    ) -> None:
        """Create a record (Conflict if live) or patch a live one (NotFound)."""
        if create and self._folded(project_id, entity, [entity_id]):
            raise Conflict(f"{entity} {entity_id} already exists", field=_id_field(entity))
        if not create:
            self._live(project_id, entity, entity_id)
        kind = "create" if create else "update"
        self._patch(project_id, entity, entity_id, at_ms, change_id, kind, patch)

    def _patch(
        self,
        project_id: str,
        entity: Entity,
        entity_id: str,
        at_ms: float,
        change_id: str,
        kind: str,
        patch: JsonObject | None = None,
    ) -> None:
        row = [project_id, entity, entity_id, at_ms, change_id, kind, dump(patch or {})]
        self._add(EVAL_PATCHES, row)

    def _add(self, table: Table, row: list[Any]) -> None:
        self._rows.setdefault(table, []).append(row)

    # --- datasets and datapoints ---
    def _change_membership(self, op: ChangeMembership, at_ms: float) -> None:
        project_id, dataset_id = op.project_id, op.dataset_id
        self._live(project_id, "dataset", dataset_id)
        wanted = op.add if op.replace is None else op.replace
        latest = self._latest_revisions(project_id, wanted)
        revisions = {d: r for d, (r, deleted) in latest.items() if not deleted}
        missing = [d for d in wanted if d not in revisions]
        if missing:
            raise NotFound(f"no datapoint {missing[0]}", field="datapoints")
        key = (at_ms, op.change_id)
        current = [m.datapoint_id for m in self._membership(project_id, dataset_id)]
        if op.replace is not None:
            items = changelog.membership_items(key, current, op.replace, revisions)
        else:
            items = changelog.addition_items(key, current, op.add, revisions)
            items += changelog.removal_items(key, current, op.remove, len(items))
        self._append_change(project_id, dataset_id, items, op.key_id)

    def _put_datapoints(self, op: PutDatapoints, at_ms: float) -> None:
        project_id = op.project_id
        latest = self._latest_revisions(project_id, [w.datapoint_id for w in op.datapoints])
        for write in op.datapoints:
            if write.new and write.datapoint_id in latest:
                raise Conflict(f"datapoint {write.datapoint_id} already exists", field="id")
            if not write.new and latest.get(write.datapoint_id, ("", True))[1]:
                raise NotFound(f"no datapoint {write.datapoint_id}", field="id")
        for dataset_id in op.dataset_ids:
            self._live(project_id, "dataset", dataset_id)
        updated = [w.datapoint_id for w in op.datapoints if not w.new]
        holding = self._holding(project_id, updated)
        for write in op.datapoints:
            self._revision(
                project_id, write.datapoint_id, (at_ms, op.change_id), op.key_id, write.content
            )
        key = (at_ms, op.change_id)
        for dataset_id in sorted({*op.dataset_ids, *holding}):
            held = holding.get(dataset_id, set())
            adding = dataset_id in op.dataset_ids
            items: list[ChangeItem] = []
            for write in op.datapoints:
                if write.datapoint_id in held or adding:
                    kind: ChangeKind = "edited" if write.datapoint_id in held else "added"
                    items.append(
                        ChangeItem(key, len(items), write.datapoint_id, kind, op.change_id)
                    )
            self._append_change(project_id, dataset_id, items, op.key_id)

    def _delete_datapoint(self, op: DeleteDatapoint, at_ms: float) -> None:
        project_id, datapoint_id = op.project_id, op.datapoint_id
        if self._latest_revisions(project_id, [datapoint_id]).get(datapoint_id, ("", True))[1]:
            raise NotFound(f"no datapoint {datapoint_id}", field="id")
        self._revision(project_id, datapoint_id, (at_ms, op.change_id), op.key_id, None)
        for dataset_id in sorted(self._holding(project_id, [datapoint_id])):
            item = ChangeItem((at_ms, op.change_id), 0, datapoint_id, "removed", None)
            self._append_change(project_id, dataset_id, [item], op.key_id)

    def _latest_revisions(
        self, project_id: str, datapoint_ids: Sequence[str]
    ) -> dict[str, tuple[str, bool]]:
        """Each stored datapoint among these: its latest revision, and whether it is a
        deletion."""
        ids = set(datapoint_ids)
        latest: dict[str, tuple[tuple[float, str], bool]] = {}
        stored = [
            (r[0], r[1], r[2], r[3])
            for rows in revision_rows(self._session, project_id, datapoint_ids).values()
            for r in rows
        ]
        queued = [
            (r[1], r[2], r[3], r[-1])
            for r in self._rows.get(DATAPOINT_REVISIONS, ())
            if r[0] == project_id and r[1] in ids
        ]
        for datapoint_id, at_ms, change_id, deleted in [*stored, *queued]:
            held = latest.get(datapoint_id)
            if held is None or (at_ms, change_id) > held[0]:
                latest[datapoint_id] = ((at_ms, change_id), bool(deleted))
        return {d: (key[1], deleted) for d, (key, deleted) in latest.items()}

    def _revision(
        self,
        project_id: str,
        datapoint_id: str,
        key: VersionKey,
        key_id: str | None,
        content: DatapointContent | None,
    ) -> None:
        """A revision of a datapoint; None content is a deletion's tombstone."""
        values = content_values(content or _EMPTY)
        row = [project_id, datapoint_id, *key, key_id, *values, content is None]
        self._add(DATAPOINT_REVISIONS, row)

    def _membership(self, project_id: str, dataset_id: str) -> list[changelog.Member]:
        stored = [decode_item(r[1:]) for r in item_rows(self._session, project_id, [dataset_id])]
        queued = [
            decode_item(r[2:])
            for r in self._rows.get(DATASET_ITEMS, ())
            if r[0] == project_id and r[1] == dataset_id
        ]
        return changelog.materialize([*stored, *queued])

    def _holding(self, project_id: str, datapoint_ids: Sequence[str]) -> dict[str, set[str]]:
        """Live dataset id → which of these datapoints it holds now."""
        if not datapoint_ids:
            return {}
        ids = set(datapoint_ids)
        queued = [
            r[1:] for r in self._rows.get(DATASET_ITEMS, ()) if r[0] == project_id and r[5] in ids
        ]
        stored = item_rows(self._session, project_id, datapoint_ids, by="datapoint_id")
        held = memberships([*stored, *queued])
        live = self._folded(project_id, "dataset", list(held)) if held else {}
        return {d: set(members) for d, members in held.items() if d in live and members}

    def _append_change(
        self, project_id: str, dataset_id: str, items: Sequence[ChangeItem], key_id: str | None
    ) -> None:
        """Record one change of a dataset (a new version); no items, no version."""
        if not items:
            return
        at_ms, change_id = items[0].key
        counts = {k: sum(1 for i in items if i.kind == k) for k in ("added", "removed", "edited")}
        change = [project_id, dataset_id, at_ms, change_id, key_id, *counts.values()]
        self._add(DATASET_CHANGES, change)
        for i in items:
            row = [project_id, dataset_id, at_ms, change_id, i.ordinal, i.datapoint_id, i.kind]
            self._add(DATASET_ITEMS, [*row, i.revision])
        # An update with nothing to change: the dataset's `updated_at`, as in row stores.
        self._patch(project_id, "dataset", dataset_id, at_ms, change_id, "update")

    # --- configurations and metrics ---
    def _save_version(self, op: SaveVersion, at_ms: float) -> None:
        name = op.content.get("name")
        patch = {"name": name if isinstance(name, str) else None}
        self._save(op.project_id, op.kind, op.definition_id, op.create, at_ms, op.change_id, patch)
        owner = [op.project_id, op.kind, op.definition_id]
        version = [at_ms, op.change_id, op.key_id, op.message, dump(op.content)]
        self._add(DEFINITION_VERSIONS, [*owner, *version])
        for env in dict.fromkeys(op.deploy):
            self._deploy(op.project_id, op, at_ms, f"{op.change_id}:{env}", env, op.change_id)

    def _deploy(
        self,
        project_id: str,
        op: SaveVersion | Deploy,
        at_ms: float,
        change_id: str,
        env: str,
        version_change_id: str,
    ) -> None:
        owner = [project_id, op.kind, op.definition_id]
        self._add(DEPLOYMENTS, [*owner, at_ms, change_id, env, version_change_id])

    def _version_exists(self, op: Deploy) -> bool:
        if any(
            r[:3] == [op.project_id, op.kind, op.definition_id] and r[4] == op.version_change_id
            for r in self._rows.get(DEFINITION_VERSIONS, ())
        ):
            return True
        found = self._session.rows(
            "SELECT 1 FROM definition_versions FINAL WHERE project_id = {p:String} "
            "AND kind = {k:String} AND definition_id = {d:String} AND change_id = {c:String}",
            {"p": op.project_id, "k": op.kind, "d": op.definition_id, "c": op.version_change_id},
        )
        return bool(found)

    # --- runs ---
    def _put_run(self, op: PutRun, at_ms: float) -> None:
        scalars = {k: v for k, v in op.patch.items() if k not in _ID_LISTS}
        self._save(op.project_id, "run", op.run_id, op.create, at_ms, op.change_id, scalars)
        for key, name in _ID_LISTS.items():
            ids: list[str] = op.patch.get(key, [])  # type: ignore[assignment]  # both id lists
            for ordinal, value in enumerate(ids):
                row = [op.project_id, op.run_id, name, at_ms, op.change_id, ordinal, value]
                self._add(RUN_IDS, row)

    def _delete_run(self, op: DeleteRun, at_ms: float) -> None:
        folded = self._live(op.project_id, "run", op.run_id)
        if op.delete_sessions:
            sessions = self._session.rows(
                "SELECT value FROM run_ids FINAL WHERE project_id = {p:String} "
                "AND run_id = {r:String} AND list = 'sessions' AND at_ms >= {since:Float64} "
                "UNION DISTINCT SELECT session_id FROM events FINAL WHERE project_id = {p:String} "
                "AND run_id = {r:String} AND session_id IS NOT NULL",
                {"p": op.project_id, "r": op.run_id, "since": folded.created_at_ms},
            )
            queued = [
                r[6]
                for r in self._rows.get(RUN_IDS, ())
                if r[:3] == [op.project_id, op.run_id, "sessions"]
            ]
            ids = sorted({row[0] for row in sessions} | set(queued))
            self._events.delete_sessions(op.project_id, ids)
        self._patch(op.project_id, "run", op.run_id, at_ms, op.change_id, "delete")


def _id_field(entity: Entity) -> str:
    """The field a NotFound or Conflict about `entity` names, as the row stores do."""
    return {"dataset": "dataset_id", "run": "run_id"}.get(entity, "id")

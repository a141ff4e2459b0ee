"""ClickHouse's evaluation plane: insert-only rows (`_schema.EVALUATION_TABLES`) and how
they read back into the domain's records, for the reads (`_evaluation_reads`) and the
checks of the write path (`_evaluation_writes`) alike.

Nothing is rewritten in place. Datasets, prompts, metrics, runs and saved charts are
*patch rows* (`eval_patches`: create, update, delete), folded at read in `(at_ms,
change_id)` order (`fold`); a run folds by `runs.apply_patch` as the row stores do in
their transaction. Datapoint revisions, dataset changes and their items, versions,
deployments and a run's reported ids are appended; the current state is derived: a
datapoint is its latest revision, a dataset's membership the replay of its items
(`changelog.materialize`). Every read is `FINAL`: a retried insert lands twice until
a merge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

from hivekeeper.domain.evaluation.changelog import ChangeItem
from hivekeeper.domain.evaluation.datasets import DatasetRecord
from hivekeeper.domain.evaluation.runs import Run, RunPatch, apply_patch
from hivekeeper.domain.saved_charts import SavedChart
from hivekeeper.domain.types import JsonObject
from hivekeeper.store.clickhouse._session import IN_CHUNK
from hivekeeper.store.sql.evaluation_db import (
    ITEM_COLUMNS,
    REVISION_COLUMNS,
    decode_item,
    load,
)
from hivekeeper.store.sql.rows import chunks

Entity = str
"""What a patch row belongs to: `dataset`, `configuration`, `metric`, `run`, `chart`."""


class Reader(Protocol):
    def rows(
        self, query: str, params: dict[str, object] | None = None
    ) -> Sequence[Sequence[Any]]: ...


@dataclass(slots=True)
class Folded:
    """A live record folded from its patch rows: the patches since it was (last)
    created, oldest first, the create's among them."""

    id: str
    created_at_ms: float
    updated_at_ms: float | None = None
    patches: list[tuple[float, JsonObject]] = field(default_factory=list)

    @property
    def merged(self) -> JsonObject:
        """The patches merged key by key, later ones winning (None values skipped)."""
        out: JsonObject = {}
        for _, patch in self.patches:
            out.update((k, v) for k, v in patch.items() if v is not None)
        return out


PATCH_COLUMNS = "entity_id, at_ms, change_id, kind, patch"


def fold(rows: Iterable[Sequence[Any]]) -> dict[str, Folded]:
    """Live records from `PATCH_COLUMNS` rows, in any order: a create starts a record
    over, a delete ends it, an update applies to a live one only."""
    live: dict[str, Folded] = {}
    for entity_id, at_ms, _, kind, patch in sorted(rows, key=lambda r: (r[1], r[2])):
        if kind == "create":
            live[entity_id] = Folded(entity_id, at_ms, None, [(at_ms, load(patch))])
        elif kind == "delete":
            live.pop(entity_id, None)
        elif entity_id in live:
            record = live[entity_id]
            record.patches.append((at_ms, load(patch)))
            record.updated_at_ms = at_ms
    return live


def dataset_record(folded: Folded) -> DatasetRecord:
    merged = folded.merged
    return DatasetRecord(
        folded.id,
        merged.get("name", ""),
        merged.get("description"),
        folded.created_at_ms,
        folded.updated_at_ms,
    )


def run_of(folded: Folded, sessions: Sequence[str] = (), datapoints: Sequence[str] = ()) -> Run:
    """The run its patches make (`runs.apply_patch`, as the row stores fold them)."""
    (created, first), *updates = folded.patches
    run = apply_patch(Run(run_id=folded.id, created_at_ms=created), cast(RunPatch, first), None)
    for at_ms, patch in updates:
        run = apply_patch(run, cast(RunPatch, patch), at_ms)
    ids: RunPatch = {"event_ids": list(sessions), "datapoint_ids": list(datapoints)}
    return apply_patch(run, ids, run.updated_at_ms)


def chart_of(folded: Folded) -> SavedChart:
    definition: JsonObject = {}
    for _, patch in folded.patches:
        definition.update(patch)
    return SavedChart(folded.id, definition, folded.created_at_ms, folded.updated_at_ms)


def patch_rows(
    reader: Reader, project_id: str, entity: Entity, ids: Sequence[str] | None = None
) -> list[Sequence[Any]]:
    """The stored patch rows of `entity` (those of `ids`, when given)."""
    query = (
        f"SELECT {PATCH_COLUMNS} FROM eval_patches FINAL WHERE project_id = {{p:String}} "
        "AND entity = {e:String}"
    )
    if ids is None:
        return list(reader.rows(query, {"p": project_id, "e": entity}))
    out: list[Sequence[Any]] = []
    for chunk in chunks(list(ids), IN_CHUNK):
        out += reader.rows(
            f"{query} AND entity_id IN {{ids:Array(String)}}",
            {"p": project_id, "e": entity, "ids": list(chunk)},
        )
    return out


def item_rows(
    reader: Reader,
    project_id: str,
    ids: Sequence[str],
    by: Literal["dataset_id", "datapoint_id"] = "dataset_id",
) -> list[Sequence[Any]]:
    """`dataset_id` then `ITEM_COLUMNS` of every item of these datasets (`by` datapoint:
    of every item naming one of these datapoints)."""
    out: list[Sequence[Any]] = []
    for chunk in chunks(list(ids), IN_CHUNK):
        out += reader.rows(
            f"SELECT dataset_id, {ITEM_COLUMNS} FROM dataset_items FINAL "
            f"WHERE project_id = {{p:String}} AND {by} IN {{ids:Array(String)}}",
            {"p": project_id, "ids": list(chunk)},
        )
    return out


def memberships(rows: Iterable[Sequence[Any]]) -> dict[str, dict[str, str]]:
    """Dataset id → datapoint id → revision, for the datapoints each dataset holds after
    the items `rows` (`dataset_id` then `ITEM_COLUMNS`; of all of a datapoint's items
    in a dataset, the latest decides: a removal ends a membership, anything else is
    one)."""
    latest: dict[tuple[str, str], ChangeItem] = {}
    for row in rows:
        item = decode_item(row[1:])
        key = (row[0], item.datapoint_id)
        held = latest.get(key)
        if held is None or (item.key, item.ordinal) > (held.key, held.ordinal):
            latest[key] = item
    out: dict[str, dict[str, str]] = {}
    for (dataset_id, datapoint_id), item in latest.items():
        if item.revision is not None:
            out.setdefault(dataset_id, {})[datapoint_id] = item.revision
    return out


def revision_rows(
    reader: Reader, project_id: str, datapoint_ids: Sequence[str]
) -> dict[str, list[Sequence[Any]]]:
    """Every revision of these datapoints, oldest first: `datapoint_id, at_ms,
    change_id, deleted, <REVISION_COLUMNS>`."""
    out: dict[str, list[Sequence[Any]]] = {}
    for chunk in chunks(list(dict.fromkeys(datapoint_ids)), IN_CHUNK):
        for row in reader.rows(
            f"SELECT datapoint_id, at_ms, change_id, deleted, {REVISION_COLUMNS} "
            "FROM datapoint_revisions FINAL WHERE project_id = {p:String} "
            "AND datapoint_id IN {ids:Array(String)} ORDER BY datapoint_id, at_ms, change_id",
            {"p": project_id, "ids": list(chunk)},
        ):
            out.setdefault(row[0], []).append(row)
    return out


def datapoint_row(revisions: Sequence[Sequence[Any]], revision: str | None = None) -> list[Any]:
    """`evaluation_db.decode_datapoint`'s row from a datapoint's revisions (oldest
    first): the revision `revision` (the latest when None)."""
    chosen = revisions[-1] if revision is None else next(r for r in revisions if r[2] == revision)
    return [chosen[0], revisions[0][1], chosen[2], chosen[1], *chosen[4:]]


def live_datasets(
    reader: Reader, project_id: str, ids: Sequence[str] | None = None
) -> dict[str, Folded]:
    return fold(patch_rows(reader, project_id, "dataset", ids))


LIVE_RUNS = (
    "SELECT entity_id FROM eval_patches FINAL WHERE project_id = {p:String} "
    "AND entity = 'run' GROUP BY entity_id HAVING argMax(kind, (at_ms, change_id)) != 'delete'"
)
PROTECTED_SESSIONS = (
    f"SELECT value FROM run_ids FINAL WHERE project_id = {{p:String}} AND list = 'sessions' "
    f"AND run_id IN ({LIVE_RUNS}) UNION DISTINCT SELECT session_id FROM events FINAL "
    f"WHERE project_id = {{p:String}} AND run_id IN ({LIVE_RUNS}) AND session_id IS NOT NULL"
)
"""The sessions retention must keep: those of runs that still exist (`_care`)."""

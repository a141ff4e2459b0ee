"""The evaluation plane's export and import (`TransferStore`, what `hivekeeper copy`
moves), on every store into every store: what one engine exports, another imports so
that it exports the very same rows, table by table in key order, in batches; importing
again changes nothing.

The source is written through `write_batch`, as the writer does, with every kind of
change: datasets edited and deleted, datapoints edited, removed and deleted, versions
and deployments, runs updated with ids reported twice, a run, prompt and chart deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hivekeeper.domain.evaluation.datapoints import DatapointContent
from hivekeeper.domain.evaluation.ops import (
    ChangeMembership,
    DatapointWrite,
    DeleteChart,
    DeleteDatapoint,
    DeleteDataset,
    DeleteDefinition,
    DeleteRun,
    Deploy,
    PutDatapoints,
    PutRun,
    SaveChart,
    SaveDataset,
    SaveVersion,
)
from hivekeeper.domain.types import WriteOp
from hivekeeper.store import Store, open_store
from hivekeeper.store.evaluation_tables import EVALUATION_TABLES, EvaluationRow
from tests.support.databases import STORE_KINDS, fresh_database_url

NOW = 1_800_000_000_000.0


def _write(store: Store, project: str) -> None:
    """Every kind of evaluation change, a batch a second apart."""
    at = NOW

    def write(*ops: WriteOp) -> None:
        nonlocal at
        at += 1000
        store.write_batch(list(ops), at)

    def point(i: int, new: bool = True, **content: object) -> DatapointWrite:
        body = DatapointContent(inputs={"q": f"{i}?", **content}, ground_truth={"a": i})
        return DatapointWrite(f"dp{i}", body, new=new)

    write(SaveDataset(project, "qa", name="qa", description="sums", create=True))
    write(PutDatapoints(project, tuple(point(i) for i in range(4)), ("qa",), key_id="k1"))
    write(PutDatapoints(project, (point(0, new=False, edited=True),), key_id="k2"))
    write(ChangeMembership(project, "qa", remove=("dp1",), key_id="k1"))
    write(DeleteDatapoint(project, "dp2", key_id="k2"))
    write(ChangeMembership(project, "qa", add=("dp1",)), SaveDataset(project, "qa", name="qa2"))
    write(SaveDataset(project, "old", create=True), PutDatapoints(project, (point(9),), ("old",)))
    write(PutRun(project, "r1", {"name": "first", "dataset_id": "old"}, create=True))
    write(DeleteDataset(project, "old", force=True))
    write(PutRun(project, "r1", {"event_ids": ["s1", "s2"], "metadata": {"w": 1}}))
    write(PutRun(project, "r1", {"event_ids": ["s2", "s3"], "datapoint_ids": ["dp0"]}))
    write(PutRun(project, "gone", {"name": "gone"}, create=True))
    write(DeleteRun(project, "gone"))
    for kind, name in (("configuration", "greeter"), ("metric", "accuracy")):
        first = SaveVersion(
            project, kind, name, {"name": name, "v": 1}, create=True, deploy=("dev",)
        )
        write(first)
        write(SaveVersion(project, kind, name, {"name": name, "v": 2}, message="two", key_id="k1"))
        write(Deploy(project, kind, name, "prod", first.change_id))
    write(SaveVersion(project, "configuration", "gone", {"name": "gone"}, create=True))
    write(DeleteDefinition(project, "configuration", "gone"))
    write(SaveChart(project, "c1", {"name": "cost", "func": "p95"}, create=True))
    write(SaveChart(project, "c1", {"func": "max"}))
    write(SaveChart(project, "gone", {"name": "gone"}, create=True), DeleteChart(project, "gone"))


def _export(store: Store, project: str, batch_size: int = 4) -> list[tuple[str, EvaluationRow]]:
    """The export, a run's id lists numbered by rank: a row store leaves a gap in the
    numbers where an id was reported again, ClickHouse none; the order is the same."""
    out = []
    for table, rows in store.export_evaluation(project, batch_size):
        assert 0 < len(rows) <= batch_size
        out += [(table, row) for row in rows]
    lists: dict[tuple[str, str], list[EvaluationRow]] = {}
    for table, row in out:
        if table in ("run_sessions", "run_datapoints"):
            lists.setdefault((table, row["run_id"]), []).append(row)
    for listed in lists.values():
        for rank, row in enumerate(sorted(listed, key=lambda r: r["ordinal"])):
            row["ordinal"] = rank
    return out


@pytest.fixture
def targets(tmp_path: Path) -> Iterator[dict[str, Store]]:
    """A fresh, open store of every engine."""
    stores = {}
    for kind in STORE_KINDS:
        (tmp_path / kind).mkdir()
        stores[kind] = open_store(fresh_database_url(kind, tmp_path / kind))
        stores[kind].open()
    yield stores
    for opened in stores.values():
        opened.close()


def test_an_export_lists_every_table_in_order_each_in_key_order(store: Store, project: str) -> None:
    _write(store, project)
    exported = _export(store, project)
    order = [t.name for t in EVALUATION_TABLES]
    tables = [table for table, _ in exported]
    assert tables == sorted(tables, key=order.index)
    assert set(tables) == set(order), "every table has rows"
    for spec in EVALUATION_TABLES:
        keys = [tuple(r[c] for c in spec.key) for t, r in exported if t == spec.name]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), spec.name
    run_sessions = [r["session_id"] for t, r in exported if t == "run_sessions"]
    assert sorted(run_sessions) == ["s1", "s2", "s3"], "an id reported twice is one"
    datasets = {r["dataset_id"]: r for t, r in exported if t == "datasets"}
    assert datasets["old"]["deleted_at_ms"] is not None and datasets["qa"]["name"] == "qa2"
    assert not [r for t, r in exported if r.get("run_id") == "gone" or r.get("chart_id") == "gone"]


def test_every_engine_imports_another_s_export_as_the_same_rows(
    store: Store, project: str, targets: dict[str, Store]
) -> None:
    _write(store, project)
    exported = _export(store, project)
    for kind, target in targets.items():
        for _ in range(2):  # a second import of the same rows changes nothing
            for table, rows in store.export_evaluation(project, 3):
                target.import_evaluation(table, rows)
            assert _export(target, project) == exported, kind

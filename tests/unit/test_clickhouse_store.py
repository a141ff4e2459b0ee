"""The ClickHouse store's own duties, on chdb: versions that collapse, the directory
lock, the cluster DDL, and filters that answer exactly as SQLite's do."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb")

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.filters import Condition, EventQuery, parse_condition
from hivekeeper.domain.types import DeleteEvent, Update, Upsert, WriteOp
from hivekeeper.store.clickhouse._schema import (
    MIGRATIONS,
    AddColumn,
    AddIndex,
    Table,
    single_node_ddl,
)
from hivekeeper.store.clickhouse.engine import ClickHouseStore, parse_url
from hivekeeper.store.sqlite.engine import SqliteStore
from tests.support.chdb import fresh_chdb_url
from tests.support.process import run_cli

NOW_MS = 1_700_000_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ClickHouseStore]:
    store = ClickHouseStore(fresh_chdb_url(tmp_path))
    store.open()
    yield store
    store.close()


def _raw(store: ClickHouseStore, sql: str) -> list[Any]:
    return list(store._session().rows(sql))


def test_database_urls() -> None:
    chdb = parse_url("chdb:///var/lib/hk?database=h1")
    assert (chdb.path, chdb.database) == (Path("/var/lib/hk"), "h1")
    server = parse_url("clickhouse://u:p%40ss@ch.example:9000/hk")
    assert (server.host, server.port, server.username, server.password, server.database) == (
        "ch.example", 9000, "u", "p@ss", "hk",
    )  # fmt: skip
    for bad in ("chdb://rel", "chdb:///", "clickhouse:///db", "chdb:///d?database=a-b"):
        with pytest.raises(ValidationFailed):
            parse_url(bad)


def test_versions_collapse_before_and_after_merges(store: ClickHouseStore) -> None:
    project = store.bootstrap().project.id
    # Background merges would collapse versions at any moment; hold them off first.
    store._session().command("SYSTEM STOP MERGES events")
    event = {"event_id": "e1", "session_id": "s1", "event_type": "tool"}
    store.write_batch([Upsert(project, {**event, "metadata": {"step": 0}})], NOW_MS)
    for step in range(1, 4):
        store.write_batch([Update(project, {"event_id": "e1", "metadata": {"step": step}})], NOW_MS)
    store.write_batch([Upsert(project, {**event, "event_id": "e2"})], NOW_MS)
    store.write_batch([DeleteEvent(project, "e2")], NOW_MS)

    def visible() -> tuple[Any, ...]:
        e1 = store.get_event(project, "e1")
        assert e1 is not None
        by_old_step = EventQuery(conditions=(_condition("metadata.step", "is", 0, "number"),))
        session = store.get_event(project, "s1")
        assert session is not None
        return (
            e1["metadata"],
            store.get_event(project, "e2"),
            store.query_events(project, by_old_step)[1],
            session["num_events"],
            store.count_rows(),
        )

    before = visible()
    # Several versions are stored; FINAL shows the newest and hides the tombstone.
    assert _raw(store, "SELECT count() FROM events WHERE event_id = 'e1'")[0][0] > 1
    assert before[:4] == ({"step": 3}, None, 0, 1)
    store._session().command("SYSTEM START MERGES events")
    store._session().command("OPTIMIZE TABLE events FINAL")
    assert _raw(store, "SELECT count() FROM events WHERE event_id = 'e1'")[0][0] == 1
    assert visible() == before


def test_a_second_process_is_refused_while_the_directory_is_open(
    store: ClickHouseStore, tmp_path: Path
) -> None:
    url = fresh_chdb_url(tmp_path)
    done = run_cli("projects", "list", "--database-url", url, timeout_s=60)
    assert done.returncode == 1
    assert "is open in another process (a running server?); stop it first" in done.stderr
    # The same process may open it again (chdb runs one engine per process).
    other = ClickHouseStore(url)
    other.open()
    other.close()
    assert store.list_projects() == []


def test_backup_points_to_clickhouse_backup(store: ClickHouseStore, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="BACKUP DATABASE"):
        store.backup(tmp_path / "b")
    with pytest.raises(ValidationFailed, match="RESTORE DATABASE"):
        store.restore(tmp_path / "b")


def test_cluster_ddl_parses_and_shards_by_session() -> None:
    done = run_cli("clickhouse-ddl", "--cluster", "prod", "--database", "hk", timeout_s=60)
    assert done.returncode == 0, done.stderr
    statements = [s.strip() for s in done.stdout.split(";\n") if s.strip()]
    steps = [step for _, group in MIGRATIONS for step in group]
    tables = [step for step in steps if isinstance(step, Table)]
    columns = [step for step in steps if isinstance(step, AddColumn)]
    indexes = [step for step in steps if isinstance(step, AddIndex)]
    replicated = [s for s in statements if "ReplicatedReplacingMergeTree(" in s]
    distributed = [s for s in statements if "ENGINE = Distributed(`prod`" in s]
    assert len(replicated) == len(distributed) == len(tables) + 1  # + the migrations table
    assert all("ON CLUSTER `prod`" in s for s in statements if s.startswith("CREATE"))
    assert any("cityHash64(project_id, ifNull(session_id, event_id))" in s for s in distributed)
    # Columns later migrations added, on every shard and on the Distributed table, and
    # skip indexes on every shard: run again after an upgrade, the same output brings
    # an older cluster up to date.
    alters = [s for s in statements if s.startswith("ALTER TABLE")]
    assert len(alters) == 2 * len(columns) + len(indexes) > len(indexes) > 0
    assert all(
        "ON CLUSTER `prod` ADD COLUMN IF NOT EXISTS" in s
        or ("_local` ON CLUSTER `prod` ADD INDEX IF NOT EXISTS" in s)
        for s in alters
    )
    # Every statement is valid ClickHouse SQL (the engine's own parser says so), and
    # the single-node DDL the store runs comes from the same table definitions.
    store = ClickHouseStore(fresh_chdb_url(Path()))
    store.open()
    try:
        for statement in statements:
            assert store._session().rows(
                "SELECT formatQuery({q:String})", {"q": statement.rstrip(";")}
            )
        for table in tables:
            local = next(s for s in replicated if f"`{table.name}_local`" in s)
            assert single_node_ddl(table).split("(", 1)[1].split("ENGINE")[0] in local
    finally:
        store.close()


# --- filters answer exactly as SQLite's ---

VALUES: list[object] = [
    5, 5.0, 0.5, -2, 120.0, 1e-7, 1e20, 0.1 + 0.2, 123456789012345.67, True, False, None,
    "5", "abc", "ABC", "Hello World", "true", "1", "0", "", "2024-01-02", "2024-01-02T03:04:05Z",
    "2024-01-02 03:04:05.678+02:00", "2024-02-30", "12:30", "2460000.5", "2024-13-01",
    "1700000000000", [1, 2], {"k": "v"}, {"n": 1.5}, ["x", {"y": 2}],
]  # fmt: skip
FILTERS: list[dict[str, object]] = [
    *(
        {"field": field, "operator": op, "value": value, "type": kind}
        for field in ("metadata.v", "metadata.v.0", "metadata.v.k", "inputs")
        for op, value, kind in [
            ("is", "5", "string"), ("is", "true", "string"), ("contains", "b", "string"),
            ("contains", "E+20", "string"), ("is", "1.0e-07", "string"),
            ("is", "1.0e+20", "string"), ("is", "0.3", "string"), ("is", "120", "string"),
            ("is", "123456789012346.0", "string"), ("is", '{"k":"v"}', "string"),
            ("is not", "5", "string"), ("not contains", "x", "string"),
            ("greater than", 1, "number"), ("less than", 1, "number"), ("is", 5, "number"),
            ("is not", 0, "number"), ("is", True, "boolean"), ("is", False, "boolean"),
            ("after", "2024-01-01T00:00:00Z", "datetime"),
            ("before", "2024-01-02T01:00:00Z", "datetime"),
            ("is", "2024-01-02T00:00:00Z", "datetime"),
            ("after", "1970-01-01T00:00:00Z", "datetime"),
        ]
    ),
    {"field": "metadata.v", "operator": "exists"},
    {"field": "metadata.v", "operator": "not exists"},
    {"field": "metadata.num_events", "operator": "greater than", "value": 0, "type": "number"},
    {"field": "metadata.has_feedback", "operator": "is", "value": "false", "type": "string"},
    {"field": "metadata.cost", "operator": "is", "value": "0", "type": "string"},
    {"field": "event_name", "operator": "contains", "value": "EV", "type": "string"},
    {"field": "duration", "operator": "is", "value": "2.5", "type": "string"},
    {"field": "start_time", "operator": "after", "value": NOW_MS - 1, "type": "datetime"},
]  # fmt: skip


def _condition(field: str, operator: str, value: object, kind: str) -> Condition:
    return parse_condition(
        {"field": field, "operator": operator, "value": value, "type": kind}, "f"
    )


def _ops(project: str) -> list[WriteOp]:
    ops: list[WriteOp] = [
        Upsert(project, {"event_id": "s", "session_id": "s", "event_type": "session"})
    ]
    for i, value in enumerate(VALUES):
        ops.append(
            Upsert(
                project,
                {
                    "event_id": f"e{i:02d}",
                    "session_id": "s",
                    "event_type": "model" if i % 2 else "tool",
                    "event_name": f"ev {value!r}"[:20],
                    "start_time": NOW_MS + i,
                    "duration": 2.5 if i % 3 else float(i),
                    "metadata": {"v": value, "cost": value} if value is not None else {"v": None},
                    "inputs": {"v": value},
                },
            )
        )
    return ops


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, Any, str]]:
    data = tmp_path_factory.mktemp("twins")
    sqlite = SqliteStore(f"sqlite:///{data / 'h.db'}")
    chdb = ClickHouseStore(fresh_chdb_url(data))
    stores = []
    for store in (sqlite, chdb):
        store.open()
        project = store.bootstrap().project.id
        store.write_batch(_ops(project), NOW_MS)
        stores.extend((store, project))
    yield tuple(stores)  # type: ignore[misc]
    sqlite.close()
    chdb.close()


@pytest.mark.parametrize("raw", FILTERS, ids=[f"{i}" for i in range(len(FILTERS))])
def test_filters_match_what_sqlite_matches(raw: dict[str, object], twins: Any) -> None:
    sqlite, sqlite_project, chdb, chdb_project = twins
    query = EventQuery(conditions=(parse_condition(raw, "filters[0]"),), limit=7500)
    expected = [r["event_id"] for r in sqlite.query_events(sqlite_project, query)[0]]
    got = [r["event_id"] for r in chdb.query_events(chdb_project, query)[0]]
    assert got == expected, raw


@pytest.mark.parametrize(
    "search, sort, descending",
    list(
        itertools.product(
            [None, "hello", "ABC", "{"], ["start_time", "duration", "cost"], [False, True]
        )
    ),
)
def test_search_and_sort_match_sqlite(
    search: str | None, sort: Any, descending: bool, twins: Any
) -> None:
    sqlite, sqlite_project, chdb, chdb_project = twins
    query = EventQuery(search=search, sort=sort, descending=descending, limit=10, page=2)
    expected = sqlite.query_events(sqlite_project, query)
    got = chdb.query_events(chdb_project, query)
    assert [r["event_id"] for r in got[0]] == [r["event_id"] for r in expected[0]]
    assert got[1] == expected[1]
    assert chdb.session_outline(chdb_project, "s") == sqlite.session_outline(sqlite_project, "s")


def test_events_stored_before_the_upgrade_are_found_by_their_run(tmp_path: Path) -> None:
    url = fresh_chdb_url(tmp_path)
    old = ClickHouseStore(url)
    old.open()
    project = old.bootstrap().project.id
    # The database an older hivekeeper left: no column, no record of its migration.
    session = old._session()
    session.command("ALTER TABLE events DROP INDEX by_run")
    session.command("ALTER TABLE events DROP COLUMN run_id")
    session.command(
        "INSERT INTO hivekeeper_migrations (name, applied_at, version, is_deleted) "
        f"VALUES ('0004_event_run_id', 0, {old._next_version()}, 1)"
    )
    for event_id, metadata in (("named", '{"run_id": "r-1"}'), ("number", '{"run_id": 7}')):
        session.command(
            "INSERT INTO events (project_id, event_id, session_id, event_type, config, inputs, "
            "outputs, metadata, metrics, feedback, user_properties, children_ids, extra, "
            f"version) VALUES ('{project}', '{event_id}', '{event_id}', 'session', '{{}}', "
            f"'{{}}', '{{}}', '{metadata}', '{{}}', '{{}}', '{{}}', '[]', '{{}}', "
            f"{old._next_version()})"
        )
    old.close()
    store = ClickHouseStore(url)
    store.open()
    try:
        assert [row["event_id"] for row in store.run_rows(project, "r-1")] == ["named"]
        assert store.run_rows(project, "7") == []
    finally:
        store.close()


def test_pending_rows_stored_before_the_upgrade_count_as_first_written_then(
    tmp_path: Path,
) -> None:
    url = fresh_chdb_url(tmp_path)
    old = ClickHouseStore(url)
    old.open()
    project = old.bootstrap().project.id
    # The database an older hivekeeper left: no column, no record of its migration.
    session = old._session()
    session.command("ALTER TABLE events DROP COLUMN pending_since")
    session.command(
        "INSERT INTO hivekeeper_migrations (name, applied_at, version, is_deleted) "
        f"VALUES ('0003_pending_since', 0, {old._next_version()}, 1)"
    )
    for event_id, event_type in (("pending", "NULL"), ("visible", "'tool'")):
        session.command(
            "INSERT INTO events (project_id, event_id, event_type, config, inputs, outputs, "
            "metadata, metrics, feedback, user_properties, children_ids, extra, version) "
            f"VALUES ('{project}', '{event_id}', {event_type}, '{{}}', '{{}}', '{{}}', '{{}}', "
            f"'{{}}', '{{}}', '{{}}', '[]', '{{}}', {old._next_version()})"
        )
    old.close()
    before_ms = time.time() * 1000
    store = ClickHouseStore(url)
    store.open()
    try:
        pending = store.get_event(project, "pending", include_pending=True)
        visible = store.get_event(project, "visible")
        assert pending is not None and visible is not None
        assert visible["pending_since"] is None
        assert before_ms <= (pending["pending_since"] or 0) <= time.time() * 1000
    finally:
        store.close()

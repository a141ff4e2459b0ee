"""PostgreSQL-only behaviour: migrations racing at start, several workers merging into
the same sessions, SQLite's rendering of values in filters, what PostgreSQL cannot
store, and the errors of a database that is not there.

The contract suites cover everything a client sees on this store too; these tests
cover what only a multi-process, server-based engine can get wrong.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from hivekeeper.domain.errors import Unavailable, ValidationFailed
from hivekeeper.domain.types import DeleteEvent, Update, Upsert, WriteOp
from hivekeeper.store.postgres._locks import lock_id
from hivekeeper.store.postgres._schema import MIGRATIONS, migrate
from hivekeeper.store.postgres.engine import PostgresStore, conninfo
from tests.support.poll import eventually
from tests.support.postgres import fresh_postgres_url, unmigrated_postgres_url
from tests.support.server import run_server
from tests.support.upgrades import (
    assert_upgrade_ages_pending_rows,
    assert_upgrade_finds_the_runs_of_stored_events,
    assert_upgrade_keeps_keys_and_allows_dataplane_keys,
)

NOW_MS = 1_795_694_400_000.0


@pytest.fixture
def stores() -> Iterator[Callable[[str], PostgresStore]]:
    """Opens stores on a URL (each its own pool, as each worker has) and closes them."""
    opened: list[PostgresStore] = []

    def open_one(url: str) -> PostgresStore:
        store = PostgresStore(url)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


def _in_threads(targets: list[Callable[[], None]]) -> None:
    """Run the targets at once, each on its thread; re-raise the first failure."""
    barrier = threading.Barrier(len(targets))
    failures: list[BaseException] = []

    def run(target: Callable[[], None]) -> None:
        barrier.wait()
        try:
            target()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if failures:
        raise failures[0]


def test_database_urls() -> None:
    assert conninfo("postgres://u@h/db") == "postgresql://u@h/db"
    assert conninfo("postgresql+psycopg://u:p@h:5433/db?sslmode=require") == (
        "postgresql://u:p@h:5433/db?sslmode=require"
    )
    with pytest.raises(ValidationFailed):
        conninfo("sqlite:///x.db")


def test_workers_starting_together_migrate_once(
    stores: Callable[[str], PostgresStore],
) -> None:
    url = unmigrated_postgres_url()
    workers = [stores(url) for _ in range(4)]
    _in_threads([store.open for store in workers])
    with psycopg.connect(url, autocommit=True) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM hivekeeper_migrations")]
        assert sorted(applied) == [name for name, _ in MIGRATIONS]
        assert migrate(conn) == []
    assert workers[0].bootstrap().new_key_secret is not None
    assert workers[1].bootstrap().new_key_secret is None


def test_two_workers_writing_the_same_sessions_keep_exact_rollups(
    stores: Callable[[str], PostgresStore],
) -> None:
    url = fresh_postgres_url()
    first, second = stores(url), stores(url)
    first.open()
    second.open()
    project = first.bootstrap().project.id
    sessions = [f"session-{i}" for i in range(3)]

    def work(store: PostgresStore, worker: int) -> Callable[[], None]:
        def run() -> None:
            rng = random.Random(worker)
            for n in range(40):
                ops: list[WriteOp] = [
                    Upsert(project, {"event_id": sid, "session_id": sid, "event_type": "session"})
                    for sid in rng.sample(sessions, 2)
                ]
                for k in range(4):
                    ops.append(
                        Upsert(
                            project,
                            {
                                "event_id": f"w{worker}-{n}-{k}",
                                "session_id": rng.choice(sessions),
                                "event_type": rng.choice(["model", "tool"]),
                                "metadata": {"prompt_tokens": k + 1, "completion_tokens": 2},
                                "start_time": NOW_MS + n,
                            },
                        )
                    )
                if n % 5 == 4:
                    # Moves an event: its old session is found only once it is loaded.
                    moved = {"event_id": f"w{worker}-{n - 1}-0", "session_id": sessions[n % 3]}
                    ops.append(Update(project, moved))
                if n % 7 == 6:
                    ops.append(DeleteEvent(project, f"w{worker}-{n - 2}-1"))
                store.write_batch(ops, NOW_MS)

        return run

    _in_threads([work(first, 1), work(second, 2)])
    with psycopg.connect(url) as conn:
        for sid in sessions:
            stored = conn.execute(
                "SELECT num_events, num_model_events, prompt_tokens, completion_tokens, "
                "total_tokens FROM events WHERE project_id = %s AND event_id = %s",
                (project, sid),
            ).fetchone()
            counted = conn.execute(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE event_type = 'model'), "
                "COALESCE(SUM((metadata ->> 'prompt_tokens')::float8) "
                "FILTER (WHERE event_type = 'model'), 0), "
                "COALESCE(SUM((metadata ->> 'completion_tokens')::float8) "
                "FILTER (WHERE event_type = 'model'), 0) "
                "FROM events WHERE project_id = %s AND session_id = %s "
                "AND event_type IN ('model', 'tool')",
                (project, sid),
            ).fetchone()
            assert stored is not None and counted is not None
            assert stored[:4] == counted, sid
            assert stored[4] == counted[2] + counted[3]
            assert counted[0] > 0


# Values SQLite renders in its own way; the filters must see the same text on both.
_NUMBERS = [0.30000000000000004, 1.5, 120.0, 1e20, 1e16, 123456789012345.6, 1e-07, 2.5e-05,
            1e300, -0.0, 3.141592653589793, 9.2e18, 0.1, -2.5e-05, 999999999999999.9,
            9.223372036854775807e18, -9.223372036854775808e18, 5e-324]  # fmt: skip
_TIMES = ["2024-01-02", "2024-01-02T03:04:05.678Z", "2024-01-02 03:04", "2024-02-30",
          "2024-01-02T03:04:05+02:00", "2024-01-02T03:04:05.5-05:30", "03:04", "03:04:05",
          "2460000.5", "12", "garbage", "2024-13-01", "2024-01-02T25:00", "2024-1-2",
          "2024-01-02T03:04:05Zjunk", "", " 2024-01-02", "2024-01-02   03:04 "]  # fmt: skip


def test_filters_render_values_as_sqlite_does() -> None:
    rng = random.Random(7)
    numbers = [*_NUMBERS]
    numbers += [rng.uniform(-1e6, 1e6) for _ in range(300)]
    numbers += [round(rng.uniform(-1e4, 1e4), rng.randint(0, 6)) * 10.0 ** rng.randint(-40, 40)
                for _ in range(600)]  # fmt: skip
    lite = sqlite3.connect(":memory:")
    with psycopg.connect(fresh_postgres_url()) as conn:
        for number in numbers:
            (ours,) = conn.execute("SELECT hk_number_text(%s::float8)", (number,)).fetchone() or ()
            (theirs,) = lite.execute(
                "SELECT CASE WHEN ?1 = CAST(?1 AS INTEGER) THEN CAST(CAST(?1 AS INTEGER) AS TEXT) "
                "ELSE CAST(?1 AS TEXT) END",
                (number,),
            ).fetchone()
            assert ours == theirs, repr(number)
        for text in _TIMES:
            (ours,) = conn.execute("SELECT hk_text_ms(%s)", (text,)).fetchone() or ()
            (theirs,) = lite.execute(
                "SELECT round((julianday(?) - 2440587.5) * 86400000.0)", (text,)
            ).fetchone()
            assert ours == theirs, text


def test_nul_is_refused_with_a_400_and_filters_on_it_match_nothing(tmp_path: Path) -> None:
    with run_server(tmp_path, "postgres") as live, live.client() as api:
        for event in (
            {"event_type": "tool", "inputs": {"q": "a\u0000b"}},
            {"event_type": "tool", "event_name": "a\u0000b"},
            {"event_type": "tool", "metadata": {"k\u0000": 1}},
        ):
            answer = api.post("/events", json={"event": event})
            assert answer.status_code == 400, answer.text
            assert answer.json()["errorCode"] == "VALIDATION_ERROR"
            assert "NUL" in answer.json()["message"]
        assert api.post("/events", json={"event": {"event_type": "tool"}}).status_code == 200
        assert api.get("/v1/events/a%00b").status_code == 404
        stored = len(api.post("/v1/events/export", json={}).json()["events"])
        for operator, expected in (("is", 0), ("is not", stored), ("contains", 0)):
            found = api.post(
                "/v1/events/export",
                json={
                    "filters": [{"field": "event_name", "operator": operator, "value": "a\u0000"}]
                },
            )
            assert found.status_code == 200, found.text
            assert len(found.json()["events"]) == expected, operator


def test_backup_and_restore_point_to_pg_dump(
    stores: Callable[[str], PostgresStore], tmp_path: Path
) -> None:
    store = stores(fresh_postgres_url())
    with pytest.raises(ValidationFailed, match="pg_dump"):
        store.backup(tmp_path / "copy.db")
    with pytest.raises(ValidationFailed, match="pg_restore"):
        store.restore(tmp_path / "copy.db")


def test_a_database_that_is_not_there_is_unavailable(
    stores: Callable[[str], PostgresStore],
) -> None:
    with pytest.raises(Unavailable) as raised:
        stores("postgresql://postgres@127.0.0.1:1/nothing").open()
    assert raised.value.retry_after_s >= 1


def test_a_session_found_only_after_loading_is_locked_before_it_is_written(
    stores: Callable[[str], PostgresStore],
) -> None:
    """Moving an event out of a session another worker holds waits for that worker, even
    when the old session's lock comes out of order (the write then starts over)."""
    url = fresh_postgres_url()
    store = stores(url)
    store.open()
    project = store.bootstrap().project.id
    # Names whose locks order as: old session < event < new session, so the old
    # session, found only once the event is loaded, is needed out of order.
    by_lock: dict[int, str] = {}
    for name in (f"n{i}" for i in range(10_000)):
        by_lock.setdefault(lock_id((project, name)), name)
        if len(by_lock) == 3:
            break
    old, event, new = (by_lock[k] for k in sorted(by_lock))
    created = Upsert(project, {"event_id": event, "session_id": old, "event_type": "tool"})
    store.write_batch([created], NOW_MS)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (lock_id((project, old)),))
        moved = Update(project, {"event_id": event, "session_id": new})
        move = threading.Thread(target=store.write_batch, args=([moved], NOW_MS))
        move.start()
        move.join(0.5)
        assert move.is_alive(), "the write did not wait for the old session's lock"
        other.execute("SELECT pg_advisory_unlock(%s)", (lock_id((project, old)),))
        move.join(30)
    assert not move.is_alive()
    old_row, new_row = store.get_event(project, old), store.get_event(project, new)
    assert old_row is not None and new_row is not None
    assert (old_row["num_events"], new_row["num_events"]) == (0, 1)


def test_a_batch_larger_than_the_lock_table_commits(
    stores: Callable[[str], PostgresStore],
) -> None:
    """20,000 new events in 200 sessions: one lock per key would need ~20,200 slots of a
    6,400-slot lock table ("out of shared memory"); bucketed locks fit."""
    store = stores(fresh_postgres_url())
    store.open()
    project = store.bootstrap().project.id
    ops: list[WriteOp] = [
        Upsert(project, {"event_id": f"e{i}", "session_id": f"s{i % 200}", "event_type": "tool"})
        for i in range(20_000)
    ]
    store.write_batch(ops, NOW_MS)
    session = store.get_event(project, "s7")
    assert session is not None and session["num_events"] == 100
    assert store.count_rows() == {project: 20_200}


def test_pending_rows_stored_before_the_upgrade_count_as_first_written_then() -> None:
    with psycopg.connect(unmigrated_postgres_url(), autocommit=True) as conn:
        assert_upgrade_ages_pending_rows(conn, MIGRATIONS, "0004_pending_since", migrate, "%s")


def test_events_stored_before_the_upgrade_are_found_by_their_run() -> None:
    with psycopg.connect(unmigrated_postgres_url(), autocommit=True) as conn:
        assert_upgrade_finds_the_runs_of_stored_events(
            conn, MIGRATIONS, "0006_event_run_id", migrate, "%s"
        )


def test_keys_stored_before_the_upgrade_survive_it_and_dataplane_keys_follow() -> None:
    with psycopg.connect(unmigrated_postgres_url(), autocommit=True) as conn:
        assert_upgrade_keeps_keys_and_allows_dataplane_keys(
            conn, MIGRATIONS, "0007_dataplane_keys", migrate, "%s"
        )


def test_writes_and_key_lookups_never_wait_for_a_connection_long_reads_hold(
    stores: Callable[[str], PostgresStore],
) -> None:
    """Every connection of the read pool is held by a read that cannot finish while a
    lock is held; the writer's transaction and a key lookup get connections anyway."""
    url = fresh_postgres_url()
    store = stores(url)
    store.open()
    key = store.bootstrap().new_key_secret
    assert key is not None
    readers = 10  # the read pool's size: each blocked read holds one connection
    with psycopg.connect(url, autocommit=True) as watcher, psycopg.connect(url) as locker:
        locker.execute("LOCK TABLE redaction_rules IN ACCESS EXCLUSIVE MODE")
        threads = [threading.Thread(target=store.list_redactions) for _ in range(readers)]
        for thread in threads:
            thread.start()
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        eventually(
            lambda: watcher.execute(waiting).fetchone() == (readers,), 30, "reads not blocked"
        )
        principal = store.authenticate(key)
        assert principal is not None
        store.write_batch(
            [Upsert(principal.project.id, {"event_id": "e", "event_type": "tool"})], NOW_MS
        )
        assert watcher.execute(waiting).fetchone() == (readers,), "a blocked read ended"
        locker.rollback()
        for thread in threads:
            thread.join(30)
    assert store.get_event(principal.project.id, "e") is not None

"""The SQLite store's data care: expiry of whole sessions, redaction rules, backup, restore."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from hivekeeper.domain.errors import NotFound, Unavailable, ValidationFailed
from hivekeeper.domain.retention import DAY_MS
from hivekeeper.domain.types import EventPatch, ExpireSessions, Upsert
from hivekeeper.store.sqlite.engine import SqliteStore

NOW = 1_800_000_000_000.0
OLD = NOW - 10 * DAY_MS
CUTOFF = NOW - 5 * DAY_MS


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    the_store = SqliteStore(f"sqlite:///{tmp_path / 'care.db'}")
    the_store.open()
    the_store.bootstrap()
    yield the_store
    the_store.close()


def _project_id(store: SqliteStore, name: str = "default") -> str:
    return next(p.id for p in store.list_projects() if p.name == name)


def _event(session: str, event_id: str, start: float, **more: object) -> EventPatch:
    patch: EventPatch = {
        "event_id": event_id,
        "session_id": session,
        "event_type": "model",
        "start_time": start,
        "duration": 5.0,
        "metadata": {"total_tokens": 10, "cost": 0.5},
    }
    patch.update(more)  # type: ignore[typeddict-item]  # test data
    return patch


def _session(session: str, start: float) -> EventPatch:
    return {
        "event_id": session,
        "session_id": session,
        "event_type": "session",
        "start_time": start,
    }


def _ids(store: SqliteStore, project_id: str) -> set[str]:
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT event_id FROM events WHERE project_id = ?", (project_id,))
        return {r[0] for r in rows}


def test_expiry_takes_whole_old_sessions_and_orphans_only(store: SqliteStore) -> None:
    pid = _project_id(store)
    other = store.create_project("other").id
    store.write_batch(
        [
            Upsert(pid, _session("old", OLD)),
            Upsert(pid, _event("old", "old-1", OLD)),
            Upsert(pid, _event("old", "old-2", OLD + 1000)),
            Upsert(pid, _session("older", OLD - DAY_MS)),
            Upsert(pid, _session("alive", OLD)),
            Upsert(pid, _event("alive", "alive-old", OLD)),
            Upsert(pid, _event("alive", "alive-new", NOW - DAY_MS)),
            Upsert(pid, _session("recent", NOW - DAY_MS)),
            Upsert(other, _session("old", OLD)),
        ],
        NOW,
    )
    with sqlite3.connect(store.path) as conn:  # an event whose session row is gone
        conn.execute(
            "UPDATE events SET event_id = 'orphan', session_id = 'gone' "
            "WHERE event_id = 'old-1' AND project_id = ?",
            (pid,),
        )
    assert store.has_expired(pid, CUTOFF)
    store.write_batch([ExpireSessions(pid, CUTOFF, limit=1)], NOW)  # the oldest session
    assert _ids(store, pid) == {"old", "old-2", "alive", "alive-old", "alive-new", "recent"}
    store.write_batch([ExpireSessions(pid, CUTOFF, limit=1)], NOW)
    assert _ids(store, pid) == {"alive", "alive-old", "alive-new", "recent"}
    assert not store.has_expired(pid, CUTOFF)
    assert _ids(store, other) == {"old"}  # another project is not touched
    alive = store.get_event(pid, "alive")
    assert alive is not None
    assert (alive["num_events"], alive["total_tokens"], alive["cost"]) == (2, 20.0, 1.0)
    assert len(store.session_events(pid, "alive")) == 3


def test_expiry_is_checked_inside_the_transaction(store: SqliteStore) -> None:
    pid = _project_id(store)
    store.write_batch([Upsert(pid, _session("s", OLD))], NOW)
    assert store.has_expired(pid, CUTOFF)
    # The session comes back to life between the check and the expiry.
    store.write_batch([Upsert(pid, _event("s", "new", NOW)), ExpireSessions(pid, CUTOFF)], NOW)
    assert _ids(store, pid) == {"s", "new"}


def test_retention_settings(store: SqliteStore) -> None:
    pid = _project_id(store)
    assert store.retention_days() == {pid: None}
    store.set_retention("default", 30)
    assert store.retention_days() == {pid: 30}
    store.set_retention("default", None)
    assert store.retention_days() == {pid: None}
    with pytest.raises(NotFound):
        store.set_retention("nope", 1)


def test_redaction_rules_are_stored_in_order(store: SqliteStore) -> None:
    first = store.add_redaction("default", r"sk-\w+", "[REDACTED]")
    second = store.add_redaction("default", r"\d{16}", "<card>")
    assert [r.id for r in store.list_redactions()] == [first.id, second.id]
    assert second.project_name == "default" and second.replacement == "<card>"
    with pytest.raises(ValidationFailed, match="regular expression"):
        store.add_redaction("default", "(", "x")
    with pytest.raises(NotFound):
        store.add_redaction("nope", "x", "y")
    assert store.remove_redaction(first.id) == first
    assert store.list_redactions() == [second]
    with pytest.raises(NotFound):
        store.remove_redaction(first.id)


def test_backup_restore_round_trip(store: SqliteStore, tmp_path: Path) -> None:
    pid = _project_id(store)
    store.write_batch([Upsert(pid, _session("kept", NOW))], NOW)
    copy = tmp_path / "copies" / "one.db"
    store.backup(copy)
    assert not Path(f"{copy}-wal").exists()
    with pytest.raises(ValidationFailed, match="already exists"):
        store.backup(copy)
    store.write_batch([Upsert(pid, _session("after", NOW))], NOW)

    with pytest.raises(Unavailable, match="stop the server"):
        SqliteStore(f"sqlite:///{store.path}").restore(copy)  # `store` is open
    store.close()
    kept = SqliteStore(f"sqlite:///{store.path}").restore(copy)
    assert kept is not None and kept.name.startswith("care.db.pre-restore-")
    restored = SqliteStore(f"sqlite:///{store.path}")
    restored.open()
    assert restored.get_event(pid, "kept") is not None
    assert restored.get_event(pid, "after") is None
    restored.close()
    aside = SqliteStore(f"sqlite:///{kept}")
    aside.open()
    assert aside.get_event(pid, "after") is not None  # the old file, WAL folded in
    aside.close()


def test_restore_into_a_new_place(store: SqliteStore, tmp_path: Path) -> None:
    copy = tmp_path / "b.db"
    store.backup(copy)
    fresh = SqliteStore(f"sqlite:///{tmp_path / 'new' / 'hk.db'}")
    assert fresh.restore(copy) is None


def test_restore_refuses_what_is_not_a_sound_hivekeeper_database(tmp_path: Path) -> None:
    target = SqliteStore(f"sqlite:///{tmp_path / 'target.db'}")
    with pytest.raises(NotFound):
        target.restore(tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValidationFailed, match="not a usable SQLite database"):
        target.restore(junk)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(ValidationFailed, match="not a hivekeeper database"):
        target.restore(other)
    newer = tmp_path / "newer.db"
    store = SqliteStore(f"sqlite:///{newer}")
    store.open()
    store.close()
    with sqlite3.connect(newer) as conn:
        conn.execute("INSERT INTO hivekeeper_migrations VALUES ('9999_future', 0)")
    with pytest.raises(ValidationFailed, match="newer hivekeeper"):
        target.restore(newer)
    assert not (tmp_path / "target.db").exists()
    assert not (tmp_path / "target.db.restoring").exists()

"""SQLite's primitives under the shared write algorithm (`store.sql.writes`), inside the
writer's `BEGIN IMMEDIATE` transaction: SQLite's one writer, so a row loaded (or found
missing) stays so until the commit."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence

from hivekeeper.domain.types import ExpirePending, ExpireSessions, Key, StoredRow
from hivekeeper.store.sql.rows import SELECT_EVENTS, by_project, decode_row, encode_row
from hivekeeper.store.sqlite import _care
from hivekeeper.store.sqlite._evaluation import SqliteEvaluationDb
from hivekeeper.store.sqlite._schema import (
    DELETE_EVENT,
    IN_CHUNK,
    INSERT_NEW,
    UPSERT,
    delete_sessions,
)


class SqliteWrites:
    """`store.sql.writes.RowWrites` on the writer's connection, in its transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.evaluation = SqliteEvaluationDb(conn)

    def reserve(self, keys: Collection[Key]) -> None:
        """Nothing to take: the writer's `BEGIN IMMEDIATE` already holds every key."""

    def load(self, keys: Collection[Key]) -> dict[Key, StoredRow]:
        rows: dict[Key, StoredRow] = {}
        for project_id, event_ids in by_project(keys, IN_CHUNK):
            marks = ", ".join("?" for _ in event_ids)
            for values in self._conn.execute(
                f"{SELECT_EVENTS} WHERE project_id = ? AND event_id IN ({marks})",
                (project_id, *event_ids),
            ):
                row = decode_row(values)
                rows[(project_id, row["event_id"])] = row
        return rows

    def erring_children(self, project_id: str, parent_ids: Collection[str]) -> list[StoredRow]:
        keys: list[Key] = []
        for _, chunk in by_project([(project_id, p) for p in parent_ids], IN_CHUNK):
            marks = ", ".join("?" for _ in chunk)
            keys.extend(
                (project_id, event_id)
                for (event_id,) in self._conn.execute(
                    f"SELECT event_id FROM events WHERE project_id = ? AND parent_id IN ({marks})"
                    " AND error IS NOT NULL AND event_type IS NOT NULL",
                    (project_id, *chunk),
                )
            )
        return list(self.load(keys).values())

    def insert_new(self, rows: Sequence[StoredRow]) -> set[Key]:
        values = [encode_row(row) for row in rows]
        conn = self._conn
        conn.execute("SAVEPOINT insert_new")
        before = conn.total_changes
        conn.executemany(INSERT_NEW, values)
        if conn.total_changes - before == len(values):
            conn.execute("RELEASE insert_new")
            return set()
        # Some were stored: executemany reports only a total, so insert again a row at
        # a time, where each statement's rowcount tells.
        conn.execute("ROLLBACK TO insert_new")
        conn.execute("RELEASE insert_new")
        return {
            (row["project_id"], row["event_id"])
            for row, encoded in zip(rows, values, strict=True)
            if not conn.execute(INSERT_NEW, encoded).rowcount
        }

    def save(self, rows: Sequence[StoredRow]) -> None:
        self._conn.executemany(UPSERT, [encode_row(row) for row in rows])

    def delete_rows(self, keys: Sequence[Key]) -> None:
        self._conn.executemany(DELETE_EVENT, keys)

    def delete_sessions(self, project_id: str, session_ids: Sequence[str]) -> None:
        delete_sessions(self._conn, [(project_id, session_id) for session_id in session_ids])

    def expire_sessions(self, op: ExpireSessions) -> None:
        _care.expire(self._conn, op)

    def expire_pending(self, op: ExpirePending) -> int:
        return _care.expire_pending(self._conn, op)

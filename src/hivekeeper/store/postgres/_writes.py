"""PostgreSQL's primitives under the shared write algorithm (`store.sql.writes`), in the
writer's transaction: each locks the keys it touches first (`_locks`), so a row loaded
(or found missing) stays so until the commit, whatever other workers write."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.types import ExpirePending, ExpireSessions, Key, StoredRow
from hivekeeper.store.postgres import _care
from hivekeeper.store.postgres._evaluation import PostgresEvaluationDb
from hivekeeper.store.postgres._locks import KeyLocks
from hivekeeper.store.postgres._schema import INSERT_NEW, UPSERT
from hivekeeper.store.sql.rows import SELECT_EVENTS, by_project, decode_row, encode_row

Connection = psycopg.Connection[TupleRow]


class PostgresWrites:
    """`store.sql.writes.RowWrites` on the writer's connection, under `locks`."""

    def __init__(self, conn: Connection, locks: KeyLocks) -> None:
        self._conn = conn
        self._locks = locks
        self.evaluation = PostgresEvaluationDb(conn)

    def reserve(self, keys: Collection[Key]) -> None:
        self._locks.acquire(keys)

    def load(self, keys: Collection[Key]) -> dict[Key, StoredRow]:
        self._locks.acquire(keys)
        rows: dict[Key, StoredRow] = {}
        for project_id, event_ids in by_project(keys):
            # One array binds however many ids a project has.
            for values in self._conn.execute(
                f"{SELECT_EVENTS} WHERE project_id = %s AND event_id = ANY(%s)",
                (project_id, list(event_ids)),
            ):
                row = decode_row(values)
                rows[(project_id, row["event_id"])] = row
        return rows

    def erring_children(self, project_id: str, parent_ids: Collection[str]) -> list[StoredRow]:
        found = self._conn.execute(
            "SELECT event_id FROM events WHERE project_id = %s AND parent_id = ANY(%s)"
            " AND error IS NOT NULL AND event_type IS NOT NULL",
            (project_id, list(parent_ids)),
        ).fetchall()
        # Locked and read again by `load`: a row is read only under its key's lock.
        loaded = self.load([(project_id, event_id) for (event_id,) in found])
        return [row for row in loaded.values() if row["error"] is not None]

    def insert_new(self, rows: Sequence[StoredRow]) -> set[Key]:
        if not rows:
            return set()
        keys = [(row["project_id"], row["event_id"]) for row in rows]
        self._locks.acquire(keys)
        values = storable(rows)
        cursor = self._conn.cursor()
        with self._conn.transaction():  # a savepoint
            cursor.executemany(INSERT_NEW, values)
            if cursor.rowcount == len(values):  # the sum of the rows' counts
                return set()
            raise psycopg.Rollback()  # some were stored: undo, then find which
        # RETURNING names the rows inserted, a result set per row: costlier, so only
        # when some rows were there.
        cursor.executemany(f"{INSERT_NEW} RETURNING project_id, event_id", values, returning=True)
        inserted = {(r[0], r[1]) for result in cursor.results() for r in result.fetchall()}
        return {key for key in keys if key not in inserted}

    def save(self, rows: Sequence[StoredRow]) -> None:
        if not rows:
            return  # no pipeline round trip for nothing
        self._locks.acquire((row["project_id"], row["event_id"]) for row in rows)
        upsert(self._conn, rows)

    def delete_rows(self, keys: Sequence[Key]) -> None:
        self._locks.acquire(keys)
        self._conn.cursor().executemany(
            "DELETE FROM events WHERE project_id = %s AND event_id = %s", keys
        )

    def delete_sessions(self, project_id: str, session_ids: Sequence[str]) -> None:
        self._locks.acquire((project_id, session_id) for session_id in session_ids)
        _care.delete_session_events(self._conn, project_id, list(session_ids))

    def expire_sessions(self, op: ExpireSessions) -> None:
        _care.expire(self._conn, op, self._locks.acquire)

    def expire_pending(self, op: ExpirePending) -> int:
        return _care.expire_pending(self._conn, op, self._locks.acquire)


def upsert(conn: Connection, rows: Sequence[StoredRow]) -> None:
    """Insert or replace whole rows, in one pipelined batch."""
    conn.cursor().executemany(UPSERT, storable(rows))


def storable(rows: Iterable[StoredRow]) -> list[list[Any]]:
    """The rows' bound values (`encode_row`).

    PostgreSQL stores no NUL character (text and JSONB refuse U+0000), so such a row is
    a 400 naming its event (ValidationFailed), not the 500 of a refused statement.
    """
    values = []
    for row in rows:
        encoded = encode_row(row)
        # A scan of the encoded text finds every candidate cheaply (JSON spells NUL
        # \u0000); the exact walk runs only for those.
        suspect = any(isinstance(v, str) and ("\x00" in v or "\\u0000" in v) for v in encoded)
        if suspect and _has_nul(row):
            raise ValidationFailed(
                f"event {row['event_id']} holds the NUL character (\\u0000), which "
                "PostgreSQL cannot store; remove it",
                field="body",
            )
        values.append(encoded)
    return values


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False

"""ClickHouse's write path: one `write_batch` as inserted versions and tombstones.

`Batch` loads the current version of every row it touches, applies the operations with
`domain.merge.apply_ops` over its own view (what it has already changed, over what is
stored), and `flush` inserts every changed row, and a tombstone for each deleted one,
as one INSERT: one block, so the batch lands whole or not at all. The writer's single
thread makes load-merge-insert safe within a process.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, cast

from hivekeeper.domain.merge import apply_ops, keys_to_load, session_keys, subtract_from_session
from hivekeeper.domain.pricing.billing import PriceBook
from hivekeeper.domain.types import (
    DeleteEvent,
    DeleteSession,
    ExpirePending,
    ExpireSessions,
    Key,
    MergeOp,
    Skipped,
    StoredRow,
)
from hivekeeper.store.clickhouse import _reads
from hivekeeper.store.clickhouse._care import EXPIRED_SESSIONS, ORPHANS, PENDING_EXPIRED_ROWS
from hivekeeper.store.clickhouse._schema import EVENTS, encode_row, tombstone
from hivekeeper.store.clickhouse._session import IN_CHUNK, Session
from hivekeeper.store.sql.rows import by_project


class Batch:
    """One `write_batch`: rows as this batch has left them, over what is stored.

    `_written` holds each changed key's new row (None: deleted); `_stored` the
    session id every stored row had when loaded, to route tombstones in a cluster.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._written: dict[Key, StoredRow | None] = {}
        self._loaded: dict[Key, StoredRow] = {}
        self._stored: dict[Key, str | None] = {}

    def load(self, keys: Iterable[Key]) -> dict[Key, StoredRow]:
        """The current rows of `keys` that exist (this batch's changes included)."""
        wanted = set(keys)
        missing = wanted - self._written.keys() - self._loaded.keys()
        for project_id, chunk in by_project(missing, IN_CHUNK):
            present = _reads.existing_ids(self._session.rows, project_id, chunk)
            if not present:
                continue
            found = _reads.fetch_rows(self._session.rows, project_id, present)
            for event_id, row in found.items():
                self._loaded[(project_id, event_id)] = row
                self._stored[(project_id, event_id)] = row["session_id"]
        out: dict[Key, StoredRow] = {}
        for key in wanted:
            current = self._written[key] if key in self._written else self._loaded.get(key)
            if current is not None:
                # A copy: apply_ops changes rows in place.
                out[key] = cast(StoredRow, dict(current))
        return out

    def erring_children(self, project_id: str, parent_ids: Collection[str]) -> list[StoredRow]:
        """The erroring rows with one of these parents, as this batch sees them
        (`domain.error_repeats.ErrorFamily`)."""
        parents = set(parent_ids)
        stored = self._session.rows(
            "SELECT event_id FROM events FINAL WHERE project_id = {p:String} "
            "AND parent_id IN {parents:Array(String)} AND error IS NOT NULL "
            "AND event_type IS NOT NULL",
            {"p": project_id, "parents": sorted(parents)},
        )
        keys = {(project_id, row[0]) for row in stored} | {
            key
            for key, row in self._written.items()
            if key[0] == project_id and row is not None and row["parent_id"] in parents
        }
        return [
            row
            for row in self.load(keys).values()
            if row["error"] is not None
            and row["event_type"] is not None
            and row["parent_id"] in parents
        ]

    def merge(
        self,
        ops: list[MergeOp],
        now_ms: float,
        max_children_ids: int,
        skipped: list[Skipped],
        prices: PriceBook,
    ) -> None:
        if not ops:
            return
        rows = self.load(keys_to_load(ops))
        rows.update(self.load(session_keys(rows.values()) - rows.keys()))
        changed = apply_ops(
            rows,
            ops,
            now_ms,
            max_children_ids=max_children_ids,
            skipped=skipped,
            prices=prices,
            family=self,
        )
        for key in changed:
            self._written[key] = rows[key]

    def delete(self, op: DeleteSession | DeleteEvent) -> None:
        if isinstance(op, DeleteEvent):
            key = (op.project_id, op.event_id)
            row = self.load({key}).get(key)
            if row is None:
                return
            if row["event_type"] != "session":
                session_key = (op.project_id, row["session_id"] or "")
                session = self.load({session_key}).get(session_key)
                if session is not None and row["event_type"] is not None:
                    subtract_from_session(session, row)
                    self._written[session_key] = session
                self._written[key] = None
                return
            session_id = op.event_id
        else:
            session_id = op.session_id
        self.delete_sessions(op.project_id, [session_id])

    def delete_sessions(self, project_id: str, session_ids: Sequence[str]) -> None:
        """Delete each session: its events (pending ones included) and its own row."""
        if not session_ids:
            return
        stored = self._session.rows(
            "SELECT event_id, session_id FROM events FINAL WHERE project_id = {p:String} "
            "AND (session_id IN {s:Array(String)} OR event_id IN {s:Array(String)})",
            {"p": project_id, "s": list(session_ids)},
        )
        for event_id, session_id in stored:
            self._stored.setdefault((project_id, event_id), session_id)
        candidates = {(project_id, row[0]) for row in stored} | {
            key for key, row in self._written.items() if key[0] == project_id and row is not None
        }
        wanted = set(session_ids)
        for key, row in self.load(candidates).items():
            if row["session_id"] in wanted or row["event_id"] in wanted:
                self._written[key] = None

    def expire(self, op: ExpireSessions) -> None:
        params: dict[str, object] = {
            "p": op.project_id,
            "before": op.before_ms,
            "limit": op.limit,
        }
        # The stored candidates, then checked again on this batch's view of them.
        found = [row[0] for row in self._session.rows(EXPIRED_SESSIONS, params)]
        current = self.load((op.project_id, s) for s in found)
        self.delete_sessions(
            op.project_id,
            [
                key[1]
                for key, row in current.items()
                if row["event_type"] == "session"
                and _before(row["end_time"], op.before_ms)
                and _before(row["start_time"], op.before_ms)
            ],
        )
        orphans = {(op.project_id, row[0]): row[1] for row in self._session.rows(ORPHANS, params)}
        for key, session_id in orphans.items():
            self._stored.setdefault(key, session_id)
        rows = self.load(orphans)
        sessions = self.load((op.project_id, row["session_id"] or "") for row in rows.values())
        for key, row in rows.items():
            session = sessions.get((op.project_id, row["session_id"] or ""))
            start, end = row["start_time"], row["end_time"]
            if (
                row["event_type"] != "session"
                and _before(start, op.before_ms)
                and _before(end if end is not None else start, op.before_ms)
                and not (session is not None and session["event_type"] == "session")
            ):
                self._written[key] = None

    def expire_pending(self, op: ExpirePending) -> int:
        """Delete the pending rows `op` names, as this batch sees them; return how many."""
        params: dict[str, object] = {"p": op.project_id, "before": op.before_ms, "limit": op.limit}
        rows = self._session.rows(PENDING_EXPIRED_ROWS, params)
        found = {(op.project_id, row[0]): row[1] for row in rows}
        for key, session_id in found.items():
            self._stored.setdefault(key, session_id)
        expired = [
            key
            for key, row in self.load(found).items()
            if row["event_type"] is None and _before(row["pending_since"], op.before_ms)
        ]
        for key in expired:
            self._written[key] = None
        return len(expired)

    def flush(self, version: int) -> None:
        """Insert every changed row and tombstone in one INSERT (one block: atomic)."""
        values: list[list[Any]] = []
        for key, row in self._written.items():
            stored = key in self._stored
            old_session = self._stored.get(key)
            if row is None:
                if stored:
                    values.append(tombstone(*key, old_session, version))
                continue
            if stored and old_session != row["session_id"]:
                # In a cluster the row moves shard: hide the old version where it is.
                values.append(tombstone(*key, old_session, version - 1))
            values.append(encode_row(row, version))
        self._session.insert(EVENTS, values)


def _before(value: float | None, cutoff: float) -> bool:
    return value is not None and value < cutoff



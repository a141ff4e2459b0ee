"""Transaction-scoped advisory locks on row keys, which let several server processes
read-merge-write the same sessions.

A write transaction locks every key before it reads or writes it. Keys known up front
are locked with `pg_advisory_xact_lock`, in ascending order; a key found only later
(the session of a loaded row, what a retention run picks) is taken with the
non-waiting `pg_try_advisory_xact_lock`, and if another transaction holds it the
write raises `LockConflict`, rolls back and starts over holding every key it now
knows, in order. Waiting only in ascending order means two writers never wait for
each other in a cycle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import psycopg
from psycopg.rows import TupleRow

from hivekeeper.domain.types import Key

# At most this many row-key locks per transaction; a few workers' worth stays far
# below the default lock table. The base keeps them apart from the migration lock.
_LOCK_BUCKETS = 1024
_LOCK_BASE = 0x686B_0000_0000_0000


class LockConflict(Exception):
    """A key another transaction holds was needed out of order: start over."""

    def __init__(self, lock_ids: set[int]) -> None:
        super().__init__("key lock taken")
        self.lock_ids = lock_ids


class KeyLocks:
    """The key locks one transaction holds, waited for only in ascending order."""

    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self._conn = conn
        self.held: set[int] = set()

    def acquire_ids(self, lock_ids: Iterable[int]) -> None:
        """Take these locks: waiting if all come after those held, else without
        waiting (LockConflict naming them if one is taken)."""
        wanted = sorted(set(lock_ids) - self.held)
        if not wanted:
            return
        if not self.held or wanted[0] > max(self.held):
            # unnest() yields in array order, so the locks are taken in that order.
            self._conn.execute(
                "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", (wanted,)
            ).fetchall()
        else:
            got = self._conn.execute(
                "SELECT bool_and(pg_try_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k",
                (wanted,),
            ).fetchone()
            if not (got and got[0]):
                raise LockConflict(set(wanted))
        self.held.update(wanted)

    def acquire(self, keys: Iterable[Key]) -> None:
        """Lock the rows of these keys (see `acquire_ids`)."""
        self.acquire_ids(lock_id(key) for key in keys)


def lock_id(key: Key) -> int:
    """The advisory lock number of a row key: one of `_LOCK_BUCKETS`.

    Every lock a transaction holds takes a slot of PostgreSQL's shared lock table
    (64 x max_connections by default) until it ends, so one lock per key made a batch
    of a few thousand spans fail with "out of shared memory". Buckets bound that; keys
    sharing a bucket only take turns.
    """
    digest = hashlib.blake2b(f"{key[0]}\x00{key[1]}".encode(), digest_size=8).digest()
    return _LOCK_BASE + int.from_bytes(digest, "big") % _LOCK_BUCKETS

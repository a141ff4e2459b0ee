"""The one write algorithm of the row stores (SQLite, PostgreSQL), over engine primitives.

A row store keeps one row per `(project_id, event_id)` and changes it in place, inside
the transaction the engine opens for a batch. `apply` runs the batch's steps in
`in_write_order`, each step once for both engines:

- a run of merges is applied insert first: it loads only the rows it cannot assume
  new (sessions, the targets of updates) and their sessions, applies
  `domain.merge.apply_ops` (the merge rule, the roll-ups, type conflicts, the
  children cap) as if every other row were new, inserts the new rows and saves the
  others. Should an assumed-new row turn out to be stored (a retried export), its
  inserted neighbours are deleted again and the run is applied read first: loading
  every row it names, so roll-ups stay exact either way;
- a delete takes an event's contribution off its session's roll-ups, or removes a
  whole session;
- retention (`ExpireSessions`, `ExpirePending`) is each engine's own set-based SQL;
- an evaluation op (`domain.evaluation.ops`) is `evaluation_writes.apply` over the
  engine's `EvaluationDb`, stamped with its place in the batch (`ops.stamp`).

An engine (a `RowStore`) supplies `RowWrites` bound to its open transaction.
PostgreSQL's key locks live inside its primitives: every key is locked before it is
read or written.

Almost every ingested event is new, and loading a key that is not there costs an
index search per key for nothing (PostgreSQL: a round trip), so the common case reads
only the sessions its roll-ups need.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.domain.evaluation.ops import EvaluationOp, stamp
from hivekeeper.domain.merge import (
    apply_ops,
    assumed_new,
    in_write_order,
    keys_to_load,
    session_keys,
    subtract_from_session,
)
from hivekeeper.domain.pricing.billing import PriceBook, shipped_prices
from hivekeeper.domain.types import (
    DeleteEvent,
    DeleteSession,
    Expired,
    ExpirePending,
    ExpireSessions,
    Key,
    MergeOp,
    Skipped,
    StoredRow,
    WriteNote,
    WriteOp,
)
from hivekeeper.store.sql import evaluation_writes
from hivekeeper.store.sql.evaluation_db import EvaluationDb


class RowWrites(Protocol):
    """What a row store does inside one write transaction, each a statement or a few."""

    def reserve(self, keys: Collection[Key]) -> None:
        """Make these keys the transaction's before any is read or written (PostgreSQL:
        their key locks, in one order; SQLite's one writer holds them all already)."""

    def load(self, keys: Collection[Key]) -> dict[Key, StoredRow]:
        """The stored rows of those `keys` that exist, pending ones included."""

    def erring_children(self, project_id: str, parent_ids: Collection[str]) -> list[StoredRow]:
        """The visible rows with one of these parents and an error (loaded as `load`
        loads them): what `domain.error_repeats` reads."""

    def insert_new(self, rows: Sequence[StoredRow]) -> set[Key]:
        """Insert each row whose key is not stored; leave the stored rows as they are
        and return their keys."""

    def save(self, rows: Sequence[StoredRow]) -> None:
        """Write the rows whole, replacing the stored rows with the same keys."""

    def delete_rows(self, keys: Sequence[Key]) -> None:
        """Delete these rows (and nothing else)."""

    def delete_sessions(self, project_id: str, session_ids: Sequence[str]) -> None:
        """Delete each session: its events, pending ones included, and its own row."""

    def expire_sessions(self, op: ExpireSessions) -> None:
        """Delete what `op` names, its condition checked again inside the transaction."""

    def expire_pending(self, op: ExpirePending) -> int:
        """Delete the pending rows `op` names; return how many."""

    @property
    def evaluation(self) -> EvaluationDb:
        """The transaction as the evaluation tables' SQL speaks to it."""


@runtime_checkable
class RowStore(Protocol):
    """A store that writes through `apply` (SQLite, PostgreSQL)."""

    def write_transaction(self) -> AbstractContextManager[RowWrites]:
        """One write transaction as `RowWrites`: committed when the block ends, rolled
        back if it raises. The writer's thread only."""


def apply(
    engine: RowWrites,
    ops: Sequence[WriteOp],
    now_ms: float,
    *,
    max_children_ids: int,
    prices: PriceBook = shipped_prices,
) -> list[WriteNote]:
    """Apply the operations through `engine`'s transaction; return the write notes: the
    `keep_stored` upserts skipped (`Skipped`), then what each `ExpirePending` removed
    (`Expired`).

    Raises what `domain.merge.apply_ops` raises (EventTypeConflict, ValidationFailed for
    the children cap) and what the engine's primitives raise; the caller then abandons
    the transaction."""
    notes: list[WriteNote] = []
    skipped: list[Skipped] = []
    place = {id(op): i for i, op in enumerate(ops)}
    for step in in_write_order(ops):
        if isinstance(step, list):
            _merge(engine, step, now_ms, max_children_ids, skipped, prices)
        elif isinstance(step, ExpireSessions):
            engine.expire_sessions(step)
        elif isinstance(step, ExpirePending):
            notes.append(Expired(step, engine.expire_pending(step)))
        elif isinstance(step, EvaluationOp):
            at_ms = stamp(now_ms, place[id(step)])
            evaluation_writes.apply(engine.evaluation, step, at_ms, engine.delete_sessions)
        else:
            _delete(engine, step)
    return [*skipped, *notes]


def _merge(
    engine: RowWrites,
    ops: list[MergeOp],
    now_ms: float,
    max_children_ids: int,
    skipped: list[Skipped],
    prices: PriceBook,
) -> None:
    merge = _Merge(engine, ops, now_ms, max_children_ids, prices)
    if not merge.insert_first(skipped):
        merge.read_first(skipped)


@dataclass(frozen=True, slots=True)
class _Merge:
    """One run of merges, applied by either path: insert-first assumes the upserted
    rows are new (the common case: a span is written once), read-first loads them."""

    engine: RowWrites
    ops: list[MergeOp]
    now_ms: float
    max_children_ids: int
    prices: PriceBook

    def insert_first(self, skipped: list[Skipped]) -> bool:
        """Apply the ops assuming their upserted rows are new; False, with nothing
        written, when one is not (or when `apply_ops` refuses the batch, which the
        read-first path then decides with every row at hand)."""
        needed = keys_to_load(self.ops)
        assumed = assumed_new(self.ops)
        if not assumed:
            return False
        self.engine.reserve(needed)
        notes: list[Skipped] = []
        try:
            rows, changed, stored = self._apply(needed - assumed, notes)
        except HivekeeperError:
            return False
        if not stored.isdisjoint(assumed):
            return False  # the error rule read a row assumed new: it is stored already
        fresh = [key for key in changed if key not in stored]
        existed = self.engine.insert_new([rows[key] for key in fresh])
        if existed:
            self.engine.delete_rows([key for key in fresh if key not in existed])
            return False
        self.engine.save([rows[key] for key in changed if key in stored])
        skipped.extend(notes)
        return True

    def read_first(self, skipped: list[Skipped]) -> None:
        rows, changed, stored = self._apply(keys_to_load(self.ops), skipped)
        existed = self.engine.insert_new([rows[key] for key in changed if key not in stored])
        if existed:
            # The transaction holds every key it loaded (SQLite's one writer, PostgreSQL's
            # key locks), so nobody else can have written these: never merge over them.
            raise HivekeeperError(
                f"storage error: {len(existed)} rows appeared inside the write transaction"
            )
        self.engine.save([rows[key] for key in changed if key in stored])

    def _apply(
        self, keys: Collection[Key], skipped: list[Skipped]
    ) -> tuple[dict[Key, StoredRow], list[Key], set[Key]]:
        """Load `keys` and their sessions and apply the ops: the rows, the keys that
        changed (sorted, so PostgreSQL takes row locks in one order in every
        transaction), and the keys found stored."""
        rows = self.engine.load(keys)
        rows.update(self.engine.load(session_keys(rows.values()) - rows.keys()))
        family = _Family(self.engine, set(rows))
        changed = apply_ops(
            rows,
            self.ops,
            self.now_ms,
            max_children_ids=self.max_children_ids,
            skipped=skipped,
            prices=self.prices,
            family=family,
        )
        return rows, sorted(changed), family.stored


class _Family:
    """The engine as `apply_ops` reads error families through it, noting every key
    found stored (those rows are saved, not inserted)."""

    def __init__(self, engine: RowWrites, stored: set[Key]) -> None:
        self._engine = engine
        self.stored = stored

    def load(self, keys: Collection[Key]) -> dict[Key, StoredRow]:
        return self._note(self._engine.load(keys))

    def erring_children(self, project_id: str, parent_ids: Collection[str]) -> list[StoredRow]:
        rows = self._engine.erring_children(project_id, parent_ids)
        self._note({(row["project_id"], row["event_id"]): row for row in rows})
        return rows

    def _note(self, rows: dict[Key, StoredRow]) -> dict[Key, StoredRow]:
        self.stored.update(rows)
        return rows


def _delete(engine: RowWrites, op: DeleteSession | DeleteEvent) -> None:
    if isinstance(op, DeleteSession):
        engine.delete_sessions(op.project_id, [op.session_id])
        return
    key = (op.project_id, op.event_id)
    row = engine.load([key]).get(key)
    if row is None:
        return
    if row["event_type"] == "session":
        engine.delete_sessions(op.project_id, [op.event_id])
        return
    session_key = (op.project_id, row["session_id"] or "")
    session = engine.load([session_key]).get(session_key)
    if session is not None and row["event_type"] is not None:
        subtract_from_session(session, row)
        engine.save([session])
    engine.delete_rows([key])

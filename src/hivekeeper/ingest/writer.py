"""The batching writer: every event write goes through here, and is answered after commit.

One thread owns the store's write connection. Requests hand it batches with
`submit()`, which waits until the transaction holding them has committed. Whatever is
queued when the thread wakes (up to `max_batch_ops`) goes into one transaction: group
commit, so throughput comes from batching and durability from answering late. The
queue is bounded by operation count, an op weighing one per row it writes (a
10,000-datapoint import weighs 10,000, `ops.weight`); when full, `submit()` raises
`Overloaded` (429 with Retry-After) instead of growing, so memory stays bounded under
overload. A request heavier than a whole batch is committed in a transaction of its
own, never split. Each transaction's time starts past the previous one's last op
stamp (`ops.batch_span_ms`), so versioned evaluation records order as they commit. The
thread also passes each request's operations through the optional `redact` hook just
before their transaction, keeping that cost off the event loop, and hands the store
the `prices` model events are priced with (`domain.pricing.billing`).

A request the store refuses (a type conflict, a bad value) must not fail the others
sharing its transaction: when the error names its culprit op, that request alone is
failed and the rest are committed together again; otherwise each is retried alone.

The writer knows nothing of metrics libraries: it reports each committed transaction
to an optional `on_commit(ops, seconds)` callback, and `queued_ops` can be read at
any time; `web/metrics.py` turns both into Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hivekeeper.domain.errors import HivekeeperError, Overloaded, Unavailable
from hivekeeper.domain.evaluation.ops import batch_span_ms, weight
from hivekeeper.domain.merge import DEFAULT_MAX_CHILDREN_IDS
from hivekeeper.domain.pricing.billing import PriceBook, shipped_prices
from hivekeeper.domain.types import WriteNote, WriteOp
from hivekeeper.ingest.trace_sessions import TraceSessions
from hivekeeper.store import Store

logger = logging.getLogger(__name__)

CommitObserver = Callable[[int, float], None]
"""Called on the writer thread after each committed transaction: (ops, seconds)."""


class WriterState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(slots=True)
class _Pending:
    ops: Sequence[WriteOp]
    future: asyncio.Future[list[WriteNote]]
    loop: asyncio.AbstractEventLoop
    weight: int

    def owns(self, op: object) -> bool:
        """Whether `op` is one of this request's own operation objects."""
        return any(mine is op for mine in self.ops)


class Writer:
    """Group-committing, bounded writer in front of a `Store`."""

    def __init__(
        self,
        store: Store,
        *,
        max_queue_ops: int = 50_000,
        max_batch_ops: int = 5_000,
        clock: Callable[[], float] = time.time,
        on_commit: CommitObserver | None = None,
        redact: Callable[[Sequence[WriteOp]], Sequence[WriteOp]] | None = None,
        max_children_ids: int = DEFAULT_MAX_CHILDREN_IDS,
        prices: PriceBook = shipped_prices,
    ) -> None:
        if max_batch_ops < 1 or max_queue_ops < max_batch_ops:
            raise ValueError("need 1 <= max_batch_ops <= max_queue_ops")
        self._store = store
        self._max_queue_ops = max_queue_ops
        self._max_batch_ops = max_batch_ops
        self._clock = clock
        self._on_commit = on_commit
        self._redact = redact
        self._max_children_ids = max_children_ids
        self.traces = TraceSessions()
        """What the OTLP mapping remembers of recent traces between exports."""
        self._prices = prices
        self._queue: deque[_Pending] = deque()
        self._queued_ops = 0
        self._writing_ops = 0
        self._next_ms = 0.0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self.state = WriterState.NEW

    @property
    def queued_ops(self) -> int:
        """Operations waiting for a transaction, by weight (for /health)."""
        return self._queued_ops

    @property
    def writing_ops(self) -> int:
        """Operations taken from the queue whose transaction has not finished (for /health)."""
        return self._writing_ops

    def start(self) -> None:
        if self.state is not WriterState.NEW:
            raise RuntimeError(f"cannot start a writer that is {self.state.value}")
        self.state = WriterState.RUNNING
        self._thread = threading.Thread(target=self._run, name="hivekeeper-writer", daemon=True)
        self._thread.start()

    async def submit(self, ops: Sequence[WriteOp]) -> list[WriteNote]:
        """Queue `ops` as one unit; return once committed (redacted by `redact`, if given).

        Returns the store's notes about these ops (`Skipped` upserts, `Expired` rows);
        the notes name the ops as queued, which redaction may have replaced. Raises
        Overloaded when the queue is full, Unavailable when shutting down, or the
        store's error if redaction or the transaction failed (nothing of `ops` is
        stored then).
        """
        if not ops:
            return []
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[WriteNote]] = loop.create_future()
        size = sum(weight(op) for op in ops)
        with self._wake:
            if self.state is not WriterState.RUNNING:
                raise Unavailable("the server is shutting down", retry_after_s=5)
            # A batch larger than the whole queue is still taken when the queue is
            # empty, so no request size is refused forever.
            if self._queued_ops and self._queued_ops + size > self._max_queue_ops:
                raise Overloaded("the write queue is full; retry shortly", retry_after_s=1)
            self._queue.append(_Pending(ops, future, loop, size))
            self._queued_ops += size
            self._wake.notify()
        return await future

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop taking work, commit everything already queued, then stop. Idempotent."""
        with self._wake:
            if self.state in (WriterState.CLOSING, WriterState.CLOSED):
                return
            was_running = self.state is WriterState.RUNNING
            self.state = WriterState.CLOSING
            self._wake.notify()
        if was_running and self._thread is not None:
            self._thread.join(timeout_s)
        self.state = WriterState.CLOSED

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and self.state is WriterState.RUNNING:
                    self._wake.wait()
                if not self._queue:
                    return
                batch = self._take_batch()
            try:
                self._commit(self._redacted(batch))
            finally:
                self._writing_ops = 0

    def _take_batch(self) -> list[_Pending]:
        # The first request is taken whatever its weight: one heavier than a batch
        # then commits alone, and nothing queued behind it joins it.
        batch = [self._queue.popleft()]
        size = batch[0].weight
        while self._queue and size + self._queue[0].weight <= self._max_batch_ops:
            item = self._queue.popleft()
            batch.append(item)
            size += item.weight
        self._queued_ops -= size
        self._writing_ops = size
        return batch

    def _redacted(self, batch: list[_Pending]) -> list[_Pending]:
        """`batch` with each request's ops redacted; a request whose redaction fails is
        answered with the error and left out.

        Redaction runs here, on the writer's thread, rather than in `submit`: a large
        body's regex scans would otherwise hold the event loop, and every request of
        every project with it. RE2 releases the GIL while it scans. Unredacted data
        waits in the queue only in memory; nothing is stored before this step.
        """
        if self._redact is None:
            return batch
        kept = []
        for item in batch:
            try:
                item.ops = self._redact(item.ops)
            except Exception as exc:
                self._settle(item, exc)
            else:
                kept.append(item)
        return kept

    def _commit(self, batch: list[_Pending]) -> None:
        while batch:
            try:
                notes = self._write([op for item in batch for op in item.ops])
            except Exception as exc:
                culprit = _culprit(exc)
                owner = next((i for i in batch if i.owns(culprit)), None) if culprit else None
                if owner is None or len(batch) == 1:
                    self._commit_alone(batch, exc)
                    return
                # The store named the request at fault: fail it, commit the rest.
                self._settle(owner, exc)
                batch = [item for item in batch if item is not owner]
                continue
            for item, item_notes in zip(batch, _notes_by_item(batch, notes), strict=True):
                self._settle(item, item_notes)
            return

    def _commit_alone(self, batch: list[_Pending], exc: Exception) -> None:
        """After a failed transaction whose culprit is unknown: each request alone."""
        if len(batch) == 1:
            self._settle(batch[0], exc)
            return
        # One bad request must not fail its neighbours: retry each on its own.
        for item in batch:
            try:
                notes = self._write(item.ops)
            except Exception as item_exc:
                self._settle(item, item_exc)
            else:
                self._settle(item, notes)

    def _write(self, ops: Sequence[WriteOp]) -> list[WriteNote]:
        """One transaction; reported to `on_commit` once it has committed."""
        started = time.perf_counter()
        notes = self._store.write_batch(
            ops,
            self._now_ms(len(ops)),
            max_children_ids=self._max_children_ids,
            prices=self._prices,
        )
        if self._on_commit is None:
            return notes
        try:
            self._on_commit(len(ops), time.perf_counter() - started)
        except Exception:
            # A metrics bug must not fail writes that are already committed.
            logger.exception("the commit observer failed")
        return notes

    def _now_ms(self, op_count: int) -> float:
        """This transaction's time: the clock's, but past every stamp of the previous
        transaction (the clock may stand still or step back)."""
        now = max(self._clock() * 1000.0, self._next_ms)
        self._next_ms = now + batch_span_ms(op_count)
        return now

    @staticmethod
    def _settle(item: _Pending, outcome: list[WriteNote] | Exception) -> None:
        if isinstance(outcome, Exception) and not isinstance(outcome, HivekeeperError):
            logger.error("write failed", exc_info=outcome)
            outcome = HivekeeperError("the write failed; nothing from this request was stored")

        def settle() -> None:
            if item.future.done():
                return
            if isinstance(outcome, Exception):
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)

        try:
            item.loop.call_soon_threadsafe(settle)
        except RuntimeError:
            logger.warning("a client's event loop closed before its write was answered")


def _culprit(exc: Exception) -> object | None:
    return exc.culprit if isinstance(exc, HivekeeperError) else None


def _notes_by_item(batch: list[_Pending], notes: list[WriteNote]) -> list[list[WriteNote]]:
    """Each request's share of a transaction's notes, in `batch` order."""
    shares: list[list[WriteNote]] = [[] for _ in batch]
    if not notes:
        return shares
    # By identity: two requests may hold equal operations.
    owner = {id(op): i for i, item in enumerate(batch) for op in item.ops}
    for note in notes:
        shares[owner[id(note.op)]].append(note)
    return shares

"""The retention job: deletes sessions past their project's retention, and pending
updates past `pending_expiry_hours`, through the writer.

It runs once at start and then every `interval_s`. Each run reads every project's
retention (one small query) and, for each project with one, asks the store whether
anything is expired (one indexed query), so a run with nothing to delete costs a few
queries. Deleting goes through the writer like every write, as `ExpireSessions` ops of
at most `sessions_per_op` sessions each, submitted one after another: each waits for
its commit, so event writes queued meanwhile are interleaved and never starved. Then,
if the store finds pending rows past `pending_expiry_hours` (one query on an index of
pending rows), one transaction of `ExpirePending` ops, one per project that has some,
removes up to `pending_per_op` rows each, repeated for the projects that had more;
what it removed is reported to `on_pending_expired`, since those updates had been
acknowledged. A full write queue ends the run early; the next run continues.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hivekeeper.domain.errors import HivekeeperError, Overloaded
from hivekeeper.domain.retention import (
    effective_retention_days,
    pending_cutoff_ms,
    retention_cutoff_ms,
)
from hivekeeper.domain.types import Expired, ExpirePending, ExpireSessions
from hivekeeper.ingest.periodic import Periodic
from hivekeeper.ingest.writer import Writer
from hivekeeper.store import Store

logger = logging.getLogger(__name__)

SESSIONS_PER_OP = 100
"""Sessions deleted per transaction: a few hundred ms at most for sessions of ~1,000 events."""
PENDING_PER_OP = 1000
"""Pending rows deleted per project and transaction: single rows by key, like a batch."""


class RetentionJob:
    """Periodic expiry of old sessions; `start()` and `close()` follow the app's lifespan."""

    def __init__(
        self,
        store: Store,
        writer: Writer,
        *,
        default_days: int,
        interval_s: float,
        clock: Callable[[], float],
        pending_expiry_hours: float = 0.0,
        on_pending_expired: Callable[[int], None] | None = None,
        sessions_per_op: int = SESSIONS_PER_OP,
        pending_per_op: int = PENDING_PER_OP,
    ) -> None:
        self._store = store
        self._writer = writer
        self._default_days = default_days
        self._clock = clock
        self._pending_expiry_hours = pending_expiry_hours
        self._on_pending_expired = on_pending_expired
        self._sessions_per_op = sessions_per_op
        self._pending_per_op = pending_per_op
        self._periodic = Periodic("retention", self._run_logged, interval_s)

    def start(self) -> None:
        """Run on a task of the running loop until `close()`."""
        self._periodic.start()

    async def close(self) -> None:
        """Stop after the transaction in flight, if any; idempotent."""
        await self._periodic.close()

    async def run_once(self) -> int:
        """Expire what is due now; return the number of `ExpireSessions` ops committed."""
        now_ms = self._clock() * 1000.0
        committed = 0
        policies = await asyncio.to_thread(self._store.retention_days)
        for project_id, own_days in policies.items():
            days = effective_retention_days(own_days, self._default_days)
            cutoff_ms = retention_cutoff_ms(now_ms, days)
            if cutoff_ms is None:
                continue
            while not self._periodic.stopping.is_set():
                if not await asyncio.to_thread(self._store.has_expired, project_id, cutoff_ms):
                    break
                op = ExpireSessions(project_id, cutoff_ms, self._sessions_per_op)
                await self._writer.submit([op])
                committed += 1
        if committed:
            logger.info("retention: %d expiry transactions committed", committed)
        await self._expire_pending(now_ms)
        return committed

    async def _expire_pending(self, now_ms: float) -> None:
        cutoff_ms = pending_cutoff_ms(now_ms, self._pending_expiry_hours)
        if cutoff_ms is None:
            return
        project_ids = await asyncio.to_thread(self._store.expired_pending_projects, cutoff_ms)
        while project_ids and not self._periodic.stopping.is_set():
            ops = [ExpirePending(p, cutoff_ms, self._pending_per_op) for p in project_ids]
            expired = [n for n in await self._writer.submit(ops) if isinstance(n, Expired)]
            rows = sum(note.rows for note in expired)
            if rows:
                logger.info("retention: %d pending updates expired unmatched", rows)
                if self._on_pending_expired is not None:
                    self._on_pending_expired(rows)
            project_ids = [n.op.project_id for n in expired if n.rows >= n.op.limit]

    async def _run_logged(self) -> None:
        try:
            await self.run_once()
        except Overloaded:
            logger.info("retention: the write queue is full; continuing next run")
        except HivekeeperError as exc:
            logger.warning("retention run failed: %s", exc.message)

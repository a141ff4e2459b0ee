"""A coroutine repeated on the running loop until closed: the server's background jobs.

A failing run is logged and the job carries on at its next interval, so one bad run
(a locked database, a full write queue) never ends a job for the life of the server.
`Mirror` is such a job keeping the server's copy of records the CLI may change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class Periodic:
    """Runs `job()` now (or after one interval) and then every `interval_s`."""

    def __init__(
        self,
        name: str,
        job: Callable[[], Awaitable[object]],
        interval_s: float,
        *,
        run_at_start: bool = True,
    ) -> None:
        self._name = name
        self._job = job
        self._interval_s = interval_s
        self._run_at_start = run_at_start
        self.stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin on a task of the running loop."""
        self._task = asyncio.create_task(self._loop(), name=f"hivekeeper-{self._name}")

    async def close(self) -> None:
        """Stop after the run in flight, if any; idempotent."""
        self.stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        if not self._run_at_start and await self._wait():
            return
        while not self.stopping.is_set():
            try:
                await self._job()
            except Exception:
                logger.exception(
                    "%s: this run failed; trying again in %.0f s", self._name, self._interval_s
                )
            if await self._wait():
                return

    async def _wait(self) -> bool:
        """Sleep one interval; True if closed meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), self._interval_s)
            return True
        return False


class Mirror:
    """The server's copy of records the CLI may change under it (redaction rules,
    prices): read at `start`, again every `refresh_s` on a worker thread, and kept as
    it is when a read fails. Subclasses read in `load`."""

    def __init__(self, name: str, refresh_s: float) -> None:
        self._what = name.replace("-", " ")
        self._refresher = Periodic(name, self._refresh, refresh_s, run_at_start=False)

    def load(self) -> None:
        """Read the records now; raise if they cannot be read or used."""
        raise NotImplementedError

    async def start(self) -> None:
        """Load, raising what `load` raises, then keep fresh on a task of the loop."""
        self.load()
        self._refresher.start()

    async def close(self) -> None:
        """Stop refreshing; idempotent."""
        await self._refresher.close()

    def refresh_failed(self, exc: Exception) -> None:
        """Report a failed refresh; the copy in force stays, the next refresh retries."""
        logger.error("could not re-read %s; keeping the current ones", self._what, exc_info=exc)

    async def _refresh(self) -> None:
        try:
            await asyncio.to_thread(self.load)
        except Exception as exc:
            self.refresh_failed(exc)

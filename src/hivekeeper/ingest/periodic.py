"""A coroutine repeated on the running loop until closed: the server's background jobs.

A failing run is logged and the job carries on at its next interval, so one bad run
(a locked database, a full write queue) never ends a job for the life of the server.
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

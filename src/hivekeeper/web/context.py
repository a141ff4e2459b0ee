"""The typed dependencies every route reaches through one accessor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from starlette.requests import HTTPConnection

from hivekeeper.config import Settings
from hivekeeper.ingest import ProjectPrices, Writer
from hivekeeper.store import Store
from hivekeeper.web.admission import BodyBudget, ReadSlots
from hivekeeper.web.lanes import Lanes, run_in
from hivekeeper.web.metrics import Metrics
from hivekeeper.web.throttle import FailedAuthThrottle

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AppContext:
    settings: Settings
    store: Store
    writer: Writer
    clock: Callable[[], float]
    metrics: Metrics
    auth_throttle: FailedAuthThrottle
    lanes: Lanes
    read_slots: ReadSlots
    body_budget: BodyBudget
    prices: ProjectPrices

    def now_ms(self) -> float:
        return self.clock() * 1000.0

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking store read (a query, a page, a chart) off the event loop."""
        return await run_in(self.lanes.reads, fn, *args)

    async def lookup(self, fn: Callable[..., T], *args: object) -> T:
        """Run a short indexed store lookup the write path needs (an API key, the row
        just written) off the event loop, never queued behind long reads."""
        return await run_in(self.lanes.lookups, fn, *args)

    async def decode(self, fn: Callable[..., T], *args: object) -> T:
        """Run CPU-bound work of the write path (decoding a large body) off the event
        loop, never queued behind long reads."""
        return await run_in(self.lanes.decoding, fn, *args)


def context(conn: HTTPConnection) -> AppContext:
    """The app's context; set once by `create_app`."""
    ctx: AppContext = conn.app.state.hivekeeper
    return ctx

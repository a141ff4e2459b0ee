"""The typed dependencies every route reaches through one accessor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from starlette.requests import HTTPConnection

from hivekeeper.api.admission import BodyBudget, ReadSlots
from hivekeeper.api.lanes import Lanes, run_in
from hivekeeper.api.throttle import FailedAuthThrottle
from hivekeeper.config import Settings
from hivekeeper.ingest import Writer
from hivekeeper.store import Store

if TYPE_CHECKING:  # api.metrics reaches its counters through `context()`, so imports us
    from hivekeeper.api.metrics import Metrics

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

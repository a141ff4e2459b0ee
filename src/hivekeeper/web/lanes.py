"""Worker-thread lanes: long reads, key lookups and write-path work never wait for each other.

Blocking work runs on anyio's worker threads; a lane is a limit on how many of them
one kind of work may use at once. With a single shared limit, 40 slow exports took
every thread and an ingest write of another project waited a minute to have its key
looked up. Now the long reads of the read path have their lane, and what the write
path needs (looking a key up, reading back the row just written, decoding a large
OTLP body) has lanes of its own, so it is never queued behind them. Threads are
shared; only the limits are separate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

T = TypeVar("T")

# Long reads: anyio's own default, what every read shared before.
READ_THREADS = 40
# Key lookups and reading back a row by id: indexed, sub-millisecond.
LOOKUP_THREADS = 16
# Decoding and mapping a large OTLP body: CPU-bound under the GIL, so a few threads
# use the cores as well as many; more would only hold more bodies in memory.
DECODE_THREADS = 8


@dataclass(frozen=True, slots=True)
class Lanes:
    """One limiter per kind of blocking work."""

    reads: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(READ_THREADS))
    lookups: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(LOOKUP_THREADS))
    decoding: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(DECODE_THREADS))


async def run_in(lane: CapacityLimiter, fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` on a worker thread of `lane`, waiting for a free one if need be."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=lane)

"""Python's cyclic garbage collector, paused while a large result is computed.

A run of 10,000 datapoints makes some 300,000 short-lived objects (rows, traces,
scores), none in a cycle, all freed by reference counting. The collector still
walks them, and the whole heap on each full collection their number brings about:
40% of the time of a result or a comparison (bench/evaluation.py). Paused, it runs
again once the last computation of any thread ends, and collects whatever cycles
other threads made meanwhile.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_lock = threading.Lock()
_running = 0
"""Computations in progress, in any thread."""
_was_enabled = False
"""Whether the collector ran before the first of them: the last one turns it back on."""


def collector_paused(fn: Callable[P, T]) -> Callable[P, T]:
    """`fn` with the cyclic collector paused while it runs (see the module docstring)."""

    @functools.wraps(fn)
    def paused(*args: P.args, **kwargs: P.kwargs) -> T:
        _enter()
        try:
            return fn(*args, **kwargs)
        finally:
            _leave()

    return paused


def _enter() -> None:
    global _running, _was_enabled
    with _lock:
        if _running == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _running += 1


def _leave() -> None:
    global _running
    with _lock:
        _running -= 1
        if _running == 0 and _was_enabled:
            gc.enable()

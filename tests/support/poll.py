"""Waiting for a condition that becomes true on its own (a background job, a shutdown)."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(
    check: Callable[[], bool], timeout_s: float, message: str = "condition not met in time"
) -> None:
    """Call `check` every 20 ms until it is true; fail with `message` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(0.02)

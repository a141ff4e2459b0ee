"""The life of a store, one enum for every engine: built (`NEW`), `OPEN`, then `CLOSED`
for good.

A closed store refuses every use with Unavailable ("the store is closed"), and is not
opened again; `open()` of an open store and `close()` of a closed one do nothing.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable

from hivekeeper.domain.errors import Unavailable


class StoreState(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class StateTracker:
    """One store's state, changed under a lock. Reentrant: an engine whose start fails
    may close itself from inside `open`."""

    def __init__(self) -> None:
        self._state = StoreState.NEW
        self._lock = threading.RLock()

    @property
    def state(self) -> StoreState:
        return self._state

    def check_not_closed(self) -> None:
        """Unavailable once the store is closed."""
        if self._state is StoreState.CLOSED:
            raise Unavailable("the store is closed")

    def check_open(self) -> None:
        """Unavailable unless the store is open."""
        self.check_not_closed()
        if self._state is StoreState.NEW:
            raise Unavailable("the store is not open yet")

    def open(self, start: Callable[[], None]) -> None:
        """Run the engine's `start` once, under the lock; then the store is OPEN.
        Unavailable for a closed store; nothing for an open one."""
        with self._lock:
            self.check_not_closed()
            if self._state is StoreState.OPEN:
                return
            start()
            self._state = StoreState.OPEN

    def close(self, stop: Callable[[], None]) -> None:
        """Mark the store CLOSED, then run the engine's `stop` (outside the lock, so a
        slow release blocks nobody), the first time only."""
        with self._lock:
            if self._state is StoreState.CLOSED:
                return
            self._state = StoreState.CLOSED
        stop()

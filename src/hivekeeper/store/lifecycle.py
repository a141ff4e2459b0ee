"""The life of a store, the same for every engine: built (`NEW`), `OPEN`, then `CLOSED`
for good.

A closed store refuses every use with Unavailable ("the store is closed"), and is not
opened again; `open()` of an open store and `close()` of a closed one do nothing.
"""

from __future__ import annotations

import enum
import threading

from hivekeeper.domain.errors import Unavailable


class StoreState(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class StoreLifecycle:
    """The base of every engine: `open` runs the engine's `_start` once, `close` its
    `_stop` once, and the state changes under a lock (reentrant: an engine whose start
    fails may close itself from inside `open`)."""

    def __init__(self) -> None:
        self._state = StoreState.NEW
        self._state_lock = threading.RLock()

    @property
    def state(self) -> StoreState:
        return self._state

    def open(self) -> None:
        """Start the engine; then the store is OPEN. Unavailable for a closed store;
        nothing for an open one."""
        with self._state_lock:
            self._check_not_closed()
            if self._state is StoreState.OPEN:
                return
            self._start()
            self._state = StoreState.OPEN

    def close(self) -> None:
        """Mark the store CLOSED, then stop the engine (outside the lock, so a slow
        release blocks nobody), the first time only."""
        with self._state_lock:
            if self._state is StoreState.CLOSED:
                return
            self._state = StoreState.CLOSED
        self._stop()

    def _start(self) -> None:
        """Create the database if needed, migrate it, take what the engine holds."""
        raise NotImplementedError

    def _stop(self) -> None:
        """Release what the engine holds."""
        raise NotImplementedError

    def _check_not_closed(self) -> None:
        """Unavailable once the store is closed."""
        if self._state is StoreState.CLOSED:
            raise Unavailable("the store is closed")

    def _check_open(self) -> None:
        """Unavailable unless the store is open."""
        self._check_not_closed()
        if self._state is StoreState.NEW:
            raise Unavailable("the store is not open yet")

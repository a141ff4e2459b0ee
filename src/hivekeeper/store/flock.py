"""Advisory `flock` locks on a file beside a database: who may open it, and when.

The kernel drops a `flock` when its process dies, so a crash leaves nothing stale.
Locks belong to an open file description, so two opens of the same file in one
process conflict like two processes would; `FileLock(exclusive=True)` therefore
shares one descriptor among the stores of a process (an in-process engine such as
chdb is one engine per process anyway) and excludes only other processes.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from hivekeeper.domain.errors import Unavailable

# Exclusive locks this process holds: lock file → [descriptor, holders].
_HELD: dict[str, list[int]] = {}
_HELD_LOCK = threading.Lock()


def try_flock(lock_file: Path, operation: int) -> int | None:
    """A descriptor holding the `flock` `operation` on `lock_file` (created if needed);
    None, without waiting, while another holder has a conflicting one."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class FileLock:
    """A lock an open store holds on `lock_file` until it closes.

    Shared (`exclusive=False`): many holders, kept out only by an exclusive one.
    Exclusive: one process, any number of holders inside it. `acquire` raises
    Unavailable with `busy_message` when the lock is taken.
    """

    def __init__(self, lock_file: Path, *, exclusive: bool, busy_message: str) -> None:
        self._lock_file = lock_file
        self._exclusive = exclusive
        self._busy_message = busy_message
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock (idempotent). Unavailable while another holder conflicts."""
        if self._fd is not None:
            return
        if not self._exclusive:
            self._fd = try_flock(self._lock_file, fcntl.LOCK_SH)
        else:
            with _HELD_LOCK:
                key = os.path.realpath(self._lock_file)
                held = _HELD.get(key)
                if held is None:
                    fd = try_flock(self._lock_file, fcntl.LOCK_EX)
                    if fd is not None:
                        _HELD[key] = held = [fd, 0]
                if held is not None:
                    held[1] += 1
                    self._fd = held[0]
        if self._fd is None:
            raise Unavailable(self._busy_message)

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if not self._exclusive:
            os.close(fd)
            return
        with _HELD_LOCK:
            key = os.path.realpath(self._lock_file)
            held = _HELD[key]
            held[1] -= 1
            if held[1] == 0:
                del _HELD[key]
                os.close(fd)

"""Fresh chdb databases for tests: one engine directory per test process.

chdb hosts one engine per process, on one directory, and a store takes that
directory's lock for the whole process; so every test of a process shares one
directory and gets its own database in it (`chdb:///dir?database=tN`). A client held
open for the process keeps the engine warm between tests (starting it takes ~0.2 s).
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any

_state: dict[str, Any] = {}
_counter = itertools.count(1)


def chdb_directory() -> Path:
    """This process's chdb directory, created (and its engine started) on first use."""
    if "dir" not in _state:
        import clickhouse_connect

        directory = Path(tempfile.mkdtemp(prefix="hivekeeper-chdb-"))
        _state["dir"] = directory
        _state["client"] = clickhouse_connect.get_client(dsn=f"chdb://{directory}")
        atexit.register(_cleanup)
    path: Path = _state["dir"]
    return path


def fresh_chdb_url(data_dir: Path) -> str:
    """A URL to a database no test has used; `data_dir` is unused (see above)."""
    del data_dir
    return f"chdb://{chdb_directory()}?database=t{next(_counter)}"


def _cleanup() -> None:
    client = _state.pop("client", None)
    if client is not None:
        client.close()
    shutil.rmtree(_state.pop("dir"), ignore_errors=True)

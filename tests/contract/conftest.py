"""The contract suite talks to the real app in process: httpx's ASGI transport over the
real app, store and writer, with the app's lifespan run by the fixture (no socket).

A test that needs a socket, an HTTP parser or uvicorn starts its own with `run_server`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import LiveServer, run_app


@pytest.fixture
def server(tmp_path: Path, store_kind: str) -> Iterator[LiveServer]:
    """The app with a fresh database and one full key, served in process."""
    with run_app(tmp_path, store_kind) as live:
        yield live

"""Runs the real app under uvicorn on a free loopback port, in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from hivekeeper.app import create_app
from hivekeeper.config import Settings
from hivekeeper.connections import uvicorn_options
from hivekeeper.domain.types import WriteOp
from hivekeeper.store import Store, open_store
from hivekeeper.web import AppContext
from tests.support.databases import fresh_database_url


@dataclass
class LiveServer:
    url: str
    key: str
    settings: Settings
    store: Store
    context: AppContext

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def new_key(self, project: str = "default", kind: str = "full") -> str:
        _, secret = self.store.create_key(project, kind)  # type: ignore[arg-type]
        return secret

    def submit(self, ops: list[WriteOp]) -> None:
        """Write `ops` through the server's own writer (for writes no route takes yet),
        returning once they are committed."""
        asyncio.run(self.context.writer.submit(ops))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def settings_for(data_dir: Path, store_kind: str, **overrides: Any) -> Settings:
    """Settings on a free port and a fresh database; the gRPC receiver is off unless
    `grpc_port` names a port (tests never share the default 4317)."""
    if "database_url" not in overrides:
        overrides["database_url"] = fresh_database_url(store_kind, data_dir)
    overrides.setdefault("grpc_port", 0)
    return Settings(data_dir=data_dir, port=free_port(), **overrides)


@contextlib.contextmanager
def run_server(
    data_dir: Path, store_kind: str, *, key: str | None = None, **overrides: Any
) -> Iterator[LiveServer]:
    """A server on a fresh database of `store_kind` (or `database_url=`, an existing one
    whose full `key` the caller knows)."""
    settings = settings_for(Path(data_dir), store_kind, **overrides)
    store = open_store(settings.database_url)
    store.open()
    secret = store.bootstrap().new_key_secret or key
    assert secret is not None, "an existing database needs the caller's key"
    app = create_app(settings, store=store)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=settings.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # as `hivekeeper serve` runs it
        lifespan="on",
        **uvicorn_options(settings),  # read deadlines and connection cap, as `serve` has
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(
            url=f"http://127.0.0.1:{settings.port}",
            key=secret,
            settings=settings,
            store=store,
            context=app.state.hivekeeper,
        )
    finally:
        server.should_exit = True
        thread.join(10)

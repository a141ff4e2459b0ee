"""The real app for tests, on a fresh database with one full key: in this process through
httpx's ASGI transport (`run_app`), or under uvicorn on a free loopback port, in a
thread (`run_server`), for what needs a socket and an HTTP server."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from hivekeeper.app import create_app
from hivekeeper.config import Settings
from hivekeeper.connections import uvicorn_options
from hivekeeper.store import Store, open_store
from tests.support.databases import fresh_database_url
from tests.support.in_process import Transports, serve_in_process

IN_PROCESS_URL = "http://hivekeeper.test"
"""The base URL of an app served in process (RFC 2606: no request can leave for it)."""


@dataclass
class LiveServer:
    """A running app. Its clients reach it over a socket at `url`, or, when `transports`
    is set, in this process (`url` then only names the host its requests carry)."""

    url: str
    key: str
    settings: Settings
    store: Store
    transports: Transports | None = None

    def client(self, key: str | None = None, *, peer: str | None = None) -> httpx.Client:
        """A client authenticated with `key` (by default the full key of the default project)."""
        return self.anonymous({"Authorization": f"Bearer {key or self.key}"}, peer=peer)

    def anonymous(
        self, headers: Mapping[str, str] | None = None, *, peer: str | None = None
    ) -> httpx.Client:
        """A client with no key (or the `headers` given), from `peer`: any 127.0.0.0/8
        address, which is this machine."""
        transport: httpx.BaseTransport | None = None
        if self.transports is not None:
            transport = self.transports(peer or "127.0.0.1")
        elif peer is not None:
            transport = httpx.HTTPTransport(local_address=peer)
        return httpx.Client(base_url=self.url, headers=headers, transport=transport, timeout=30)

    def new_key(self, project: str = "default", kind: str = "full") -> str:
        _, secret = self.store.create_key(project, kind)  # type: ignore[arg-type]
        return secret


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
def run_app(
    data_dir: Path, store_kind: str, *, key: str | None = None, **overrides: Any
) -> Iterator[LiveServer]:
    """The app on a fresh database of `store_kind` (or `database_url=`, an existing one
    whose full `key` the caller knows), served in this process; its lifespan runs as
    under `serve`."""
    settings, store, secret = _opened(data_dir, store_kind, key, overrides)
    with serve_in_process(create_app(settings, store=store)) as transports:
        yield LiveServer(
            url=IN_PROCESS_URL, key=secret, settings=settings, store=store, transports=transports
        )


@contextlib.contextmanager
def run_server(
    data_dir: Path, store_kind: str, *, key: str | None = None, **overrides: Any
) -> Iterator[LiveServer]:
    """`run_app`'s app under uvicorn on a free loopback port, in a thread, with the
    connection options `serve` has."""
    settings, store, secret = _opened(data_dir, store_kind, key, overrides)
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
            url=f"http://127.0.0.1:{settings.port}", key=secret, settings=settings, store=store
        )
    finally:
        server.should_exit = True
        thread.join(10)


def _opened(
    data_dir: Path, store_kind: str, key: str | None, overrides: dict[str, Any]
) -> tuple[Settings, Store, str]:
    """Settings, the store open (bootstrapped if new) and its full key."""
    settings = settings_for(Path(data_dir), store_kind, **overrides)
    store = open_store(settings.database_url)
    store.open()
    secret = store.bootstrap().new_key_secret or key
    assert secret is not None, "an existing database needs the caller's key"
    return settings, store, secret

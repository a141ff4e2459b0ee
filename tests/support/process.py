"""Runs `hivekeeper serve` as a real process, the way a user starts it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from hivekeeper.config import env_var
from tests.support.server import free_port

HIVEKEEPER = [sys.executable, "-m", "hivekeeper"]
_KEY_LINE = re.compile(r"^\s+(hh_\S+)$", re.MULTILINE)
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    """`hivekeeper <args>` run to completion, its output captured as text; `env` adds to
    (or overrides) this process's environment."""
    return subprocess.run(
        [*HIVEKEEPER, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, **(env or {})},
        check=False,
    )


@dataclass
class ServeProcess:
    url: str
    key: str
    proc: subprocess.Popen[bytes]

    def client(self) -> httpx.Client:
        """An HTTP client for this server, authenticated with `key`."""
        headers = {"Authorization": f"Bearer {self.key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@contextlib.contextmanager
def serve_process(
    data_dir: Path, timeout_s: float = 30, *, key: str | None = None, **settings: object
) -> Iterator[ServeProcess]:
    """`hivekeeper serve` on a free port, configured through env vars (`settings` as
    `HIVEKEEPER_*`), healthy and with the first-start key read from its output;
    interrupted (SIGINT) on exit if alive.

    A restart on an existing `data_dir` prints no key: pass the first start's as `key`.
    The gRPC receiver is off unless `grpc_port` names a port.
    """
    port = free_port()
    env = {
        **os.environ,
        "HIVEKEEPER_PORT": str(port),
        "HIVEKEEPER_DATA_DIR": str(data_dir),
        "HIVEKEEPER_GRPC_PORT": "0",
    }
    env.update({env_var(name): str(value) for name, value in settings.items()})
    log = data_dir / "server.log"
    with log.open("a") as out:  # a restart keeps the earlier runs' output
        proc = subprocess.Popen([*HIVEKEEPER, "serve"], env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        key = _wait_ready(proc, log, url, time.monotonic() + timeout_s, key)
        yield ServeProcess(url=url, key=key, proc=proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        proc.wait(20)


def _wait_ready(
    proc: subprocess.Popen[bytes], log: Path, url: str, deadline: float, key: str | None
) -> str:
    while time.monotonic() < deadline and proc.poll() is None:
        if key is None and (match := _KEY_LINE.search(log.read_text())):
            key = match.group(1)
        if key is not None:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    return key
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"hivekeeper serve did not become ready:\n{log.read_text()}")


def rss_mib(pid: int) -> float:
    """Resident memory of a process (`/proc/<pid>/statm`, second field, in pages)."""
    resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return resident_pages * _PAGE_BYTES / 2**20

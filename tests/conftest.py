"""Shared fixtures: a real hivekeeper server on a random loopback port, per store
(tests/contract serves the app in process instead), and skips failing in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import LiveServer, run_server

STORES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres"),
    pytest.param("chdb", id="chdb"),
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI a skipped test is a failed test: every engine and tool must really run."""
    outcome = yield
    _fail_a_skip_in_ci(outcome.get_result())  # type: ignore[attr-defined]


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """The same for a module skipped whole at collection (`pytest.importorskip`, or
    `pytest.skip(allow_module_level=True)`): in CI it is an error."""
    outcome = yield
    _fail_a_skip_in_ci(outcome.get_result())  # type: ignore[attr-defined]


def _fail_a_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        # A skip's longrepr is (path, line, "Skipped: why").
        where = report.longrepr
        why = f"{where[0]}:{where[1]}: {where[2]}" if isinstance(where, tuple) else where
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must provide what this test needs: {why}"


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(scope="module", params=STORES)
def module_store(request: pytest.FixtureRequest) -> str:
    """`store_kind` for module-scoped fixtures: one server per module and store, shared
    by tests that only read what one expensive run stored."""
    kind: str = request.param
    return kind


@pytest.fixture
def server(tmp_path: Path, store_kind: str) -> Iterator[LiveServer]:
    """A running server with a fresh database and one full key."""
    with run_server(tmp_path, store_kind) as live:
        yield live


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client for `server`, authenticated with its full key."""
    with server.client() as client:
        yield client

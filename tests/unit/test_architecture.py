"""Layering rules of DESIGN.md §2, read from the imports themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hivekeeper
import hivekeeper.domain
import hivekeeper.store
import hivekeeper.web

SRC = Path(hivekeeper.__file__).parent
DRIVERS = {"sqlite3", "psycopg", "psycopg_pool", "clickhouse_connect", "chdb"}
IO = DRIVERS | {"socket", "httpx", "requests", "fastapi", "starlette", "uvicorn", "click"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            # `from hivekeeper import api` imports `hivekeeper.api` too.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("domain"), ids=lambda p: p.name)
def test_domain_does_no_io_and_imports_no_other_layer(path: Path) -> None:
    for name in _imports(path):
        root = name.split(".")[0]
        assert root not in IO, f"{path.name} imports {name}"
        if name.startswith("hivekeeper."):
            assert name.startswith("hivekeeper.domain"), f"{path.name} imports {name}"


@pytest.mark.parametrize(
    "path", _modules("api") + _modules("ui") + _modules("web"), ids=lambda p: p.name
)
def test_routes_never_touch_a_database_driver(path: Path) -> None:
    for name in _imports(path):
        assert name.split(".")[0] not in DRIVERS, f"{path.name} imports {name}"


@pytest.mark.parametrize(
    ("path", "peer"),
    [(p, "hivekeeper.ui") for p in _modules("api")]
    + [(p, "hivekeeper.api") for p in _modules("ui")],
    ids=lambda p: p.name if isinstance(p, Path) else p,
)
def test_api_and_ui_are_peers_that_share_only_web(path: Path, peer: str) -> None:
    for name in _imports(path):
        assert not name.startswith(peer), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", _modules("web"), ids=lambda p: p.name)
def test_web_plumbing_imports_no_routes(path: Path) -> None:
    for name in _imports(path):
        assert not name.startswith(("hivekeeper.api", "hivekeeper.ui", "hivekeeper.app")), (
            f"{path.name} imports {name}"
        )


@pytest.mark.parametrize("path", _modules("ingest"), ids=lambda p: p.name)
def test_ingest_imports_no_layer_above_it(path: Path) -> None:
    for name in _imports(path):
        assert not name.startswith(
            (
                "hivekeeper.api",
                "hivekeeper.ui",
                "hivekeeper.web",
                "hivekeeper.app",
                "fastapi",
                "starlette",
            )
        ), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", _modules("store"), ids=lambda p: p.name)
def test_stores_know_nothing_of_http(path: Path) -> None:
    for name in _imports(path):
        assert not name.startswith(
            (
                "hivekeeper.api",
                "hivekeeper.ui",
                "hivekeeper.web",
                "hivekeeper.ingest",
                "fastapi",
                "starlette",
            )
        ), f"{path.name} imports {name}"


def test_public_surfaces_are_pinned() -> None:
    assert hivekeeper.store.__all__ == [
        "BackupStore",
        "Bootstrap",
        "CareStore",
        "EvaluationStore",
        "EventStore",
        "Lifecycle",
        "Store",
        "StoreState",
        "TenancyStore",
        "TransferStore",
        "allows_workers",
        "open_store",
    ]
    assert hivekeeper.domain.__all__ == [
        "EventPatch",
        "EventType",
        "HivekeeperError",
        "StoredRow",
        "WriteOp",
        "merge_fields",
    ]
    assert sorted(hivekeeper.web.__all__) == hivekeeper.web.__all__
    for package in (hivekeeper.domain, hivekeeper.store, hivekeeper.web):
        missing = [name for name in package.__all__ if not hasattr(package, name)]
        assert not missing, f"{package.__name__} exports missing names {missing}"

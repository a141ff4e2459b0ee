"""Storage engines behind one set of protocols, chosen by the database URL's scheme.

Engines are named by `"module:Class"` strings and imported only when chosen, so the
embedded default needs no optional database driver.
"""

from __future__ import annotations

import importlib

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.store.lifecycle import StoreState
from hivekeeper.store.protocol import (
    BackupStore,
    Bootstrap,
    CareStore,
    EvaluationStore,
    EventStore,
    Lifecycle,
    Store,
    StoreFactory,
    TenancyStore,
    TransferStore,
)

_ENGINES = {
    "sqlite": "hivekeeper.store.sqlite.engine:SqliteStore",
    "postgresql": "hivekeeper.store.postgres.engine:PostgresStore",
    "postgres": "hivekeeper.store.postgres.engine:PostgresStore",
    "clickhouse": "hivekeeper.store.clickhouse.engine:ClickHouseStore",
    "chdb": "hivekeeper.store.clickhouse.engine:ClickHouseStore",
}

# The drivers each engine imports, and the extra of pyproject.toml that installs them.
# chdb is imported by clickhouse-connect only when it connects, so it is named here.
_DRIVERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "postgresql": ("postgres", ("psycopg", "psycopg_pool")),
    "postgres": ("postgres", ("psycopg", "psycopg_pool")),
    "clickhouse": ("clickhouse", ("clickhouse_connect",)),
    "chdb": ("clickhouse", ("clickhouse_connect", "chdb")),
}

# Engines whose writes stay correct with several server processes: PostgreSQL locks
# each key across processes. SQLite and chdb are opened by one process; a ClickHouse
# server's read-merge-write is only serialised within one process's writer.
_MULTI_PROCESS = frozenset({"postgresql", "postgres"})

__all__ = [
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


def _scheme(database_url: str) -> str:
    return database_url.partition(":")[0].split("+")[0].lower()


def allows_workers(database_url: str) -> bool:
    """Whether several `serve` processes may share this database."""
    return _scheme(database_url) in _MULTI_PROCESS


def open_store(database_url: str, *, synchronous_full: bool = False) -> Store:
    """Build (not yet open) the store for `database_url`, e.g. `sqlite:////path/db`.

    ValidationFailed for an unknown scheme, or when the engine's driver is not
    installed (naming the extra that installs it)."""
    scheme = _scheme(database_url)
    target = _ENGINES.get(scheme)
    if target is None:
        raise ValidationFailed(
            f"unsupported database URL scheme {scheme!r}; use one of {sorted(_ENGINES)}",
            field="database_url",
        )
    _import_drivers(scheme)
    module_name, _, class_name = target.partition(":")
    # Each engine module checks its class against `StoreFactory` (mypy).
    engine: StoreFactory = getattr(importlib.import_module(module_name), class_name)
    return engine(database_url, synchronous_full=synchronous_full)


def _import_drivers(scheme: str) -> None:
    extra, modules = _DRIVERS.get(scheme, ("", ()))
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ValidationFailed(
                f"{scheme}:// database URLs need hivekeeper's {extra!r} extra: pip install "
                f"'hivekeeper[{extra}]' (or '.[{extra}]' in a checkout); {module} cannot be "
                f"imported: {exc}",
                field="database_url",
            ) from None

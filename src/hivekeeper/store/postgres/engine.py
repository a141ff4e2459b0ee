"""The PostgreSQL engine: psycopg connection pools, one for reads and one for the writer.

Long reads (exports, charts) take connections from the read pool; the writer's
transactions, API key lookups and reads of one event by id take them from a small
pool of their own, so a pool full of slow reads never holds up a write or the key
check in front of it.

Several server processes may write at once. Read-merge-write (`store.sql.writes`) stays
correct because a transaction locks every key before it reads or writes it (`_locks`),
so two writers touching the same session take turns; a key needed out of order makes
the transaction start over holding every key it now knows.

`synchronous_full` has no meaning here: durability is the server's `synchronous_commit`.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from hivekeeper.domain.charts import ChartPoint, ChartQuery
from hivekeeper.domain.errors import HivekeeperError, Unavailable, ValidationFailed
from hivekeeper.domain.filters import EventQuery
from hivekeeper.domain.merge import DEFAULT_MAX_CHILDREN_IDS
from hivekeeper.domain.pricing.billing import PriceBook, shipped_prices
from hivekeeper.domain.pricing.project import PriceSpec, ProjectPrice
from hivekeeper.domain.redaction import RedactionRule
from hivekeeper.domain.tenancy import ApiKey, KeyKind, Principal, Project, TenancyDump
from hivekeeper.domain.types import Key, OutlineRow, StoredRow, WriteNote, WriteOp
from hivekeeper.store.evaluation_tables import EvaluationRow
from hivekeeper.store.lifecycle import StoreLifecycle, StoreState
from hivekeeper.store.postgres import _care, _reads
from hivekeeper.store.postgres._evaluation import PostgresEvaluationDb
from hivekeeper.store.postgres._locks import KeyLocks, LockConflict
from hivekeeper.store.postgres._schema import VISIBLE, migrate
from hivekeeper.store.postgres._writes import PostgresWrites, upsert
from hivekeeper.store.protocol import Bootstrap, StoreFactory
from hivekeeper.store.sql import evaluation_transfer, prices, tenancy, transfer
from hivekeeper.store.sql.evaluation_reads import SqlEvaluationReads
from hivekeeper.store.sql.rows import SELECT_EVENTS, decode_row
from hivekeeper.store.sql.writes import RowStore, apply

logger = logging.getLogger(__name__)
Connection = psycopg.Connection[TupleRow]

# Past this many concurrent reads a request waits up to _POOL_WAIT_S for a connection.
_READ_POOL_SIZE = 10
# The writer's transaction, and key lookups and reads by id, each a millisecond or so.
_PRIORITY_POOL_SIZE = 4
_POOL_WAIT_S = 10.0
_PoolName = Literal["reads", "priority"]
_POOL_SIZES: dict[_PoolName, int] = {"reads": _READ_POOL_SIZE, "priority": _PRIORITY_POOL_SIZE}
_CONNECT_TIMEOUT_S = 10
# Any pooled statement running longer is cancelled (QueryCanceled → 503); migrations
# run on their own connection, without this limit.
_STATEMENT_LIMIT_S = 30
# A write that keeps finding keys taken by other writers starts over at most this often
# (each attempt locks more of what it needs up front, so two are usually enough).
_WRITE_ATTEMPTS = 8


class _Qmark:
    """A psycopg connection taking the `?` placeholders `sql.tenancy` is written with."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def execute(self, query: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[TupleRow]:
        return self._conn.execute(query.replace("?", "%s"), parameters)


class _Pool(ConnectionPool[Connection]):
    """A pool that draws the jitter of connection lifetimes from its own generator.

    psycopg_pool draws it from the global `random` on its worker threads, changing the
    random state under whatever else relies on it (Hypothesis fails such tests).
    """

    _random = random.Random()

    @classmethod
    def _jitter(cls, value: float, min_pc: float, max_pc: float) -> float:
        return value * (1.0 + (max_pc - min_pc) * cls._random.random() + min_pc)


class PostgresStore(SqlEvaluationReads, StoreLifecycle):
    """The PostgreSQL implementation of `hivekeeper.store.Store`."""

    def __init__(self, database_url: str, *, synchronous_full: bool = False) -> None:
        super().__init__()
        self._conninfo = conninfo(database_url)
        self._pools: dict[_PoolName, ConnectionPool[Connection]] = {}

    # --- lifecycle (`StoreLifecycle` calls these once) ---
    def _start(self) -> None:
        try:
            # A plain connection first: a wrong URL or a server that is down fails at
            # once, where a pool would keep retrying until its timeout.
            with psycopg.connect(
                self._conninfo, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S
            ) as conn:
                migrate(conn)
        except psycopg.Error as exc:
            raise _translate(exc) from exc
        pools: dict[_PoolName, ConnectionPool[Connection]] = {}
        try:
            for name, size in _POOL_SIZES.items():
                pools[name] = self._open_pool(name, size)
        except psycopg.Error as exc:
            for pool in pools.values():
                pool.close()
            raise _translate(exc) from exc
        self._pools = pools

    def _stop(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()

    def _open_pool(self, name: _PoolName, max_size: int) -> ConnectionPool[Connection]:
        pool = _Pool(
            self._conninfo,
            min_size=1,
            max_size=max_size,
            timeout=_POOL_WAIT_S,
            kwargs={
                "autocommit": True,
                "connect_timeout": _CONNECT_TIMEOUT_S,
                "options": f"-c statement_timeout={_STATEMENT_LIMIT_S * 1000}",
            },
            configure=_configure,
            open=False,
            name=f"hivekeeper-{name}",
        )
        try:
            pool.open(wait=True, timeout=_CONNECT_TIMEOUT_S)
        except psycopg.Error:
            pool.close()
            raise
        return pool


    @contextlib.contextmanager
    def _connection(self, pool_name: _PoolName = "reads") -> Iterator[Connection]:
        """A connection of the read pool, or of the writer's and lookups' `priority` one."""
        if self.state is StoreState.NEW:
            self.open()  # the CLI's admin commands work on a store not yet opened
        self._check_not_closed()
        pool = self._pools.get(pool_name)
        if pool is None:  # closed meanwhile
            raise Unavailable("the store is closed")
        try:
            with pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise _translate(exc) from exc

    @contextlib.contextmanager
    def _transaction(self, pool_name: _PoolName = "reads") -> Iterator[Connection]:
        with self._connection(pool_name) as conn, conn.transaction():
            yield conn

    @contextlib.contextmanager
    def _evaluation_db(self) -> Iterator[PostgresEvaluationDb]:
        """A read-only snapshot, so the queries of one evaluation read agree."""
        with self._transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield PostgresEvaluationDb(conn)

    # --- tenancy ---
    def bootstrap(self) -> Bootstrap:
        with self._transaction() as conn:
            # Two workers starting together must not both create the default project.
            conn.execute("LOCK TABLE organizations IN EXCLUSIVE MODE")
            return tenancy.bootstrap(_Qmark(conn))

    def create_project(self, name: str) -> Project:
        name = tenancy.project_name(name)
        try:
            with self._transaction() as conn:
                conn.execute("LOCK TABLE organizations IN EXCLUSIVE MODE")
                return tenancy.create_project(_Qmark(conn), name)
        except HivekeeperError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise ValidationFailed(
                    f"a project named {name!r} already exists", field="name"
                ) from None
            raise

    def list_projects(self) -> list[Project]:
        with self._connection() as conn:
            return tenancy.list_projects(_Qmark(conn))

    def create_key(self, project_name: str, kind: KeyKind) -> tuple[ApiKey, str]:
        with self._transaction() as conn:
            conn.execute("LOCK TABLE organizations IN EXCLUSIVE MODE")
            return tenancy.create_key(_Qmark(conn), project_name, kind)

    def list_keys(self) -> list[ApiKey]:
        with self._connection() as conn:
            return tenancy.list_keys(_Qmark(conn))

    def revoke_key(self, key_id: str) -> ApiKey:
        with self._transaction() as conn:
            return tenancy.revoke_key(_Qmark(conn), key_id)

    def authenticate(self, secret: str) -> Principal | None:
        # No cache: a revocation refuses the very next request, on every worker.
        with self._connection("priority") as conn:
            return tenancy.authenticate(_Qmark(conn), secret)

    # --- data care ---
    def set_retention(self, project_name: str, days: int | None) -> None:
        with self._transaction() as conn:
            tenancy.set_retention(_Qmark(conn), project_name, days)

    def retention_days(self) -> dict[str, int | None]:
        with self._connection() as conn:
            return tenancy.retention_days(_Qmark(conn))

    def has_expired(self, project_id: str, before_ms: float) -> bool:
        with self._connection() as conn:
            return _care.has_expired(conn, project_id, before_ms)

    def expired_pending_projects(self, before_ms: float) -> list[str]:
        with self._connection() as conn:
            return _care.expired_pending_projects(conn, before_ms)

    def add_redaction(self, project_name: str, pattern: str, replacement: str) -> RedactionRule:
        with self._transaction() as conn:
            return tenancy.add_redaction(_Qmark(conn), project_name, pattern, replacement)

    def list_redactions(self) -> list[RedactionRule]:
        with self._connection() as conn:
            return tenancy.list_redactions(_Qmark(conn))

    def remove_redaction(self, rule_id: int) -> RedactionRule:
        with self._transaction() as conn:
            return tenancy.remove_redaction(_Qmark(conn), rule_id)

    # --- project prices ---
    def add_price(self, project_id: str, spec: PriceSpec) -> ProjectPrice:
        with self._transaction() as conn:
            return prices.add_price(_Qmark(conn), project_id, spec)

    def list_prices(self, project_id: str | None = None) -> list[ProjectPrice]:
        with self._connection() as conn:
            return prices.list_prices(_Qmark(conn), project_id)

    def remove_price(self, price_id: int, project_id: str | None = None) -> ProjectPrice:
        with self._transaction() as conn:
            return prices.remove_price(_Qmark(conn), project_id, price_id)

    def backup(self, target: Path) -> None:
        raise ValidationFailed(
            "backup copies a SQLite file; for PostgreSQL use pg_dump "
            "(e.g. pg_dump --format=custom --file=hivekeeper.dump DATABASE_URL)",
            field="database_url",
        )

    def restore(self, source: Path) -> Path | None:
        raise ValidationFailed(
            "restore replaces a SQLite file; for PostgreSQL use pg_restore "
            "(e.g. pg_restore --clean --dbname=DATABASE_URL hivekeeper.dump)",
            field="database_url",
        )

    # --- writes ---
    @contextlib.contextmanager
    def write_transaction(self, *, locked: Iterable[int] = ()) -> Iterator[PostgresWrites]:
        """A transaction on the writer's pool, as the primitives of `store.sql.writes`,
        holding the key locks `locked` from the start: committed when the block ends,
        rolled back if it raises (LockConflict when a key it needs is taken)."""
        with self._transaction("priority") as conn:
            locks = KeyLocks(conn)
            locks.acquire_ids(locked)
            yield PostgresWrites(conn, locks)

    def write_batch(
        self,
        ops: Sequence[WriteOp],
        now_ms: float,
        *,
        max_children_ids: int = DEFAULT_MAX_CHILDREN_IDS,
        prices: PriceBook = shipped_prices,
    ) -> list[WriteNote]:
        known: set[int] = set()
        for _ in range(_WRITE_ATTEMPTS):
            try:
                with self.write_transaction(locked=known) as writes:
                    return apply(
                        writes, ops, now_ms, max_children_ids=max_children_ids, prices=prices
                    )
            except LockConflict as conflict:
                known |= conflict.lock_ids
            except Unavailable as exc:
                # Ordered locks rule out cycles among our writers, but a row lock taken
                # by a statement (a session delete) can still close one; retry it.
                if not isinstance(exc.__cause__, psycopg.errors.DeadlockDetected):
                    raise
        raise Unavailable("the database is busy with the same sessions; retry shortly")

    # --- reads ---
    def get_event(
        self, project_id: str, event_id: str, *, include_pending: bool = False
    ) -> StoredRow | None:
        if "\x00" in event_id:
            return None  # no stored text holds NUL (and a bound NUL is refused)
        visible = "" if include_pending else f" AND {VISIBLE}"
        with self._connection("priority") as conn:
            row = conn.execute(
                f"{SELECT_EVENTS} WHERE project_id = %s AND event_id = %s{visible}",
                (project_id, event_id),
            ).fetchone()
        return decode_row(row) if row else None

    def get_events(self, project_id: str, event_ids: Sequence[str]) -> list[StoredRow]:
        ids = list(dict.fromkeys(i for i in event_ids if "\x00" not in i))
        if not ids:
            return []
        with self._connection() as conn:
            rows = conn.execute(
                f"{SELECT_EVENTS} WHERE project_id = %s AND event_id = ANY(%s) AND {VISIBLE}",
                (project_id, ids),
            ).fetchall()
        return [decode_row(r) for r in rows]

    def session_events(self, project_id: str, session_id: str) -> list[StoredRow]:
        if "\x00" in session_id:
            return []
        with self._connection() as conn:
            rows = conn.execute(
                f"{SELECT_EVENTS} WHERE project_id = %s AND session_id = %s AND {VISIBLE} "
                "ORDER BY start_time NULLS FIRST, event_id",
                (project_id, session_id),
            ).fetchall()
        return [decode_row(r) for r in rows]

    def children_of(self, project_id: str, event_ids: Sequence[str]) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        event_ids = [i for i in event_ids if "\x00" not in i]
        if not event_ids:
            return children
        with self._connection() as conn:
            for parent, child in conn.execute(
                "SELECT parent_id, event_id FROM events WHERE project_id = %s "
                f"AND parent_id = ANY(%s) AND {VISIBLE} ORDER BY start_time NULLS FIRST, event_id",
                (project_id, list(event_ids)),
            ):
                children.setdefault(parent, []).append(child)
        return children

    def session_outline(self, project_id: str, session_id: str) -> list[OutlineRow]:
        if "\x00" in session_id:
            return []
        with self._connection() as conn:
            return _reads.session_outline(conn, project_id, session_id)

    def search_session(self, project_id: str, session_id: str, text: str) -> list[str]:
        if "\x00" in session_id:
            return []
        with self._connection() as conn:
            return _reads.search_session(conn, project_id, session_id, text)

    def query_events(
        self, project_id: str, query: EventQuery
    ) -> tuple[list[StoredRow], int | None]:
        with self._connection() as conn:
            return _reads.select_events(conn, project_id, query)

    def chart(self, project_id: str, chart: ChartQuery) -> list[ChartPoint]:
        with self._connection() as conn:
            return _reads.chart(conn, project_id, chart)

    # --- copy between stores ---
    def export_tenancy(self) -> TenancyDump:
        with self._transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return transfer.export_tenancy(_Qmark(conn))

    def import_tenancy(self, dump: TenancyDump) -> None:
        with self._transaction() as conn:
            transfer.import_tenancy(_Qmark(conn), dump)
            # Rules and prices keep their ids; new ones must be numbered past them.
            for table in ("redaction_rules", "model_prices"):
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE(MAX(id), 0) + 1, false) FROM {table}"
                )

    def scan_rows(self, after: Key | None, limit: int) -> list[StoredRow]:
        with self._connection() as conn:
            return transfer.scan_rows(_Qmark(conn), after, limit)

    def put_rows(self, rows: Sequence[StoredRow]) -> None:
        with self._transaction() as conn:
            upsert(conn, rows)

    def last_key(self) -> Key | None:
        with self._connection() as conn:
            return transfer.last_key(_Qmark(conn))

    def count_rows(self) -> dict[str, int]:
        with self._connection() as conn:
            return transfer.count_rows(_Qmark(conn))

    def export_evaluation(
        self, project_id: str, batch_size: int
    ) -> Iterator[tuple[str, list[EvaluationRow]]]:
        return evaluation_transfer.export_evaluation(self._fetch, project_id, batch_size)

    def import_evaluation(self, table: str, rows: Sequence[EvaluationRow]) -> None:
        with self._transaction() as conn:
            evaluation_transfer.import_evaluation(PostgresEvaluationDb(conn), table, rows)

    def _fetch(self, query: str, params: Sequence[object]) -> list[TupleRow]:
        with self._connection() as conn:
            return _Qmark(conn).execute(query, params).fetchall()


def conninfo(database_url: str) -> str:
    """The libpq URL for `postgresql://…`, `postgres://…` or `postgresql+psycopg://…`."""
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+")[0].lower()
    if scheme not in ("postgresql", "postgres"):
        raise ValidationFailed(
            f"expected postgresql://USER@HOST/DATABASE, got scheme {parts.scheme!r}",
            field="database_url",
        )
    return urlunsplit(("postgresql", *parts[1:]))


def _configure(conn: Connection) -> None:
    # JSONB columns arrive as their text; `decode_row` parses it with orjson, as for
    # SQLite, rather than psycopg's default stdlib json.
    conn.adapters.register_loader("jsonb", psycopg.types.string.TextLoader)


def _translate(exc: psycopg.Error) -> HivekeeperError:
    """Driver errors become ours at the store boundary."""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return Unavailable(
            f"the query ran past {_STATEMENT_LIMIT_S} s; narrow the filters or date range"
        )
    if isinstance(exc, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure):
        return Unavailable("the database is busy; retry shortly", retry_after_s=1)
    if isinstance(exc, psycopg.OperationalError):
        # Connection refused or lost, server shutting down, no pooled connection free.
        return Unavailable(f"the database is unavailable: {exc}; retry shortly", retry_after_s=5)
    if isinstance(exc, psycopg.errors.UntranslatableCharacter) or (
        isinstance(exc, psycopg.DataError) and "NUL" in str(exc)
    ):
        return ValidationFailed(
            "PostgreSQL cannot store the NUL character (\\u0000); remove it", field="body"
        )
    return HivekeeperError(f"storage error: {exc}")


# Checked by mypy: the engine has every capability of a `Store`, and writes through
# the row stores' shared algorithm.
_store: StoreFactory = PostgresStore
_row_store: type[RowStore] = PostgresStore

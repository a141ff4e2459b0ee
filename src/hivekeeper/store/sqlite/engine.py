"""The embedded SQLite engine: one write connection (the writer's), read-only readers.

WAL lets readers run beside the single writer. `synchronous=NORMAL` survives a process
crash (what `kill -9` tests); `FULL` also survives power loss, at a cost per commit.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

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
from hivekeeper.store.protocol import Bootstrap, StoreFactory
from hivekeeper.store.sql import evaluation_transfer, prices, tenancy, transfer
from hivekeeper.store.sql.evaluation_reads import SqlEvaluationReads
from hivekeeper.store.sql.rows import SELECT_EVENTS, chunks, decode_row, encode_row
from hivekeeper.store.sql.writes import RowStore, apply
from hivekeeper.store.sqlite import _backup, _care, _reads
from hivekeeper.store.sqlite._evaluation import SqliteEvaluationDb
from hivekeeper.store.sqlite._schema import IN_CHUNK, UPSERT, VISIBLE, migrate
from hivekeeper.store.sqlite._writes import SqliteWrites

logger = logging.getLogger(__name__)
_BUSY_TIMEOUT_MS = 10_000
# A read that runs longer than this is stopped. The progress handler runs every
# 10,000 VM steps (~1 ms), so the check itself costs nothing measurable.
_READ_LIMIT_S = 30.0
_PROGRESS_STEPS = 10_000
_CHECKPOINT_INTERVAL_S = 0.5


def database_path(database_url: str) -> Path:
    """`sqlite:///relative.db` or `sqlite:////absolute/path.db` → the file path."""
    scheme, sep, rest = database_url.partition("://")
    if not sep or scheme.lower() != "sqlite" or not rest.startswith("/") or rest == "/":
        raise ValidationFailed(
            f"expected sqlite:///PATH, got {database_url!r}", field="database_url"
        )
    return Path(rest[1:])


class _Checkpointer:
    """Copies the WAL back into the database on its own thread and connection.

    SQLite's automatic checkpoint runs inside the committing transaction, so the
    writer would stall on it every ~4 MB of WAL; here it overlaps the next commits
    instead. PASSIVE never blocks the writer or readers. Checkpoints are at least
    `interval_s` apart: a page rewritten by many commits in between (index pages are)
    is then copied once, not once per commit.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], interval_s: float) -> None:
        self._connect = connect
        self._interval_s = interval_s
        self._due = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hivekeeper-checkpoint", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """A transaction committed: there is WAL to copy."""
        self._due.set()

    def close(self) -> None:
        self._stop.set()
        self._due.set()
        self._thread.join()

    def _run(self) -> None:
        conn = self._connect()
        try:
            while not self._stop.is_set():
                self._due.wait()
                self._stop.wait(self._interval_s)
                self._due.clear()
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            logger.exception("WAL checkpoint failed; SQLite will checkpoint on close")
        finally:
            conn.close()


class SqliteStore(SqlEvaluationReads, StoreLifecycle):
    """The SQLite implementation of `hivekeeper.store.Store`."""

    def __init__(self, database_url: str, *, synchronous_full: bool = False) -> None:
        super().__init__()
        self.path = database_path(database_url)
        self._synchronous = "FULL" if synchronous_full else "NORMAL"
        self._write_conn: sqlite3.Connection | None = None
        self._checkpointer: _Checkpointer | None = None
        self._readers = threading.local()
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._use_lock = _backup.UseLock(self.path)

    # --- lifecycle (`StoreLifecycle` calls these once) ---
    def _start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._use_lock.acquire()
        with self._admin() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            migrate(conn)
            # Fresh planner statistics at every start, sampled (~45 ms at a million
            # rows): without them SQLite guesses between indexes, and guessed wrong for
            # the session list by seconds at that size.
            conn.execute("PRAGMA analysis_limit = 1000")
            conn.execute("ANALYZE")

    def _stop(self) -> None:
        if self._write_conn is not None:
            self._write_conn.close()
            self._write_conn = None
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        with self._readers_lock:
            for conn in self._all_readers:
                conn.close()
            self._all_readers.clear()
        self._use_lock.release()

    def _connect(self, *, read_only: bool) -> sqlite3.Connection:
        self._check_not_closed()
        if read_only:
            conn = sqlite3.connect(
                f"file:{self.path}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA query_only = ON")
        else:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA cache_size = -65536")
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        return conn

    @contextlib.contextmanager
    def _admin(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection for admin writes (CLI, start-up), not events."""
        conn = self._connect(read_only=False)
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        self._check_not_closed()
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            conn = self._connect(read_only=True)
            self._readers.conn = conn
            with self._readers_lock:
                self._all_readers.append(conn)
        deadline = time.monotonic() + _READ_LIMIT_S
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise Unavailable(
                    f"the query ran past {_READ_LIMIT_S:.0f} s; narrow the filters or date range"
                ) from exc
            raise _translate(exc) from exc
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    @contextlib.contextmanager
    def _evaluation_db(self) -> Iterator[SqliteEvaluationDb]:
        """A read transaction, so the queries of one evaluation read see one snapshot."""
        with self._read() as conn:
            conn.execute("BEGIN")
            try:
                yield SqliteEvaluationDb(conn)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    # --- tenancy ---
    def bootstrap(self) -> Bootstrap:
        with self._admin() as conn, _transaction(conn):
            return tenancy.bootstrap(conn)

    def create_project(self, name: str) -> Project:
        name = tenancy.project_name(name)
        with self._admin() as conn, _transaction(conn):
            try:
                return tenancy.create_project(conn, name)
            except sqlite3.IntegrityError:
                raise ValidationFailed(
                    f"a project named {name!r} already exists", field="name"
                ) from None

    def list_projects(self) -> list[Project]:
        with self._admin() as conn:
            return tenancy.list_projects(conn)

    def create_key(self, project_name: str, kind: KeyKind) -> tuple[ApiKey, str]:
        with self._admin() as conn, _transaction(conn):
            return tenancy.create_key(conn, project_name, kind)

    def list_keys(self) -> list[ApiKey]:
        with self._admin() as conn:
            return tenancy.list_keys(conn)

    def revoke_key(self, key_id: str) -> ApiKey:
        with self._admin() as conn, _transaction(conn):
            return tenancy.revoke_key(conn, key_id)

    def authenticate(self, secret: str) -> Principal | None:
        # No cache: every request reads the key row, so a revocation (from the CLI, on
        # the live database) refuses the very next request.
        with self._read() as conn:
            return tenancy.authenticate(conn, secret)

    # --- writes ---
    @contextlib.contextmanager
    def write_transaction(self) -> Iterator[SqliteWrites]:
        """A transaction on the writer's connection, as the primitives of
        `store.sql.writes`: committed when the block ends, rolled back if it raises.
        The writer's thread only."""
        if self._write_conn is None:
            self._write_conn = self._connect(read_only=False)
            self._write_conn.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpointer = _Checkpointer(
                lambda: self._connect(read_only=False), _CHECKPOINT_INTERVAL_S
            )
        try:
            with _transaction(self._write_conn):
                yield SqliteWrites(self._write_conn)
        except sqlite3.Error as exc:
            raise _translate(exc) from exc
        if self._checkpointer is not None:
            self._checkpointer.notify()

    def write_batch(
        self,
        ops: Sequence[WriteOp],
        now_ms: float,
        *,
        max_children_ids: int = DEFAULT_MAX_CHILDREN_IDS,
        prices: PriceBook = shipped_prices,
    ) -> list[WriteNote]:
        with self.write_transaction() as writes:
            return apply(writes, ops, now_ms, max_children_ids=max_children_ids, prices=prices)

    # --- data care ---
    def set_retention(self, project_name: str, days: int | None) -> None:
        with self._admin() as conn, _transaction(conn):
            tenancy.set_retention(conn, project_name, days)

    def retention_days(self) -> dict[str, int | None]:
        with self._read() as conn:
            return tenancy.retention_days(conn)

    def has_expired(self, project_id: str, before_ms: float) -> bool:
        with self._read() as conn:
            return _care.has_expired(conn, project_id, before_ms)

    def expired_pending_projects(self, before_ms: float) -> list[str]:
        with self._read() as conn:
            return _care.expired_pending_projects(conn, before_ms)

    def add_redaction(self, project_name: str, pattern: str, replacement: str) -> RedactionRule:
        with self._admin() as conn, _transaction(conn):
            return tenancy.add_redaction(conn, project_name, pattern, replacement)

    def list_redactions(self) -> list[RedactionRule]:
        with self._read() as conn:
            return tenancy.list_redactions(conn)

    def remove_redaction(self, rule_id: int) -> RedactionRule:
        with self._admin() as conn, _transaction(conn):
            return tenancy.remove_redaction(conn, rule_id)

    # --- project prices ---
    def add_price(self, project_id: str, spec: PriceSpec) -> ProjectPrice:
        with self._admin() as conn, _transaction(conn):
            return prices.add_price(conn, project_id, spec)

    def list_prices(self, project_id: str | None = None) -> list[ProjectPrice]:
        with self._read() as conn:
            return prices.list_prices(conn, project_id)

    def remove_price(self, price_id: int, project_id: str | None = None) -> ProjectPrice:
        with self._admin() as conn, _transaction(conn):
            return prices.remove_price(conn, project_id, price_id)

    def backup(self, target: Path) -> None:
        self._check_not_closed()
        _backup.backup(self.path, target)

    def restore(self, source: Path) -> Path | None:
        self._check_not_closed()
        if self.state is StoreState.OPEN:
            raise Unavailable("this store is open; restore through a store never opened")
        return _backup.restore(self.path, source)

    # --- reads ---
    def get_event(
        self, project_id: str, event_id: str, *, include_pending: bool = False
    ) -> StoredRow | None:
        visible = "" if include_pending else f" AND {VISIBLE}"
        with self._read() as conn:
            row = conn.execute(
                f"{SELECT_EVENTS} WHERE project_id = ? AND event_id = ?{visible}",
                (project_id, event_id),
            ).fetchone()
        return decode_row(row) if row else None

    def get_events(self, project_id: str, event_ids: Sequence[str]) -> list[StoredRow]:
        rows = []
        with self._read() as conn:
            for chunk in chunks(list(dict.fromkeys(event_ids)), IN_CHUNK):
                marks = ", ".join("?" for _ in chunk)
                rows += conn.execute(
                    f"{SELECT_EVENTS} WHERE project_id = ? AND event_id IN ({marks}) AND {VISIBLE}",
                    (project_id, *chunk),
                ).fetchall()
        return [decode_row(r) for r in rows]

    def session_events(self, project_id: str, session_id: str) -> list[StoredRow]:
        with self._read() as conn:
            rows = conn.execute(
                f"{SELECT_EVENTS} WHERE project_id = ? AND session_id = ? AND {VISIBLE} "
                "ORDER BY start_time, event_id",
                (project_id, session_id),
            ).fetchall()
        return [decode_row(r) for r in rows]

    def children_of(self, project_id: str, event_ids: Sequence[str]) -> dict[str, list[str]]:
        # `+start_time` keeps the planner from walking the project's time index to avoid a
        # sort: that read a million rows to find a handful (23 s at 1M events).
        children: dict[str, list[str]] = {}
        with self._read() as conn:
            for chunk in chunks(event_ids, IN_CHUNK):
                marks = ", ".join("?" for _ in chunk)
                for parent, child in conn.execute(
                    f"SELECT parent_id, event_id FROM events WHERE project_id = ? "
                    f"AND parent_id IN ({marks}) AND {VISIBLE} ORDER BY +start_time, event_id",
                    (project_id, *chunk),
                ):
                    children.setdefault(parent, []).append(child)
        return children

    def session_outline(self, project_id: str, session_id: str) -> list[OutlineRow]:
        with self._read() as conn:
            return _reads.session_outline(conn, project_id, session_id)

    def search_session(self, project_id: str, session_id: str, text: str) -> list[str]:
        with self._read() as conn:
            return _reads.search_session(conn, project_id, session_id, text)

    def query_events(
        self, project_id: str, query: EventQuery
    ) -> tuple[list[StoredRow], int | None]:
        with self._read() as conn:
            return _reads.select_events(conn, project_id, query)

    def chart(self, project_id: str, chart: ChartQuery) -> list[ChartPoint]:
        with self._read() as conn:
            return _reads.chart(conn, project_id, chart)

    # --- copy between stores ---
    def export_tenancy(self) -> TenancyDump:
        with self._read() as conn:
            return transfer.export_tenancy(conn)

    def import_tenancy(self, dump: TenancyDump) -> None:
        with self._admin() as conn, _transaction(conn):
            transfer.import_tenancy(conn, dump)

    def scan_rows(self, after: Key | None, limit: int) -> list[StoredRow]:
        with self._read() as conn:
            return transfer.scan_rows(conn, after, limit)

    def put_rows(self, rows: Sequence[StoredRow]) -> None:
        with self._admin() as conn, _transaction(conn):
            conn.executemany(UPSERT, [encode_row(row) for row in rows])

    def last_key(self) -> Key | None:
        with self._read() as conn:
            return transfer.last_key(conn)

    def count_rows(self) -> dict[str, int]:
        with self._read() as conn:
            return transfer.count_rows(conn)

    def export_evaluation(
        self, project_id: str, batch_size: int
    ) -> Iterator[tuple[str, list[EvaluationRow]]]:
        return evaluation_transfer.export_evaluation(self._fetch, project_id, batch_size)

    def import_evaluation(self, table: str, rows: Sequence[EvaluationRow]) -> None:
        with self._admin() as conn, _transaction(conn):
            evaluation_transfer.import_evaluation(SqliteEvaluationDb(conn), table, rows)

    def _fetch(self, query: str, params: Sequence[object]) -> list[Any]:
        with self._read() as conn:
            return conn.execute(query, params).fetchall()


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _translate(exc: sqlite3.Error) -> HivekeeperError:
    """Driver errors become ours at the store boundary."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return Unavailable("the database is busy; retry shortly", retry_after_s=1)
    return HivekeeperError(f"storage error: {text}")


# Checked by mypy: the engine has every capability of a `Store`, and writes through
# the row stores' shared algorithm.
_store: StoreFactory = SqliteStore
_row_store: type[RowStore] = SqliteStore

"""The ClickHouse engine: a server over HTTP (`clickhouse://`) or the same engine
in-process (`chdb:///dir`), both through clickhouse-connect.

Writes insert versions (`_writes`): a batch lands as *one* INSERT of new versions and
tombstones. Deletes are tombstones rather than lightweight `DELETE`s: they ride in the
same INSERT, need no mutation, and `FINAL` already hides them; merges drop what they
shadow.

A chdb directory belongs to one process (chdb runs one engine per process, and two
processes on one directory would corrupt it): the store holds an exclusive `flock`
on `<dir>/hivekeeper.lock` while open, shared by the stores of that process.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError

from hivekeeper.domain.charts import ChartPoint, ChartQuery
from hivekeeper.domain.errors import Unavailable, ValidationFailed
from hivekeeper.domain.evaluation.ops import EvaluationOp, stamp
from hivekeeper.domain.filters import EventQuery
from hivekeeper.domain.merge import DEFAULT_MAX_CHILDREN_IDS, in_write_order
from hivekeeper.domain.pricing.billing import PriceBook, shipped_prices
from hivekeeper.domain.pricing.project import PriceSpec, ProjectPrice
from hivekeeper.domain.redaction import RedactionRule
from hivekeeper.domain.tenancy import (
    ApiKey,
    KeyKind,
    Principal,
    Project,
    TenancyDump,
)
from hivekeeper.domain.types import (
    Expired,
    ExpirePending,
    ExpireSessions,
    Key,
    OutlineRow,
    Skipped,
    StoredRow,
    WriteNote,
    WriteOp,
)
from hivekeeper.store.clickhouse import _care, _evaluation_transfer, _prices, _reads, _tenancy
from hivekeeper.store.clickhouse._evaluation_reads import ClickHouseEvaluationReads
from hivekeeper.store.clickhouse._evaluation_writes import EvaluationBatch
from hivekeeper.store.clickhouse._schema import (
    API_KEYS,
    EVENTS,
    MIGRATIONS,
    MIGRATIONS_TABLE,
    SELECT_EVENTS,
    VISIBLE,
    decode_row,
    encode_row,
    single_node_ddl,
)
from hivekeeper.store.clickhouse._session import IN_CHUNK, SETTINGS, Session, translate
from hivekeeper.store.clickhouse._writes import Batch
from hivekeeper.store.evaluation_tables import EvaluationRow
from hivekeeper.store.flock import FileLock
from hivekeeper.store.lifecycle import StoreLifecycle
from hivekeeper.store.protocol import Bootstrap, StoreFactory
from hivekeeper.store.sql import tenancy
from hivekeeper.store.sql.identifiers import quote_identifier
from hivekeeper.store.sql.rows import chunks
from hivekeeper.store.sql.tenancy import StoredKey

logger = logging.getLogger(__name__)
_DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a database URL points: a server (`host`) or a chdb directory (`path`)."""

    database: str
    host: str | None = None
    port: int = 8123
    username: str = "default"
    password: str = ""
    secure: bool = False
    path: Path | None = None


def parse_url(database_url: str) -> Target:
    """`clickhouse://[user[:pass]@]host[:port][/database][?secure=true]` or
    `chdb:///abs/dir[?database=name]`. ValidationFailed for anything else."""
    parts = urlsplit(database_url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    scheme = parts.scheme.lower()
    if scheme == "chdb":
        if parts.netloc or not parts.path.startswith("/") or parts.path == "/":
            raise ValidationFailed(
                f"expected chdb:///ABSOLUTE/DIR, got {database_url!r}", field="database_url"
            )
        return Target(database=_database(query.get("database", "default")), path=Path(parts.path))
    if scheme.split("+")[0] == "clickhouse" and parts.hostname:
        secure = query.get("secure", "").lower() in ("1", "true", "yes") or scheme.endswith("s")
        return Target(
            database=_database(unquote(parts.path.strip("/")) or "default"),
            host=parts.hostname,
            port=parts.port or (8443 if secure else 8123),
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            secure=secure,
        )
    raise ValidationFailed(
        f"expected clickhouse://[USER:PASS@]HOST[:PORT]/DATABASE or chdb:///DIR, "
        f"got {database_url!r}",
        field="database_url",
    )


def _database(name: str) -> str:
    if not _DATABASE_NAME.fullmatch(name):
        raise ValidationFailed(
            f"the database name {name!r} must be letters, digits and _", field="database_url"
        )
    return name


class ClickHouseStore(ClickHouseEvaluationReads, StoreLifecycle):
    """The ClickHouse implementation of `hivekeeper.store.Store`."""

    def __init__(self, database_url: str, *, synchronous_full: bool = False) -> None:
        super().__init__()
        # `synchronous_full` is SQLite's power-loss knob; a ClickHouse server fsyncs
        # parts by its own settings (fsync_after_insert).
        del synchronous_full
        self.target = parse_url(database_url)
        self._local = threading.local()
        self._sessions: list[Session] = []
        self._sessions_lock = threading.Lock()
        self._admin_lock = threading.RLock()
        self._version_lock = threading.Lock()
        self._last_version = 0
        self._projects: dict[str, Project] = {}
        self._lock: FileLock | None = None
        if self.target.path is not None:
            self._lock = FileLock(
                self.target.path / "hivekeeper.lock",
                exclusive=True,
                busy_message=(
                    f"the chdb directory {self.target.path} is open in another process "
                    "(a running server?); stop it first"
                ),
            )

    # --- lifecycle (`StoreLifecycle` calls these once) ---
    def _start(self) -> None:
        if self.target.path is not None and self._lock is not None:
            self.target.path.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        try:
            bootstrap = self._new_session(database=None)
            try:
                bootstrap.command(
                    f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.target.database, '`')}"
                )
            finally:
                bootstrap.client.close()
            session = self._thread_session()
            self._migrate(session)
            (last,) = session.rows("SELECT max(version) FROM events")[0]
            self._last_version = int(last or 0)
        except BaseException:
            self.close()
            raise

    def _stop(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            try:
                session.client.close()
            except Exception:  # closing is best effort; the process may be exiting
                logger.debug("closing a ClickHouse client failed", exc_info=True)
        if self._lock is not None:
            self._lock.release()

    def _new_session(self, database: str | None) -> Session:
        target = self.target
        try:
            if target.path is not None:
                client = clickhouse_connect.get_client(
                    dsn=f"chdb://{target.path}", database=database, settings=SETTINGS
                )
            else:
                client = clickhouse_connect.get_client(
                    host=target.host,
                    port=target.port,
                    username=target.username,
                    password=target.password,
                    secure=target.secure,
                    database=database or "default",
                    settings=SETTINGS,
                    # Each thread has its own client; no HTTP session state is needed,
                    # and a session id would serialise a thread's queries server-side.
                    autogenerate_session_id=False,
                )
        except ClickHouseError as exc:
            raise translate(exc) from exc
        except OSError as exc:
            raise Unavailable(f"cannot reach ClickHouse: {exc}") from exc
        return Session(client)

    def _session(self) -> Session:
        """This thread's session (the writer's, a reader's, the CLI's) on the open store."""
        self._check_open()
        return self._thread_session()

    def _thread_session(self) -> Session:
        session: Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._new_session(self.target.database)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _migrate(self, session: Session) -> None:
        session.command(single_node_ddl(MIGRATIONS_TABLE))
        done = {row[0] for row in session.rows("SELECT name FROM hivekeeper_migrations FINAL")}
        for name, steps in MIGRATIONS:
            if name in done:
                continue
            for step in steps:
                session.command(single_node_ddl(step, time.time() * 1000))
            session.insert(MIGRATIONS_TABLE, [[name, time.time(), self._next_version(), 0]])

    def _next_version(self) -> int:
        """A version above every earlier one: wall-clock ns, so the newest write also
        wins across processes, and at least 2 above the last, so `version - 1` is
        free for the tombstones of rows leaving a shard (see `_writes.Batch.flush`)."""
        with self._version_lock:
            self._last_version = max(time.time_ns(), self._last_version + 2)
            return self._last_version

    # --- tenancy ---
    def bootstrap(self) -> Bootstrap:
        with self._admin_lock:
            session = self._session()
            workspace_id, _ = _tenancy.ensure_workspace(session, self._next_version)
            project = next(
                (
                    p
                    for p in _tenancy.projects(session)
                    if p.name == "default" and p.workspace_id == workspace_id
                ),
                None,
            ) or _tenancy.insert_project(
                session, "default", workspace_id, self._next_version
            )
            secret = None
            if not session.rows(f"SELECT count() FROM {API_KEYS.name} FINAL")[0][0]:
                _, secret = _tenancy.insert_key(
                    session, project, "full", self._next_version
                )
            return Bootstrap(project=project, new_key_secret=secret)

    def create_project(self, name: str) -> Project:
        name = tenancy.project_name(name)
        with self._admin_lock:
            session = self._session()
            workspace_id, _ = _tenancy.ensure_workspace(session, self._next_version)
            return _tenancy.insert_project(
                session, name, workspace_id, self._next_version
            )

    def list_projects(self) -> list[Project]:
        return _tenancy.projects(self._session())

    def create_key(self, project_name: str, kind: KeyKind) -> tuple[ApiKey, str]:
        with self._admin_lock:
            session = self._session()
            _tenancy.ensure_workspace(session, self._next_version)
            project = _tenancy.project_named(session, project_name)
            return _tenancy.insert_key(session, project, kind, self._next_version)

    def list_keys(self) -> list[ApiKey]:
        return _tenancy.keys(self._session())

    def revoke_key(self, key_id: str) -> ApiKey:
        with self._admin_lock:
            return _tenancy.revoke_key(self._session(), key_id, self._next_version)

    def authenticate(self, secret: str) -> Principal | None:
        return tenancy.principal(secret, self._find_key)

    def _find_key(self, secret_hash: str) -> StoredKey | None:
        # No cache for keys: a revocation (from the CLI, on the live database)
        # refuses the very next request. Projects never change, so they are cached.
        session = self._session()
        rows = session.rows(
            f"SELECT secret_hash, id, kind, project_id FROM {API_KEYS.name} FINAL "
            "WHERE secret_hash = {h:String} AND revoked_at IS NULL",
            {"h": secret_hash},
        )
        if not rows:
            return None
        stored_hash, key_id, kind, project_id = rows[0]
        project = self._projects.get(project_id)
        if project is None:
            self._projects.update((p.id, p) for p in _tenancy.projects(session))
            project = self._projects.get(project_id)
            if project is None:
                return None
        return StoredKey(stored_hash, key_id, kind, project)

    # --- data care ---
    def set_retention(self, project_name: str, days: int | None) -> None:
        with self._admin_lock:
            _tenancy.set_retention(
                self._session(), project_name, days, self._next_version
            )

    def retention_days(self) -> dict[str, int | None]:
        return _tenancy.retention_days(self._session())

    def has_expired(self, project_id: str, before_ms: float) -> bool:
        return _care.has_expired(self._session(), project_id, before_ms)

    def expired_pending_projects(self, before_ms: float) -> list[str]:
        return _care.expired_pending_projects(self._session(), before_ms)

    def add_redaction(self, project_name: str, pattern: str, replacement: str) -> RedactionRule:
        with self._admin_lock:
            return _tenancy.add_redaction(
                self._session(), project_name, pattern, replacement, self._next_version
            )

    def list_redactions(self) -> list[RedactionRule]:
        return _tenancy.redactions(self._session())

    def remove_redaction(self, rule_id: int) -> RedactionRule:
        with self._admin_lock:
            return _tenancy.remove_redaction(self._session(), rule_id, self._next_version)

    # --- project prices ---
    def add_price(self, project_id: str, spec: PriceSpec) -> ProjectPrice:
        with self._admin_lock:
            return _prices.add_price(self._session(), project_id, spec, self._next_version)

    def list_prices(self, project_id: str | None = None) -> list[ProjectPrice]:
        return _prices.list_prices(self._session(), project_id)

    def remove_price(self, price_id: int, project_id: str | None = None) -> ProjectPrice:
        with self._admin_lock:
            return _prices.remove_price(
                self._session(), price_id, project_id, self._next_version
            )

    def backup(self, target: Path) -> None:
        raise ValidationFailed(
            "hivekeeper backs up SQLite only; back up ClickHouse with its own command: "
            f"BACKUP DATABASE {self.target.database} TO Disk('backups', '<name>.zip') "
            "(see https://clickhouse.com/docs/operations/backup)",
            field="database_url",
        )

    def restore(self, source: Path) -> Path | None:
        raise ValidationFailed(
            "hivekeeper restores SQLite only; restore ClickHouse with its own command: "
            f"RESTORE DATABASE {self.target.database} FROM Disk('backups', '<name>.zip') "
            "(see https://clickhouse.com/docs/operations/backup)",
            field="database_url",
        )

    # --- writes ---
    def write_batch(
        self,
        ops: Sequence[WriteOp],
        now_ms: float,
        *,
        max_children_ids: int = DEFAULT_MAX_CHILDREN_IDS,
        prices: PriceBook = shipped_prices,
    ) -> list[WriteNote]:
        batch = Batch(self._session())
        evaluation = EvaluationBatch(self._session(), batch)
        place = {id(op): i for i, op in enumerate(ops)}
        notes: list[WriteNote] = []
        skipped: list[Skipped] = []
        for step in in_write_order(ops):
            if isinstance(step, list):
                batch.merge(step, now_ms, max_children_ids, skipped, prices)
            elif isinstance(step, ExpireSessions):
                batch.expire(step)
            elif isinstance(step, ExpirePending):
                notes.append(Expired(step, batch.expire_pending(step)))
            elif isinstance(step, EvaluationOp):
                evaluation.apply(step, stamp(now_ms, place[id(step)]))
            else:
                batch.delete(step)
        version = self._next_version()
        batch.flush(version)
        evaluation.flush(version)
        return [*skipped, *notes]

    # --- reads ---
    def get_event(
        self, project_id: str, event_id: str, *, include_pending: bool = False
    ) -> StoredRow | None:
        visible = "" if include_pending else f" AND {VISIBLE}"
        rows = self._session().rows(
            f"{SELECT_EVENTS} WHERE project_id = {{p:String}} AND event_id = {{e:String}}"
            f"{visible}",
            {"p": project_id, "e": event_id},
        )
        return decode_row(rows[0]) if rows else None

    def get_events(self, project_id: str, event_ids: Sequence[str]) -> list[StoredRow]:
        rows: list[StoredRow] = []
        session = self._session()
        for chunk in chunks(list(dict.fromkeys(event_ids)), IN_CHUNK):
            found = session.rows(
                f"{SELECT_EVENTS} WHERE project_id = {{p:String}} "
                f"AND event_id IN {{ids:Array(String)}} AND {VISIBLE}",
                {"p": project_id, "ids": list(chunk)},
            )
            rows += map(decode_row, found)
        return rows

    def session_events(self, project_id: str, session_id: str) -> list[StoredRow]:
        rows = self._session().rows(
            f"{SELECT_EVENTS} WHERE project_id = {{p:String}} AND session_id = {{s:String}} "
            f"AND {VISIBLE} ORDER BY start_time, event_id",
            {"p": project_id, "s": session_id},
        )
        return [decode_row(row) for row in rows]

    def children_of(self, project_id: str, event_ids: Sequence[str]) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        session = self._session()
        for chunk in chunks(event_ids, IN_CHUNK):
            for parent, child in session.rows(
                "SELECT parent_id, event_id FROM events FINAL WHERE project_id = {p:String} "
                f"AND parent_id IN {{ids:Array(String)}} AND {VISIBLE} "
                "ORDER BY start_time, event_id",
                {"p": project_id, "ids": list(chunk)},
            ):
                children.setdefault(parent, []).append(child)
        return children

    def session_outline(self, project_id: str, session_id: str) -> list[OutlineRow]:
        return _reads.session_outline(self._session().rows, project_id, session_id)

    def search_session(self, project_id: str, session_id: str, text: str) -> list[str]:
        return _reads.search_session(self._session().rows, project_id, session_id, text)

    def query_events(
        self, project_id: str, query: EventQuery
    ) -> tuple[list[StoredRow], int | None]:
        return _reads.select_events(self._session().rows, project_id, query)

    def chart(self, project_id: str, chart: ChartQuery) -> list[ChartPoint]:
        return _reads.chart(self._session().stream, project_id, chart)

    # --- copy between stores ---
    def export_tenancy(self) -> TenancyDump:
        return _tenancy.export_tenancy(self._session())

    def import_tenancy(self, dump: TenancyDump) -> None:
        with self._admin_lock:
            _tenancy.import_tenancy(self._session(), dump, self._next_version)

    def scan_rows(self, after: Key | None, limit: int) -> list[StoredRow]:
        where = (
            "WHERE (project_id, event_id) > ({a:String}, {b:String}) " if after is not None else ""
        )
        params: dict[str, object] = {"limit": limit}
        if after is not None:
            params.update(a=after[0], b=after[1])
        rows = self._session().rows(
            f"{SELECT_EVENTS} {where}ORDER BY project_id, event_id LIMIT {{limit:Int64}}", params
        )
        return [decode_row(row) for row in rows]

    def put_rows(self, rows: Sequence[StoredRow]) -> None:
        version = self._next_version()
        self._session().insert(EVENTS, [encode_row(row, version) for row in rows])

    def last_key(self) -> Key | None:
        rows = self._session().rows(
            "SELECT project_id, event_id FROM events FINAL "
            "ORDER BY project_id DESC, event_id DESC LIMIT 1"
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def count_rows(self) -> dict[str, int]:
        rows = self._session().rows(
            "SELECT project_id, count() FROM events FINAL GROUP BY project_id"
        )
        return {project_id: int(count) for project_id, count in rows}

    def export_evaluation(
        self, project_id: str, batch_size: int
    ) -> Iterator[tuple[str, list[EvaluationRow]]]:
        return _evaluation_transfer.export_evaluation(self._session(), project_id, batch_size)

    def import_evaluation(self, table: str, rows: Sequence[EvaluationRow]) -> None:
        _evaluation_transfer.import_evaluation(self._session(), self._next_version(), table, rows)


# Checked by mypy: the engine has every capability of a `Store`.
_store: StoreFactory = ClickHouseStore

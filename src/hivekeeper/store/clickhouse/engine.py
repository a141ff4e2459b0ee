"""The ClickHouse engine: a server over HTTP (`clickhouse://`) or the same engine
in-process (`chdb:///dir`), both through clickhouse-connect.

Writes insert versions: `write_batch` loads the current version of every row it
touches, applies the operations with `domain.merge.apply_ops` (the writer's single
thread makes load-merge-insert safe within a process), and inserts the result, and a
tombstone for each deleted row, as *one* INSERT into `events`: one block, so the
batch lands whole or not at all. Deletes are tombstones rather than lightweight
`DELETE`s: they ride in the same INSERT, need no mutation, and `FINAL` already hides
them; merges drop what they shadow.

A chdb directory belongs to one process (chdb runs one engine per process, and two
processes on one directory would corrupt it): the store holds an exclusive `flock`
on `<dir>/hivekeeper.lock` while open, shared by the stores of that process.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, DatabaseError, OperationalError

from hivekeeper.domain.charts import ChartPoint, ChartQuery
from hivekeeper.domain.errors import HivekeeperError, NotFound, Unavailable, ValidationFailed
from hivekeeper.domain.filters import EventQuery
from hivekeeper.domain.merge import (
    DEFAULT_MAX_CHILDREN_IDS,
    apply_ops,
    in_write_order,
    keys_to_load,
    session_keys,
    subtract_from_session,
)
from hivekeeper.domain.redaction import RedactionRule
from hivekeeper.domain.tenancy import (
    ApiKey,
    KeyKind,
    Principal,
    Project,
    TenancyDump,
    hash_key,
    key_matches,
)
from hivekeeper.domain.types import (
    DeleteEvent,
    DeleteSession,
    Expired,
    ExpirePending,
    ExpireSessions,
    Key,
    MergeOp,
    OutlineRow,
    Skipped,
    StoredRow,
    WriteNote,
    WriteOp,
)
from hivekeeper.store.clickhouse import _reads, _tenancy
from hivekeeper.store.clickhouse._schema import (
    API_KEYS,
    EVENTS,
    MIGRATIONS,
    MIGRATIONS_TABLE,
    SELECT_EVENTS,
    VISIBLE,
    Table,
    decode_row,
    encode_row,
    quote_identifier,
    single_node_ddl,
    tombstone,
)
from hivekeeper.store.flock import FileLock
from hivekeeper.store.protocol import Bootstrap

logger = logging.getLogger(__name__)
_DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# A read running longer than this is stopped by the server (max_execution_time).
_READ_LIMIT_S = 30
# Ids per `IN` parameter: keeps each query small and its parameter well under the
# server's URL/form limits.
_IN_CHUNK = 1000
_SETTINGS = {
    # An acknowledged write must be readable and durable when INSERT returns; chdb
    # turns asynchronous inserts on by default.
    "async_insert": 0,
    # `max_filters` at its ceiling (500) of the longest filter (a datetime on a JSON
    # path, ~4.6 KB of SQL) makes a query of ~2.3 MB, past the default max_query_size
    # (256 KiB), and its AST past the default limits on its size. These bind the parser,
    # so they are the client's, not a query's.
    "max_query_size": 4 << 20,
    "max_ast_elements": 2_000_000,
    "max_expanded_ast_elements": 2_000_000,
}
_READ_SETTINGS = {"max_execution_time": _READ_LIMIT_S}
_TIMEOUT_CODES = frozenset(
    {159, 160, 209, 210}
)  # TIMEOUT_EXCEEDED, TOO_SLOW, SOCKET_TIMEOUT, NETWORK_ERROR
_BUSY_CODES = frozenset(
    {202, 241, 252}
)  # TOO_MANY_SIMULTANEOUS_QUERIES, MEMORY_LIMIT, TOO_MANY_PARTS
_EXPIRED_SESSIONS = (
    "SELECT event_id, session_id FROM events FINAL WHERE project_id = {p:String} "
    "AND event_type = 'session' AND end_time < {before:Float64} AND start_time < {before:Float64} "
    "ORDER BY end_time, event_id LIMIT {limit:Int64}"
)
_ORPHANS = (
    "SELECT event_id, session_id FROM events FINAL WHERE project_id = {p:String} "
    "AND start_time < {before:Float64} AND ifNull(end_time, start_time) < {before:Float64} "
    "AND (event_type IS NULL OR event_type != 'session') AND (session_id IS NULL OR "
    "session_id NOT IN (SELECT event_id FROM events FINAL WHERE project_id = {p:String} "
    "AND event_type = 'session')) ORDER BY start_time, event_id LIMIT {limit:Int64}"
)
_PENDING_EXPIRED = "event_type IS NULL AND pending_since < {before:Float64}"
# Without FINAL: reads a few small columns of every version rather than merging all
# of them, so a version since replaced by its event may name a project for nothing
# (`expire_pending` then finds no current row to delete).
_PENDING_PROJECTS = (
    f"SELECT DISTINCT project_id FROM events WHERE is_deleted = 0 AND {_PENDING_EXPIRED}"
)
_PENDING_EXPIRED_ROWS = (
    "SELECT event_id, session_id FROM events FINAL WHERE project_id = {p:String} "
    f"AND {_PENDING_EXPIRED} ORDER BY pending_since, event_id LIMIT {{limit:Int64}}"
)


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


class _Session:
    """One clickhouse-connect client with our error translation and settings."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def rows(self, query: str, params: dict[str, object] | None = None) -> Sequence[Sequence[Any]]:
        try:
            result = self.client.query(query, parameters=params or None, settings=_READ_SETTINGS)
        except ClickHouseError as exc:
            raise _translate(exc) from exc
        return result.result_rows

    def stream(self, query: str, params: dict[str, object]) -> Iterator[Sequence[Any]]:
        try:
            with self.client.query_row_block_stream(
                query, parameters=params, settings=_READ_SETTINGS
            ) as blocks:
                for block in blocks:
                    yield from block
        except ClickHouseError as exc:
            raise _translate(exc) from exc

    def insert(self, table: Table, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        try:
            self.client.insert(
                table.name,
                rows,
                column_names=table.column_names,
                column_type_names=table.column_types,
            )
        except ClickHouseError as exc:
            raise _translate(exc) from exc

    def command(self, statement: str) -> None:
        try:
            self.client.command(statement)
        except ClickHouseError as exc:
            raise _translate(exc) from exc


class ClickHouseStore:
    """The ClickHouse implementation of `hivekeeper.store.Store`."""

    def __init__(self, database_url: str, *, synchronous_full: bool = False) -> None:
        # `synchronous_full` is SQLite's power-loss knob; a ClickHouse server fsyncs
        # parts by its own settings (fsync_after_insert).
        del synchronous_full
        self.target = parse_url(database_url)
        self._local = threading.local()
        self._sessions: list[_Session] = []
        self._sessions_lock = threading.Lock()
        self._admin_lock = threading.RLock()
        self._version_lock = threading.Lock()
        self._last_version = 0
        self._projects: dict[str, Project] = {}
        self._state = "new"
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

    # --- lifecycle ---
    def open(self) -> None:
        if self._state == "closed":
            raise Unavailable("the store is closed")
        if self.target.path is not None and self._lock is not None:
            self.target.path.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        try:
            bootstrap = self._new_session(database=None)
            try:
                bootstrap.command(
                    f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.target.database)}"
                )
            finally:
                bootstrap.client.close()
            self._state = "open"
            self._migrate()
            (last,) = self._session().rows("SELECT max(version) FROM events")[0]
            self._last_version = int(last or 0)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._state = "closed"
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            try:
                session.client.close()
            except Exception:  # closing is best effort; the process may be exiting
                logger.debug("closing a ClickHouse client failed", exc_info=True)
        if self._lock is not None:
            self._lock.release()

    def _new_session(self, database: str | None) -> _Session:
        target = self.target
        try:
            if target.path is not None:
                client = clickhouse_connect.get_client(
                    dsn=f"chdb://{target.path}", database=database, settings=_SETTINGS
                )
            else:
                client = clickhouse_connect.get_client(
                    host=target.host,
                    port=target.port,
                    username=target.username,
                    password=target.password,
                    secure=target.secure,
                    database=database or "default",
                    settings=_SETTINGS,
                    # Each thread has its own client; no HTTP session state is needed,
                    # and a session id would serialise a thread's queries server-side.
                    autogenerate_session_id=False,
                )
        except ClickHouseError as exc:
            raise _translate(exc) from exc
        except OSError as exc:
            raise Unavailable(f"cannot reach ClickHouse: {exc}") from exc
        return _Session(client)

    def _session(self) -> _Session:
        """This thread's session (the writer's, a reader's, the CLI's)."""
        if self._state != "open":
            raise Unavailable("the store is closed" if self._state == "closed" else "not open")
        session: _Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._new_session(self.target.database)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _migrate(self) -> None:
        session = self._session()
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
        free for the tombstones of rows leaving a shard (see `_Batch.flush`)."""
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
        name = name.strip()
        if not name or len(name) > 100:
            raise ValidationFailed("a project name must be 1-100 characters", field="name")
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
        # No cache for keys: a revocation (from the CLI, on the live database)
        # refuses the very next request. Projects never change, so they are cached.
        session = self._session()
        rows = session.rows(
            f"SELECT secret_hash, id, kind, project_id FROM {API_KEYS.name} FINAL "
            "WHERE secret_hash = {h:String} AND revoked_at IS NULL",
            {"h": hash_key(secret)},
        )
        if not rows or not key_matches(secret, rows[0][0]):
            return None
        _, key_id, kind, project_id = rows[0]
        project = self._projects.get(project_id)
        if project is None:
            self._projects.update((p.id, p) for p in _tenancy.projects(session))
            project = self._projects.get(project_id)
            if project is None:
                return None
        return Principal(key_id=key_id, kind=kind, project=project)

    # --- data care ---
    def set_retention(self, project_name: str, days: int | None) -> None:
        with self._admin_lock:
            _tenancy.set_retention(
                self._session(), project_name, days, self._next_version
            )

    def retention_days(self) -> dict[str, int | None]:
        return _tenancy.retention_days(self._session())

    def has_expired(self, project_id: str, before_ms: float) -> bool:
        params: dict[str, object] = {"p": project_id, "before": before_ms, "limit": 1}
        session = self._session()
        return bool(session.rows(_EXPIRED_SESSIONS, params) or session.rows(_ORPHANS, params))

    def expired_pending_projects(self, before_ms: float) -> list[str]:
        rows = self._session().rows(_PENDING_PROJECTS, {"before": before_ms})
        return [row[0] for row in rows]

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
    ) -> list[WriteNote]:
        batch = _Batch(self._session())
        notes: list[WriteNote] = []
        skipped: list[Skipped] = []
        for step in in_write_order(ops):
            if isinstance(step, list):
                batch.merge(step, now_ms, max_children_ids, skipped)
            elif isinstance(step, ExpireSessions):
                batch.expire(step)
            elif isinstance(step, ExpirePending):
                notes.append(Expired(step, batch.expire_pending(step)))
            else:
                batch.delete(step)
        batch.flush(self._next_version())
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
        ids = list(event_ids)
        for start in range(0, len(ids), _IN_CHUNK):
            for parent, child in session.rows(
                "SELECT parent_id, event_id FROM events FINAL WHERE project_id = {p:String} "
                f"AND parent_id IN {{ids:Array(String)}} AND {VISIBLE} "
                "ORDER BY start_time, event_id",
                {"p": project_id, "ids": ids[start : start + _IN_CHUNK]},
            ):
                children.setdefault(parent, []).append(child)
        return children

    def session_outline(self, project_id: str, session_id: str) -> list[OutlineRow]:
        return _reads.session_outline(self._session().rows, project_id, session_id)

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


class _Batch:
    """One `write_batch`: rows as this batch has left them, over what is stored.

    `_written` holds each changed key's new row (None: deleted); `_stored` the
    session id every stored row had when loaded, to route tombstones in a cluster.
    """

    def __init__(self, session: _Session) -> None:
        self._session = session
        self._written: dict[Key, StoredRow | None] = {}
        self._loaded: dict[Key, StoredRow] = {}
        self._stored: dict[Key, str | None] = {}

    def load(self, keys: Iterable[Key]) -> dict[Key, StoredRow]:
        """The current rows of `keys` that exist (this batch's changes included)."""
        wanted = set(keys)
        missing: dict[str, list[str]] = {}
        for project_id, event_id in wanted - self._written.keys() - self._loaded.keys():
            missing.setdefault(project_id, []).append(event_id)
        for project_id, event_ids in missing.items():
            for start in range(0, len(event_ids), _IN_CHUNK):
                chunk = event_ids[start : start + _IN_CHUNK]
                present = _reads.existing_ids(self._session.rows, project_id, chunk)
                if not present:
                    continue
                found = _reads.fetch_rows(self._session.rows, project_id, present)
                for event_id, row in found.items():
                    self._loaded[(project_id, event_id)] = row
                    self._stored[(project_id, event_id)] = row["session_id"]
        out: dict[Key, StoredRow] = {}
        for key in wanted:
            current = self._written[key] if key in self._written else self._loaded.get(key)
            if current is not None:
                # A copy: apply_ops changes rows in place.
                out[key] = cast(StoredRow, dict(current))
        return out

    def merge(
        self, ops: list[MergeOp], now_ms: float, max_children_ids: int, skipped: list[Skipped]
    ) -> None:
        if not ops:
            return
        rows = self.load(keys_to_load(ops))
        rows.update(self.load(session_keys(rows.values()) - rows.keys()))
        changed = apply_ops(rows, ops, now_ms, max_children_ids=max_children_ids, skipped=skipped)
        for key in changed:
            self._written[key] = rows[key]

    def delete(self, op: DeleteSession | DeleteEvent) -> None:
        if isinstance(op, DeleteEvent):
            key = (op.project_id, op.event_id)
            row = self.load({key}).get(key)
            if row is None:
                return
            if row["event_type"] != "session":
                session_key = (op.project_id, row["session_id"] or "")
                session = self.load({session_key}).get(session_key)
                if session is not None and row["event_type"] is not None:
                    subtract_from_session(session, row)
                    self._written[session_key] = session
                self._written[key] = None
                return
            session_id = op.event_id
        else:
            session_id = op.session_id
        self._delete_sessions(op.project_id, [session_id])

    def _delete_sessions(self, project_id: str, session_ids: Sequence[str]) -> None:
        """Delete each session: its events (pending ones included) and its own row."""
        if not session_ids:
            return
        stored = self._session.rows(
            "SELECT event_id, session_id FROM events FINAL WHERE project_id = {p:String} "
            "AND (session_id IN {s:Array(String)} OR event_id IN {s:Array(String)})",
            {"p": project_id, "s": list(session_ids)},
        )
        for event_id, session_id in stored:
            self._stored.setdefault((project_id, event_id), session_id)
        candidates = {(project_id, row[0]) for row in stored} | {
            key for key, row in self._written.items() if key[0] == project_id and row is not None
        }
        wanted = set(session_ids)
        for key, row in self.load(candidates).items():
            if row["session_id"] in wanted or row["event_id"] in wanted:
                self._written[key] = None

    def expire(self, op: ExpireSessions) -> None:
        params: dict[str, object] = {
            "p": op.project_id,
            "before": op.before_ms,
            "limit": op.limit,
        }
        # The stored candidates, then checked again on this batch's view of them.
        found = [row[0] for row in self._session.rows(_EXPIRED_SESSIONS, params)]
        current = self.load((op.project_id, s) for s in found)
        self._delete_sessions(
            op.project_id,
            [
                key[1]
                for key, row in current.items()
                if row["event_type"] == "session"
                and _before(row["end_time"], op.before_ms)
                and _before(row["start_time"], op.before_ms)
            ],
        )
        orphans = {(op.project_id, row[0]): row[1] for row in self._session.rows(_ORPHANS, params)}
        for key, session_id in orphans.items():
            self._stored.setdefault(key, session_id)
        rows = self.load(orphans)
        sessions = self.load((op.project_id, row["session_id"] or "") for row in rows.values())
        for key, row in rows.items():
            session = sessions.get((op.project_id, row["session_id"] or ""))
            start, end = row["start_time"], row["end_time"]
            if (
                row["event_type"] != "session"
                and _before(start, op.before_ms)
                and _before(end if end is not None else start, op.before_ms)
                and not (session is not None and session["event_type"] == "session")
            ):
                self._written[key] = None

    def expire_pending(self, op: ExpirePending) -> int:
        """Delete the pending rows `op` names, as this batch sees them; return how many."""
        params: dict[str, object] = {"p": op.project_id, "before": op.before_ms, "limit": op.limit}
        rows = self._session.rows(_PENDING_EXPIRED_ROWS, params)
        found = {(op.project_id, row[0]): row[1] for row in rows}
        for key, session_id in found.items():
            self._stored.setdefault(key, session_id)
        expired = [
            key
            for key, row in self.load(found).items()
            if row["event_type"] is None and _before(row["pending_since"], op.before_ms)
        ]
        for key in expired:
            self._written[key] = None
        return len(expired)

    def flush(self, version: int) -> None:
        """Insert every changed row and tombstone in one INSERT (one block: atomic)."""
        values: list[list[Any]] = []
        for key, row in self._written.items():
            stored = key in self._stored
            old_session = self._stored.get(key)
            if row is None:
                if stored:
                    values.append(tombstone(*key, old_session, version))
                continue
            if stored and old_session != row["session_id"]:
                # In a cluster the row moves shard: hide the old version where it is.
                values.append(tombstone(*key, old_session, version - 1))
            values.append(encode_row(row, version))
        self._session.insert(EVENTS, values)


def _before(value: float | None, cutoff: float) -> bool:
    return value is not None and value < cutoff


def _translate(exc: ClickHouseError) -> HivekeeperError:
    """Driver errors become ours at the store boundary."""
    code = getattr(exc, "code", None)
    if code in _TIMEOUT_CODES:
        return Unavailable(
            f"the query ran past {_READ_LIMIT_S} s; narrow the filters or date range"
        )
    if code in _BUSY_CODES or (isinstance(exc, OperationalError) and code is None):
        return Unavailable("ClickHouse is busy or unreachable; retry shortly", retry_after_s=1)
    if isinstance(exc, DatabaseError) and code == 81:  # UNKNOWN_DATABASE
        return NotFound(f"storage error: {exc}", field="database_url")
    return HivekeeperError(f"storage error: {exc}")

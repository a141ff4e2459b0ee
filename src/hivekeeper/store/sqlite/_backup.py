"""Backup and restore of a SQLite store, and the use lock that keeps them apart.

- `backup()` copies a live database with SQLite's online backup API in one step, so
  the copy is one read transaction's snapshot: consistent, and (in WAL mode) taken
  while the writer goes on committing. Everything committed before it started is in.
- `restore()` replaces the database with a verified copy. It must not run under a
  server: the server's connections would keep reading the old file's pages. A backup
  is a file from elsewhere, and its schema is code: a trigger added to it would run on
  every later write (copying one project's events into another's, say). So its schema
  must be exactly what the migrations it records make, compared with a scratch
  database migrated as far; then it is migrated to this version before it goes live.
- Every open store holds a *shared* `flock` on `<database>.lock` until it closes;
  `restore()` takes it *exclusively*, so it refuses while any hivekeeper process (a
  server or a CLI command) has the database open, and those refuse to open meanwhile.
  The kernel drops the lock when a process dies, so a crash leaves nothing stale.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from hivekeeper.domain.errors import NotFound, Unavailable, ValidationFailed
from hivekeeper.store.flock import FileLock, try_flock
from hivekeeper.store.sqlite._schema import MIGRATIONS, migrate

_REQUIRED_TABLES = frozenset({"hivekeeper_migrations", "projects", "api_keys", "events"})
_BUSY_TIMEOUT_MS = 10_000
# SQLite's own tables, made by AUTOINCREMENT and by ANALYZE (every start runs it): data
# the engine keeps for itself, never a trigger or a view, and not made by a migration.
_ENGINE_TABLES = frozenset(
    {"sqlite_sequence", "sqlite_stat1", "sqlite_stat2", "sqlite_stat3", "sqlite_stat4"}
)
SchemaObject = tuple[str, str]
"""(type, name) of an entry of `sqlite_master`: ("trigger", "leak")."""


class UseLock(FileLock):
    """The shared lock an open store holds on `<database>.lock`."""

    def __init__(self, database: Path) -> None:
        super().__init__(
            _lock_file(database),
            exclusive=False,
            busy_message=f"{database} is being restored; try again when that is done",
        )


def _lock_file(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def backup(database: Path, target: Path) -> None:
    """Copy `database` to the new file `target`, consistently, while it is in use.

    The copy is a self-contained file (rollback journal mode, no `-wal` beside it).
    Raises NotFound for no database, ValidationFailed if `target` exists or cannot be
    written (with the system's reason, in one line).
    """
    if not database.exists():
        raise NotFound(f"no database at {database}", field="database_url")
    with _system_errors(f"cannot write the backup to {target}", field="path"):
        if target.exists():
            raise ValidationFailed(f"{target} already exists; choose a new path", field="path")
        partial = target.with_name(target.name + ".partial")
        with _verified_copy(database, partial, foreign=False):
            os.replace(partial, target)
            _fsync(target.parent)


def restore(database: Path, source: Path) -> Path | None:
    """Replace `database` with the backup `source`; return where the old file was kept.

    `source` must pass `PRAGMA integrity_check` and be a hivekeeper database of this
    version or older, whose schema is exactly what its recorded migrations make; it is
    migrated to this version on the way in. The old database, its WAL already
    checkpointed into it, is renamed to `<database>.pre-restore-<UTC time>`; None
    when there was none. Raises NotFound for no `source`, ValidationFailed for a bad
    one (naming any schema object the migrations do not make) or an unwritable place,
    Unavailable while any hivekeeper process has `database` open.
    """
    if not source.is_file():
        raise NotFound(f"no backup file at {source}", field="path")
    if database.exists() and source.resolve() == database.resolve():
        raise ValidationFailed(f"{source} is the database itself", field="path")
    staged = database.with_name(database.name + ".restoring")
    with (
        _system_errors(f"cannot restore into {database}", field="database_url"),
        _verified_copy(source, staged, foreign=True),
        _exclusive(database),
    ):
        kept = _set_aside(database)
        os.replace(staged, database)
        _fsync(database.parent)
    return kept


@contextlib.contextmanager
def _system_errors(what: str, *, field: str) -> Iterator[None]:
    """An OSError (no such directory, a read-only or full disk, a name too long) becomes
    a one-line ValidationFailed: `what`, then the system's reason."""
    try:
        yield
    except OSError as exc:
        raise ValidationFailed(f"{what}: {exc.strerror or exc}", field=field) from None


@contextlib.contextmanager
def _verified_copy(source: Path, staged: Path, *, foreign: bool) -> Iterator[None]:
    """Copy `source` to `staged`, check and fsync it, then let the caller move it into
    place; whatever is left at `staged` afterwards is removed. A `foreign` file (a
    backup being restored) gets the thorough checks, then this version's migrations."""
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.unlink(missing_ok=True)
    try:
        # Created here first, so an unwritable place fails with the system's reason
        # rather than SQLite's "unable to open database file".
        staged.open("xb").close()
        _copy(source, staged)
        _check(staged, foreign=foreign)
        if foreign:
            _migrate(staged)
        _fsync(staged)
        yield
    finally:
        staged.unlink(missing_ok=True)


def _copy(source: Path, target: Path) -> None:
    """One-step online backup of `source` into the new file `target`."""
    try:
        # Read-write, though only read: a read-only connection cannot open a WAL
        # database whose `-shm` file is missing.
        src = sqlite3.connect(source)
    except sqlite3.Error as exc:
        raise ValidationFailed(f"cannot open {source}: {exc}", field="path") from None
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        src.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        # pages=-1: all pages in one step, i.e. one read transaction; stepping in
        # parts would restart whenever another process commits meanwhile.
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.DatabaseError as exc:
        raise ValidationFailed(f"{source} is not a usable SQLite database: {exc}") from None
    finally:
        dst.close()
        src.close()


def _check(path: Path, *, foreign: bool) -> None:
    """ValidationFailed unless `path` is a sound hivekeeper database we can migrate; a
    `foreign` one gets `integrity_check` (not `quick_check`) and its schema compared."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        pragma = "integrity_check" if foreign else "quick_check"
        problems = [row[0] for row in conn.execute(f"PRAGMA {pragma}(5)")]
        if problems != ["ok"]:
            raise ValidationFailed(f"the copy fails SQLite's {pragma}: {'; '.join(problems)}")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if not tables >= _REQUIRED_TABLES:
            raise ValidationFailed("not a hivekeeper database (its tables are missing)")
        applied = {row[0] for row in conn.execute("SELECT name FROM hivekeeper_migrations")}
        unknown = applied - {name for name, _ in MIGRATIONS}
        if unknown:
            raise ValidationFailed(
                f"made by a newer hivekeeper (unknown migrations: {', '.join(sorted(unknown))})"
            )
        if foreign:
            _check_schema(conn, applied)
    except sqlite3.DatabaseError as exc:
        raise ValidationFailed(f"not a usable SQLite database: {exc}") from None
    finally:
        conn.close()


def _check_schema(conn: sqlite3.Connection, applied: set[str]) -> None:
    """ValidationFailed, naming each object that differs, unless the schema is exactly
    the one the migrations `applied` make (they must be the first N, in order)."""
    level = len(applied)
    if applied != {name for name, _ in MIGRATIONS[:level]}:
        raise ValidationFailed(
            f"its recorded migrations ({', '.join(sorted(applied))}) are not the first "
            f"{level} of hivekeeper's; refusing a schema no hivekeeper made"
        )
    scratch = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(scratch, MIGRATIONS[:level])
        expected = _schema(scratch)
    finally:
        scratch.close()
    found = _schema(conn)
    unexpected, missing = found.keys() - expected.keys(), expected.keys() - found.keys()
    problems = [f"unexpected {kind} {name!r}" for kind, name in sorted(unexpected)]
    problems += [f"missing {kind} {name!r}" for kind, name in sorted(missing)]
    problems += [
        f"{kind} {name!r} differs"
        for kind, name in sorted(found.keys() & expected.keys())
        if found[kind, name] != expected[kind, name]
    ]
    if problems:
        at = MIGRATIONS[level - 1][0] if level else "no migration"
        raise ValidationFailed(
            f"the backup's schema is not the one hivekeeper's migrations make (up to {at}): "
            f"{'; '.join(problems)}; refusing to restore it"
        )


def _schema(conn: sqlite3.Connection) -> dict[SchemaObject, tuple[str, str | None]]:
    """Every table, index, view and trigger: (type, name) → (table, SQL)."""
    return {
        (kind, name): (table, sql)
        for kind, name, table, sql in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master"
        )
        if not (kind == "table" and name in _ENGINE_TABLES)
    }


def _migrate(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn)
    finally:
        conn.close()


@contextlib.contextmanager
def _exclusive(database: Path) -> Iterator[None]:
    fd = try_flock(_lock_file(database), fcntl.LOCK_EX)
    if fd is None:
        raise Unavailable(
            f"a hivekeeper server or command is using {database}; stop the server before restoring"
        )
    try:
        yield
    finally:
        os.close(fd)


def _set_aside(database: Path) -> Path | None:
    """Fold the WAL into the database file and rename it; its `-wal`/`-shm` must not
    outlive it, or SQLite would replay them into the restored file."""
    kept = None
    if database.exists():
        conn = sqlite3.connect(database, isolation_level=None)
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                raise Unavailable(f"{database} is busy; stop whatever uses it and retry")
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = database.with_name(f"{database.name}.pre-restore-{stamp}")
        os.replace(database, kept)
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    return kept


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

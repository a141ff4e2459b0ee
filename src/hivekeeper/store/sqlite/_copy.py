"""What `hivekeeper copy` reads from and writes to a SQLite store: tenancy records as
plain rows, and event rows in key order."""

from __future__ import annotations

import sqlite3

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.tenancy import TenancyDump, TenancyRow
from hivekeeper.domain.types import Key, StoredRow
from hivekeeper.store.sql.rows import decode_row
from hivekeeper.store.sqlite._schema import SELECT_EVENTS

# Parents before children, so foreign keys hold at every insert.
_TENANCY_TABLES = ("organizations", "workspaces", "projects", "api_keys", "redaction_rules")


def export_tenancy(conn: sqlite3.Connection) -> TenancyDump:
    tables: dict[str, tuple[TenancyRow, ...]] = {}
    for table in _TENANCY_TABLES:
        cursor = conn.execute(f"SELECT * FROM {table} ORDER BY rowid")
        names = [d[0] for d in cursor.description]
        tables[table] = tuple(dict(zip(names, row, strict=True)) for row in cursor)
    return TenancyDump(**tables)


def import_tenancy(conn: sqlite3.Connection, dump: TenancyDump) -> None:
    """Insert the rows whose id this store lacks; the caller holds the transaction."""
    for table in _TENANCY_TABLES:
        known = {info[1] for info in conn.execute(f"PRAGMA table_info({table})")}
        for row in getattr(dump, table):
            if not row.keys() <= known:
                raise ValidationFailed(
                    f"{table} has no column {sorted(row.keys() - known)[0]!r}", field=table
                )
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            conn.execute(
                f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())
            )


def scan_rows(conn: sqlite3.Connection, after: Key | None, limit: int) -> list[StoredRow]:
    # Row values compare column by column, so the unique (project_id, event_id) index
    # serves both the seek and the order; SQLite's default collation is code-point order.
    where, params = ("WHERE (project_id, event_id) > (?, ?) ", after) if after else ("", ())
    cursor = conn.execute(
        f"{SELECT_EVENTS} {where}ORDER BY project_id, event_id LIMIT ?", (*params, limit)
    )
    return [decode_row(values) for values in cursor]


def last_key(conn: sqlite3.Connection) -> Key | None:
    row = conn.execute(
        "SELECT project_id, event_id FROM events ORDER BY project_id DESC, event_id DESC LIMIT 1"
    ).fetchone()
    return (row[0], row[1]) if row else None


def count_rows(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT project_id, COUNT(*) FROM events GROUP BY project_id"))

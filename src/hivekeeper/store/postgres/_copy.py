"""What `hivekeeper copy` reads from and writes to a PostgreSQL store: tenancy records
as plain rows, and event rows in key order (code-point order, as `COLLATE "C"` sorts)."""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.tenancy import TenancyDump, TenancyRow
from hivekeeper.domain.types import Key, StoredRow
from hivekeeper.store.postgres._schema import SELECT_EVENTS
from hivekeeper.store.sql.rows import decode_row

Connection = psycopg.Connection[TupleRow]

# Parents before children, so foreign keys hold at every insert.
_TENANCY_TABLES = ("organizations", "workspaces", "projects", "api_keys", "redaction_rules")


def export_tenancy(conn: Connection) -> TenancyDump:
    tables: dict[str, tuple[TenancyRow, ...]] = {}
    for table in _TENANCY_TABLES:
        order = "id" if table == "redaction_rules" else "created_at, id"
        cursor = conn.execute(
            sql.SQL("SELECT * FROM {} ORDER BY " + order).format(sql.Identifier(table))
        )
        names = [d.name for d in cursor.description or ()]
        tables[table] = tuple(dict(zip(names, row, strict=True)) for row in cursor)
    return TenancyDump(**tables)


def import_tenancy(conn: Connection, dump: TenancyDump) -> None:
    """Insert the rows whose id this store lacks; the caller holds the transaction."""
    for table in _TENANCY_TABLES:
        known = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s",
                (table,),
            )
        }
        for row in getattr(dump, table):
            if not row.keys() <= known:
                raise ValidationFailed(
                    f"{table} has no column {sorted(row.keys() - known)[0]!r}", field=table
                )
            statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING")
            conn.execute(
                statement.format(
                    sql.Identifier(table),
                    sql.SQL(", ").join(map(sql.Identifier, row)),
                    sql.SQL(", ").join(sql.Placeholder() * len(row)),
                ),
                tuple(row.values()),
            )
    # Rules keep their ids; the next new rule must be numbered past them.
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('redaction_rules', 'id'), "
        "COALESCE(MAX(id), 0) + 1, false) FROM redaction_rules"
    )


def scan_rows(conn: Connection, after: Key | None, limit: int) -> list[StoredRow]:
    where, params = ("WHERE (project_id, event_id) > (%s, %s) ", after) if after else ("", ())
    cursor = conn.execute(
        f"{SELECT_EVENTS} {where}ORDER BY project_id, event_id LIMIT %s", (*params, limit)
    )
    return [decode_row(values) for values in cursor]


def last_key(conn: Connection) -> Key | None:
    row = conn.execute(
        "SELECT project_id, event_id FROM events ORDER BY project_id DESC, event_id DESC LIMIT 1"
    ).fetchone()
    return (row[0], row[1]) if row else None


def count_rows(conn: Connection) -> dict[str, int]:
    return {
        row[0]: row[1]
        for row in conn.execute("SELECT project_id, COUNT(*) FROM events GROUP BY project_id")
    }

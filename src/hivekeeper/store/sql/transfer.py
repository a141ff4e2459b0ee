"""What `hivekeeper copy` reads from and writes to a SQL store (SQLite, PostgreSQL):
tenancy records as plain rows, and event rows in key order.

Key order is code-point order in both engines (SQLite's default collation, PostgreSQL's
`COLLATE "C"` columns), so a copy between them pages the same way. The statements use
`?` placeholders, like `sql.tenancy`: a store passes a connection whose `execute` binds
them, and owns the transaction.
"""

from __future__ import annotations

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.tenancy import TenancyDump, TenancyRow
from hivekeeper.domain.types import Key, StoredRow
from hivekeeper.store.sql.identifiers import quote_identifier
from hivekeeper.store.sql.rows import SELECT_EVENTS, decode_row
from hivekeeper.store.sql.tenancy import Connection

# Parents before children, so foreign keys hold at every insert.
_TENANCY_TABLES = (
    "organizations",
    "workspaces",
    "projects",
    "api_keys",
    "redaction_rules",
    "model_prices",
)
_BY_ID = frozenset({"redaction_rules", "model_prices"})
"""Tables whose rows keep the order of their ids (rules apply in it, prices win by it)."""


def export_tenancy(conn: Connection) -> TenancyDump:
    """Every tenancy record, each table oldest first (rules by id, the order they apply)."""
    tables: dict[str, tuple[TenancyRow, ...]] = {}
    for table in _TENANCY_TABLES:
        order = "id" if table in _BY_ID else "created_at, id"
        cursor = conn.execute(f"SELECT * FROM {quote_identifier(table)} ORDER BY {order}")
        names = [column[0] for column in cursor.description]
        tables[table] = tuple(dict(zip(names, row, strict=True)) for row in cursor)
    return TenancyDump(**tables)


def import_tenancy(conn: Connection, dump: TenancyDump) -> None:
    """Insert the rows whose id this store lacks; the caller holds the transaction.
    ValidationFailed for a column the table does not have."""
    for table in _TENANCY_TABLES:
        name = quote_identifier(table)
        known = {column[0] for column in conn.execute(f"SELECT * FROM {name} LIMIT 0").description}
        for row in getattr(dump, table):
            if not row.keys() <= known:
                raise ValidationFailed(
                    f"{table} has no column {sorted(row.keys() - known)[0]!r}", field=table
                )
            columns = ", ".join(quote_identifier(column) for column in row)
            marks = ", ".join("?" for _ in row)
            conn.execute(
                f"INSERT INTO {name} ({columns}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING",
                tuple(row.values()),
            )


def scan_rows(conn: Connection, after: Key | None, limit: int) -> list[StoredRow]:
    """Up to `limit` rows, pending ones included, in key order after the key `after`."""
    # Row values compare column by column, so the unique (project_id, event_id) index
    # serves both the seek and the order.
    where, params = ("WHERE (project_id, event_id) > (?, ?) ", after) if after else ("", ())
    cursor = conn.execute(
        f"{SELECT_EVENTS} {where}ORDER BY project_id, event_id LIMIT ?", (*params, limit)
    )
    return [decode_row(values) for values in cursor]


def last_key(conn: Connection) -> Key | None:
    """The greatest key stored, in `scan_rows` order."""
    row = conn.execute(
        "SELECT project_id, event_id FROM events ORDER BY project_id DESC, event_id DESC LIMIT 1"
    ).fetchone()
    return (row[0], row[1]) if row else None


def count_rows(conn: Connection) -> dict[str, int]:
    """Stored rows per project id, pending ones included."""
    cursor = conn.execute("SELECT project_id, COUNT(*) FROM events GROUP BY project_id")
    return {row[0]: row[1] for row in cursor}

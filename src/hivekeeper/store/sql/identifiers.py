"""The one way an identifier enters our SQL: quoted, so any text stays one name.

Identifiers come from our own schema (table and column names, allow-listed) or from
an operator's command line (a ClickHouse cluster or database name), never from an API
request. SQLite and PostgreSQL quote with double quotes, doubled inside; ClickHouse
with backquotes, escaped with backslashes.
"""

from __future__ import annotations

from typing import Literal

from hivekeeper.domain.filters import COLUMNS, NAMESPACES
from hivekeeper.domain.types import ROLLUP_FIELDS

EVENT_IDENTIFIERS = frozenset(COLUMNS) | frozenset(NAMESPACES) | frozenset(ROLLUP_FIELDS)
"""The events columns a query may name: filterable columns, JSON namespaces, roll-ups."""

Quote = Literal['"', "`"]


def quote_identifier(name: str, quote: Quote = '"') -> str:
    """`name` as one quoted identifier: in double quotes (SQLite, PostgreSQL) or, with
    `quote="`"`, in ClickHouse's backquotes."""
    if quote == '"':
        return '"' + name.replace('"', '""') + '"'
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_column(name: str, quote: Quote = '"') -> str:
    """An events column (`EVENT_IDENTIFIERS`) quoted; any other name is a programming
    error (ValueError), so a query builder can only ever name what the allow-list
    holds."""
    if name not in EVENT_IDENTIFIERS:
        raise ValueError(f"{name!r} is not an events column")
    return quote_identifier(name, quote)

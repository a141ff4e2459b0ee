"""One clickhouse-connect client with our settings, and ClickHouse's errors translated
into ours at the store boundary."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, DatabaseError, OperationalError

from hivekeeper.domain.errors import HivekeeperError, NotFound, Unavailable
from hivekeeper.store.clickhouse._schema import Table

# A read running longer than this is stopped by the server (max_execution_time).
_READ_LIMIT_S = 30
# Ids per `IN` parameter: keeps each query small and its parameter well under the
# server's URL/form limits.
IN_CHUNK = 1000
SETTINGS = {
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


class Session:
    """One clickhouse-connect client with our error translation and settings."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def rows(self, query: str, params: dict[str, object] | None = None) -> Sequence[Sequence[Any]]:
        try:
            result = self.client.query(query, parameters=params or None, settings=_READ_SETTINGS)
        except ClickHouseError as exc:
            raise translate(exc) from exc
        return result.result_rows

    def stream(self, query: str, params: dict[str, object]) -> Iterator[Sequence[Any]]:
        try:
            with self.client.query_row_block_stream(
                query, parameters=params, settings=_READ_SETTINGS
            ) as blocks:
                for block in blocks:
                    yield from block
        except ClickHouseError as exc:
            raise translate(exc) from exc

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
            raise translate(exc) from exc

    def command(self, statement: str) -> None:
        try:
            self.client.command(statement)
        except ClickHouseError as exc:
            raise translate(exc) from exc


def translate(exc: ClickHouseError) -> HivekeeperError:
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

"""Counting the queries a store sends, on every engine, to hold reads to a fixed number.

SQLite reports each statement it runs to a trace callback on the reading connection;
PostgreSQL's and ClickHouse's queries are counted where the driver sends them
(psycopg's `Cursor.execute`, our ClickHouse `Session`). Only queries are counted
(`SELECT`, `WITH`): not the transaction statements around them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hivekeeper.store import Store


@contextlib.contextmanager
def count_statements(store: Store) -> Iterator[list[str]]:
    """The queries `store` sends from this thread while the block runs (SQLite), or from
    any thread (the others), appended to the yielded list as they run."""
    queries: list[str] = []

    def note(text: object) -> None:
        query = text.decode() if isinstance(text, bytes) else str(text)
        if query.lstrip().upper().startswith(("SELECT", "WITH")):
            queries.append(query)

    engine = type(store).__name__
    if engine == "SqliteStore":
        with store._read() as conn:  # type: ignore[attr-defined]  # this thread's reader
            conn.set_trace_callback(note)
            try:
                yield queries
            finally:
                conn.set_trace_callback(None)
        return
    with pytest.MonkeyPatch.context() as patch:
        if engine == "PostgresStore":
            import psycopg

            patch.setattr(psycopg.Cursor, "execute", _counted(psycopg.Cursor.execute, note))
        else:
            from hivekeeper.store.clickhouse._session import Session

            patch.setattr(Session, "rows", _counted(Session.rows, note))
            patch.setattr(Session, "stream", _counted(Session.stream, note))
        yield queries


def _counted(method: Callable[..., Any], note: Callable[[object], None]) -> Callable[..., Any]:
    def counting(self: object, query: object, *args: Any, **kwargs: Any) -> Any:
        note(query)
        return method(self, query, *args, **kwargs)

    return counting

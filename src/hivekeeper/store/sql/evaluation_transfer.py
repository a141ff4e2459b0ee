"""What `hivekeeper copy` reads from and writes to a SQL store's evaluation plane: its
tables as they are (`store.evaluation_tables`), a project at a time, in key order.

Reading pages by primary key, each page in its own short read; writing replaces the
row of the same key, so a copy run again after an interruption writes each row once.
Placeholders are `?`, as in `sql.evaluation_writes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.store.evaluation_tables import (
    EVALUATION_TABLES,
    TABLES_BY_NAME,
    EvaluationRow,
    EvaluationTable,
)
from hivekeeper.store.sql.evaluation_db import dump, in_marks, load

Fetch = Callable[[str, Sequence[object]], Sequence[Sequence[Any]]]
"""Run one SELECT (with `?` placeholders) in a read of its own and return its rows."""


class Writer(Protocol):
    """A connection inside the caller's transaction (`evaluation_db.EvaluationDb` is one)."""

    def executemany(self, query: str, params: Sequence[Sequence[object]]) -> None: ...


def export_evaluation(
    fetch: Fetch, project_id: str, batch_size: int
) -> Iterator[tuple[str, list[EvaluationRow]]]:
    """The project's evaluation records: table by table (`EVALUATION_TABLES` order), each
    in primary key order, at most `batch_size` rows a batch."""
    for table in EVALUATION_TABLES:
        columns = ", ".join(table.columns)
        order = ", ".join(table.key)
        rest = table.key[1:]
        after: Sequence[object] | None = None
        while True:
            seek = f" AND ({', '.join(rest)}) > {in_marks(len(rest))}" if after else ""
            values = fetch(
                f"SELECT {columns} FROM {table.name} WHERE project_id = ?{seek} "
                f"ORDER BY {order} LIMIT ?",
                (project_id, *(after or ()), batch_size),
            )
            if not values:
                break
            rows = [_decode(table, row) for row in values]
            yield table.name, rows
            after = [rows[-1][column] for column in rest]


def import_evaluation(db: Writer, table_name: str, rows: Sequence[EvaluationRow]) -> None:
    """Write rows of `export_evaluation`'s shape (of any engine), each replacing the row of
    its key; the caller holds the transaction. ValidationFailed for an unknown table."""
    table = TABLES_BY_NAME.get(table_name)
    if table is None:
        raise ValidationFailed(f"no evaluation table {table_name!r}", field="table")
    updates = ", ".join(f"{c} = excluded.{c}" for c in table.columns if c not in table.key)
    db.executemany(
        f"INSERT INTO {table.name} ({', '.join(table.columns)}) "
        f"VALUES {in_marks(len(table.columns))} "
        f"ON CONFLICT ({', '.join(table.key)}) DO UPDATE SET {updates}",
        [_encode(table, row) for row in rows],
    )


def _decode(table: EvaluationTable, values: Sequence[Any]) -> EvaluationRow:
    row = dict(zip(table.columns, values, strict=True))
    for column in table.json:
        row[column] = load(row[column])
    for column in table.flags:
        row[column] = bool(row[column])
    return row


def _encode(table: EvaluationTable, row: EvaluationRow) -> list[object]:
    return [dump(row[c]) if c in table.json else row[c] for c in table.columns]

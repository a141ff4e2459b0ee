"""Exports read a bounded number of bytes at a time: batches over a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import orjson
import pytest

from hivekeeper.domain.filters import EventQuery
from hivekeeper.domain.merge import empty_row
from hivekeeper.domain.types import StoredRow
from hivekeeper.store.sqlite.engine import SqliteStore
from hivekeeper.web.exports import BatchReader

T0 = 1_795_694_400_000.0
BUDGET = 40_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(f"sqlite:///{tmp_path / 'exports.db'}")
    opened.open()
    try:
        yield opened
    finally:
        opened.close()


def _put(store: SqliteStore, widths: list[int]) -> list[str]:
    """One visible tool event per width, with an `inputs.doc` that long, in time order."""
    rows = []
    for i, width in enumerate(widths):
        row = empty_row("p", f"e{i:04d}")
        fields: dict[str, Any] = {
            "session_id": "s",
            "event_type": "tool",
            "start_time": T0 + i,
            "inputs": {"doc": "z" * width},
        }
        cast(dict[str, Any], row).update(fields)
        rows.append(row)
    store.put_rows(rows)
    return [row["event_id"] for row in rows]


def _batches(reader: BatchReader) -> list[list[StoredRow]]:
    batches = []
    while not reader.done:
        batches.append(reader.next_batch().rows)
    return batches


def _size(rows: list[StoredRow]) -> int:
    return sum(len(orjson.dumps(row, default=repr)) for row in rows)


def test_batches_of_even_rows_hold_the_budget_and_one_row_at_most(store: SqliteStore) -> None:
    ids = _put(store, [5_000] * 60)
    reader = BatchReader(store, "p", EventQuery(limit=60), None, BUDGET)
    batches = _batches(reader)
    row_bytes = _size(batches[0][:1])
    assert [r["event_id"] for batch in batches for r in batch] == ids
    assert all(_size(batch) < BUDGET + row_bytes for batch in batches)
    assert len(batches) >= len(ids) * row_bytes // (BUDGET + row_bytes)
    assert reader.total == 60


def test_after_a_narrow_first_row_the_rows_asked_for_grow_fourfold(store: SqliteStore) -> None:
    ids = _put(store, [10] + [20_000] * 20)
    batches = _batches(BatchReader(store, "p", EventQuery(), None, BUDGET))
    # One narrow row, then four wide ones: never the ~170 rows the narrow row would fit.
    assert [len(batch) for batch in batches[:2]] == [5, 2]
    assert [r["event_id"] for batch in batches for r in batch] == ids


def test_a_page_starts_at_its_offset_and_ends_after_its_rows(store: SqliteStore) -> None:
    ids = _put(store, [300, 9_000, 40, 2_500] * 30)
    query = EventQuery(limit=50, page=2, descending=True)
    reader = BatchReader(store, "p", query, query.limit, BUDGET)
    rows = [r["event_id"] for batch in _batches(reader) for r in batch]
    assert rows == ids[::-1][50:100]
    assert reader.total == 120
    beyond = BatchReader(store, "p", replace(query, page=4), query.limit, BUDGET)
    assert _batches(beyond) == [[]] and beyond.total == 120

"""The primitives the row stores (SQLite, PostgreSQL) give the shared write algorithm,
`store.sql.writes.apply`: here `insert_new`, which the insert-first ingest path builds
on, and the write transaction they run in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from hivekeeper.domain.merge import new_row
from hivekeeper.domain.types import StoredRow, Upsert
from hivekeeper.store import Store, open_store
from hivekeeper.store.sql.writes import RowStore, RowWrites
from tests.support.databases import fresh_database_url

NOW = 1_800_000_000_000.0
ROW_STORES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres")]


@pytest.fixture(params=ROW_STORES)
def row_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store = open_store(fresh_database_url(request.param, tmp_path))
    store.open()
    yield store
    store.close()


def _transaction(store: Store) -> AbstractContextManager[RowWrites]:
    assert isinstance(store, RowStore), "a row store writes through store.sql.writes.apply"
    return store.write_transaction()


def _tool(project: str, event_id: str, name: str = "tool") -> StoredRow:
    patch = {"event_id": event_id, "session_id": "s", "event_type": "tool", "event_name": name}
    return new_row(project, patch, NOW)  # type: ignore[arg-type]  # a literal EventPatch


def test_insert_new_stores_what_is_missing_and_names_what_was_there(row_store: Store) -> None:
    project = row_store.bootstrap().project.id
    first, second = _tool(project, "first"), _tool(project, "second")
    with _transaction(row_store) as writes:
        assert writes.insert_new([first, second]) == set()
        assert writes.insert_new([]) == set()
    stored = row_store.get_event(project, "first")
    assert stored == first
    third, clash = _tool(project, "third"), _tool(project, "first", name="other")
    with _transaction(row_store) as writes:
        assert writes.insert_new([third, clash]) == {(project, "first")}
    assert row_store.get_event(project, "third") == third
    assert row_store.get_event(project, "first") == stored  # left as it was


def test_a_write_transaction_that_raises_leaves_nothing(row_store: Store) -> None:
    project = row_store.bootstrap().project.id
    with pytest.raises(RuntimeError), _transaction(row_store) as writes:
        writes.insert_new([_tool(project, "e")])
        raise RuntimeError("abandoned")
    assert row_store.get_event(project, "e") is None
    # The store goes on writing.
    row_store.write_batch([Upsert(project, {"event_id": "e", "event_type": "tool"})], NOW)
    assert row_store.get_event(project, "e") is not None

"""A store's life on every engine: opened once, closed for good, and clear about it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hivekeeper.domain.errors import Unavailable
from hivekeeper.domain.types import Upsert
from hivekeeper.store import StoreState, open_store
from tests.support.databases import fresh_database_url


def test_a_store_opens_once_and_refuses_every_use_once_closed(
    tmp_path: Path, store_kind: str
) -> None:
    store = open_store(fresh_database_url(store_kind, tmp_path))
    assert store.state is StoreState.NEW
    store.open()
    store.open()  # idempotent
    assert store.state is StoreState.OPEN
    project = store.bootstrap().project.id
    store.write_batch([Upsert(project, {"event_id": "e", "event_type": "tool"})], 1.0)
    assert store.get_event(project, "e") is not None
    store.close()
    store.close()  # idempotent
    assert store.state is StoreState.CLOSED
    uses: list[Callable[[], object]] = [
        store.open,
        store.list_projects,
        lambda: store.get_event(project, "e"),
        lambda: store.write_batch([Upsert(project, {"event_id": "f", "event_type": "tool"})], 1.0),
        store.count_rows,
    ]
    for use in uses:
        with pytest.raises(Unavailable, match="the store is closed"):
            use()

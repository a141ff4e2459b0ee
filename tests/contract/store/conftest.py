"""A fresh, open store of each engine, for the Store-level contract suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hivekeeper.store import Store, open_store
from tests.support.databases import fresh_database_url


@pytest.fixture
def store(tmp_path: Path, store_kind: str) -> Iterator[Store]:
    """An opened store on a database no test has used, closed afterwards."""
    opened = open_store(fresh_database_url(store_kind, tmp_path))
    opened.open()
    yield opened
    opened.close()


@pytest.fixture
def project(store: Store) -> str:
    """The id of the bootstrapped default project."""
    return store.bootstrap().project.id

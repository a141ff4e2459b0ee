"""The end-to-end tests that measure a server under load, kill it or starve it run
alone: `scripts/test` runs every other test on all cores first (pytest-xdist), then
these on an otherwise idle machine, so a neighbour's CPU never decides their outcome.
"""

from __future__ import annotations

import pytest

ALONE = frozenset(
    {
        "test_crash_safety.py",
        "test_durability.py",
        "test_fairness.py",
        "test_overload_recovery.py",
        "test_shutdown.py",
        "test_slow_clients.py",
        "test_workers.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent.name == "e2e" and item.path.name in ALONE:
            item.add_marker(pytest.mark.alone)

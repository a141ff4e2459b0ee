"""Isolation cases of the experiments, run and compare pages (merged into
tests/ui/test_isolation.py's CASES): project B's browser naming project A's runs and
dataset gets nothing of them.

A's runs (tests/ui/experiment_data.py) are named apart from the isolation markers, so
each case also checks that no answer holds their names or outputs (their ids, which
B's own requests name, may be echoed back in a "no such run" message).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.ui.conftest import Seeded
from tests.ui.experiment_data import DATASET, NEW_NAME, OLD_NAME, experiments_of

Case = Callable[[httpx.Client, Seeded], list[httpx.Response]]


def _nothing_of_a(answers: list[httpx.Response], a: Seeded) -> list[httpx.Response]:
    for answer in answers:
        for marker in (OLD_NAME, NEW_NAME, "parcel arrives"):
            assert marker not in answer.text, (answer.url, marker)
    return answers


def _naming_a(path: str, *, own: bool) -> Case:
    """B's browser on a page naming A's runs or dataset, under A's project id (not
    found) or under B's own (`own`): nothing of A either way."""

    def call(client: httpx.Client, a: Seeded) -> list[httpx.Response]:
        runs = experiments_of(a)
        pid = a.second_project_id if own else a.project_id
        url = path.format(pid=pid, old=runs.old, new=runs.new, dataset=DATASET)
        return _nothing_of_a([client.get(url)], a)

    return call


def _foreign(path: str) -> Case:
    return _naming_a(path, own=False)


def _own(path: str) -> Case:
    return _naming_a(path, own=True)


EXPERIMENT_CASES: dict[tuple[str, str], list[Case]] = {
    ("GET", "/p/{pid}/experiments"): [
        _foreign("/p/{pid}/experiments"),
        _own("/p/{pid}/experiments"),
    ],
    ("GET", "/p/{pid}/experiments/runs"): [
        _foreign("/p/{pid}/experiments/runs?dataset={dataset}"),
        _own("/p/{pid}/experiments/runs"),
        _own("/p/{pid}/experiments/runs?dataset={dataset}"),
    ],
    ("GET", "/p/{pid}/runs/{run_id:path}"): [
        _foreign("/p/{pid}/runs/{old}"),
        _own("/p/{pid}/runs/{old}"),
    ],
    ("GET", "/p/{pid}/compare"): [
        _foreign("/p/{pid}/compare?old={old}&new={new}"),
        _own("/p/{pid}/compare?old={old}&new={new}"),
        _own("/p/{pid}/compare?run={old}&run={new}"),
        _own("/p/{pid}/compare"),
    ],
}
"""Cases of the experiment pages' routes."""

SESSION_FILTER_CASES: list[Case] = [
    _own("/p/{pid}/sessions?run={old}"),
    _own("/p/{pid}/sessions?dataset={dataset}"),
]
"""B's sessions list filtered by A's run or dataset (added to the sessions list's cases)."""

PAGES = ("/p/{pid}/experiments", "/p/{pid}/experiments/runs", "/p/{pid}/runs/{old}",
         "/p/{pid}/compare?old={old}&new={new}")  # fmt: skip
"""Every experiment page, for the forged-POST test."""

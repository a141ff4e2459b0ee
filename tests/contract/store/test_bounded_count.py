"""A count bounded by `EventQuery.count_limit`: exact below the bound, the bound past it,
on every store (what the sessions list's "10,000+" reads)."""

from __future__ import annotations

from hivekeeper.domain.filters import EventQuery
from hivekeeper.domain.types import Upsert
from hivekeeper.store import Store

NOW = 1_800_000_000_000.0


def test_a_bounded_count_is_exact_below_the_bound_and_stops_at_it(
    store: Store, project: str
) -> None:
    sessions = [f"s{i}" for i in range(5)]
    store.write_batch(
        [
            Upsert(project, {"event_id": s, "session_id": s, "event_type": "session",
                             "start_time": NOW + i})
            for i, s in enumerate(sessions)
        ],
        NOW,
    )  # fmt: skip
    rows, total = store.query_events(project, EventQuery(limit=2, count_limit=3))
    assert (len(rows), total) == (2, 3)  # stopped at the bound
    rows, total = store.query_events(project, EventQuery(limit=2, count_limit=50))
    assert (len(rows), total) == (2, 5)  # exact below it
    rows, total = store.query_events(project, EventQuery(limit=2, page=3, count_limit=50))
    assert [r["event_id"] for r in rows] == ["s4"] and total == 5

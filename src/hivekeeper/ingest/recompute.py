"""Re-pricing stored events (`hivekeeper costs recompute`), through a writer as every write.

Each model event of the project that started on or after the given time gets an
update that changes nothing but makes the merge rule price it again with the current
prices (`domain.pricing.billing`): a computed cost follows prices added or removed
since, a given cost stays as it is, and sessions' roll-ups follow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hivekeeper.domain.filters import EventQuery, parse_conditions
from hivekeeper.domain.types import Update
from hivekeeper.ingest.prices import ProjectPrices
from hivekeeper.ingest.writer import Writer
from hivekeeper.store import Store

BATCH_EVENTS = 500
"""Events re-priced per transaction."""


@dataclass(frozen=True, slots=True)
class Recomputed:
    """What a recompute did: the model events it priced again."""

    events: int


async def recompute_costs(
    store: Store, project_id: str, since_ms: float, *, batch_events: int = BATCH_EVENTS
) -> Recomputed:
    """Price again every model event of `project_id` that started at or after
    `since_ms`, `batch_events` per transaction. Raises the store's errors."""
    prices = ProjectPrices(store)
    prices.load()
    writer = Writer(
        store, max_queue_ops=batch_events, max_batch_ops=batch_events, prices=prices.table
    )
    conditions = parse_conditions([{"field": "event_type", "operator": "is", "value": "model"}], 1)
    query = EventQuery(
        conditions=conditions,
        start_ms=since_ms,
        projections=("event_id", "start_time"),
        limit=batch_events,
        count_total=False,
    )
    count = 0
    writer.start()
    try:
        while True:
            rows, _ = store.query_events(project_id, query)
            if not rows:
                return Recomputed(count)
            await writer.submit([Update(project_id, {"event_id": row["event_id"]}) for row in rows])
            count += len(rows)
            last = rows[-1]
            query = replace(query, after=(last["start_time"], last["event_id"]))
    finally:
        writer.close()

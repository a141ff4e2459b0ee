"""One page of a list, and whether another follows, without counting every match."""

from __future__ import annotations

from dataclasses import replace

from hivekeeper.domain.filters import EventQuery
from hivekeeper.domain.types import StoredRow
from hivekeeper.web import AppContext


async def read_page(
    ctx: AppContext, project_id: str, query: EventQuery
) -> tuple[list[StoredRow], bool]:
    """The rows of `query`'s page and whether a next page has any.

    A count over a million matches costs more than the page itself, so instead a full
    page is followed by a one-row probe starting after its last row.
    """
    query = replace(query, count_total=False)
    rows, _ = await ctx.read(ctx.store.query_events, project_id, query)
    if len(rows) < query.limit:
        return rows, False
    probe = replace(query, limit=1, page=1, after=after_last(rows, query))
    following, _ = await ctx.read(ctx.store.query_events, project_id, probe)
    return rows, bool(following)


def after_last(rows: list[StoredRow], query: EventQuery) -> tuple[float | None, str]:
    """The keyset cursor that starts a page after the last of `rows`."""
    last = rows[-1]
    value = last[query.sort]
    return (None if value is None else float(value), last["event_id"])

"""One page of a list, and whether another follows, without counting every match."""

from __future__ import annotations

from dataclasses import replace

from hivekeeper.domain.filters import EventQuery
from hivekeeper.domain.types import StoredRow
from hivekeeper.web import AppContext, query_after


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
    probe = replace(query_after(rows, query), limit=1)
    following, _ = await ctx.read(ctx.store.query_events, project_id, probe)
    return rows, bool(following)

"""The explorer's view as a download: JSONL or CSV, streamed a page at a time.

Memory stays flat whatever the size: each page of rows is read, written out and
dropped before the next is read. The API key is checked once, when the download
starts; a download is one request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hivekeeper.api.context import AppContext, context
from hivekeeper.domain.filters import EventQuery, project_event
from hivekeeper.domain.render import render_event
from hivekeeper.domain.tenancy import Project
from hivekeeper.ui import auth, params
from hivekeeper.ui.csv_cells import csv_cell, csv_lines
from hivekeeper.ui.paging import after_last
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.views import DEFAULT_COLUMNS, value_at

router = APIRouter(route_class=UiRoute, include_in_schema=False)
# Rows per read: big enough that per-query overhead vanishes, small enough that a
# page of large payloads stays a few megabytes.
EXPORT_PAGE_ROWS = 1000
_ID_COLUMNS = ("event_id", "session_id")


@router.get("/p/{pid}/events/export.jsonl")
async def export_jsonl(request: Request, page: auth.Page) -> Response:
    ctx, query, cols = _export_query(request)

    async def lines() -> AsyncIterator[bytes]:
        async for events in _pages(ctx, page.project, query):
            chunk = bytearray()
            for event in events:
                shaped = project_event(event, cols) if cols else event
                chunk += orjson.dumps(shaped, default=repr) + b"\n"
            yield bytes(chunk)

    return _download(lines(), page.project, "jsonl", "application/x-ndjson")


@router.get("/p/{pid}/events/export.csv")
async def export_csv(request: Request, page: auth.Page) -> Response:
    ctx, query, cols = _export_query(request)
    header = [*_ID_COLUMNS, *(c for c in (cols or DEFAULT_COLUMNS) if c not in _ID_COLUMNS)]

    async def rows() -> AsyncIterator[bytes]:
        yield csv_lines([[csv_cell(c) for c in header]])
        async for events in _pages(ctx, page.project, query):
            yield csv_lines([[csv_cell(value_at(e, c)) for c in header] for e in events])

    return _download(rows(), page.project, "csv", "text/csv; charset=utf-8")


def _export_query(request: Request) -> tuple[AppContext, EventQuery, tuple[str, ...]]:
    """The explorer's query from the request (ValidationFailed for a bad one, before
    the download starts) from its first row, and its chosen columns."""
    ctx = context(request)
    state = params.read_state({k: request.query_params.getlist(k) for k in request.query_params})
    cols = params.columns(state)
    query = params.event_query(replace(state, page=1), ctx.now_ms())
    return ctx, replace(query, limit=EXPORT_PAGE_ROWS, page=1, count_total=False), cols


async def _pages(
    ctx: AppContext, project: Project, query: EventQuery
) -> AsyncIterator[list[dict[str, Any]]]:
    """The matching events as the API renders them, page after page.

    Each page starts after the last row of the one before (a keyset cursor), so the
    millionth row costs what the first did, and rows written during the download
    cannot shift a row into two pages or out of all of them.
    """
    while True:
        rows, _ = await ctx.read(ctx.store.query_events, project.id, query)
        if not rows:
            return
        ids = [r["event_id"] for r in rows]
        children = await ctx.read(ctx.store.children_of, project.id, ids)
        yield [render_event(r, project, children.get(r["event_id"], [])) for r in rows]
        if len(rows) < query.limit:
            return
        query = replace(query, after=after_last(rows, query))


def _download(body: AsyncIterator[bytes], project: Project, ext: str, media: str) -> Response:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in project.name)[:60]
    headers = {
        "Content-Disposition": f'attachment; filename="hivekeeper-{name}-{stamp}.{ext}"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(body, media_type=media, headers=headers)

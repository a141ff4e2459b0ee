"""The explorer's view as a download: JSONL or CSV, streamed a few megabytes at a time.

Memory stays flat whatever the size and whatever the width of the rows: each page of
rows is read, written out in chunks and dropped before the next is read, and pages
are sized in bytes, not rows (see `_pages`). The API key is checked once, when the
download starts; a download is one request, and holds one of its project's read
slots until its last byte is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hivekeeper.domain.filters import EventQuery, project_event
from hivekeeper.domain.render import render_event
from hivekeeper.domain.tenancy import Project
from hivekeeper.domain.types import StoredRow
from hivekeeper.ui import auth, params
from hivekeeper.ui.columns import DEFAULT_COLUMNS, value_at
from hivekeeper.ui.csv_cells import csv_cell, csv_lines
from hivekeeper.ui.paging import after_last
from hivekeeper.ui.route import UiRoute
from hivekeeper.web import AppContext, context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
# Rows per read at most: past this, the per-query overhead has vanished.
EXPORT_PAGE_ROWS = 1000
# Bytes of stored rows per read: what one page holds in memory while it is written.
EXPORT_PAGE_BYTES = 4 << 20
# Bytes handed to the server per send: a row of any width is cut into pieces no larger.
EXPORT_CHUNK_BYTES = 256 << 10
# How much larger than the one before a page may be: widths change between pages, so
# a page's row count follows them gradually.
_PAGE_GROWTH = 4
_ID_COLUMNS = ("event_id", "session_id")


@router.get("/p/{pid}/events/export.jsonl")
async def export_jsonl(request: Request, page: auth.Page) -> Response:
    ctx, query, cols = _export_query(request)

    async def lines() -> AsyncIterator[bytes]:
        async for events in _pages(ctx, page.project, query):
            for chunk in _chunks(
                orjson.dumps(project_event(e, cols) if cols else e, default=repr) + b"\n"
                for e in events
            ):
                yield chunk

    return _download(lines(), page.project, "jsonl", "application/x-ndjson")


@router.get("/p/{pid}/events/export.csv")
async def export_csv(request: Request, page: auth.Page) -> Response:
    ctx, query, cols = _export_query(request)
    header = [*_ID_COLUMNS, *(c for c in (cols or DEFAULT_COLUMNS) if c not in _ID_COLUMNS)]

    async def rows() -> AsyncIterator[bytes]:
        yield csv_lines([[csv_cell(c) for c in header]])
        async for events in _pages(ctx, page.project, query):
            for chunk in _chunks(
                csv_lines([[csv_cell(value_at(e, c)) for c in header]]) for e in events
            ):
                yield chunk

    return _download(rows(), page.project, "csv", "text/csv; charset=utf-8")


def _export_query(request: Request) -> tuple[AppContext, EventQuery, tuple[str, ...]]:
    """The explorer's query from the request (ValidationFailed for a bad one, before
    the download starts) from its first row, and its chosen columns."""
    ctx = context(request)
    state = params.read_state({k: request.query_params.getlist(k) for k in request.query_params})
    cols = params.columns(state)
    query = params.event_query(
        replace(state, page=1), ctx.now_ms(), max_filters=ctx.settings.max_filters
    )
    return ctx, replace(query, limit=1, page=1, count_total=False), cols


async def _pages(
    ctx: AppContext, project: Project, query: EventQuery
) -> AsyncIterator[list[dict[str, Any]]]:
    """The matching events as the API renders them, page after page.

    Each page starts after the last row of the one before (a keyset cursor), so the
    millionth row costs what the first did, and rows written during the download
    cannot shift a row into two pages or out of all of them.

    The first page is one row; each next one holds as many rows as fit in
    `EXPORT_PAGE_BYTES` at the width of the widest row of the page before, growing
    at most `_PAGE_GROWTH` times a page, up to `EXPORT_PAGE_ROWS`. Rows of 1 KB are
    soon read a thousand at a time; rows of 1 MB four at a time.
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
        query = replace(
            query, limit=_next_page_rows(rows, query.limit), after=after_last(rows, query)
        )


def _next_page_rows(rows: list[StoredRow], last_rows: int) -> int:
    widest = max(len(orjson.dumps(row, default=repr)) for row in rows)
    fitting = max(1, EXPORT_PAGE_BYTES // widest)
    return min(fitting, last_rows * _PAGE_GROWTH, EXPORT_PAGE_ROWS)


def _chunks(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """`pieces` joined into chunks of about `EXPORT_CHUNK_BYTES`, a larger piece cut up."""
    chunk = bytearray()
    for piece in pieces:
        chunk += piece
        while len(chunk) >= EXPORT_CHUNK_BYTES:
            yield bytes(chunk[:EXPORT_CHUNK_BYTES])
            del chunk[:EXPORT_CHUNK_BYTES]
    if chunk:
        yield bytes(chunk)


def _download(body: AsyncIterator[bytes], project: Project, ext: str, media: str) -> Response:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in project.name)[:60]
    headers = {
        "Content-Disposition": f'attachment; filename="hivekeeper-{name}-{stamp}.{ext}"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(body, media_type=media, headers=headers)

"""The explorer's view as a download: JSONL or CSV, streamed a few megabytes at a time.

Memory stays flat whatever the size and whatever the width of the rows: the rows are
read in batches sized in bytes and sent in bounded chunks (`web.exports`, what the REST
exports stream through too). The API key is checked once, when the download starts;
a download is one request, and holds one of its project's read slots until its last
byte is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.domain.filters import EventQuery, project_event
from hivekeeper.domain.tenancy import Project
from hivekeeper.ui import auth, params
from hivekeeper.ui.columns import DEFAULT_COLUMNS, value_at
from hivekeeper.ui.csv_cells import csv_cell, csv_lines
from hivekeeper.ui.route import UiRoute
from hivekeeper.web import AppContext, chunked_response, context, read_events

router = APIRouter(route_class=UiRoute, include_in_schema=False)
_ID_COLUMNS = ("event_id", "session_id")


@router.get("/p/{pid}/events/export.jsonl")
async def export_jsonl(request: Request, page: auth.Page) -> Response:
    ctx, query, cols = _export_query(request)
    events = await read_events(ctx, page.project, query)

    async def lines() -> AsyncIterator[bytes]:
        async for found in events:
            for event in found:
                yield orjson.dumps(project_event(event, cols) if cols else event, default=repr)
                yield b"\n"

    return await _download(lines(), page.project, "jsonl", "application/x-ndjson")


@router.get("/p/{pid}/events/export.csv")
async def export_csv(request: Request, page: auth.Page) -> Response:
    ctx, query, cols = _export_query(request)
    header = [*_ID_COLUMNS, *(c for c in (cols or DEFAULT_COLUMNS) if c not in _ID_COLUMNS)]
    events = await read_events(ctx, page.project, query)

    async def rows() -> AsyncIterator[bytes]:
        yield csv_lines([[csv_cell(c) for c in header]])
        async for found in events:
            for event in found:
                yield csv_lines([[csv_cell(value_at(event, c)) for c in header]])

    return await _download(rows(), page.project, "csv", "text/csv; charset=utf-8")


def _export_query(request: Request) -> tuple[AppContext, EventQuery, tuple[str, ...]]:
    """The explorer's query from the request (ValidationFailed for a bad one, before
    the download starts) from its first row, and its chosen columns."""
    ctx = context(request)
    state = params.read_state({k: request.query_params.getlist(k) for k in request.query_params})
    cols = params.columns(state)
    query = params.event_query(
        replace(state, page=1), ctx.now_ms(), max_filters=ctx.settings.max_filters
    )
    return ctx, replace(query, count_total=False), cols


async def _download(body: AsyncIterator[bytes], project: Project, ext: str, media: str) -> Response:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in project.name)[:60]
    headers = {
        "Content-Disposition": f'attachment; filename="hivekeeper-{name}-{stamp}.{ext}"',
        "Cache-Control": "no-store",
    }
    return await chunked_response(body, media, headers)

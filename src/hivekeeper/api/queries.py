"""Query routes: export/search with the filter language, the legacy list, charts.

Export, search and the list stream their answer: the page's events are read a few
megabytes at a time and sent in bounded chunks (`web.exports`), so 7,500 rows of 1 MB
cost the server what 7,500 of 1 KB do. What is wrong with a query (a bad filter, a
full read slot, the store refusing it) is found before the first byte, and answered
as a 4xx JSON error; the count and the page's first row come from one read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from hivekeeper.api.auth import reader_principal
from hivekeeper.api.docs import body_schema, query_parameters
from hivekeeper.domain.charts import parse_chart_params
from hivekeeper.domain.events import require_object
from hivekeeper.domain.filters import (
    EventQuery,
    parse_export_body,
    parse_query_params,
    parse_session_params,
    project_event,
)
from hivekeeper.domain.tenancy import Principal
from hivekeeper.web import (
    EventBatches,
    JsonResponse,
    chunked_response,
    context,
    json_bytes,
    read_events,
    read_json,
)

router = APIRouter(tags=["queries"])
Reader = Annotated[Principal, Depends(reader_principal)]


@router.post(
    "/v1/events/export",
    summary="Events matching filters, paged",
    openapi_extra=body_schema("ExportRequest"),
)
@router.post(
    "/v1/events/search",
    summary="Events matching filters, paged",
    openapi_extra=body_schema("ExportRequest"),
)
async def export_events(request: Request, principal: Reader) -> Response:
    ctx = context(request)
    body = require_object(await read_json(request, ctx.settings), "body")
    query = parse_export_body(body, now_ms=ctx.now_ms(), max_filters=ctx.settings.max_filters)
    return await _page(request, principal, query, totals=("totalEvents", "count"))


@router.get(
    "/events",
    summary="Events matching filters (query parameters), paged",
    openapi_extra=query_parameters("EventList"),
)
async def list_events(request: Request, principal: Reader) -> Response:
    query = _from_params(request, parse_query_params)
    return await _page(request, principal, query, totals=("totalEvents",))


@router.get(
    "/v1/sessions",
    summary="Sessions matching filters (query parameters), sorted and paged",
    openapi_extra=query_parameters("SessionList"),
)
async def list_sessions(request: Request, principal: Reader) -> Response:
    query = _from_params(request, parse_session_params)
    return await _page(request, principal, query, totals=("totalSessions",), key=b"sessions")


@router.get(
    "/v1/events/chart",
    summary="Time buckets x group of a metric: count, avg, sum, min, max, percentiles",
    openapi_extra=query_parameters("Chart"),
)
async def chart_events(request: Request, principal: Reader) -> JsonResponse:
    ctx = context(request)
    params = {k: request.query_params.getlist(k) for k in request.query_params}
    chart = parse_chart_params(params, now_ms=ctx.now_ms(), max_filters=ctx.settings.max_filters)
    buckets = await ctx.read(ctx.store.chart, principal.project.id, chart)
    total = sum(b["count"] for b in buckets)
    return JsonResponse({"events": buckets, "totalEvents": total})


def _from_params(request: Request, parse: Callable[..., EventQuery]) -> EventQuery:
    """The query `parse` reads from the request's query parameters (`parse_qs` shape)."""
    ctx = context(request)
    params = {k: request.query_params.getlist(k) for k in request.query_params}
    return parse(params, now_ms=ctx.now_ms(), max_filters=ctx.settings.max_filters)


async def _page(
    request: Request,
    principal: Principal,
    query: EventQuery,
    *,
    totals: tuple[str, ...],
    key: bytes = b"events",
) -> Response:
    """`{<key>: [the page's events], <each of totals>: matches in all}`, streamed."""
    events = await read_events(context(request), principal.project, query, rows=query.limit)
    assert events.total is not None, "the API's queries always count"
    # `{"totalEvents":N,...}` without its `{`: the members that follow the events.
    members = json_bytes(dict.fromkeys(totals, events.total))[1:]
    body = _events_json(events, query.projections, members, key)
    return await chunked_response(body, "application/json")


async def _events_json(
    events: EventBatches, projections: tuple[str, ...] | None, members: bytes, key: bytes
) -> AsyncIterator[bytes]:
    yield b'{"' + key + b'":['
    separator = b""
    async for found in events:
        listed = [project_event(e, projections) for e in found] if projections else found
        yield separator
        yield json_bytes(listed)[1:-1]  # the batch's events, without the array's brackets
        separator = b","
    yield b"],"
    yield members

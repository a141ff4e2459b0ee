"""Query routes: export/search with the filter language, the legacy list, charts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from hivekeeper.api.auth import reader_principal
from hivekeeper.api.docs import body_schema, query_parameters
from hivekeeper.domain.charts import parse_chart_params
from hivekeeper.domain.events import require_object
from hivekeeper.domain.filters import (
    EventQuery,
    parse_export_body,
    parse_query_params,
    project_event,
)
from hivekeeper.domain.render import render_event
from hivekeeper.domain.tenancy import Principal
from hivekeeper.web import JsonResponse, context, read_json

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
async def export_events(request: Request, principal: Reader) -> JsonResponse:
    ctx = context(request)
    body = require_object(await read_json(request, ctx.settings), "body")
    query = parse_export_body(body, now_ms=ctx.now_ms(), max_filters=ctx.settings.max_filters)
    events, total = await _page(request, principal, query)
    return JsonResponse({"events": events, "totalEvents": total, "count": total})


@router.get(
    "/events",
    summary="Events matching filters (query parameters), paged",
    openapi_extra=query_parameters("EventList"),
)
async def list_events(request: Request, principal: Reader) -> JsonResponse:
    ctx = context(request)
    params = {k: request.query_params.getlist(k) for k in request.query_params}
    query = parse_query_params(params, now_ms=ctx.now_ms(), max_filters=ctx.settings.max_filters)
    events, total = await _page(request, principal, query)
    return JsonResponse({"events": events, "totalEvents": total})


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


async def _page(
    request: Request, principal: Principal, query: EventQuery
) -> tuple[list[dict[str, Any]], int]:
    ctx = context(request)
    rows, total = await ctx.read(ctx.store.query_events, principal.project.id, query)
    assert total is not None, "the API's queries always count"
    children = await ctx.read(
        ctx.store.children_of, principal.project.id, [r["event_id"] for r in rows]
    )
    events = [render_event(r, principal.project, children.get(r["event_id"], [])) for r in rows]
    if query.projections:
        events = [project_event(e, query.projections) for e in events]
    return events, total

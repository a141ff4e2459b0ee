"""Saved chart routes, at `/v1/charts` (a full key's project) and at
`/v1/projects/{project_id}/charts` (a full or data-plane key of that project; updates
by PATCH there, as the SDK sends them)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hivekeeper.api.auth import project_principal, reader_principal
from hivekeeper.api.docs import body_schema
from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.evaluation.ops import DeleteChart, SaveChart
from hivekeeper.domain.saved_charts import parse_chart, render_chart
from hivekeeper.domain.tenancy import Principal
from hivekeeper.domain.types import JsonObject
from hivekeeper.web import JsonResponse, context, read_json

router = APIRouter(tags=["charts"])
Reader = Annotated[Principal, Depends(reader_principal)]
ProjectKey = Annotated[Principal, Depends(project_principal)]
_PROJECT = "/v1/projects/{project_id}/charts"


@router.get("/v1/charts", summary="Saved charts of the key's project")
async def list_charts(request: Request, principal: Reader) -> JsonResponse:
    return await _list(request, principal)


@router.get(_PROJECT, summary="Saved charts of a project (full or data-plane key)")
async def list_project_charts(request: Request, principal: ProjectKey) -> JsonResponse:
    return await _list(request, principal)


@router.post("/v1/charts", summary="Save a chart", openapi_extra=body_schema("Chart"))
async def create_chart(request: Request, principal: Reader) -> JsonResponse:
    return await _create(request, principal)


@router.post(_PROJECT, summary="Save a chart in a project", openapi_extra=body_schema("Chart"))
async def create_project_chart(request: Request, principal: ProjectKey) -> JsonResponse:
    return await _create(request, principal)


@router.get("/v1/charts/{chart_id}", summary="A saved chart")
async def get_chart(request: Request, chart_id: str, principal: Reader) -> JsonResponse:
    return JsonResponse({"success": True, "data": await _chart(request, principal, chart_id)})


@router.get(f"{_PROJECT}/{{chart_id}}", summary="A saved chart of a project")
async def get_project_chart(request: Request, chart_id: str, principal: ProjectKey) -> JsonResponse:
    return JsonResponse({"success": True, "data": await _chart(request, principal, chart_id)})


@router.put(
    "/v1/charts/{chart_id}",
    summary="Change the fields given of a saved chart",
    openapi_extra=body_schema("ChartUpdate"),
)
async def update_chart(request: Request, chart_id: str, principal: Reader) -> JsonResponse:
    return await _update(request, principal, chart_id)


@router.patch(
    f"{_PROJECT}/{{chart_id}}",
    summary="Change the fields given of a saved chart of a project",
    openapi_extra=body_schema("ChartUpdate"),
)
async def update_project_chart(
    request: Request, chart_id: str, principal: ProjectKey
) -> JsonResponse:
    return await _update(request, principal, chart_id)


@router.delete("/v1/charts/{chart_id}", summary="Delete a saved chart")
async def delete_chart(request: Request, chart_id: str, principal: Reader) -> JsonResponse:
    return await _delete(request, principal, chart_id)


@router.delete(f"{_PROJECT}/{{chart_id}}", summary="Delete a saved chart of a project")
async def delete_project_chart(
    request: Request, chart_id: str, principal: ProjectKey
) -> JsonResponse:
    return await _delete(request, principal, chart_id)


async def _list(request: Request, principal: Principal) -> JsonResponse:
    ctx = context(request)
    charts = await ctx.read(ctx.store.list_charts, principal.project.id)
    return JsonResponse({"success": True, "data": [render_chart(c) for c in charts]})


async def _create(request: Request, principal: Principal) -> JsonResponse:
    ctx = context(request)
    fields = parse_chart(await read_json(request, ctx.settings), creating=True, now_ms=ctx.now_ms())
    chart_id = str(uuid.uuid4())
    await ctx.writer.submit([SaveChart(principal.project.id, chart_id, fields, create=True)])
    return JsonResponse({"success": True, "data": await _chart(request, principal, chart_id)})


async def _update(request: Request, principal: Principal, chart_id: str) -> JsonResponse:
    ctx = context(request)
    body = await read_json(request, ctx.settings)
    fields = parse_chart(body, creating=False, now_ms=ctx.now_ms())
    await ctx.writer.submit([SaveChart(principal.project.id, chart_id, fields)])
    return JsonResponse({"success": True, "data": await _chart(request, principal, chart_id)})


async def _delete(request: Request, principal: Principal, chart_id: str) -> JsonResponse:
    await context(request).writer.submit([DeleteChart(principal.project.id, chart_id)])
    return JsonResponse({"success": True, "message": f"chart {chart_id} deleted"})


async def _chart(request: Request, principal: Principal, chart_id: str) -> JsonObject:
    ctx = context(request)
    chart = await ctx.read(ctx.store.get_chart, principal.project.id, chart_id)
    if chart is None:
        raise NotFound(f"no chart with id {chart_id}", field="chart_id")
    return render_chart(chart)

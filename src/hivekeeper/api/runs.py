"""Experiment run routes: runs (create, list, read, update, delete), a run's result and
scored events, two runs compared, and the event field schemas the SDK's `experiments`
client asks for.

Every route needs a full key (an ingest key gets 403: `evaluate()` sends its run calls
with the project key and only its telemetry with the ingestion key). Writes go through
the writer (`PutRun`, `DeleteRun`); reads and results run on a read thread through
`run_reads`, in a fixed number of queries whatever the run's size. Fixed paths
(`/v1/runs/schema`, `/v1/runs/compare/events`) come before `/v1/runs/{run_id}`, so a
run cannot be named `schema`, nor `compare` for its compare-events route.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hivekeeper.api import run_reads
from hivekeeper.api.auth import reader_principal
from hivekeeper.api.docs import body_schema, query_parameters
from hivekeeper.domain.evaluation import comparison, results, runs
from hivekeeper.domain.evaluation._params import (
    QueryParams,
    conditions,
    date_conditions,
    flag,
    last,
    structured,
)
from hivekeeper.domain.evaluation.ops import DeleteRun, PutRun
from hivekeeper.domain.filters import parse_date_range
from hivekeeper.domain.tenancy import Principal
from hivekeeper.web import JsonResponse, context, read_json

router = APIRouter(tags=["experiments"])
Full = Annotated[Principal, Depends(reader_principal)]


def _params(request: Request) -> QueryParams:
    return {key: request.query_params.getlist(key) for key in request.query_params}


def _max_filters(request: Request) -> int:
    return context(request).settings.max_filters


# --- fixed paths first ---
@router.get(
    "/v1/events/schema",
    summary="The fields events hold, per event type (a run's with evaluation_id)",
    openapi_extra=query_parameters("Schema"),
)
async def events_schema(request: Request, principal: Full) -> JsonResponse:
    return await _schema(request, principal, last(_params(request), "evaluation_id"))


@router.get(
    "/v1/runs/schema",
    summary="The fields of the project's events, per event type",
    openapi_extra=query_parameters("RunSchema"),
)
async def runs_schema(request: Request, principal: Full) -> JsonResponse:
    return await _schema(request, principal, None)


@router.get(
    "/v1/runs/compare/events",
    summary="Events of the same name and type in two runs, per common datapoint",
    openapi_extra=query_parameters("CompareEvents"),
)
async def compare_events(request: Request, principal: Full) -> JsonResponse:
    query = comparison.parse_compare_events(_params(request), max_filters=_max_filters(request))
    return await _event_pairs(request, principal, query)


# --- runs ---
@router.post(
    "/v1/runs",
    summary="Create a run (run_id: any id of yours, or a generated UUID)",
    openapi_extra=body_schema("RunCreate"),
)
async def create_run(request: Request, principal: Full) -> JsonResponse:
    ctx = context(request)
    patch = runs.parse_run_create(await read_json(request, ctx.settings))
    run_id = patch.get("run_id") or str(uuid.uuid4())
    await ctx.writer.submit([PutRun(principal.project.id, run_id, patch, create=True)])
    return JsonResponse(
        {"run_id": run_id, "evaluation": await _run_object(request, principal, run_id)}
    )


@router.get(
    "/v1/runs",
    summary="Runs, filtered, sorted and paged",
    openapi_extra=query_parameters("RunList"),
)
async def list_runs(request: Request, principal: Full) -> JsonResponse:
    ctx = context(request)
    query = runs.parse_run_list(_params(request), now_ms=ctx.now_ms())
    page = await ctx.read(ctx.store.list_runs, principal.project.id, query)
    objects = await ctx.read(run_reads.run_objects, ctx.store, principal.project.id, page.runs)
    return JsonResponse(
        {
            "evaluations": objects,
            "pagination": runs.pagination(
                query.page, query.limit, page.total, page.total_unfiltered
            ),
            "metrics": runs.listed_metrics(page.runs),
        }
    )


@router.get("/v1/runs/{run_id}", summary="A run")
async def get_run(request: Request, run_id: str, principal: Full) -> JsonResponse:
    return JsonResponse({"evaluation": await _run_object(request, principal, run_id)})


@router.put(
    "/v1/runs/{run_id}",
    summary="Update a run: objects merge key by key, session and datapoint ids add up",
    openapi_extra=body_schema("RunUpdate"),
)
async def update_run(request: Request, run_id: str, principal: Full) -> JsonResponse:
    ctx = context(request)
    patch = runs.parse_run_update(await read_json(request, ctx.settings))
    await ctx.writer.submit([PutRun(principal.project.id, run_id, patch)])
    return JsonResponse({"evaluation": await _run_object(request, principal, run_id)})


@router.delete(
    "/v1/runs/{run_id}",
    summary="Delete a run; its sessions stay unless delete_sessions=true",
    openapi_extra=query_parameters("RunDelete"),
)
async def delete_run(request: Request, run_id: str, principal: Full) -> JsonResponse:
    ctx = context(request)
    delete_sessions = flag(_params(request), "delete_sessions")
    await ctx.writer.submit([DeleteRun(principal.project.id, run_id, delete_sessions)])
    return JsonResponse({"id": run_id, "deleted": True})


# --- results ---
@router.get(
    "/v1/runs/{run_id}/result",
    summary="A run's result, computed from its sessions' events now",
    openapi_extra=query_parameters("RunResult"),
)
@router.get(
    "/v1/runs/{run_id}/summary",
    summary="A run's result, computed from its sessions' events now",
    openapi_extra=query_parameters("RunResult"),
)
async def run_result(request: Request, run_id: str, principal: Full) -> JsonResponse:
    ctx = context(request)
    query = results.parse_result_query(_params(request), max_filters=_max_filters(request))
    body = await ctx.read(run_reads.result, ctx.store, principal.project, run_id, query)
    return JsonResponse(body)


@router.get(
    "/v1/runs/{run_id}/metrics",
    summary="Every scored event of a run's sessions",
    openapi_extra=query_parameters("RunMetrics"),
)
async def run_metrics(request: Request, run_id: str, principal: Full) -> JsonResponse:
    ctx = context(request)
    params = _params(request)
    wanted = (
        *conditions(params, "filters", _max_filters(request)),
        *date_conditions(params, "dateRange", now_ms=ctx.now_ms()),
    )
    body = await ctx.read(run_reads.metric_events, ctx.store, principal.project, run_id, wanted)
    return JsonResponse(body)


@router.get(
    "/v1/runs/{run_id}/schema",
    summary="The fields of a run's events, per event type",
    openapi_extra=query_parameters("RunSchema"),
)
async def run_schema(request: Request, run_id: str, principal: Full) -> JsonResponse:
    return await _schema(request, principal, run_id)


@router.get(
    "/v1/runs/{new_run_id}/compare-with/{old_run_id}",
    summary="Two runs compared per metric over their common datapoints",
    openapi_extra=query_parameters("RunResult"),
)
@router.get(
    "/v1/runs/{new_run_id}/compare/{old_run_id}",
    summary="Two runs compared per metric over their common datapoints",
    openapi_extra=query_parameters("RunResult"),
)
async def compare_runs(
    request: Request, new_run_id: str, old_run_id: str, principal: Full
) -> JsonResponse:
    ctx = context(request)
    query = results.parse_result_query(_params(request), max_filters=_max_filters(request))
    body = await ctx.read(
        run_reads.compare, ctx.store, principal.project, new_run_id, old_run_id, query
    )
    return JsonResponse(body)


@router.get(
    "/v1/runs/{new_run_id}/compare/{old_run_id}/events",
    summary="Events of the same name and type in two runs, per common datapoint",
    openapi_extra=query_parameters("CompareEvents"),
)
async def compare_run_events(
    request: Request, new_run_id: str, old_run_id: str, principal: Full
) -> JsonResponse:
    query = comparison.parse_compare_events(
        _params(request),
        new_run_id=new_run_id,
        old_run_id=old_run_id,
        max_filters=_max_filters(request),
    )
    return await _event_pairs(request, principal, query)


async def _run_object(request: Request, principal: Principal, run_id: str) -> object:
    ctx = context(request)
    run = await ctx.read(run_reads.require_run, ctx.store, principal.project.id, run_id)
    return await ctx.read(run_reads.run_object, ctx.store, principal.project.id, run)


async def _event_pairs(
    request: Request, principal: Principal, query: comparison.CompareEventsQuery
) -> JsonResponse:
    ctx = context(request)
    body = await ctx.read(run_reads.event_pairs, ctx.store, principal.project, query)
    return JsonResponse(body)


async def _schema(request: Request, principal: Principal, run_id: str | None) -> JsonResponse:
    ctx = context(request)
    start_ms, end_ms = parse_date_range(
        structured(_params(request), "dateRange"), now_ms=ctx.now_ms()
    )
    body = await ctx.read(
        lambda: run_reads.event_schema(
            ctx.store, principal.project.id, run_id=run_id, start_ms=start_ms, end_ms=end_ms
        )
    )
    return JsonResponse(body)

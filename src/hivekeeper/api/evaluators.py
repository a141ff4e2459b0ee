"""Metric (evaluator definition) routes: list, create, update and delete in both
generations, and the versions of a metric (list, create, deploy).

`POST /v1/metrics` is shared with OTLP metric exports: `api.otlp` serves it and hands
a body that is no OTLP export to `create_metric`. A metric's deployed version is the
one lists show and run results judge by; names are unique in a project, since runs
name their metrics.
"""

from __future__ import annotations

import functools
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hivekeeper.api.auth import reader_principal
from hivekeeper.api.docs import body_schema, query_parameters
from hivekeeper.domain.errors import Conflict, Forbidden, NotFound, NotImplementedYet
from hivekeeper.domain.evaluation.evaluators import (
    parse_metric,
    parse_metric_id,
    parse_metric_query,
    parse_metric_update,
    parse_version_request,
    render_metric,
    render_version,
)
from hivekeeper.domain.evaluation.ops import DeleteDefinition, Deploy, SaveVersion
from hivekeeper.domain.evaluation.versions import (
    DEPLOYED,
    Definition,
    Version,
    deployed,
    find,
    ordered,
)
from hivekeeper.domain.fields import Fields
from hivekeeper.domain.tenancy import Principal
from hivekeeper.web import AppContext, JsonResponse, context, decode_json, query_lists, read_json

router = APIRouter(tags=["metrics"])
Reader = Annotated[Principal, Depends(reader_principal)]


@router.get(
    "/v1/metrics",
    summary="Metrics (all, by type, or the one ?id=), each at its deployed version",
    openapi_extra=query_parameters("MetricList"),
)
async def list_metrics(request: Request, principal: Reader) -> JsonResponse:
    ctx = context(request)
    kind, metric_id = parse_metric_query(query_lists(request))
    find_them = functools.partial(ctx.store.list_definitions, definition_id=metric_id)
    items = []
    for metric in await ctx.read(find_them, principal.project.id, "metric"):
        live = _live(metric)
        if kind is None or live.content.get("type") == kind:
            items.append(render_metric(metric.id, live, ordered(metric.versions)[0]))
    return JsonResponse({"metrics": items})


async def create_metric(request: Request, principal: Principal, body: bytes) -> JsonResponse:
    """`POST /v1/metrics` with a CreateMetric body: version 1, deployed. Forbidden for
    a key that is not full; Conflict for a name the project already has."""
    if not principal.can_read:
        raise Forbidden(f"this is {principal.limits}")
    ctx = context(request)
    content = parse_metric(decode_json(body, ctx.settings))
    await _name_is_free(ctx, principal.project.id, str(content["name"]))
    metric_id = str(uuid.uuid4())
    save = SaveVersion(
        principal.project.id,
        "metric",
        metric_id,
        content,
        create=True,
        deploy=(DEPLOYED,),
        key_id=principal.key_id,
    )
    await ctx.writer.submit([save])
    return JsonResponse({"inserted": True, "metric_id": metric_id})


@router.put(
    "/v1/metrics",
    summary="Update the metric named by id in the body: a new version, deployed",
    openapi_extra=body_schema("MetricUpdate"),
)
async def update_metric_legacy(request: Request, principal: Reader) -> JsonResponse:
    body = await read_json(request, context(request).settings)
    metric_id = str(Fields(body, "body").identifier("id", required=True))
    await _update(request, principal, metric_id, body)
    return JsonResponse({"updated": True})


@router.put(
    "/v1/metrics/{metric_id}",
    summary="Update a metric: a new version, deployed",
    openapi_extra=body_schema("Metric"),
)
async def update_metric(request: Request, metric_id: str, principal: Reader) -> JsonResponse:
    await _update(
        request, principal, metric_id, await read_json(request, context(request).settings)
    )
    return JsonResponse({"updated": True})


@router.delete("/v1/metrics", summary="Delete the metric named by ?metric_id=")
async def delete_metric_legacy(request: Request, principal: Reader) -> JsonResponse:
    return await _delete(request, principal, parse_metric_id(query_lists(request)))


@router.delete("/v1/metrics/{metric_id}", summary="Delete a metric with all its versions")
async def delete_metric(request: Request, metric_id: str, principal: Reader) -> JsonResponse:
    return await _delete(request, principal, metric_id)


@router.get(
    "/v1/metrics/{metric_id}/versions",
    summary="A metric's versions, oldest first; deployed marks the live one",
)
async def list_versions(request: Request, metric_id: str, principal: Reader) -> JsonResponse:
    metric = await _metric(context(request), principal.project.id, metric_id)
    live = _live(metric)
    data = [render_version(v, deployed=v is live) for v in ordered(metric.versions)]
    return JsonResponse({"success": True, "data": data})


@router.post(
    "/v1/metrics/{metric_id}/versions",
    summary="A new version of a metric (deployed with deploy_immediately)",
    openapi_extra=body_schema("MetricVersion"),
)
async def create_version(request: Request, metric_id: str, principal: Reader) -> JsonResponse:
    ctx = context(request)
    message, content, deploy = parse_version_request(await read_json(request, ctx.settings))
    pid = principal.project.id
    await _metric(ctx, pid, metric_id)
    await _name_is_free(ctx, pid, str(content["name"]), metric_id)
    save = SaveVersion(
        pid,
        "metric",
        metric_id,
        content,
        message=message,
        deploy=(DEPLOYED,) if deploy else (),
        key_id=principal.key_id,
    )
    await ctx.writer.submit([save])
    metric = await _metric(ctx, pid, metric_id)
    made = find(metric.versions, save.change_id)
    return JsonResponse({"success": True, "data": render_version(made, deployed=deploy)})


@router.post(
    "/v1/metrics/{metric_id}/versions/{version_name}/deploy",
    summary="Make a version live: its name, full_sha, change id or number (3 or v3)",
)
async def deploy_version(
    request: Request, metric_id: str, version_name: str, principal: Reader
) -> JsonResponse:
    ctx = context(request)
    pid = principal.project.id
    version = find((await _metric(ctx, pid, metric_id)).versions, version_name)
    await ctx.writer.submit([Deploy(pid, "metric", metric_id, DEPLOYED, version.change_id)])
    return JsonResponse({"success": True, "data": render_version(version, deployed=True)})


@router.post(
    "/v1/metrics/run",
    summary="Run a metric on an event: not served (501; hivekeeper runs no evaluators)",
)
@router.post(
    "/v1/metrics/run_metric",
    summary="Run a metric on an event (legacy path): not served (501)",
)
async def run_metric(principal: Reader) -> JsonResponse:
    raise NotImplementedYet(
        "hivekeeper does not run evaluators on the server; run them in your code (the SDK's "
        "evaluate() does) and send their scores as metrics",
    )


async def _update(request: Request, principal: Principal, metric_id: str, body: object) -> None:
    """A new version of the metric: its live content with the body's fields replaced,
    deployed so that the update takes effect."""
    ctx = context(request)
    fields = parse_metric_update(body)
    pid = principal.project.id
    content = {**_live(await _metric(ctx, pid, metric_id)).content, **fields}
    if "name" in fields:
        await _name_is_free(ctx, pid, str(fields["name"]), metric_id)
    save = SaveVersion(
        pid, "metric", metric_id, content, deploy=(DEPLOYED,), key_id=principal.key_id
    )
    await ctx.writer.submit([save])


async def _delete(request: Request, principal: Principal, metric_id: str) -> JsonResponse:
    await context(request).writer.submit(
        [DeleteDefinition(principal.project.id, "metric", metric_id)]
    )
    return JsonResponse({"deleted": True})


async def _metric(ctx: AppContext, project_id: str, metric_id: str) -> Definition:
    find_it = functools.partial(ctx.store.list_definitions, definition_id=metric_id)
    found = await ctx.read(find_it, project_id, "metric")
    if not found:
        raise NotFound(f"no metric with id {metric_id}", field="metric_id")
    return found[0]


async def _name_is_free(
    ctx: AppContext, project_id: str, name: str, metric_id: str | None = None
) -> None:
    """Conflict when another metric of the project (not `metric_id`) is named `name`."""
    named = functools.partial(ctx.store.list_definitions, names=[name])
    if any(m.id != metric_id for m in await ctx.read(named, project_id, "metric")):
        raise Conflict(f"the project already has a metric named {name!r}", field="name")


def _live(metric: Definition) -> Version:
    """The deployed version (the latest, if none ever was)."""
    change_id = deployed(metric.deployments).get(DEPLOYED)
    by_change = {v.change_id: v for v in metric.versions}
    return by_change.get(change_id, metric.latest) if change_id else metric.latest

"""Configuration (prompt) routes: list (latest, or deployed in `?env=`), create, update
(each a new version, `env` deploying it), delete."""

from __future__ import annotations

import functools
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hivekeeper.api.auth import reader_principal
from hivekeeper.api.docs import body_schema, query_parameters
from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.evaluation.configurations import (
    next_content,
    parse_create,
    parse_query,
    parse_update,
    render_configuration,
    shown_version,
)
from hivekeeper.domain.evaluation.ops import DeleteDefinition, SaveVersion
from hivekeeper.domain.tenancy import Principal
from hivekeeper.web import JsonResponse, context, query_lists, read_json

router = APIRouter(tags=["configurations"])
Reader = Annotated[Principal, Depends(reader_principal)]


@router.get(
    "/v1/configurations",
    summary="Configurations: each at its latest version, or at the one deployed in ?env=",
    openapi_extra=query_parameters("ConfigurationList"),
)
async def list_configurations(request: Request, principal: Reader) -> JsonResponse:
    ctx = context(request)
    query = parse_query(query_lists(request))
    stored = await ctx.read(ctx.store.list_definitions, principal.project.id, "configuration")
    items = []
    for config in stored:
        version = shown_version(config.versions, config.deployments, query)
        if version is not None:
            items.append(
                render_configuration(config.id, version, config.versions, config.deployments)
            )
    return JsonResponse({"configurations": items})


@router.post(
    "/v1/configurations",
    summary="Create a configuration (version 1; env deploys it)",
    openapi_extra=body_schema("Configuration"),
)
async def create_configuration(request: Request, principal: Reader) -> JsonResponse:
    ctx = context(request)
    change = parse_create(await read_json(request, ctx.settings))
    config_id = str(uuid.uuid4())
    save = SaveVersion(
        principal.project.id,
        "configuration",
        config_id,
        next_content(None, change),
        create=True,
        deploy=change.envs,
        key_id=principal.key_id,
    )
    await ctx.writer.submit([save])
    return JsonResponse({"acknowledged": True, "insertedId": config_id})


@router.put(
    "/v1/configurations/{config_id}",
    summary="Update a configuration: a new version with the fields given replaced (env "
    "deploys it; the older versions stay)",
    openapi_extra=body_schema("Configuration"),
)
async def update_configuration(request: Request, config_id: str, principal: Reader) -> JsonResponse:
    ctx = context(request)
    change = parse_update(await read_json(request, ctx.settings))
    find = functools.partial(ctx.store.list_definitions, definition_id=config_id)
    stored = await ctx.read(find, principal.project.id, "configuration")
    if not stored:
        raise NotFound(f"no configuration with id {config_id}", field="id")
    save = SaveVersion(
        principal.project.id,
        "configuration",
        config_id,
        next_content(stored[0].latest.content, change),
        deploy=change.envs,
        key_id=principal.key_id,
    )
    await ctx.writer.submit([save])
    return JsonResponse(
        {
            "acknowledged": True,
            "modifiedCount": 1,
            "upsertedId": None,
            "upsertedCount": 0,
            "matchedCount": 1,
        }
    )


@router.delete(
    "/v1/configurations/{config_id}", summary="Delete a configuration with all its versions"
)
async def delete_configuration(request: Request, config_id: str, principal: Reader) -> JsonResponse:
    op = DeleteDefinition(principal.project.id, "configuration", config_id)
    await context(request).writer.submit([op])
    return JsonResponse({"acknowledged": True, "deletedCount": 1})

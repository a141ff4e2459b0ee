"""Dataset routes, both generations: create, list (with a version and its history),
update, delete, add rows through a mapping, remove one datapoint."""

from __future__ import annotations

import functools
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hivekeeper.api.auth import reader_principal
from hivekeeper.api.docs import body_schema, query_parameters
from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.evaluation.changelog import VersionKey
from hivekeeper.domain.evaluation.datapoints import DatapointContent, render_record
from hivekeeper.domain.evaluation.datasets import (
    DEFAULT_NAME,
    DatasetQuery,
    DatasetRequest,
    parse_dataset,
    parse_dataset_query,
    parse_delete,
    parse_legacy_update,
    render_dataset,
)
from hivekeeper.domain.evaluation.mapping import datapoints_from_rows, parse_rows
from hivekeeper.domain.evaluation.ops import (
    ChangeMembership,
    DatapointWrite,
    DeleteDataset,
    PutDatapoints,
    SaveDataset,
)
from hivekeeper.domain.tenancy import Principal
from hivekeeper.domain.types import JsonObject, WriteOp
from hivekeeper.web import AppContext, JsonResponse, context, query_lists, read_json

router = APIRouter(tags=["datasets"])
Reader = Annotated[Principal, Depends(reader_principal)]


@router.get(
    "/v1/datasets",
    summary="Datasets (all, by dataset_id or name), each with its current version and history",
    openapi_extra=query_parameters("DatasetList"),
)
async def list_datasets(request: Request, principal: Reader) -> JsonResponse:
    query = parse_dataset_query(query_lists(request))
    if query.version is not None and query.dataset_id is None:
        raise ValidationFailed("version needs dataset_id", field="version")
    datasets = await _datasets(context(request), principal.project.id, query)
    return JsonResponse({"datasets": datasets})


@router.post("/v1/datasets", summary="Create a dataset", openapi_extra=body_schema("Dataset"))
async def create_dataset(request: Request, principal: Reader) -> JsonResponse:
    ctx = context(request)
    wanted = parse_dataset(await read_json(request, ctx.settings))
    dataset_id = str(uuid.uuid4())
    pid = principal.project.id
    ops: list[WriteOp] = [
        SaveDataset(
            pid,
            dataset_id,
            name=wanted.name or DEFAULT_NAME,
            description=wanted.description,
            create=True,
        )
    ]
    if wanted.datapoint_ids:
        ops.append(
            ChangeMembership(
                pid, dataset_id, add=tuple(wanted.datapoint_ids), key_id=principal.key_id
            )
        )
    await ctx.writer.submit(ops)
    return JsonResponse({"inserted": True, "result": {"insertedId": dataset_id}})


@router.put(
    "/v1/datasets",
    summary="Update a dataset named by dataset_id in the body (datapoints replaces the membership)",
    openapi_extra=body_schema("DatasetUpdate"),
)
async def update_dataset_legacy(request: Request, principal: Reader) -> JsonResponse:
    dataset_id, wanted = parse_legacy_update(await read_json(request, context(request).settings))
    return JsonResponse({"result": await _update(request, principal, dataset_id, wanted)})


@router.put(
    "/v1/datasets/{dataset_id}",
    summary="Update a dataset (datapoints replaces the membership)",
    openapi_extra=body_schema("Dataset"),
)
async def update_dataset(request: Request, dataset_id: str, principal: Reader) -> JsonResponse:
    wanted = parse_dataset(await read_json(request, context(request).settings))
    return JsonResponse({"result": await _update(request, principal, dataset_id, wanted)})


@router.delete(
    "/v1/datasets",
    summary="Delete the dataset named by ?dataset_id= (409 while runs use it, unless force=true)",
)
async def delete_dataset_legacy(request: Request, principal: Reader) -> JsonResponse:
    return await _delete(request, principal, *parse_delete(query_lists(request)))


@router.delete(
    "/v1/datasets/{dataset_id}",
    summary="Delete a dataset (409 while runs use it, unless force=true)",
)
async def delete_dataset(request: Request, dataset_id: str, principal: Reader) -> JsonResponse:
    return await _delete(request, principal, *parse_delete(query_lists(request), dataset_id))


@router.post(
    "/v1/datasets/{dataset_id}/datapoints",
    summary="Add rows as datapoints: mapped columns to inputs, history, ground_truth; the "
    "rest to metadata (all-or-nothing)",
    openapi_extra=body_schema("AddDatapoints"),
)
async def add_datapoints(request: Request, dataset_id: str, principal: Reader) -> JsonResponse:
    ctx = context(request)
    body = await read_json(request, ctx.settings)
    contents = await ctx.decode(_rows_to_datapoints, body, ctx.settings.max_batch_events)
    writes = tuple(DatapointWrite(str(uuid.uuid4()), c, new=True) for c in contents)
    op = PutDatapoints(
        principal.project.id, writes, dataset_ids=(dataset_id,), key_id=principal.key_id
    )
    await ctx.writer.submit([op])
    return JsonResponse({"inserted": True, "datapoint_ids": [w.datapoint_id for w in writes]})


@router.delete(
    "/v1/datasets/{dataset_id}/datapoints/{datapoint_id}",
    summary="Remove a datapoint from a dataset (the datapoint stays)",
)
@router.delete(
    "/v1/datasets/{dataset_id}/{datapoint_id}",
    summary="Remove a datapoint from a dataset (legacy path; the datapoint stays)",
)
async def remove_datapoint(
    request: Request, dataset_id: str, datapoint_id: str, principal: Reader
) -> JsonResponse:
    ctx = context(request)
    pid = principal.project.id
    await _require_dataset(ctx, pid, dataset_id)
    members = await ctx.read(ctx.store.dataset_members, pid, [dataset_id])
    if datapoint_id not in {m.datapoint_id for m in members[dataset_id]}:
        return JsonResponse(
            {
                "dereferenced": False,
                "message": f"datapoint {datapoint_id} is not in dataset {dataset_id}",
            }
        )
    remove = ChangeMembership(pid, dataset_id, remove=(datapoint_id,), key_id=principal.key_id)
    await ctx.writer.submit([remove])
    return JsonResponse(
        {
            "dereferenced": True,
            "message": f"datapoint {datapoint_id} removed from dataset {dataset_id}",
        }
    )


def _rows_to_datapoints(body: object, max_rows: int) -> list[DatapointContent]:
    rows, mapping = parse_rows(body, max_rows=max_rows)
    return datapoints_from_rows(rows, mapping)


async def _update(
    request: Request, principal: Principal, dataset_id: str, wanted: DatasetRequest
) -> JsonObject:
    """Apply an update (one version when the membership changes) and answer the
    dataset as it now is; NotFound for a dataset the project does not have."""
    ctx = context(request)
    pid = principal.project.id
    ops: list[WriteOp] = []
    if wanted.name is not None or wanted.description is not None:
        ops.append(SaveDataset(pid, dataset_id, name=wanted.name, description=wanted.description))
    if wanted.datapoint_ids is not None:
        replace = tuple(wanted.datapoint_ids)
        ops.append(ChangeMembership(pid, dataset_id, replace=replace, key_id=principal.key_id))
    if ops:
        await ctx.writer.submit(ops)
    (dataset,) = await _datasets(ctx, pid, DatasetQuery(dataset_id=dataset_id), required=True)
    return dataset


async def _delete(
    request: Request, principal: Principal, dataset_id: str, force: bool
) -> JsonResponse:
    await context(request).writer.submit([DeleteDataset(principal.project.id, dataset_id, force)])
    return JsonResponse({"result": {"id": dataset_id}})


async def _require_dataset(ctx: AppContext, project_id: str, dataset_id: str) -> None:
    if not await ctx.read(
        functools.partial(ctx.store.list_datasets, dataset_id=dataset_id), project_id
    ):
        raise NotFound(f"no dataset with id {dataset_id}", field="dataset_id")


async def _datasets(
    ctx: AppContext, project_id: str, query: DatasetQuery, *, required: bool = False
) -> list[JsonObject]:
    """The Dataset objects `query` selects, with the ids of their current members, or
    whole datapoints with `include_datapoints`. With `version` (and `dataset_id`), the
    dataset as that version left it: its members then, with the content they showed,
    and its history up to it. NotFound when `required` finds no dataset, or for a
    version the dataset does not have."""
    find = functools.partial(ctx.store.list_datasets, dataset_id=query.dataset_id, name=query.name)
    records = await ctx.read(find, project_id)
    if required and not records:
        raise NotFound(f"no dataset with id {query.dataset_id}", field="dataset_id")
    ids = [r.id for r in records]
    histories = await ctx.read(ctx.store.dataset_histories, project_id, ids)
    at: VersionKey | None = None
    if query.version is not None and records:
        (dataset_id,) = ids  # `version` comes with `dataset_id`
        history = histories[dataset_id]
        if query.version > len(history):
            raise NotFound(
                f"dataset {dataset_id} has {len(history)} versions, not {query.version}",
                field="version",
            )
        at = history[query.version - 1].key
        histories[dataset_id] = history[: query.version]
    if at is None:
        current = await ctx.read(ctx.store.dataset_members, project_id, ids)
    else:
        current = {ids[0]: await ctx.read(ctx.store.version_members, project_id, ids[0], at)}
    members = {d: [m.datapoint_id for m in of] for d, of in current.items()}
    if not query.include_datapoints:
        return [render_dataset(r, members[r.id], histories[r.id]) for r in records]
    if at is None:
        # A current member shows its current revision: one read for every dataset.
        wanted = list(dict.fromkeys(i for of in members.values() for i in of))
        found = await ctx.read(ctx.store.get_datapoints, project_id, wanted)
        rendered = {p.id: render_record(p) for p in found}
        contents = {d: [rendered[i] for i in of if i in rendered] for d, of in members.items()}
    else:
        listing = functools.partial(
            ctx.store.list_datapoints, dataset_id=ids[0], at=at, limit=max(1, len(members[ids[0]]))
        )
        contents = {ids[0]: [render_record(p) for p in await ctx.read(listing, project_id)]}
    return [render_dataset(r, contents[r.id], histories[r.id]) for r in records]

"""Datapoint routes: list (by ids, by dataset, or all), get, create, update, delete, and
datapoints made from stored events (`POST /v1/datapoints/batch`)."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hivekeeper.api.auth import reader_principal
from hivekeeper.api.docs import body_schema, query_parameters
from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.evaluation.datapoints import (
    DatapointQuery,
    DatapointRecord,
    apply_patch,
    parse_datapoint,
    parse_datapoint_query,
    render_record,
)
from hivekeeper.domain.evaluation.mapping import (
    EventSelection,
    datapoint_from_event,
    parse_selection,
)
from hivekeeper.domain.evaluation.ops import DatapointWrite, DeleteDatapoint, PutDatapoints
from hivekeeper.domain.tenancy import Principal
from hivekeeper.domain.types import StoredRow
from hivekeeper.store import Store
from hivekeeper.web import AppContext, JsonResponse, context, query_lists, read_json

router = APIRouter(tags=["datapoints"])
Reader = Annotated[Principal, Depends(reader_principal)]


@router.get(
    "/v1/datapoints",
    summary="Datapoints by datapoint_ids, by dataset (dataset_name or dataset_id), or all "
    "of the project, paged",
    openapi_extra=query_parameters("DatapointList"),
)
async def list_datapoints(request: Request, principal: Reader) -> JsonResponse:
    query = parse_datapoint_query(query_lists(request))
    found = await _select(context(request), principal.project.id, query)
    return JsonResponse({"datapoints": [render_record(p) for p in found]})


@router.post("/v1/datapoints", summary="Create a datapoint", openapi_extra=body_schema("Datapoint"))
async def create_datapoint(request: Request, principal: Reader) -> JsonResponse:
    ctx = context(request)
    patch = parse_datapoint(await read_json(request, ctx.settings))
    datapoint_id = str(uuid.uuid4())
    write = DatapointWrite(datapoint_id, apply_patch(None, patch), new=True)
    datasets = tuple(patch.get("linked_datasets", ()))
    await ctx.writer.submit(
        [PutDatapoints(principal.project.id, (write,), datasets, key_id=principal.key_id)]
    )
    return JsonResponse({"inserted": True, "result": {"insertedIds": [datapoint_id]}})


@router.post(
    "/v1/datapoints/batch",
    summary="Datapoints made from stored events (by ids, or by filters and dateRange), "
    "each linked to its event",
    openapi_extra=body_schema("DatapointBatch"),
)
async def create_datapoints_from_events(request: Request, principal: Reader) -> JsonResponse:
    ctx = context(request)
    selection = parse_selection(await read_json(request, ctx.settings), now_ms=ctx.now_ms())
    events = await ctx.read(
        _selected_events, ctx.store, principal.project.id, selection, ctx.settings.max_batch_events
    )
    writes = tuple(
        DatapointWrite(str(uuid.uuid4()), datapoint_from_event(e, selection.mapping), new=True)
        for e in events
    )
    datasets = () if selection.dataset_id is None else (selection.dataset_id,)
    await ctx.writer.submit(
        [PutDatapoints(principal.project.id, writes, datasets, key_id=principal.key_id)]
    )
    return JsonResponse({"inserted": True, "insertedIds": [w.datapoint_id for w in writes]})


@router.get("/v1/datapoints/{datapoint_id}", summary="A datapoint, as {datapoint: [one]}")
async def get_datapoint(request: Request, datapoint_id: str, principal: Reader) -> JsonResponse:
    found = await _one(context(request), principal.project.id, datapoint_id)
    return JsonResponse({"datapoint": [render_record(found)]})


@router.put(
    "/v1/datapoints/{datapoint_id}",
    summary="Update a datapoint: the fields given replace its own (a new version of every "
    "dataset holding it)",
    openapi_extra=body_schema("Datapoint"),
)
async def update_datapoint(request: Request, datapoint_id: str, principal: Reader) -> JsonResponse:
    ctx = context(request)
    patch = parse_datapoint(await read_json(request, ctx.settings))
    current = await _one(ctx, principal.project.id, datapoint_id)
    write = DatapointWrite(datapoint_id, apply_patch(current.content, patch), new=False)
    joined = tuple(d for d in patch.get("linked_datasets", ()) if d not in current.linked_datasets)
    await ctx.writer.submit(
        [PutDatapoints(principal.project.id, (write,), joined, key_id=principal.key_id)]
    )
    return JsonResponse({"updated": True, "result": {"modifiedCount": 1}})


@router.delete(
    "/v1/datapoints/{datapoint_id}",
    summary="Delete a datapoint (removed from its datasets; old versions keep it)",
)
async def delete_datapoint(request: Request, datapoint_id: str, principal: Reader) -> JsonResponse:
    op = DeleteDatapoint(principal.project.id, datapoint_id, key_id=principal.key_id)
    await context(request).writer.submit([op])
    return JsonResponse({"deleted": True})


async def _one(ctx: AppContext, project_id: str, datapoint_id: str) -> DatapointRecord:
    found = await ctx.read(ctx.store.get_datapoints, project_id, [datapoint_id])
    if not found:
        raise NotFound(f"no datapoint with id {datapoint_id}", field="datapoint_id")
    return found[0]


async def _select(ctx: AppContext, project_id: str, query: DatapointQuery) -> list[DatapointRecord]:
    """The page of datapoints `query` selects. Ids are read as asked (and, with a
    dataset named too, only those it holds); a dataset's members in dataset order; with
    neither, every datapoint of the project, oldest first."""
    offset = (query.page - 1) * query.limit
    named = query.dataset_id is not None or query.dataset_name is not None
    dataset_ids: list[str] = []
    if named:
        find = functools.partial(
            ctx.store.list_datasets, dataset_id=query.dataset_id, name=query.dataset_name
        )
        dataset_ids = [d.id for d in await ctx.read(find, project_id)]
    if query.datapoint_ids is not None:
        found = await ctx.read(ctx.store.get_datapoints, project_id, query.datapoint_ids)
        if named:
            found = [p for p in found if set(p.linked_datasets) & set(dataset_ids)]
        return found[offset : offset + query.limit]
    if not named:
        every = functools.partial(ctx.store.list_datapoints, limit=query.limit, offset=offset)
        return await ctx.read(every, project_id)
    if len(dataset_ids) == 1:
        page = functools.partial(
            ctx.store.list_datapoints, dataset_id=dataset_ids[0], limit=query.limit, offset=offset
        )
        return await ctx.read(page, project_id)
    # Several datasets of that name (names are not unique): their members, each once.
    members = await ctx.read(ctx.store.dataset_members, project_id, dataset_ids)
    ids = list(dict.fromkeys(m.datapoint_id for d in dataset_ids for m in members[d]))
    return await ctx.read(ctx.store.get_datapoints, project_id, ids[offset : offset + query.limit])


def _selected_events(
    store: Store, project_id: str, selection: EventSelection, max_rows: int
) -> list[StoredRow]:
    """The events a batch selects, in order: those named, then those its query
    matches, minus the excluded; NotFound naming an id the project lacks, and
    ValidationFailed past `max_rows`."""
    if len(selection.event_ids) > max_rows:
        raise ValidationFailed(
            f"{len(selection.event_ids)} events named; at most {max_rows} datapoints per "
            "request (setting max_batch_events)",
            field="events",
        )
    events: dict[str, StoredRow] = {}
    for event_id in selection.event_ids:
        row = store.get_event(project_id, event_id)
        if row is None:
            raise NotFound(f"no event with id {event_id}", field="events")
        events[event_id] = row
    if selection.query is not None:
        query = dataclasses.replace(selection.query, limit=max_rows + 1, page=1, count_total=False)
        rows, _ = store.query_events(project_id, query)
        if len(rows) > max_rows:
            raise ValidationFailed(
                f"the filters select more than {max_rows} events; at most {max_rows} "
                "datapoints per request (setting max_batch_events): narrow them",
                field="filters",
            )
        events.update((row["event_id"], row) for row in rows if row["event_id"] not in events)
    kept = [row for event_id, row in events.items() if event_id not in selection.excluded_ids]
    if not kept:
        raise ValidationFailed("the selection holds no event", field="events")
    if len(kept) > max_rows:
        raise ValidationFailed(
            f"{len(kept)} events selected; at most {max_rows} datapoints per request "
            "(setting max_batch_events)",
            field="events",
        )
    return kept

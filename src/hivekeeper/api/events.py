"""Event write routes (create, batch, legacy model events, update) and by-id reads."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from hivekeeper.api.auth import reader_principal, writer_principal
from hivekeeper.api.docs import body_schema
from hivekeeper.api.sessions import session_tree
from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.events import parse_update, require_object
from hivekeeper.domain.render import render_event
from hivekeeper.domain.tenancy import Principal
from hivekeeper.domain.types import DeleteEvent, Update
from hivekeeper.ingest import (
    PlannedWrite,
    plan_batch,
    plan_event,
    unwrap,
)
from hivekeeper.web import JsonResponse, context, json_limits, read_json

router = APIRouter(tags=["events"])
Writer = Annotated[Principal, Depends(writer_principal)]
Reader = Annotated[Principal, Depends(reader_principal)]


async def _write(request: Request, planned: PlannedWrite) -> None:
    ctx = context(request)
    await ctx.writer.submit(planned.ops)
    ctx.metrics.count_events(len(planned.event_ids))


async def _body(request: Request) -> Any:
    return await read_json(request, context(request).settings)


def _max_events(request: Request) -> int:
    return context(request).settings.max_batch_events


@router.post("/events", summary="Create an event", openapi_extra=body_schema("EventEnvelope"))
@router.post("/v1/events", summary="Create an event", openapi_extra=body_schema("EventEnvelope"))
async def create_event(request: Request, principal: Writer) -> JsonResponse:
    limits = json_limits(context(request).settings)
    planned = plan_event(principal.project.id, unwrap(await _body(request), "event", limits))
    await _write(request, planned)
    return JsonResponse({"success": True, "event_id": planned.event_ids[0]})


@router.post(
    "/events/batch",
    summary="Create events (all-or-nothing)",
    openapi_extra=body_schema("EventBatch"),
)
@router.post(
    "/v1/events/batch",
    summary="Create events (all-or-nothing)",
    openapi_extra=body_schema("EventBatch"),
)
async def create_event_batch(request: Request, principal: Writer) -> JsonResponse:
    planned = plan_batch(
        principal.project.id, await _body(request), max_events=_max_events(request)
    )
    await _write(request, planned)
    return JsonResponse(_batch_answer(planned))


@router.post(
    "/v1/sessions/{session_id}/events/batch",
    summary="Add events to one session (all-or-nothing)",
    openapi_extra=body_schema("EventBatch"),
)
@router.post(
    "/session/{session_id}/traces",
    summary="Add events to one session (legacy: `events` or `logs`)",
    openapi_extra=body_schema("EventBatch"),
)
async def create_session_event_batch(
    request: Request, session_id: str, principal: Writer
) -> JsonResponse:
    body = require_object(await _body(request), "body")
    events_key = "logs" if "events" not in body and "logs" in body else "events"
    planned = plan_batch(
        principal.project.id,
        {
            events_key: body.get(events_key),
            "is_single_session": True,
            "session_properties": {"session_id": session_id},
        },
        events_key=events_key,
        max_events=_max_events(request),
    )
    await _write(request, planned)
    return JsonResponse(_batch_answer(planned))


@router.post(
    "/events/model",
    summary="Create a model event (legacy shape)",
    openapi_extra=body_schema("ModelEvent"),
)
@router.post(
    "/v1/events/model",
    summary="Create a model event (legacy shape)",
    openapi_extra=body_schema("ModelEvent"),
)
async def create_model_event(request: Request, principal: Writer) -> JsonResponse:
    raw = unwrap(await _body(request), "model_event", json_limits(context(request).settings))
    planned = plan_batch(
        principal.project.id,
        {"model_events": [raw]},
        events_key="model_events",
        model_events=True,
    )
    await _write(request, planned)
    return JsonResponse({"success": True, "event_id": planned.event_ids[0]})


@router.post(
    "/events/model/batch",
    summary="Create model events (legacy shape, all-or-nothing)",
    openapi_extra=body_schema("ModelEventBatch"),
)
@router.post(
    "/v1/events/model/batch",
    summary="Create model events (legacy shape, all-or-nothing)",
    openapi_extra=body_schema("ModelEventBatch"),
)
async def create_model_event_batch(request: Request, principal: Writer) -> JsonResponse:
    planned = plan_batch(
        principal.project.id,
        await _body(request),
        events_key="model_events",
        model_events=True,
        max_events=_max_events(request),
    )
    await _write(request, planned)
    return JsonResponse(_batch_answer(planned))


@router.put(
    "/events",
    summary="Merge an update into an event (kept until the event arrives)",
    openapi_extra=body_schema("EventUpdate"),
)
async def update_event(request: Request, principal: Writer) -> JsonResponse:
    patch = parse_update(await _body(request))
    await context(request).writer.submit([Update(principal.project.id, patch)])
    return JsonResponse({"success": True})


@router.put(
    "/v1/events/{event_id}",
    summary="Merge an update into an event",
    openapi_extra=body_schema("EventFields"),
)
async def update_event_by_id(request: Request, event_id: str, principal: Writer) -> JsonResponse:
    patch = parse_update(await _body(request), event_id=event_id)
    await context(request).writer.submit([Update(principal.project.id, patch)])
    return JsonResponse({"success": True})


@router.get(
    "/v1/events/{event_id}",
    summary="An event as {event}; for a session id, also the session tree at top level",
)
async def get_event(request: Request, event_id: str, principal: Reader) -> JsonResponse:
    ctx = context(request)
    row = await ctx.read(ctx.store.get_event, principal.project.id, event_id)
    if row is None:
        raise NotFound(f"no event with id {event_id}", field="event_id")
    if row["event_type"] == "session":
        tree = await session_tree(request, event_id, principal)
        return JsonResponse({**tree, "event": {k: v for k, v in tree.items() if k != "children"}})
    children = await ctx.read(ctx.store.children_of, principal.project.id, [event_id])
    return JsonResponse({"event": render_event(row, principal.project, children.get(event_id, []))})


@router.delete(
    "/v1/events/{event_id}",
    summary="Delete an event (a session id: the session; a pending update's id: the update)",
)
async def delete_event(request: Request, event_id: str, principal: Reader) -> JsonResponse:
    ctx = context(request)
    find = functools.partial(ctx.store.get_event, include_pending=True)
    if await ctx.read(find, principal.project.id, event_id) is None:
        raise NotFound(f"no event with id {event_id}", field="event_id")
    await ctx.writer.submit([DeleteEvent(principal.project.id, event_id)])
    return JsonResponse({"success": True, "deleted": event_id})


def _batch_answer(planned: PlannedWrite) -> dict[str, Any]:
    answer: dict[str, Any] = {"event_ids": planned.event_ids, "success": True}
    if planned.session_id is not None:
        answer["session_id"] = planned.session_id
    return answer

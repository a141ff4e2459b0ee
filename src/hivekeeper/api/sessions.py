"""Session routes: start (both generations), read as a tree, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from hivekeeper.api.auth import reader_principal, writer_principal
from hivekeeper.api.docs import body_schema
from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.events import require_object
from hivekeeper.domain.render import render_event, render_sent_session, render_tree
from hivekeeper.domain.tenancy import Principal
from hivekeeper.domain.types import DeleteSession
from hivekeeper.ingest import plan_session, unwrap
from hivekeeper.web import JsonResponse, context, json_limits, read_json

router = APIRouter(tags=["sessions"])
Writer = Annotated[Principal, Depends(writer_principal)]
Reader = Annotated[Principal, Depends(reader_principal)]


@router.post(
    "/v1/sessions",
    summary="Start a session (bare session object); merges into an existing id",
    openapi_extra=body_schema("SessionStart"),
)
@router.post(
    "/session/start",
    summary="Start a session ({session: object | JSON string}); merges into an existing id",
    openapi_extra=body_schema("SessionStartEnvelope"),
)
async def start_session(request: Request, principal: Writer) -> JsonResponse:
    ctx = context(request)
    body = await read_json(request, ctx.settings)
    session = unwrap(body, "session", json_limits(ctx.settings))
    op, session_id = plan_session(principal.project.id, session)
    await ctx.writer.submit([op])
    if not principal.can_read:
        # Spec §4.2 answers the stored session; a key that may not read gets only
        # what it sent (README, "Plain REST").
        sent = require_object(session, "session")
        return JsonResponse(render_sent_session(sent, session_id, principal.project))
    row = await ctx.lookup(ctx.store.get_event, principal.project.id, session_id)
    if row is None:  # deleted between commit and read
        raise NotFound(f"session {session_id} no longer exists")
    return JsonResponse(render_event(row, principal.project))


@router.get("/v1/sessions/{session_id}", summary="A session with its whole event tree")
async def get_session(request: Request, session_id: str, principal: Reader) -> JsonResponse:
    return JsonResponse(await session_tree(request, session_id, principal))


async def session_tree(request: Request, session_id: str, principal: Principal) -> dict[str, Any]:
    """The nested tree of a session of the caller's project; NotFound otherwise."""
    ctx = context(request)
    rows = await ctx.read(ctx.store.session_events, principal.project.id, session_id)
    tree = render_tree(rows, session_id, principal.project)
    if tree is None:
        raise NotFound(f"no session with id {session_id}", field="session_id")
    return tree


@router.delete("/v1/sessions/{session_id}", summary="Delete a session and all its events")
async def delete_session(request: Request, session_id: str, principal: Reader) -> JsonResponse:
    ctx = context(request)
    row = await ctx.read(ctx.store.get_event, principal.project.id, session_id)
    if row is None or row["event_type"] != "session":
        raise NotFound(f"no session with id {session_id}", field="session_id")
    await ctx.writer.submit([DeleteSession(principal.project.id, session_id)])
    return JsonResponse({"success": True, "deleted": session_id})

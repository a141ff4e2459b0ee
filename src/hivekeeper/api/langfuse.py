"""The Langfuse routes an unchanged Langfuse SDK calls: its auth check and its scores.

The SDK's traces go to `POST /api/public/otel/v1/traces`, the OTLP trace route
(`api.otlp`). Every route here takes the key as HTTP Basic credentials too
(`api.auth`): the secret is a hivekeeper key, the public key anything.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from hivekeeper.api.auth import writer_principal
from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.filters import EventQuery, parse_conditions
from hivekeeper.domain.tenancy import Principal
from hivekeeper.domain.types import Update
from hivekeeper.ingest import Score, ScoreError, parse_score, score_update, trace_session_id
from hivekeeper.web import AppContext, JsonResponse, context, read_json

router = APIRouter(tags=["langfuse"])
Writer = Annotated[Principal, Depends(writer_principal)]

_TRACE_LOOKBACK_MS = 30 * 86_400_000
"""How far back a trace-level score looks for its trace's spans (by their start)."""


@router.get(
    "/api/public/projects",
    summary="Langfuse: the key's project (the SDK's auth check); a full or ingest key",
)
async def langfuse_projects(principal: Writer) -> JsonResponse:
    project = principal.project
    return JsonResponse(
        {
            "data": [
                {
                    "id": project.id,
                    "name": project.name,
                    "organization": {"id": project.org_id, "name": project.org_id},
                    "metadata": {},
                }
            ]
        }
    )


@router.post(
    "/api/public/scores",
    summary="Langfuse: scores → the scored event's metrics or feedback",
    description="A JSON array of scores (SDK v5: answered `200` `{message}`, or `207` "
    "`{accepted, rejected, errors}` when some cannot be stored), or one score "
    "(answered `{id}`). A score with `traceId` and `observationId` scores that span's "
    "event, with `traceId` alone the trace's session, with `sessionId` that session. "
    "Needs a full or ingest key.",
)
async def langfuse_scores(request: Request, principal: Writer) -> JsonResponse:
    ctx = context(request)
    body = await read_json(request, ctx.settings)
    project_id = principal.project.id
    if not isinstance(body, list):
        score = _parse_one(body)
        await ctx.writer.submit([await _update(ctx, project_id, score)])
        return JsonResponse({"id": score.sent.get("id") or score.name})
    ops: list[Update] = []
    errors: list[dict[str, str]] = []
    for index, raw in enumerate(body):
        try:
            ops.append(await _update(ctx, project_id, parse_score(raw)))
        except ScoreError as exc:
            errors.append({"message": f"[{index}] {exc}"})
    await ctx.writer.submit(ops)
    if errors:
        answer = {"accepted": len(ops), "rejected": len(errors), "errors": errors}
        return JsonResponse(answer, status_code=207)
    return JsonResponse({"message": "Accepted"})


def _parse_one(raw: Any) -> Score:
    try:
        return parse_score(raw)
    except ScoreError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None


async def _update(ctx: AppContext, project_id: str, score: Score) -> Update:
    trace_session = None
    if score.observation_event_id is None and score.trace_id is not None:
        trace_session = await _trace_session(ctx, project_id, score.trace_id)
    return score_update(project_id, score, trace_session)


async def _trace_session(ctx: AppContext, project_id: str, trace_id: str) -> str:
    """The session of the trace's stored spans (a trace whose spans name a session,
    `session.id`), else the session its spans get when they name none."""
    conditions = parse_conditions(
        [{"field": "metadata.otel.trace_id", "operator": "is", "value": trace_id}], 1
    )
    now = ctx.now_ms()
    query = EventQuery(
        conditions=conditions,
        start_ms=now - _TRACE_LOOKBACK_MS,
        projections=("session_id",),
        limit=1,
        count_total=False,
    )
    rows, _ = await ctx.read(ctx.store.query_events, project_id, query)
    session_id = rows[0].get("session_id") if rows else None
    return session_id if isinstance(session_id, str) else trace_session_id(trace_id)

"""`/health`: is this process able to take writes?"""

from __future__ import annotations

from fastapi import APIRouter, Request

from hivekeeper import __version__
from hivekeeper.api.context import context
from hivekeeper.api.http import JsonResponse
from hivekeeper.ingest import WriterState

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness and write-queue depth (no auth)")
async def health(request: Request) -> JsonResponse:
    writer = context(request).writer
    ok = writer.state is WriterState.RUNNING
    return JsonResponse(
        {
            "status": "ok" if ok else "unavailable",
            "version": __version__,
            "writer": writer.state.value,
            "queued_writes": writer.queued_ops,
            "writing": writer.writing_ops,
        },
        status_code=200 if ok else 503,
    )

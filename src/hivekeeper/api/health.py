"""`/health` and `/metrics`: what probes and scrapers read, with no key.

`/health` says whether this process is able to take writes; `/metrics` is the
Prometheus exposition of `web.metrics` (counts only, no tenant data).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hivekeeper import __version__
from hivekeeper.ingest import WriterState
from hivekeeper.web import JsonResponse, context

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


@router.get(
    "/metrics",
    summary="Prometheus metrics (no auth; counts only, no tenant data)",
    response_class=Response,
)
async def metrics(request: Request) -> Response:
    body, content_type = context(request).metrics.render(request.headers.get("accept", ""))
    return Response(body, media_type=content_type)

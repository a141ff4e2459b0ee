"""Builds the ASGI app: store, writer, routes, error handlers, lifecycle."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hivekeeper import __version__, ui
from hivekeeper.api import (
    charts,
    configurations,
    datapoints,
    datasets,
    evaluators,
    events,
    health,
    langfuse,
    otlp,
    prices,
    projects,
    queries,
    queues,
    sessions,
)
from hivekeeper.api.otlp_grpc import OtlpGrpcServer
from hivekeeper.api.runs import router as runs_router
from hivekeeper.config import Settings
from hivekeeper.ingest import ProjectPrices, RedactionRules, RetentionJob, Writer
from hivekeeper.store import Store, open_store
from hivekeeper.web import (
    AccessLog,
    AppContext,
    BodyBudget,
    BodyBudgetMiddleware,
    FailedAuthThrottle,
    Lanes,
    Metrics,
    Observer,
    ObserveRequests,
    ReadSlots,
    install_error_handlers,
    log_unmatched,
)

_DESCRIPTION = (
    "Self-hosted LLM observability that speaks the HoneyHive API. Every route but "
    "`/health`, `/metrics` and the docs needs `Authorization: Bearer <api key>`. Errors answer "
    '`{"message", "errorCode", "field"?}`.'
)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The app. Its lifespan opens the store, runs the writer and, unless `grpc_port`
    is 0, the OTLP/gRPC receiver; nothing happens on import.

    Shutdown order: the server stops accepting and finishes requests, then the gRPC
    receiver refuses new calls and finishes those in flight, then the writer commits
    what it already queued, then the store closes.
    """
    the_store = store or open_store(
        settings.database_url, synchronous_full=settings.sqlite_synchronous_full
    )
    the_metrics = Metrics()
    redactions = RedactionRules(the_store)
    project_prices = ProjectPrices(the_store)
    writer = Writer(
        the_store,
        max_queue_ops=settings.max_queue_ops,
        max_batch_ops=settings.max_batch_ops,
        clock=clock,
        on_commit=the_metrics.observe_commit,
        redact=redactions.apply,
        max_children_ids=settings.max_children_ids,
        prices=project_prices.table,
    )
    retention = RetentionJob(
        the_store,
        writer,
        default_days=settings.retention_days,
        interval_s=settings.retention_interval_s,
        clock=clock,
        pending_expiry_hours=settings.pending_expiry_hours,
        on_pending_expired=the_metrics.count_expired_pending,
    )
    the_metrics.watch_queue(lambda: writer.queued_ops, settings.max_queue_ops)
    read_slots = ReadSlots(settings.max_reads_per_project)
    body_budget = BodyBudget(settings.max_inflight_body_bytes)
    the_metrics.watch_admission(
        lambda: read_slots.in_use, lambda: body_budget.in_flight_bytes, body_budget.limit_bytes
    )
    ctx = AppContext(
        settings=settings,
        store=the_store,
        writer=writer,
        clock=clock,
        metrics=the_metrics,
        auth_throttle=FailedAuthThrottle(settings.auth_failures_per_minute),
        lanes=Lanes(),
        read_slots=read_slots,
        body_budget=body_budget,
        prices=project_prices,
    )

    grpc_server = (
        OtlpGrpcServer(
            ctx, host=settings.host, port=settings.grpc_port, reuse_port=settings.workers > 1
        )
        if settings.grpc_port
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        start(ctx)
        try:
            await redactions.start()  # before the first request: no write escapes the rules
            await project_prices.start()
            retention.start()
            if grpc_server is not None:
                await grpc_server.start()
            yield
        finally:
            if grpc_server is not None:
                await grpc_server.stop(settings.shutdown_timeout_s)
            await retention.close()
            await redactions.close()
            await project_prices.close()
            stop(ctx)

    app = FastAPI(
        title="hivekeeper",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        # Served by `ui.apidocs`, offline and with the UI's security headers.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.hivekeeper = ctx
    install_error_handlers(app)
    app.add_middleware(BodyBudgetMiddleware, budget=body_budget)
    observers: list[Observer] = [the_metrics.observe_request, log_unmatched]
    if settings.access_log:
        observers.append(AccessLog(trust_forwarded_for=settings.trust_forwarded_for))
    app.add_middleware(ObserveRequests, observers=observers)
    # Fixed paths (`/v1/events/chart`) must precede `/v1/events/{event_id}`.
    app.include_router(runs_router)  # experiment runs, and `/v1/events/schema`
    for module in (health, sessions, queries, events, otlp):
        app.include_router(module.router)
    app.include_router(langfuse.router)  # Langfuse's SDK: auth check, scores
    app.include_router(prices.router)  # a project's own model prices
    # The evaluation plane: datasets, prompts, evaluators, saved charts, and what is not
    # served yet (501).
    for module in (datasets, datapoints, configurations, evaluators, charts, projects, queues):
        app.include_router(module.router)
    app.include_router(ui.router)
    return app


def start(ctx: AppContext) -> None:
    """Open the store (migrating it) and start the writer."""
    ctx.store.open()
    ctx.writer.start()


def stop(ctx: AppContext) -> None:
    """Drain the writer, then close the store. Idempotent."""
    ctx.writer.close()
    ctx.store.close()

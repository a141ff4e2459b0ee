"""Sessions and events into datasets: one from its page (its inputs and outputs,
editable before saving), or every match of a filtered sessions list or events
explorer at once; and the way from a datapoint back to its linked event's session.

A datapoint made from an event is what `POST /v1/datapoints/batch` makes without a
mapping (`mapping.datapoint_from_event`): the event's inputs, its chat history, and
as ground truth its `feedback.ground_truth`, else its outputs; linked to the event.
A bulk add is one op, all-or-nothing, bounded like an API batch (`max_batch_events`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.evaluation.datapoints import apply_patch
from hivekeeper.domain.evaluation.datasets import DEFAULT_NAME, DatasetRecord, parse_dataset
from hivekeeper.domain.evaluation.mapping import datapoint_from_event
from hivekeeper.domain.evaluation.ops import DatapointWrite, PutDatapoints, SaveDataset
from hivekeeper.domain.filters import EventQuery
from hivekeeper.domain.render import render_event
from hivekeeper.domain.tenancy import Project
from hivekeeper.domain.types import WriteOp
from hivekeeper.ui import auth, forms, params
from hivekeeper.ui.datapoints import ContentForm, parse_content_form
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.templating import page as render_page
from hivekeeper.web import AppContext, context, read_events

router = APIRouter(route_class=UiRoute, include_in_schema=False)
# Names of matches the bulk page lists before asking.
_SAMPLE = 10
_SOURCES = {"sessions": "Sessions", "events": "Events"}


@router.get("/p/{pid}/events/{event_id}/session")
async def linked_session(request: Request, event_id: str, page: auth.Page) -> Response:
    """Where a datapoint's linked event is seen: its session's page, with it selected."""
    ctx = context(request)
    row = await ctx.read(ctx.store.get_event, page.project.id, event_id)
    if row is None:
        raise NotFound(f"no event with id {event_id} in this project (it may have expired)")
    session_id = row["session_id"] or event_id
    return RedirectResponse(
        f"/p/{page.project.id}/sessions/{session_id}?{urlencode({'event': event_id})}",
        status_code=303,
    )


@router.get("/p/{pid}/events/{event_id}/add-to-dataset")
async def add_event_form(request: Request, event_id: str, page: auth.Page) -> Response:
    ctx = context(request)
    event = await _event(ctx, page.project, event_id)
    content = datapoint_from_event(event, None)
    return await _event_page(request, page, event, ContentForm.of(content), forms.Filled())


@router.post("/p/{pid}/events/{event_id}/add-to-dataset")
async def add_event(request: Request, event_id: str, page: auth.Page) -> Response:
    """Save the (edited) datapoint into the chosen dataset, or a new one, linked to the
    event."""
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    event = await _event(ctx, page.project, event_id)
    try:
        patch = parse_content_form(form, ctx.settings)
        dataset_id, create = await _target(ctx, page.project.id, form)
    except ValidationFailed as exc:
        filled = forms.Filled(form, exc.message, exc.field)
        return await _event_page(request, page, event, ContentForm.typed(form), filled, 400)
    content = replace(apply_patch(None, patch), linked_event=event_id)
    datapoint_id = str(uuid.uuid4())
    write = DatapointWrite(datapoint_id, content, new=True)
    ops: list[WriteOp] = [*create, PutDatapoints(
        page.project.id, (write,), dataset_ids=(dataset_id,), key_id=page.principal.key_id
    )]  # fmt: skip
    await ctx.writer.submit(ops)
    return RedirectResponse(
        f"/p/{page.project.id}/datasets/{dataset_id}/datapoints/{datapoint_id}", status_code=303
    )


@router.get("/p/{pid}/add-to-dataset")
async def add_matches_form(request: Request, page: auth.Page) -> Response:
    """What a filtered sessions list (`from=sessions`) or events explorer
    (`from=events`) would add: how many match, the first few, and where to."""
    query_text = request.url.query
    return await _bulk_page(request, page, query_text, forms.Filled())


@router.post("/p/{pid}/add-to-dataset")
async def add_matches(request: Request, page: auth.Page) -> Response:
    """Add every event the list's view matches (read again now) to a dataset, as one
    op; ValidationFailed past `max_batch_events` matches."""
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    query_text = form.get("query", "")
    try:
        query, _ = _bulk_query(ctx, query_text)
        events = await _matches(ctx, page.project, query, ctx.settings.max_batch_events)
        if not events:
            raise ValidationFailed("nothing matches this view; there is nothing to add")
        dataset_id, create = await _target(ctx, page.project.id, form)
    except ValidationFailed as exc:
        return await _bulk_page(request, page, query_text, forms.Filled(form, exc.message), 400)
    writes = tuple(
        DatapointWrite(str(uuid.uuid4()), datapoint_from_event(e, None), new=True) for e in events
    )
    op = PutDatapoints(
        page.project.id, writes, dataset_ids=(dataset_id,), key_id=page.principal.key_id
    )
    await ctx.writer.submit([*create, op])
    return RedirectResponse(f"/p/{page.project.id}/datasets/{dataset_id}", status_code=303)


async def _event(ctx: AppContext, project: Project, event_id: str) -> dict[str, Any]:
    row = await ctx.read(ctx.store.get_event, project.id, event_id)
    if row is None:
        raise NotFound(f"no event with id {event_id} in this project")
    return render_event(row, project)


async def _target(
    ctx: AppContext, project_id: str, form: dict[str, str]
) -> tuple[str, list[WriteOp]]:
    """The dataset the form chose (a live one of the project), or a new one named in
    `new_name` with the op creating it."""
    chosen = form.get("dataset", "")
    if chosen:
        found = await ctx.read(lambda: ctx.store.list_datasets(project_id, dataset_id=chosen))
        if not found:
            raise ValidationFailed("that dataset no longer exists; choose another", field="dataset")
        return chosen, []
    parsed = parse_dataset({"name": forms.text(form, "new_name") or DEFAULT_NAME})
    dataset_id = str(uuid.uuid4())
    return dataset_id, [SaveDataset(project_id, dataset_id, name=parsed.name, create=True)]


async def _datasets(ctx: AppContext, project_id: str) -> list[DatasetRecord]:
    records = await ctx.read(ctx.store.list_datasets, project_id)
    return sorted(records, key=lambda r: -(r.updated_at_ms or r.created_at_ms))


async def _event_page(
    request: Request,
    page: auth.ProjectPage,
    event: dict[str, Any],
    boxes: ContentForm,
    filled: forms.Filled,
    status: int = 200,
) -> Response:
    ctx = context(request)
    session_id = event.get("session_id") or event["event_id"]
    selected = urlencode({"event": event["event_id"]})
    return render_page(
        request,
        "add_to_dataset.html",
        status=status,
        **auth.chrome(page, "datasets"),
        event=event,
        back=f"/p/{page.project.id}/sessions/{session_id}?{selected}",
        boxes=boxes,
        filled=filled,
        datasets=await _datasets(ctx, page.project.id),
    )


def _bulk_query(ctx: AppContext, query_text: str) -> tuple[EventQuery, str]:
    """The list view a query string describes, as the query that reads every match,
    and which list it came from. ValidationFailed as the list itself would answer."""
    raw = parse_qs(query_text, keep_blank_values=True)
    source = (raw.pop("from", None) or ["events"])[-1]
    if source not in _SOURCES:
        raise ValidationFailed("from must be sessions or events", field="from")
    state = replace(params.read_state(raw), page=1)
    query = params.event_query(
        state,
        ctx.now_ms(),
        max_filters=ctx.settings.max_filters,
        sessions_only=source == "sessions",
    )
    return replace(query, page=1, count_total=False), source


async def _matches(
    ctx: AppContext, project: Project, query: EventQuery, most: int
) -> list[dict[str, Any]]:
    """Every event `query` matches, rendered, in its order; ValidationFailed when more
    than `most` match (one more is read to tell)."""
    found: list[dict[str, Any]] = []
    async for batch in await read_events(ctx, project, query, rows=most + 1):
        found.extend(batch)
    if len(found) > most:
        raise ValidationFailed(
            f"more than {most:,} events match this view; at most {most:,} are added at "
            "once (max_batch_events): narrow the filters or the date range",
            field="query",
        )
    return found


async def _bulk_page(
    request: Request,
    page: auth.ProjectPage,
    query_text: str,
    filled: forms.Filled,
    status: int = 200,
) -> Response:
    ctx = context(request)
    error = filled.error
    events: Sequence[dict[str, Any]] = []
    source = "events"
    try:
        query, source = _bulk_query(ctx, query_text)
        events = await _matches(ctx, page.project, query, ctx.settings.max_batch_events)
    except ValidationFailed as exc:
        error = error or exc.message
    raw = parse_qs(query_text, keep_blank_values=True)
    raw.pop("from", None)
    return render_page(
        request,
        "add_matches.html",
        status=status if error is None or filled.error else 400,
        **auth.chrome(page, source),
        source=source,
        source_label=_SOURCES.get(source, "Events"),
        back=f"/p/{page.project.id}/{source}?{urlencode(raw, doseq=True)}",
        query=query_text,
        count=len(events),
        sample=events[:_SAMPLE],
        error=error,
        filled=filled,
        datasets=await _datasets(ctx, page.project.id),
    )

"""The events explorer: every event of the project, filtered, with chosen columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.filters import OPERATORS
from hivekeeper.domain.render import render_event
from hivekeeper.domain.types import EVENT_TYPES
from hivekeeper.ui import auth, formats, params
from hivekeeper.ui.columns import DEFAULT_COLUMNS, value_at
from hivekeeper.ui.paging import read_page
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.templating import page as render_page
from hivekeeper.web import context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
# Roll-up sort keys are zero on every row but sessions: meaningless across events.
EVENT_SORT_KEYS = ("start_time", "end_time", "duration")


@router.get("/p/{pid}/events")
async def events_list(request: Request, page: auth.Page) -> Response:
    ctx = context(request)
    state = params.read_state({k: request.query_params.getlist(k) for k in request.query_params})
    error = None
    rows: list[tuple[dict[str, object], list[str]]] = []
    more = False
    columns = state.cols or DEFAULT_COLUMNS
    try:
        params.columns(state)
        if state.sort not in EVENT_SORT_KEYS:
            raise ValidationFailed(f"sort must be one of {', '.join(EVENT_SORT_KEYS)}")
        query = params.event_query(state, ctx.now_ms(), max_filters=ctx.settings.max_filters)
        found, more = await read_page(ctx, page.project.id, query)
        for row in found:
            event = render_event(row, page.project)
            rows.append((event, event_cells(event, columns)))
    except ValidationFailed as exc:
        error = exc.message
    export = state.query_string(page=1)
    return render_page(
        request,
        "events.html",
        **auth.chrome(page, "events"),
        state=state,
        rows=rows,
        more=more,
        error=error,
        columns=columns,
        default_columns=DEFAULT_COLUMNS,
        sort_keys=EVENT_SORT_KEYS,
        event_types=sorted(EVENT_TYPES),
        operators=OPERATORS,
        ranges=params.RANGES,
        limits=params.LIMITS,
        export_jsonl=f"/p/{page.project.id}/events/export.jsonl{export}",
        export_csv=f"/p/{page.project.id}/events/export.csv{export}",
    )


def event_cells(event: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The explorer's cells of a rendered event, each formatted for its column."""
    out = []
    for column in columns:
        value = value_at(event, column)
        if column in ("start_time", "end_time"):
            out.append(formats.when(value))
        elif column == "duration":
            out.append(formats.duration(value))
        elif column.endswith("cost"):
            out.append(formats.cost(value) if not isinstance(value, str) else value)
        else:
            out.append(formats.cell(value))
    return out

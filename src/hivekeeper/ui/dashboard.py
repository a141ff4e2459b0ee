"""The dashboard: totals for the range, then requests, error rate, latency, tokens and
cost over time; a view saved under a name is a saved chart (`ui.saved_views`).

Each chart is a `ChartQuery` answered by `store.chart`, the code under
`GET /v1/events/chart`, so a number on the page is the number the API gives. The
default view covers every event type but sessions, and an error that repeats another
(`domain.error_repeats`) is not counted, so the errors agree with the sessions list.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hivekeeper.domain.charts import (
    BUCKETS,
    Aggregation,
    Bucket,
    ChartPoint,
    ChartQuery,
    bucket_start_ms,
    next_bucket_start_ms,
)
from hivekeeper.domain.error_repeats import REPEATS_KEY
from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation.ops import SaveChart
from hivekeeper.domain.filters import DURATION, OPERATORS, Condition, EventQuery, FieldRef
from hivekeeper.domain.saved_charts import SavedChart, parse_chart
from hivekeeper.domain.types import EVENT_TYPES
from hivekeeper.ui import auth, formats, params, saved_views
from hivekeeper.ui.browser import read_form
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.svg import MAX_SERIES, Series, line_chart
from hivekeeper.ui.templating import page as render_page
from hivekeeper.web import AppContext, context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
SPLITS = {
    "": None,
    "model": FieldRef(namespace="config", path=("model",)),
    "event_name": FieldRef(column="event_name"),
    "user": FieldRef(namespace="user_properties", path=("user_id",)),
}
_SPLIT_FIELDS = {name: ref.text if ref else None for name, ref in SPLITS.items()}
_STEP_MS = {"minute": 60_000.0, "hour": 3_600_000.0, "day": 86_400_000.0, "week": 604_800_000.0}
# More buckets than a chart's width in pixels only blur: beyond this, fall back to a
# coarser bucket.
MAX_BUCKETS = 600
_TIME_FORMATS = {
    "minute": "%H:%M",
    "hour": "%m-%d %H:%M",
    "day": "%Y-%m-%d",
    "week": "%Y-%m-%d",
    "month": "%Y-%m",
}
_ERROR = Condition(FieldRef(column="error"), "exists", "string", None)
_COUNTED = Condition(
    FieldRef(namespace="metadata", path=(REPEATS_KEY,)), "not exists", "string", None
)
_SESSION = Condition(FieldRef(column="event_type"), "is", "string", "session")
_NOT_SESSION = Condition(FieldRef(column="event_type"), "is not", "string", "session")
_TOKENS = FieldRef(namespace="metadata", path=("total_tokens",))
_COST = FieldRef(namespace="metadata", path=("cost",))


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    svg: Markup
    legend: list[str]
    hidden: int


@dataclass(frozen=True, slots=True)
class Total:
    label: str
    value: str


@router.get("/p/{pid}/dashboard")
async def dashboard(request: Request, page: auth.Page) -> Response:
    ctx = context(request)
    query_params = {k: request.query_params.getlist(k) for k in request.query_params}
    state = params.read_state(query_params, default_range="24h")
    error = None
    charts: list[Chart] = []
    totals: list[Total] = []
    bucket: Bucket = "hour"
    saved = await ctx.read(ctx.store.list_charts, page.project.id)
    try:
        if state.split not in SPLITS:
            raise ValidationFailed(
                "split must be none, model, event_name or user", field="split"
            )
        query = params.event_query(
            replace(state, sort="start_time", order="asc"),
            ctx.now_ms(),
            max_filters=ctx.settings.max_filters,
        )
        start, end = query.start_ms, query.end_ms
        bucket = _coarsen(params.bucket_for(state, start, end), start, end)
        events = query if state.type else _with(query, _NOT_SESSION)
        charts, totals = await _charts(ctx, page.project.id, events, bucket, SPLITS[state.split])
        totals.insert(1, Total("Sessions", await _sessions(ctx, page.project.id, query)))
    except ValidationFailed as exc:
        error = exc.message
    return render_page(
        request,
        "dashboard.html",
        **auth.chrome(page, "dashboard"),
        state=state,
        charts=charts,
        totals=totals,
        saved=[(c, _view_link(page.project.id, c)) for c in saved],
        error=error,
        bucket=bucket,
        buckets=BUCKETS,
        event_types=sorted(EVENT_TYPES),
        operators=OPERATORS,
        ranges=params.RANGES,
    )


@router.post("/p/{pid}/dashboard/save")
async def save_view(request: Request, page: auth.Page) -> Response:
    """Save the view of the form's `view` (the dashboard's query string) as a saved
    chart named `name`, through the writer as `POST /v1/charts` does, then show it."""
    form = await read_form(request)
    auth.check_csrf(request, form, page.csrf)
    ctx = context(request)
    name = form.get("name", "").strip()
    if not name:
        raise ValidationFailed("give the view a name", field="name")
    view = form.get("view", "")
    state = params.read_state(_parse_qs(view), default_range="24h")
    fields = parse_chart(
        saved_views.chart_fields(state, name, _SPLIT_FIELDS), creating=True, now_ms=ctx.now_ms()
    )
    chart_id = str(uuid.uuid4())
    await ctx.writer.submit([SaveChart(page.project.id, chart_id, fields, create=True)])
    return RedirectResponse(f"/p/{page.project.id}/dashboard?{view}", status_code=303)


def _view_link(project_id: str, chart: SavedChart) -> str:
    return (
        f"/p/{project_id}/dashboard?"
        f"{urlencode(saved_views.view_params(chart.definition, _SPLIT_FIELDS))}"
    )


def _parse_qs(text: str) -> dict[str, list[str]]:
    return parse_qs(text.lstrip("?"), keep_blank_values=True)


def _with(query: EventQuery, condition: Condition) -> EventQuery:
    return replace(query, conditions=(*query.conditions, condition))


async def _sessions(ctx: AppContext, project_id: str, query: EventQuery) -> str:
    """Sessions started in the range (the filters apply to events, not here)."""
    sessions = EventQuery(
        conditions=(_SESSION,), start_ms=query.start_ms, end_ms=query.end_ms, limit=1
    )
    _, total = await ctx.read(ctx.store.query_events, project_id, sessions)
    return formats.count(total or 0)


async def _charts(
    ctx: AppContext, project_id: str, query: EventQuery, bucket: Bucket, split: FieldRef | None
) -> tuple[list[Chart], list[Total]]:
    def chart(q: EventQuery, metric: FieldRef, aggregation: Aggregation) -> ChartQuery:
        return ChartQuery(
            query=q, metric=metric, group_by=split, bucket=bucket, aggregation=aggregation
        )

    errors_query = replace(query, conditions=(*query.conditions, _ERROR, _COUNTED))
    # The range's p95 in one bucket: a month holds any range the form offers but 30d
    # across a month's end, where the worse month's p95 is shown.
    whole_range = ChartQuery(query=query, metric=DURATION, bucket="month", aggregation="p95")
    requests, errors, latency, tokens, cost, overall = await asyncio.gather(
        *(
            ctx.read(ctx.store.chart, project_id, c)
            for c in (
                chart(query, DURATION, "count"),
                chart(errors_query, DURATION, "count"),
                chart(query, DURATION, "p50"),
                chart(query, _TOKENS, "sum"),
                chart(query, _COST, "sum"),
                whole_range,
            )
        )
    )
    groups = _top_groups(requests)
    xs = _bucket_starts(requests, query, bucket)
    time_fmt = _TIME_FORMATS[bucket]

    def series(points: list[ChartPoint], stat: str, fill: float | None) -> list[Series]:
        return [Series(_name(g, split), _aligned(points, xs, g, stat, fill)) for g in groups]

    count_by = {(p["bucket_start_ms"], p["group"]): p["value"] for p in requests}
    rate_series = []
    for g in groups:
        failed = {p["bucket_start_ms"]: p["value"] for p in errors if p["group"] == g}
        values: list[float | None] = []
        for x in xs:
            total = count_by.get((x, g))
            values.append(None if not total else float(failed.get(x) or 0) / float(total) * 100)
        rate_series.append(Series(_name(g, split), values))
    if split is None:
        latency_series = [
            Series(stat, _aligned(latency, xs, None, stat, None)) for stat in ("p50", "p95", "p99")
        ]
    else:
        latency_series = series(latency, "p95", None)
    hidden = max(len({p["group"] for p in requests}) - len(groups), 0)

    def make(
        title: str, lines: list[Series], fmt: Callable[[float], str], whole: bool = False
    ) -> Chart:
        svg = line_chart(xs, lines, label=title, fmt=fmt, time_fmt=time_fmt, whole=whole)
        return Chart(title, svg, [s.name for s in lines], hidden)

    latency_title = "Latency p50 / p95 / p99" if split is None else "Latency p95"
    charts = [
        make("Requests", series(requests, "value", 0.0), formats.count, whole=True),
        make("Error rate", rate_series, lambda v: f"{v:.1f}%"),
        make(latency_title, latency_series, formats.duration),
        make("Tokens", series(tokens, "sum", 0.0), formats.count, whole=True),
        make("Cost", series(cost, "sum", 0.0), formats.cost),
    ]
    requested = _sum(requests, "value")
    errored = _sum(errors, "value")
    p95 = [float(v) for p in overall if isinstance(v := p.get("p95"), int | float)]
    totals = [
        Total("Requests", formats.count(requested)),
        Total(
            "Errors",
            formats.count(errored)
            + (f" ({errored / requested * 100:.1f}%)" if requested else ""),
        ),
        Total("Tokens", formats.count(_sum(tokens, "sum"))),
        Total("Cost", formats.cost(_sum(cost, "sum"))),
        Total("p95 latency", formats.duration(max(p95)) if p95 else "none"),
    ]
    return charts, totals


def _sum(points: Sequence[ChartPoint], stat: str) -> float:
    return sum(float(v) for p in points if isinstance(v := p.get(stat), int | float))


def _top_groups(points: Sequence[ChartPoint]) -> list[str | None]:
    totals: dict[str | None, float] = {}
    for p in points:
        totals[p["group"]] = totals.get(p["group"], 0.0) + float(p["value"] or 0)
    ranked = sorted(totals, key=lambda g: (-totals[g], g is not None, g or ""))
    return ranked[:MAX_SERIES] or [None]


def _name(group: str | None, split: FieldRef | None) -> str:
    if group is None:
        return "all" if split is None else f"(no {split.text})"
    return group or "(empty)"


def _aligned(
    points: Sequence[ChartPoint],
    xs: Sequence[float],
    group: str | None,
    stat: str,
    fill: float | None,
) -> list[float | None]:
    by_x: dict[float, float | None] = {}
    for p in points:
        if p["group"] == group:
            raw = p.get(stat)
            by_x[p["bucket_start_ms"]] = float(raw) if isinstance(raw, int | float) else None
    return [by_x.get(x, fill) for x in xs]


def _bucket_starts(points: Sequence[ChartPoint], query: EventQuery, bucket: Bucket) -> list[float]:
    """Every bucket of the range (empty ones too, so a quiet hour reads as zero)."""
    seen = sorted({p["bucket_start_ms"] for p in points})
    first = query.start_ms if query.start_ms is not None else (seen[0] if seen else None)
    last = query.end_ms if query.end_ms is not None else (seen[-1] if seen else None)
    if first is None or last is None:
        return seen
    out: list[float] = []
    current: float | None = bucket_start_ms(first, bucket)
    while current is not None and current <= last and len(out) <= MAX_BUCKETS * 2:
        out.append(current)
        current = next_bucket_start_ms(current, bucket)
    return sorted(set(out) | set(seen))


def _coarsen(bucket: Bucket, start: float | None, end: float | None) -> Bucket:
    """`bucket`, or the first coarser one giving at most MAX_BUCKETS buckets."""
    if start is None or end is None:
        return bucket
    order = list(BUCKETS)
    for name in order[order.index(bucket) :]:
        if (end - start) / _STEP_MS.get(name, 30 * 86_400_000.0) <= MAX_BUCKETS:
            return name  # type: ignore[return-value]  # BUCKETS holds Bucket names
    return "month"

"""The experiments pages: the datasets that have runs, and a dataset's runs, newest
first, with each run's pass rate and metric aggregates and a trend of each metric.

A dataset is a stored one, or the `EXT-…` dataset of local rows `evaluate()` names
for a run made from a list in the client's own code; runs of neither are in the list
of all runs. Each listed run's result is computed when the page is asked for
(`run_results`), so a list costs one result per run it shows: runs come a page at a
time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.domain.evaluation.aggregates import AGGREGATE_FUNCTIONS, AggregateFunction
from hivekeeper.domain.evaluation.datasets import is_offline
from hivekeeper.domain.evaluation.results import MetricSummary
from hivekeeper.domain.evaluation.runs import MAX_RUN_LIMIT, RunListQuery
from hivekeeper.domain.evaluation.verdicts import lower_is_better
from hivekeeper.domain.filters import parse_page
from hivekeeper.store import Store
from hivekeeper.ui import auth, formats, scores
from hivekeeper.ui.browser import with_query
from hivekeeper.ui.eval_params import aggregate_param, limit_param
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.run_results import RunInfo, RunRead, read_run, run_infos
from hivekeeper.ui.svg import sparkline
from hivekeeper.ui.templating import page as render_page
from hivekeeper.web import context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
RUN_LIMITS = (10, 20, 50)
DEFAULT_RUN_LIMIT = 20


@dataclass(frozen=True, slots=True)
class DatasetGroup:
    """A line of the experiments index: a dataset and its runs among those read."""

    key: str
    name: str
    offline: bool
    runs: int
    latest: RunInfo | None


@dataclass(frozen=True, slots=True)
class RunLine:
    """A line of a runs list: the run, its result's counts and each metric's figure."""

    read: RunRead
    figures: dict[str, str]

    @property
    def info(self) -> RunInfo:
        return self.read.info

    @property
    def passed(self) -> int:
        return len(self.read.result.passed)

    @property
    def failed(self) -> int:
        return len(self.read.result.failed)

    @property
    def pass_rate(self) -> float | None:
        judged = self.passed + self.failed
        return self.passed / judged if judged else None


@dataclass(frozen=True, slots=True)
class Trend:
    """One metric (or the pass rate) across the listed runs, oldest first; `direction`
    says whether the newest run's change from the one before is for the better."""

    name: str
    latest: str
    change: str
    direction: Literal["better", "worse", ""]
    svg: Markup


@router.get("/p/{pid}/experiments")
async def experiments_index(request: Request, page: auth.Page) -> Response:
    ctx = context(request)
    groups, total = await ctx.read(_dataset_groups, ctx.store, page.project.id)
    return render_page(
        request,
        "experiments.html",
        **auth.chrome(page, "experiments"),
        groups=groups,
        total=total,
        listed=MAX_RUN_LIMIT,
        server_url=str(request.base_url).rstrip("/"),
    )


@router.get("/p/{pid}/experiments/runs")
async def runs_list(request: Request, page: auth.Page) -> Response:
    ctx = context(request)
    query = request.query_params
    dataset = query.get("dataset") or None
    function = aggregate_param(query.get("agg"))
    listing = RunListQuery(
        dataset_id=dataset,
        page=parse_page(query.get("page")),
        limit=limit_param(query.get("limit"), RUN_LIMITS, DEFAULT_RUN_LIMIT),
    )
    view = await ctx.read(_runs_of, ctx.store, page.project.id, listing, function)
    base = f"/p/{page.project.id}/experiments/runs"
    state = {
        "dataset": dataset,
        "agg": None if function == "average" else function,
        "limit": None if listing.limit == DEFAULT_RUN_LIMIT else str(listing.limit),
    }
    return render_page(
        request,
        "runs.html",
        **auth.chrome(page, "experiments"),
        view=view,
        dataset=dataset,
        function=function,
        functions=AGGREGATE_FUNCTIONS,
        limits=RUN_LIMITS,
        listing=listing,
        prev_url=with_query(base, **state, page=str(listing.page - 1))
        if listing.page > 1
        else None,
        next_url=with_query(base, **state, page=str(listing.page + 1)) if view.more else None,
    )


@dataclass(frozen=True, slots=True)
class RunsView:
    """What a runs list shows."""

    title: str
    offline: bool
    lines: list[RunLine]
    metrics: list[str]
    trends: list[Trend]
    total: int
    more: bool


def _dataset_groups(store: Store, project_id: str) -> tuple[list[DatasetGroup], int]:
    """Every stored dataset and every `EXT-…` dataset the latest runs name, each with
    its number of runs among the latest `MAX_RUN_LIMIT` and the latest of them: those
    with the newest runs first, then the datasets without runs; and the number of runs
    in the project."""
    listed = store.list_runs(project_id, RunListQuery(limit=MAX_RUN_LIMIT))
    by_key: dict[str, list[RunInfo]] = {}
    for info in run_infos(store, project_id, listed.runs):  # newest first
        if info.dataset_key is not None:
            by_key.setdefault(info.dataset_key, []).append(info)
    names = {d.id: d.name for d in store.list_datasets(project_id)}
    groups = [
        DatasetGroup(
            key=key,
            name=names.get(key, key),
            offline=is_offline(key),
            runs=len(runs),
            latest=runs[0],
        )
        for key, runs in by_key.items()
    ]
    groups += [
        DatasetGroup(key=i, name=name, offline=False, runs=0, latest=None)
        for i, name in names.items()
        if i not in by_key
    ]
    return groups, listed.total


def _runs_of(
    store: Store,
    project_id: str,
    listing: RunListQuery,
    function: AggregateFunction,
) -> RunsView:
    listed = store.list_runs(project_id, listing)
    infos = run_infos(store, project_id, listed.runs)
    reads = [read_run(store, project_id, info, function, scores_only=True) for info in infos]
    summaries = [scores.by_name(r.result.metrics) for r in reads]
    metrics = scores.metric_names(name for by in summaries for name in by)
    lines = [
        RunLine(read, {m: scores.summary_text(by.get(m, [])) for m in metrics})
        for read, by in zip(reads, summaries, strict=True)
    ]
    dataset = listing.dataset_id
    title = "All runs" if dataset is None else dataset
    if dataset is not None and not is_offline(dataset):
        found = store.list_datasets(project_id, dataset_id=dataset)
        title = found[0].name if found else dataset
    more = listing.page * listing.limit < listed.total
    return RunsView(
        title=title,
        offline=dataset is not None and is_offline(dataset),
        lines=lines,
        metrics=metrics,
        trends=_trends(lines, summaries, metrics),
        total=listed.total,
        more=more,
    )


def _trends(
    lines: Sequence[RunLine],
    summaries: Sequence[dict[str, list[MetricSummary]]],
    metrics: Sequence[str],
) -> list[Trend]:
    """The pass rate's and each numeric metric's trend over the listed runs, oldest
    first (the list shows them newest first)."""
    oldest_first = list(reversed(range(len(lines))))
    labels = [lines[i].info.label for i in oldest_first]
    series = {"pass rate": [lines[i].pass_rate for i in oldest_first]}
    for metric in metrics:
        values = [scores.aggregate_of(summaries[i].get(metric, [])) for i in oldest_first]
        if any(v is not None for v in values):
            series[metric] = values
    rules = lines[0].read.rules if lines else {}
    trends = []
    for name, values in series.items():
        rate = name == "pass rate"
        fmt = _percent if rate else formats.score
        present = [v for v in values if v is not None]
        change = ""
        direction: Literal["better", "worse", ""] = ""
        if len(present) > 1 and present[-1] != present[-2]:
            step = present[-1] - present[-2]
            change = f"{step * 100:+.0f} pts" if rate else formats.signed(step)
            lower = not rate and lower_is_better(rules.get(name))
            direction = "better" if (step < 0) == lower else "worse"
        trends.append(
            Trend(
                name=name,
                latest=fmt(present[-1]) if present else "",
                change=change,
                direction=direction,
                svg=sparkline(values, labels=labels, label=f"{name} across runs", fmt=fmt),
            )
        )
    return trends


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"

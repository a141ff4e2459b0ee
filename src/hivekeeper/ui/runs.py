"""One run's page: its figures per metric, and its datapoints by metrics grid with
pass/fail, errors, string scores and explanations, sorted and filtered from the URL;
each row opens its session.

Below the route, what the grid shows: a row per session of the run, filtered and
sorted in Python over the computed result (a result is computed whole anyway), then
paged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation.aggregates import AGGREGATE_FUNCTIONS, AggregateFunction
from hivekeeper.domain.evaluation.results import DatapointOutcome, RunResult, numeric
from hivekeeper.domain.evaluation.runs import RunListQuery
from hivekeeper.domain.evaluation.traces import ScoreValue
from hivekeeper.domain.filters import parse_page
from hivekeeper.store import Store
from hivekeeper.ui import auth, formats, scores
from hivekeeper.ui.eval_params import (
    aggregate_param,
    choice_param,
    limit_param,
    number_param,
    query_string,
)
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.run_results import RunInfo, RunRead, read_run, require_run, run_infos
from hivekeeper.ui.scores import Cell
from hivekeeper.ui.templating import page as render_page
from hivekeeper.ui.word_diff import as_text
from hivekeeper.web import context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
GRID_LIMITS = (25, 50, 100, 200)
DEFAULT_GRID_LIMIT = 50
OUTCOMES = ("", "passed", "failed", "errored")
VERDICTS = ("", "passed", "failed")
ORDERS = ("asc", "desc")
# Runs offered to compare with: the newest of the same dataset.
_PEERS = 20
Status = Literal["passed", "failed", "errored"]


@dataclass(frozen=True, slots=True)
class GridQuery:
    """The grid's view state, as its URL holds it (`low`/`high` as typed, so a bad
    one can be shown back)."""

    function: AggregateFunction = "average"
    outcome: str = ""
    metric: str = ""
    verdict: str = ""
    low: str = ""
    high: str = ""
    q: str = ""
    sort: str = ""
    order: str = "asc"
    page: int = 1
    limit: int = DEFAULT_GRID_LIMIT

    def link(self, **changes: object) -> str:
        """`?…` of this state with `changes`, defaults left out."""
        state = replace(self, **changes)  # type: ignore[arg-type]  # keyword names are fields
        return query_string(
            [],
            [
                ("agg", state.function, "average"),
                ("outcome", state.outcome, ""),
                ("metric", state.metric, ""),
                ("verdict", state.verdict, ""),
                ("low", state.low, ""),
                ("high", state.high, ""),
                ("q", state.q, ""),
                ("sort", state.sort, ""),
                ("order", state.order, "asc"),
                ("limit", state.limit, DEFAULT_GRID_LIMIT),
                ("page", state.page, 1),
            ],
        )


@dataclass(frozen=True, slots=True)
class GridRow:
    """One session of the run, as a line of the grid."""

    number: int
    outcome: DatapointOutcome
    cells: dict[str, Cell]

    @property
    def status(self) -> Status:
        if self.outcome.trace.error is not None:
            return "errored"
        return "passed" if self.outcome.passed else "failed"

    @property
    def inputs(self) -> str:
        return as_text(self.outcome.trace.inputs)

    @property
    def output(self) -> str:
        return as_text(self.outcome.trace.outputs)

    @property
    def truth(self) -> str:
        return as_text(self.outcome.trace.ground_truth)


@dataclass(frozen=True, slots=True)
class MetricLine:
    """A line of the run's metric table: one (metric, event name, event type)."""

    name: str
    event: str
    metric_type: str
    aggregate: str
    count: int
    passed: int
    failed: int
    passing_range: str


@router.get("/p/{pid}/runs/{run_id:path}")
async def run_page(request: Request, run_id: str, page: auth.Page) -> Response:
    ctx = context(request)
    query = _grid_query(request)
    read, peers = await ctx.read(_read, ctx.store, page.project.id, run_id, query.function)
    names = scores.metric_names(m.score.name for d in read.result.datapoints for m in d.metrics)
    rows = grid_rows(read.result, names)
    error = None
    try:
        shown = select(rows, query)
    except ValidationFailed as exc:
        error, shown = exc.message, rows
    start = (query.page - 1) * query.limit
    return render_page(
        request,
        "run.html",
        **auth.chrome(page, "experiments"),
        read=read,
        info=read.info,
        run=read.info.run,
        result=read.result,
        metric_lines=metric_lines(read.result),
        names=names,
        rows=shown[start : start + query.limit],
        matching=len(shown),
        total=len(rows),
        start=start,
        more=start + query.limit < len(shown),
        query=query,
        error=error,
        functions=AGGREGATE_FUNCTIONS,
        outcomes=OUTCOMES,
        verdicts=VERDICTS,
        limits=GRID_LIMITS,
        peers=peers,
        base=f"/p/{page.project.id}/runs/{read.info.run.run_id}",
    )


def _grid_query(request: Request) -> GridQuery:
    """The grid's state from the URL; ValidationFailed (a 400 page) names a parameter
    the page's own controls never send."""
    params = request.query_params
    return GridQuery(
        function=aggregate_param(params.get("agg")),
        outcome=choice_param(params.get("outcome"), OUTCOMES, "outcome"),
        metric=(params.get("metric") or "").strip(),
        verdict=choice_param(params.get("verdict"), VERDICTS, "verdict"),
        low=(params.get("low") or "").strip(),
        high=(params.get("high") or "").strip(),
        q=(params.get("q") or "").strip(),
        sort=(params.get("sort") or "").strip(),
        order=choice_param(params.get("order"), ORDERS, "order"),
        page=parse_page(params.get("page")),
        limit=limit_param(params.get("limit"), GRID_LIMITS, DEFAULT_GRID_LIMIT),
    )


def _read(
    store: Store, project_id: str, run_id: str, function: AggregateFunction
) -> tuple[RunRead, list[RunInfo]]:
    """The run's result, and the newest other runs of its dataset to compare with."""
    info = run_infos(store, project_id, [require_run(store, project_id, run_id)])[0]
    read = read_run(store, project_id, info, function)
    peers: list[RunInfo] = []
    if info.dataset_key is not None:
        listing = RunListQuery(dataset_id=info.dataset_key, limit=_PEERS)
        peers = [
            RunInfo(r) for r in store.list_runs(project_id, listing).runs if r.run_id != run_id
        ]
    return read, peers


# --- what the grid shows ---------------------------------------------------------


def grid_rows(result: RunResult, names: Sequence[str]) -> list[GridRow]:
    """A row per session of the run, in the run's datapoint order."""
    return [
        GridRow(number=i, outcome=outcome, cells=scores.cells(outcome, names))
        for i, outcome in enumerate(result.datapoints, start=1)
    ]


def select(rows: Sequence[GridRow], query: GridQuery) -> list[GridRow]:
    """The rows `query` keeps, in its order. ValidationFailed names a bad `low`,
    `high` or `sort`."""
    low, high = number_param(query.low, "low"), number_param(query.high, "high")
    if query.sort.startswith("metric:") and not query.sort.removeprefix("metric:"):
        raise ValidationFailed("sort names no metric", field="sort")
    if query.sort not in ("", "outcome") and not query.sort.startswith("metric:"):
        raise ValidationFailed("sort must be outcome or metric:<name>", field="sort")
    needle = query.q.lower()
    kept = [
        row
        for row in rows
        if (not query.outcome or _outcome_matches(row, query.outcome))
        and (not query.metric or _metric_matches(row.cells.get(query.metric), query, low, high))
        and (not needle or needle in _haystack(row))
    ]
    return _sorted(kept, query)


def _outcome_matches(row: GridRow, outcome: str) -> bool:
    """`failed` holds errored rows too: an error fails its datapoint."""
    if outcome == "failed":
        return row.status != "passed"
    return row.status == outcome


def _metric_matches(
    cell: Cell | None, query: GridQuery, low: float | None, high: float | None
) -> bool:
    if cell is None:
        return False
    if query.verdict and cell.verdict is not (query.verdict == "passed"):
        return False
    if low is None and high is None:
        return True
    number = _number(cell.first)
    return (
        number is not None and (low is None or number >= low) and (high is None or number <= high)
    )


def _haystack(row: GridRow) -> str:
    trace = row.outcome.trace
    parts = (trace.datapoint_id or "", trace.session_id, row.inputs, row.output, row.truth)
    return "\n".join(parts).lower()


_STATUS_RANK = {"errored": 0, "failed": 1, "passed": 2}


def _sorted(rows: list[GridRow], query: GridQuery) -> list[GridRow]:
    """Rows by outcome (problems first, ascending) or by a metric's first value
    (numbers, then text; rows without the metric last whatever the order)."""
    descending = query.order == "desc"
    if query.sort == "outcome":
        return sorted(rows, key=lambda r: _STATUS_RANK[r.status], reverse=descending)
    if not query.sort:
        return rows if not descending else list(reversed(rows))
    metric = query.sort.removeprefix("metric:")
    scored = [r for r in rows if r.cells.get(metric) is not None]
    unscored = [r for r in rows if r.cells.get(metric) is None]

    def key(row: GridRow) -> tuple[int, float, str]:
        value = row.cells[metric].first
        number = _number(value)
        return (0, number, "") if number is not None else (1, 0.0, str(value))

    return sorted(scored, key=key, reverse=descending) + unscored


def _number(value: ScoreValue | None) -> float | None:
    """A score as a number (True 1, False 0); None for text or no score."""
    return None if value is None else numeric(value)


def metric_lines(result: RunResult) -> list[MetricLine]:
    """The run's figure per (metric, event), explanations left out."""
    names = scores.metric_names(m.group[0] for m in result.metrics)
    lines = []
    for summary in result.metrics:
        name, event_name, event_type = summary.group
        if name not in names:
            continue
        bounds = summary.passing_range or {}
        low, high = bounds.get("min"), bounds.get("max")
        lines.append(
            MetricLine(
                name=name,
                event=f"{event_name} ({event_type})",
                metric_type=summary.metric_type,
                aggregate=scores.summary_text([summary]),
                count=len(summary.values) + len(summary.string_values),
                passed=len(summary.passed),
                failed=len(summary.failed),
                passing_range=_range_text(low, high),
            )
        )
    return lines


def _range_text(low: object, high: object) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f"≥ {formats.score(low)}"
    if low is None:
        return f"≤ {formats.score(high)}"
    return f"{formats.score(low)} to {formats.score(high)}"

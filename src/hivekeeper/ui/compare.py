"""Two runs compared: per metric the baseline's and candidate's aggregates, their
difference and how many datapoints improved, regressed or stayed the same; per
datapoint both outputs side by side with a word-level diff, between the runs or each
against the ground truth, and both runs' scores.

Datapoints are matched by id (`comparison.compare`). A metric got worse on a
datapoint when its value went down (up, for a metric whose rule only caps it), or, for
a label, from a passing one to a failing one. A datapoint regressed when its result
went from pass to fail or, its result the same, more of its metrics got worse than
better; improved the other way round; mixed when as many got better as worse. Rows
come regressed first (those that now fail first), then mixed, improved, unchanged, in
the candidate's datapoint order within each; they are paged, and the diffs are made
for the page only. Datapoints only one run answered are listed apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation.aggregates import AGGREGATE_FUNCTIONS, AggregateFunction
from hivekeeper.domain.evaluation.comparison import MetricComparison
from hivekeeper.domain.evaluation.results import DatapointOutcome, RunResult
from hivekeeper.domain.evaluation.runs import RunListQuery
from hivekeeper.domain.evaluation.verdicts import lower_is_better
from hivekeeper.domain.filters import parse_page
from hivekeeper.store import Store
from hivekeeper.ui import auth, formats, scores
from hivekeeper.ui.browser import Redirect, with_query
from hivekeeper.ui.eval_params import aggregate_param, choice_param, limit_param, query_string
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.run_results import (
    ComparisonRead,
    RunInfo,
    read_comparison,
    read_whole,
    require_run,
    run_infos,
)
from hivekeeper.ui.scores import Cell
from hivekeeper.ui.templating import page as render_page
from hivekeeper.ui.word_diff import Segment, as_text, word_diff
from hivekeeper.web import context
from hivekeeper.web.collector import collector_paused

router = APIRouter(route_class=UiRoute, include_in_schema=False)
ONLY = ("", "regressed", "mixed", "improved", "unchanged")
DIFFS = ("runs", "truth")
PAIR_LIMITS = (10, 25, 50, 100)
DEFAULT_PAIR_LIMIT = 25
# Ids listed of the datapoints only one run answered; the rest are counted.
ONLY_IN_SHOWN = 100
# Runs the picker offers.
_PICKER_RUNS = 50
Change = Literal["improved", "regressed", "same"]
_SEVERITY: dict[Change, int] = {"same": 0, "improved": 1, "regressed": 2}
Status = Literal["regressed", "mixed", "improved", "unchanged"]
_ORDER: dict[Status, int] = {"regressed": 0, "mixed": 1, "improved": 2, "unchanged": 3}


@dataclass(frozen=True, slots=True)
class CompareQuery:
    """The page's view state, as its URL holds it."""

    old: str
    new: str
    function: AggregateFunction = "average"
    only: str = ""
    metric: str = ""
    diff: str = "runs"
    page: int = 1
    limit: int = DEFAULT_PAIR_LIMIT

    def link(self, **changes: object) -> str:
        """`?…` of this state with `changes`, defaults left out."""
        state = replace(self, **changes)  # type: ignore[arg-type]  # keyword names are fields
        return query_string(
            [("old", state.old), ("new", state.new)],
            [
                ("agg", state.function, "average"),
                ("only", state.only, ""),
                ("metric", state.metric, ""),
                ("diff", state.diff, "runs"),
                ("limit", state.limit, DEFAULT_PAIR_LIMIT),
                ("page", state.page, 1),
            ],
        )


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """A line of the per-metric table."""

    name: str
    event: str
    metric_type: str | None
    old: str
    new: str
    difference: str
    percent: str
    trend: Literal["better", "worse", "same", ""]
    lower_is_better: bool
    improved: int
    regressed: int
    same: int

    @property
    def found(self) -> int:
        return self.improved + self.regressed + self.same


@dataclass(frozen=True, slots=True)
class ScoreChange:
    """How one metric of one datapoint changed between the runs."""

    name: str
    change: Change | None
    delta: float | None


@dataclass(frozen=True, slots=True)
class ShownScore:
    """One metric of a shown datapoint in both runs: the change and both cells."""

    name: str
    change: Change | None
    delta: float | None
    old: Cell | None
    new: Cell | None

    @property
    def delta_text(self) -> str:
        """The difference of numbers (`+0.12`); none between booleans or labels."""
        if any(isinstance(c.first, bool) for c in (self.old, self.new) if c is not None):
            return ""
        return formats.signed(self.delta)


@dataclass(frozen=True, slots=True)
class Sides:
    """Both outputs of a row marked up as the page's diff mode asks."""

    old: tuple[Segment, ...]
    new: tuple[Segment, ...]
    old_tail: str = ""
    new_tail: str = ""


@dataclass(frozen=True, slots=True)
class PairRow:
    """A datapoint both runs answered (the first session of each)."""

    datapoint_id: str
    number: int
    old: DatapointOutcome
    new: DatapointOutcome
    changes: tuple[ScoreChange, ...]
    sides: Sides | None = None

    @property
    def verdict(self) -> Literal["now fails", "now passes", ""]:
        if self.old.passed and not self.new.passed:
            return "now fails"
        if self.new.passed and not self.old.passed:
            return "now passes"
        return ""

    def status(self, metric: str = "") -> Status:
        """How the datapoint changed as a whole, or, with `metric`, on that metric."""
        changes = [c.change for c in self.changes if not metric or c.name == metric]
        if not metric and self.verdict:
            return "regressed" if self.verdict == "now fails" else "improved"
        worse, better = changes.count("regressed"), changes.count("improved")
        if worse > better:
            return "regressed"
        if better > worse:
            return "improved"
        return "mixed" if worse else "unchanged"

    def rank(self, metric: str, status: Status) -> tuple[int, int, int]:
        """The page's order: regressed first (those that now fail, then those with
        more metrics worse), then mixed, improved, unchanged (`status`: this row's, as
        `status(metric)` says)."""
        worse = sum(c.change == "regressed" for c in self.changes)
        fails = 0 if status == "regressed" and self.verdict == "now fails" else 1
        return (_ORDER[status], fails, -worse)

    @property
    def scores(self) -> list[ShownScore]:
        """Each changed or scored metric with both runs' cells (made for shown rows only)."""
        names = [c.name for c in self.changes]
        old, new = scores.cells(self.old, names), scores.cells(self.new, names)
        return [
            ShownScore(c.name, c.change, c.delta, old.get(c.name), new.get(c.name))
            for c in self.changes
        ]

    @property
    def inputs(self) -> str:
        return as_text(self.new.trace.inputs or self.old.trace.inputs)

    @property
    def truth(self) -> str:
        return as_text(self.new.trace.ground_truth or self.old.trace.ground_truth)


@dataclass(frozen=True, slots=True)
class CompareView:
    """What the compare page shows."""

    read: ComparisonRead
    metrics: list[MetricDelta]
    names: list[str]
    rows: list[PairRow]
    counts: dict[str, int]
    matching: int
    old_only: list[DatapointOutcome]
    new_only: list[DatapointOutcome]


@router.get("/p/{pid}/compare")
async def compare_page(request: Request, page: auth.Page) -> Response:
    ctx = context(request)
    params = request.query_params
    base = f"/p/{page.project.id}/compare"
    picked = [r for r in params.getlist("run") if r]
    old_id, new_id = params.get("old") or "", params.get("new") or ""
    message = None
    if picked and len(picked) == 2:
        old_id, new_id = await ctx.read(_oldest_first, ctx.store, page.project.id, picked)
        raise Redirect(with_query(base, old=old_id, new=new_id, agg=params.get("agg")))
    if picked:
        message = f"Tick two runs to compare; {len(picked)} were ticked."
    if not old_id or not new_id:
        runs = await ctx.read(_recent_runs, ctx.store, page.project.id)
        return render_page(
            request,
            "compare_pick.html",
            **auth.chrome(page, "experiments"),
            runs=runs,
            old=old_id,
            new=new_id,
            message=message,
            status=400 if message else 200,
        )
    query = CompareQuery(
        old=old_id,
        new=new_id,
        function=aggregate_param(params.get("agg")),
        only=choice_param(params.get("only"), ONLY, "only"),
        metric=(params.get("metric") or "").strip(),
        diff=choice_param(params.get("diff"), DIFFS, "diff"),
        page=parse_page(params.get("page")),
        limit=limit_param(params.get("limit"), PAIR_LIMITS, DEFAULT_PAIR_LIMIT),
    )
    view = await ctx.read(_compare, ctx.store, page.project.id, query)
    return render_page(
        request,
        "compare.html",
        **auth.chrome(page, "experiments"),
        view=view,
        old=view.read.old.info,
        new=view.read.new.info,
        query=query,
        base=base,
        functions=AGGREGATE_FUNCTIONS,
        onlies=ONLY,
        limits=PAIR_LIMITS,
        shown=ONLY_IN_SHOWN,
        start=(query.page - 1) * query.limit,
    )


def _oldest_first(store: Store, project_id: str, run_ids: Sequence[str]) -> tuple[str, str]:
    """The two runs as (baseline, candidate): the older one is the baseline."""
    first, second = (require_run(store, project_id, r) for r in run_ids)
    if (second.created_at_ms, second.run_id) < (first.created_at_ms, first.run_id):
        first, second = second, first
    return first.run_id, second.run_id


def _recent_runs(store: Store, project_id: str) -> list[RunInfo]:
    listed = store.list_runs(project_id, RunListQuery(limit=_PICKER_RUNS))
    return run_infos(store, project_id, listed.runs)


@collector_paused
def _compare(store: Store, project_id: str, query: CompareQuery) -> CompareView:
    """Both results, the comparison, and the page of rows with their diffs. The cyclic
    collector stays paused throughout, not only while the results are computed: the
    rows made of them afterwards would otherwise set it walking both results whole
    (a quarter of the page's time at 10,000 datapoints, bench/compare_designs.py)."""
    old, new = run_infos(
        store,
        project_id,
        [require_run(store, project_id, query.old), require_run(store, project_id, query.new)],
    )
    read = read_comparison(store, project_id, old, new, query.function)
    old_result, new_result = read.old.result, read.new.result
    names = scores.metric_names(m.group[0] for m in read.comparison.metrics)
    if query.metric and query.metric not in names:
        raise ValidationFailed(f"no metric {query.metric!r} in these runs", field="metric")
    rows = pair_rows(old_result, new_result, read.comparison.common, read, names)
    labels = _label_counts(rows)
    statuses = [r.status(query.metric) for r in rows]
    counts: Counter[str] = Counter(statuses)
    kept = [
        (r.rank(query.metric, status), r)
        for r, status in zip(rows, statuses, strict=True)
        if not query.only or status == query.only
    ]
    kept.sort(key=lambda ranked: (*ranked[0], ranked[1].number))
    start = (query.page - 1) * query.limit
    shown = [r for _, r in kept[start : start + query.limit]]
    page_rows = _with_outputs(store, project_id, shown, query.diff)
    old_first, new_first = _first_sessions(old_result), _first_sessions(new_result)
    return CompareView(
        read=read,
        metrics=metric_deltas(read, labels),
        names=names,
        rows=page_rows,
        counts={status: counts[status] for status in ONLY[1:]},
        matching=len(kept),
        old_only=[old_first[d] for d in read.comparison.old_only[:ONLY_IN_SHOWN]],
        new_only=[new_first[d] for d in read.comparison.new_only[:ONLY_IN_SHOWN]],
    )


def _with_outputs(
    store: Store, project_id: str, rows: Sequence[PairRow], diff: str
) -> list[PairRow]:
    """The page's rows with both sessions read whole, and their outputs diffed."""
    whole = read_whole(store, project_id, [o for r in rows for o in (r.old, r.new)])
    out = []
    for i, row in enumerate(rows):
        row = replace(row, old=whole[2 * i], new=whole[2 * i + 1])
        out.append(replace(row, sides=_sides(row, diff)))
    return out


# --- what the page shows ---------------------------------------------------------


def metric_deltas(read: ComparisonRead, labels: dict[str, dict[Change, int]]) -> list[MetricDelta]:
    """A line per (metric, event) of the comparison, explanations left out. A label
    metric has no aggregate: its most frequent label stands in, and its counts are
    those of `labels` (per metric name, from the rows)."""
    names = scores.metric_names(m.group[0] for m in read.comparison.metrics)
    old_summaries = {m.group: m for m in read.old.result.metrics}
    new_summaries = {m.group: m for m in read.new.result.metrics}
    lines = []
    for metric in read.comparison.metrics:
        if metric.group[0] not in names:
            continue
        old, new = old_summaries.get(metric.group), new_summaries.get(metric.group)
        lines.append(
            _delta(
                metric,
                read,
                scores.summary_text([old] if old else []),
                scores.summary_text([new] if new else []),
                labels.get(metric.group[0], {}) if metric.metric_type == "string" else None,
            )
        )
    return lines


def _delta(
    metric: MetricComparison,
    read: ComparisonRead,
    old_text: str,
    new_text: str,
    label_counts: dict[Change, int] | None,
) -> MetricDelta:
    name, event_name, event_type = metric.group
    lower = lower_is_better(read.new.rules.get(name))
    difference = metric.difference
    trend: Literal["better", "worse", "same", ""] = ""
    if difference is not None:
        trend = "same" if difference == 0 else "better" if (difference < 0) == lower else "worse"
    percent = metric.percentage_change
    counts: dict[Change, int] = label_counts or {
        "improved": len(metric.improved),
        "regressed": len(metric.degraded),
        "same": len(metric.same),
    }
    return MetricDelta(
        name=name,
        event=f"{event_name} ({event_type})",
        metric_type=metric.metric_type,
        old=old_text,
        new=new_text,
        difference=formats.signed(difference),
        percent="" if percent is None else f"{percent:+.1f}%",
        trend=trend,
        lower_is_better=lower,
        improved=counts.get("improved", 0),
        regressed=counts.get("regressed", 0),
        same=counts.get("same", 0),
    )


def _label_counts(rows: Sequence[PairRow]) -> dict[str, dict[Change, int]]:
    """Per metric, how many rows its labels improved, regressed or kept."""
    out: dict[str, dict[Change, int]] = {}
    for row in rows:
        for change in row.changes:
            if change.change is not None and change.delta is None:
                counts = out.setdefault(change.name, {})
                counts[change.change] = counts.get(change.change, 0) + 1
    return out


def pair_rows(
    old: RunResult,
    new: RunResult,
    common: Sequence[str],
    read: ComparisonRead,
    names: Sequence[str],
) -> list[PairRow]:
    """A row per datapoint both runs answered, in the candidate's order, with each
    metric's change (as the comparison counted it) and difference."""
    changes: dict[tuple[str, str], Change] = {}
    deltas: dict[tuple[str, str], float] = {}
    for metric in read.comparison.metrics:
        name = metric.group[0]
        # A metric scored on several events: worse on any is worse, else better on any.
        kinds: list[tuple[Change, tuple[str, ...]]] = [
            ("same", metric.same),
            ("improved", metric.improved),
            ("regressed", metric.degraded),
        ]
        for kind, ids in kinds:
            for d in ids:
                held = changes.get((name, d))
                if held is None or _SEVERITY[kind] > _SEVERITY[held]:
                    changes[(name, d)] = kind
        for d, old_value, new_value in zip(
            metric.found, metric.old_values, metric.new_values, strict=True
        ):
            deltas.setdefault((name, d), new_value - old_value)
    labels = {m.group[0] for m in read.comparison.metrics if m.metric_type == "string"}
    old_first, new_first = _first_sessions(old), _first_sessions(new)
    rows = []
    for number, datapoint_id in enumerate(common, start=1):
        old_outcome, new_outcome = old_first[datapoint_id], new_first[datapoint_id]
        scored = {m.score.name for o in (old_outcome, new_outcome) for m in o.metrics}
        old_labels, new_labels = _labels(old_outcome, labels), _labels(new_outcome, labels)
        rows.append(
            PairRow(
                datapoint_id=datapoint_id,
                number=number,
                old=old_outcome,
                new=new_outcome,
                changes=tuple(
                    ScoreChange(
                        name=n,
                        change=changes.get((n, datapoint_id))
                        or _label_change(old_labels.get(n), new_labels.get(n)),
                        delta=deltas.get((n, datapoint_id)),
                    )
                    for n in names
                    if n in scored
                ),
            )
        )
    return rows


def _labels(outcome: DatapointOutcome, names: set[str]) -> dict[str, Cell]:
    """The datapoint's cells of the label metrics among `names` (none when `names` is
    empty: most runs have no label metric)."""
    return scores.cells(outcome, list(names)) if names else {}


def _label_change(old: Cell | None, new: Cell | None) -> Change | None:
    """How a label (a string score, which no comparison counts) changed: `same` for the
    same labels, else by its verdicts when both have one; None when that says nothing."""
    if old is None or new is None or not all(isinstance(v, str) for v in (old.first, new.first)):
        return None
    if old.values == new.values:
        return "same"
    if old.verdict is None or new.verdict is None or old.verdict == new.verdict:
        return None
    return "improved" if new.verdict else "regressed"


def _first_sessions(result: RunResult) -> dict[str, DatapointOutcome]:
    """Each datapoint's first session in the run (the one a row shows)."""
    out: dict[str, DatapointOutcome] = {}
    for outcome in result.datapoints:
        if outcome.trace.datapoint_id is not None:
            out.setdefault(outcome.trace.datapoint_id, outcome)
    return out


def _sides(row: PairRow, mode: str) -> Sides:
    """Both outputs marked against each other (`runs`: what the candidate added, what
    it dropped), or each against the ground truth (`truth`)."""
    old_text, new_text = as_text(row.old.trace.outputs), as_text(row.new.trace.outputs)
    if mode == "truth":
        truth = row.truth
        old, new = word_diff(truth, old_text), word_diff(truth, new_text)
        return Sides(old.segments, new.segments, old.new_tail, new.new_tail)
    both = word_diff(old_text, new_text)
    return Sides(both.old, both.new, both.old_tail, both.new_tail)

"""What the run routes and the experiment pages read: run objects, a run's result, two
runs compared, a run's scored events and event pairs, event schemas, each in a fixed
number of store queries whatever the run's size (docs/evaluation-plan.md §7).

A result is computed from the events of the run's sessions when it is asked for
(`EvaluationStore.run_rows`, one query), so a late event changes the next answer.
The functions are synchronous: routes run them on a read thread (`AppContext.read`),
store reads and the domain's computation together, off the event loop.

The cyclic garbage collector is paused while a result, comparison or event list is
computed (`collector.collector_paused`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.evaluation import changelog, comparison, results, runs, schema, versions
from hivekeeper.domain.evaluation.aggregates import AggregateFunction
from hivekeeper.domain.evaluation.comparison import CompareEventsQuery, Comparison
from hivekeeper.domain.evaluation.evaluators import Threshold, threshold_of
from hivekeeper.domain.evaluation.results import ResultQuery, RunResult
from hivekeeper.domain.evaluation.runs import Run
from hivekeeper.domain.evaluation.traces import SessionTrace, read_sessions
from hivekeeper.domain.evaluation.verdicts import Rules, rules_for
from hivekeeper.domain.filters import Condition
from hivekeeper.domain.render import render_event
from hivekeeper.domain.tenancy import Project
from hivekeeper.domain.types import JsonObject
from hivekeeper.store import Store
from hivekeeper.web.collector import collector_paused


def require_run(store: Store, project_id: str, run_id: str, field: str = "run_id") -> Run:
    """The run, or NotFound naming `field` (another project's run reads as absent)."""
    run = store.get_run(project_id, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id}", field=field)
    return run


@dataclass(frozen=True, slots=True)
class RunDataset:
    """A run with its stored dataset's name and the version of that dataset it used (the
    one in force when it was created); both None for a run of no stored dataset."""

    run: Run
    dataset_name: str | None = None
    dataset_version: int | None = None


@dataclass(frozen=True, slots=True)
class JudgedRun:
    """A run's result and the rules its values were judged by."""

    result: RunResult
    rules: Rules


@dataclass(frozen=True, slots=True)
class JudgedPair:
    """Two runs' results and `new` compared against `old`."""

    new: JudgedRun
    old: JudgedRun
    comparison: Comparison


def run_datasets(store: Store, project_id: str, listed: Sequence[Run]) -> list[RunDataset]:
    """`listed` with their datasets' names and versions: two queries for any number."""
    dataset_ids = sorted({r.dataset_id for r in listed if r.dataset_id is not None})
    names: dict[str, str] = {}
    histories: dict[str, list[changelog.ChangeSummary]] = {}
    if dataset_ids:
        one = dataset_ids[0] if len(dataset_ids) == 1 else None
        names = {d.id: d.name for d in store.list_datasets(project_id, dataset_id=one)}
        histories = store.dataset_histories(project_id, dataset_ids)
    out = []
    for run in listed:
        keys = [change.key for change in histories.get(run.dataset_id or "", [])]
        used = changelog.version_at(keys, run.created_at_ms)
        out.append(
            RunDataset(
                run,
                dataset_name=names.get(run.dataset_id or ""),
                dataset_version=None if used is None else keys.index(used) + 1,
            )
        )
    return out


def run_objects(store: Store, project_id: str, listed: Sequence[Run]) -> list[JsonObject]:
    """The RunObjects of `listed`, each with its dataset's name and the dataset version
    it used: two queries for any number of runs."""
    return [
        runs.render_run(
            found.run,
            project_id=project_id,
            dataset_name=found.dataset_name,
            dataset_version=found.dataset_version,
        )
        for found in run_datasets(store, project_id, listed)
    ]


def run_object(store: Store, project_id: str, run: Run) -> JsonObject:
    """One run's RunObject (see `run_objects`)."""
    return run_objects(store, project_id, [run])[0]


@collector_paused
def result(store: Store, project: Project, run_id: str, query: ResultQuery) -> JsonObject:
    """`GET /v1/runs/{id}/result` (and `/summary`): the RunResult body."""
    run = require_run(store, project.id, run_id)
    judged = judge(store, project.id, run, query.function, query.conditions)
    return results.render_result(judged.result, run_object(store, project.id, run))


@collector_paused
def judge(
    store: Store,
    project_id: str,
    run: Run,
    function: AggregateFunction,
    conditions: Sequence[Condition] = (),
    *,
    scores_only: bool = False,
) -> JudgedRun:
    """The run's result, each value judged by the run's passing range for its metric,
    else by the metric's deployed threshold; `scores_only`: its sessions read without
    inputs, outputs or ground truth (for its figures alone)."""
    traces = _traces(store, project_id, run.run_id, conditions, scores_only=scores_only)
    rules = rules_for(run.passing_ranges, _thresholds(store, project_id, [traces]))
    return JudgedRun(_compute(run, traces, rules, function), rules)


@collector_paused
def judge_pair(
    store: Store, project_id: str, new: Run, old: Run, function: AggregateFunction
) -> JudgedPair:
    """Both runs' results, read as `compare` reads them (scores only: no inputs,
    outputs or ground truth; `whole_sessions` reads those of the sessions shown), and
    `new` compared against `old`: which way a metric is better follows the new run's
    passing range for it, else its deployed threshold."""
    new_traces, old_traces, thresholds, compared = _scored_pair(
        store, project_id, new, old, (), function
    )
    new_rules = rules_for(new.passing_ranges, thresholds)
    old_rules = rules_for(old.passing_ranges, thresholds)
    return JudgedPair(
        JudgedRun(_compute(new, new_traces, new_rules, function), new_rules),
        JudgedRun(_compute(old, old_traces, old_rules, function), old_rules),
        compared,
    )


@collector_paused
def compare(
    store: Store, project: Project, new_run_id: str, old_run_id: str, query: ResultQuery
) -> JsonObject:
    """`GET /v1/runs/{new}/compare-with/{old}`: the comparison body. Each run's events
    are read without inputs, outputs or feedback, and scored in one pass."""
    new_run = require_run(store, project.id, new_run_id, "new_run_id")
    old_run = require_run(store, project.id, old_run_id, "old_run_id")
    *_, compared = _scored_pair(
        store, project.id, new_run, old_run, query.conditions, query.function
    )
    new_object, old_object = run_objects(store, project.id, [new_run, old_run])
    return comparison.render_comparison(compared, new_object, old_object)


def whole_sessions(
    store: Store, project_id: str, traces: Iterable[SessionTrace]
) -> dict[str, SessionTrace]:
    """The sessions of `traces` (read scores only) read again whole, inputs, outputs and
    ground truth too, by session id: one query for their events."""
    ids = [event.event_id for trace in traces for event in trace.events]
    return {t.session_id: t for t in read_sessions(store.get_events(project_id, ids))}


@collector_paused
def metric_events(
    store: Store, project: Project, run_id: str, conditions: Sequence[Condition]
) -> JsonObject:
    """`GET /v1/runs/{id}/metrics`: every scored event of the run's sessions."""
    run = require_run(store, project.id, run_id)
    traces = _traces(store, project.id, run.run_id, conditions, scores_only=True)
    return results.render_metric_events(traces)


@collector_paused
def event_pairs(store: Store, project: Project, query: CompareEventsQuery) -> JsonObject:
    """`GET /v1/runs/compare/events`: one page of the events both runs' sessions of a
    datapoint hold, in the new run's datapoint order, each read whole (two queries for
    the page, whatever its size)."""
    new_run = require_run(store, project.id, query.new_run_id, "run_id_1")
    old_run = require_run(store, project.id, query.old_run_id, "run_id_2")
    new_traces = _traces(store, project.id, new_run.run_id, query.conditions, scores_only=True)
    pairs = comparison.pair_events(
        results.in_run_order(new_traces, new_run.datapoint_ids),
        _traces(store, project.id, old_run.run_id, query.conditions, scores_only=True),
        event_name=query.event_name,
        event_type=query.event_type,
    )
    start = (query.page - 1) * query.limit
    page = pairs[start : start + query.limit]
    ids = [i for pair in page for i in (pair.new_event_id, pair.old_event_id)]
    rows = store.get_events(project.id, ids)
    children = store.children_of(project.id, [row["event_id"] for row in rows])
    events = {
        row["event_id"]: render_event(row, project, children.get(row["event_id"], []))
        for row in rows
    }
    return comparison.render_event_pairs(
        page, events, page=query.page, limit=query.limit, total=len(pairs)
    )


def event_schema(
    store: Store,
    project_id: str,
    *,
    run_id: str | None = None,
    start_ms: float | None = None,
    end_ms: float | None = None,
) -> JsonObject:
    """The schema routes: the fields of the run's events (404 for an unknown run), or of
    a sample of the project's latest events in the range; and the stored datasets' names."""
    if run_id is not None:
        run_id = require_run(store, project_id, run_id).run_id
    rows = store.schema_rows(project_id, run_id=run_id, start_ms=start_ms, end_ms=end_ms)
    names = dict.fromkeys(d.name for d in store.list_datasets(project_id))
    return schema.event_schema(rows, list(names))


def _traces(
    store: Store,
    project_id: str,
    run_id: str,
    conditions: Sequence[Condition],
    *,
    scores_only: bool = False,
) -> list[SessionTrace]:
    return read_sessions(store.run_rows(project_id, run_id, conditions, scores_only=scores_only))


def _scored_pair(
    store: Store,
    project_id: str,
    new: Run,
    old: Run,
    conditions: Sequence[Condition],
    function: AggregateFunction,
) -> tuple[list[SessionTrace], list[SessionTrace], dict[str, Threshold], Comparison]:
    """Both runs' sessions read scores only (no inputs, outputs or feedback), the
    thresholds of their metrics, and `new` compared against `old`: which way is better
    by the new run's passing range, else the deployed threshold."""
    new_traces = _traces(store, project_id, new.run_id, conditions, scores_only=True)
    old_traces = _traces(store, project_id, old.run_id, conditions, scores_only=True)
    thresholds = _thresholds(store, project_id, [new_traces, old_traces])
    compared = comparison.compare(
        comparison.run_scores(new_traces, new.datapoint_ids, function),
        comparison.run_scores(old_traces, old.datapoint_ids, function),
        rules_for(new.passing_ranges, thresholds),
    )
    return new_traces, old_traces, thresholds, compared


def _compute(
    run: Run, traces: Sequence[SessionTrace], rules: Rules, function: AggregateFunction
) -> RunResult:
    return results.compute_result(
        status=run.status,
        datapoint_ids=run.datapoint_ids,
        traces=traces,
        rules=rules,
        function=function,
    )


def _thresholds(
    store: Store, project_id: str, traced: Iterable[Sequence[SessionTrace]]
) -> dict[str, Threshold]:
    """The thresholds of the deployed versions of the metrics scored in `traced`: what
    judges a value when the run has no passing range for it. One query."""
    names = {s.name for traces in traced for t in traces for s in t.scores}
    return metric_thresholds(store, project_id, names)


def metric_thresholds(store: Store, project_id: str, names: Iterable[str]) -> dict[str, Threshold]:
    """The thresholds of the deployed versions of the metrics `names`. One query."""
    names = sorted(set(names))
    thresholds: dict[str, Threshold] = {}
    if not names:
        return thresholds
    for definition in store.list_definitions(project_id, "metric", names=names):
        live = versions.deployed(definition.deployments).get(versions.DEPLOYED)
        content = next((v.content for v in definition.versions if v.change_id == live), None)
        if content is not None and isinstance(content.get("name"), str):
            thresholds[str(content["name"])] = threshold_of(content)
    return thresholds

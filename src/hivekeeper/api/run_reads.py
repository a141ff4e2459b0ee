"""What the run routes read: run objects, a run's result, two runs compared, a run's
scored events and event pairs, event schemas, each in a fixed number of store queries
whatever the run's size (docs/evaluation-plan.md §7).

A result is computed from the events of the run's sessions when it is asked for
(`EvaluationStore.run_rows`, one query), so a late event changes the next answer.
The functions are synchronous: routes run them on a read thread (`AppContext.read`),
store reads and the domain's computation together, off the event loop.

The cyclic garbage collector is paused while a result, comparison or event list is
computed (`collector.collector_paused`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hivekeeper.api.collector import collector_paused
from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.evaluation import changelog, comparison, results, runs, schema, versions
from hivekeeper.domain.evaluation.comparison import CompareEventsQuery
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


def require_run(store: Store, project_id: str, run_id: str, field: str = "run_id") -> Run:
    """The run, or NotFound naming `field` (another project's run reads as absent)."""
    run = store.get_run(project_id, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id}", field=field)
    return run


def run_objects(store: Store, project_id: str, listed: Sequence[Run]) -> list[JsonObject]:
    """The RunObjects of `listed`, each with its dataset's name and the dataset version
    it used (the one in force when it was created): two queries for any number of runs."""
    dataset_ids = sorted({r.dataset_id for r in listed if r.dataset_id is not None})
    names: dict[str, str] = {}
    histories: dict[str, list[changelog.ChangeSummary]] = {}
    if dataset_ids:
        one = dataset_ids[0] if len(dataset_ids) == 1 else None
        names = {d.id: d.name for d in store.list_datasets(project_id, dataset_id=one)}
        histories = store.dataset_histories(project_id, dataset_ids)
    out = []
    for run in listed:
        history = histories.get(run.dataset_id or "", [])
        keys = [change.key for change in history]
        used = changelog.version_at(keys, run.created_at_ms)
        out.append(
            runs.render_run(
                run,
                project_id=project_id,
                dataset_name=names.get(run.dataset_id or ""),
                dataset_version=None if used is None else keys.index(used) + 1,
            )
        )
    return out


def run_object(store: Store, project_id: str, run: Run) -> JsonObject:
    """One run's RunObject (see `run_objects`)."""
    return run_objects(store, project_id, [run])[0]


@collector_paused
def result(store: Store, project: Project, run_id: str, query: ResultQuery) -> JsonObject:
    """`GET /v1/runs/{id}/result` (and `/summary`): the RunResult body."""
    run = require_run(store, project.id, run_id)
    traces = _traces(store, project.id, run.run_id, query.conditions)
    rules = rules_for(run.passing_ranges, _thresholds(store, project.id, [traces]))
    computed = _compute(run, traces, rules, query)
    return results.render_result(computed, run_object(store, project.id, run))


@collector_paused
def compare(
    store: Store, project: Project, new_run_id: str, old_run_id: str, query: ResultQuery
) -> JsonObject:
    """`GET /v1/runs/{new}/compare-with/{old}`: the comparison body. Each run's events
    are read without inputs, outputs or feedback, and scored in one pass."""
    new_run = require_run(store, project.id, new_run_id, "new_run_id")
    old_run = require_run(store, project.id, old_run_id, "old_run_id")
    new_traces = _traces(store, project.id, new_run.run_id, query.conditions, scores_only=True)
    old_traces = _traces(store, project.id, old_run.run_id, query.conditions, scores_only=True)
    # Which way is better: the new run's passing range, else the deployed threshold.
    thresholds = _thresholds(store, project.id, [new_traces, old_traces])
    rules = rules_for(new_run.passing_ranges, thresholds)
    compared = comparison.compare(
        comparison.run_scores(new_traces, new_run.datapoint_ids, query.function),
        comparison.run_scores(old_traces, old_run.datapoint_ids, query.function),
        rules,
    )
    new_object, old_object = run_objects(store, project.id, [new_run, old_run])
    return comparison.render_comparison(compared, new_object, old_object)


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


def _compute(
    run: Run, traces: Sequence[SessionTrace], rules: Rules, query: ResultQuery
) -> RunResult:
    return results.compute_result(
        status=run.status,
        datapoint_ids=run.datapoint_ids,
        traces=traces,
        rules=rules,
        function=query.function,
    )


def _thresholds(
    store: Store, project_id: str, traced: Iterable[Sequence[SessionTrace]]
) -> dict[str, Threshold]:
    """The thresholds of the deployed versions of the metrics scored in `traced`: what
    judges a value when the run has no passing range for it. One query."""
    names = sorted({s.name for traces in traced for t in traces for s in t.scores})
    thresholds: dict[str, Threshold] = {}
    if not names:
        return thresholds
    for definition in store.list_definitions(project_id, "metric", names=names):
        live = versions.deployed(definition.deployments).get(versions.DEPLOYED)
        content = next((v.content for v in definition.versions if v.change_id == live), None)
        if content is not None and isinstance(content.get("name"), str):
            thresholds[str(content["name"])] = threshold_of(content)
    return thresholds

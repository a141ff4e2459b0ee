"""What the experiment pages read: runs with their dataset and its version, a run's
result, and two runs compared, computed from the runs' sessions when a page asks.

Nothing is stored: a late event changes the next page, as it changes the API's
`/result`. The functions are synchronous; pages run them on a read thread
(`AppContext.read`), store queries and the domain's computation together, off the
event loop. Each costs a fixed number of queries whatever the run's size
(docs/evaluation-plan.md §7): the run, its events (one query), the metric rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.evaluation import changelog, comparison, results, versions
from hivekeeper.domain.evaluation.aggregates import AggregateFunction
from hivekeeper.domain.evaluation.comparison import Comparison
from hivekeeper.domain.evaluation.evaluators import Threshold, threshold_of
from hivekeeper.domain.evaluation.results import RunResult
from hivekeeper.domain.evaluation.runs import Run
from hivekeeper.domain.evaluation.traces import SessionTrace, read_sessions
from hivekeeper.domain.evaluation.verdicts import Rules, rules_for
from hivekeeper.domain.types import JsonObject
from hivekeeper.store import Store


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run as the pages name it: with its stored dataset's name and the version of
    that dataset it used (the one in force when the run was created)."""

    run: Run
    dataset_name: str | None = None
    dataset_version: int | None = None

    @property
    def label(self) -> str:
        return self.run.name or self.run.run_id

    @property
    def dataset_key(self) -> str | None:
        """The dataset the run is listed under: its stored dataset, else its `EXT-…`
        dataset of local rows; None for a run of neither."""
        return self.run.dataset_id or self.run.offline_dataset_id

    @property
    def git(self) -> JsonObject:
        """`metadata.git` as `evaluate()` records it (branch, commit, …), or empty."""
        git = self.run.metadata.get("git")
        return git if isinstance(git, dict) else {}


@dataclass(frozen=True, slots=True)
class RunRead:
    """A run, its result, and the rules its values were judged by."""

    info: RunInfo
    result: RunResult
    rules: Rules


@dataclass(frozen=True, slots=True)
class ComparisonRead:
    """Two runs' results and their comparison (`new` against `old`, which way is
    better by the new run's rules)."""

    old: RunRead
    new: RunRead
    comparison: Comparison


def require_run(store: Store, project_id: str, run_id: str) -> Run:
    """The run, or NotFound (another project's run reads as absent)."""
    run = store.get_run(project_id, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id} in this project")
    return run


def run_infos(store: Store, project_id: str, runs: Sequence[Run]) -> list[RunInfo]:
    """`runs` with their datasets' names and versions: two queries for any number."""
    dataset_ids = sorted({r.dataset_id for r in runs if r.dataset_id is not None})
    if not dataset_ids:
        return [RunInfo(run) for run in runs]
    one = dataset_ids[0] if len(dataset_ids) == 1 else None
    names = {d.id: d.name for d in store.list_datasets(project_id, dataset_id=one)}
    histories = store.dataset_histories(project_id, dataset_ids)
    out = []
    for run in runs:
        keys = [change.key for change in histories.get(run.dataset_id or "", [])]
        used = changelog.version_at(keys, run.created_at_ms)
        out.append(
            RunInfo(
                run,
                dataset_name=names.get(run.dataset_id or ""),
                dataset_version=None if used is None else keys.index(used) + 1,
            )
        )
    return out


def read_run(store: Store, project_id: str, info: RunInfo, function: AggregateFunction) -> RunRead:
    """The run's result, each value judged by the run's passing ranges, else by its
    metric's deployed threshold."""
    traces = read_sessions(store.run_rows(project_id, info.run.run_id))
    rules = rules_for(info.run.passing_ranges, thresholds(store, project_id, [traces]))
    return RunRead(info, _compute(info.run, traces, rules, function), rules)


def read_comparison(
    store: Store, project_id: str, old: RunInfo, new: RunInfo, function: AggregateFunction
) -> ComparisonRead:
    """Both runs' results and `new` compared against `old`. Which way a metric is better
    follows the new run's passing range for it, else its deployed threshold, as the
    API's `compare-with` decides."""
    old_traces = read_sessions(store.run_rows(project_id, old.run.run_id))
    new_traces = read_sessions(store.run_rows(project_id, new.run.run_id))
    found = thresholds(store, project_id, [old_traces, new_traces])
    old_rules = rules_for(old.run.passing_ranges, found)
    old_result = _compute(old.run, old_traces, old_rules, function)
    rules = rules_for(new.run.passing_ranges, found)
    new_result = _compute(new.run, new_traces, rules, function)
    compared = comparison.compare(new_result, old_result, rules, function)
    old_read, new_read = RunRead(old, old_result, old_rules), RunRead(new, new_result, rules)
    return ComparisonRead(old_read, new_read, compared)


def thresholds(
    store: Store, project_id: str, traced: Iterable[Sequence[SessionTrace]]
) -> dict[str, Threshold]:
    """The thresholds of the deployed versions of the metrics scored in `traced`, by
    metric name. One query."""
    names = sorted({s.name for traces in traced for t in traces for s in t.scores})
    found: dict[str, Threshold] = {}
    if not names:
        return found
    for definition in store.list_definitions(project_id, "metric", names=names):
        live = versions.deployed(definition.deployments).get(versions.DEPLOYED)
        content = next((v.content for v in definition.versions if v.change_id == live), None)
        if content is not None and isinstance(content.get("name"), str):
            found[str(content["name"])] = threshold_of(content)
    return found


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

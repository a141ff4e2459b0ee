"""What the experiment pages read: runs with their dataset and its version, a run's
result, and two runs compared, through `web.run_reads` (what the run routes read).

Nothing is stored: a late event changes the next page, as it changes the API's
`/result`. The functions are synchronous; pages run them on a read thread
(`AppContext.read`), store queries and the domain's computation together, off the
event loop, in a fixed number of queries whatever the run's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from hivekeeper.domain.evaluation.aggregates import AggregateFunction
from hivekeeper.domain.evaluation.comparison import Comparison
from hivekeeper.domain.evaluation.results import DatapointOutcome, RunResult
from hivekeeper.domain.evaluation.runs import Run
from hivekeeper.domain.evaluation.verdicts import Rules
from hivekeeper.domain.types import JsonObject
from hivekeeper.store import Store
from hivekeeper.web import run_reads
from hivekeeper.web.run_reads import RunDataset


@dataclass(frozen=True, slots=True)
class RunInfo(RunDataset):
    """A run as the pages name and file it."""

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
    return run_reads.require_run(store, project_id, run_id)


def run_infos(store: Store, project_id: str, runs: Sequence[Run]) -> list[RunInfo]:
    """`runs` with their datasets' names and versions: two queries for any number."""
    return [
        RunInfo(found.run, found.dataset_name, found.dataset_version)
        for found in run_reads.run_datasets(store, project_id, runs)
    ]


def read_run(
    store: Store,
    project_id: str,
    info: RunInfo,
    function: AggregateFunction,
    *,
    scores_only: bool = False,
) -> RunRead:
    """The run's result, as the API's `/result` computes it (`scores_only`: without
    the sessions' inputs, outputs and ground truth)."""
    judged = run_reads.judge(store, project_id, info.run, function, scores_only=scores_only)
    return RunRead(info, judged.result, judged.rules)


def read_whole(
    store: Store, project_id: str, outcomes: Sequence[DatapointOutcome]
) -> list[DatapointOutcome]:
    """`outcomes` of a comparison (read scores only) with their sessions read whole:
    inputs, outputs and ground truth. One query, whatever the runs' size."""
    whole = run_reads.whole_sessions(store, project_id, [o.trace for o in outcomes])
    return [replace(o, trace=whole.get(o.trace.session_id, o.trace)) for o in outcomes]


def read_comparison(
    store: Store, project_id: str, old: RunInfo, new: RunInfo, function: AggregateFunction
) -> ComparisonRead:
    """Both runs' results, scores only (`read_whole` reads the rest of the sessions
    shown), and `new` compared against `old`, as the API's `compare-with` compares
    them."""
    pair = run_reads.judge_pair(store, project_id, new.run, old.run, function)
    return ComparisonRead(
        RunRead(old, pair.old.result, pair.old.rules),
        RunRead(new, pair.new.result, pair.new.rules),
        pair.comparison,
    )

"""How metric scores read on the experiment pages: which metrics are columns, which
explain another, one cell per datapoint and metric, a run's summary of a metric.

`evaluate()` flattens an evaluator's `{score, explanation}` into two metrics,
`<name>` and `<name>_explanation`; an explanation is shown with its score, never as
a column of its own. A datapoint scored several times for one metric (several events)
shows every value; it sorts by the first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from hivekeeper.domain.evaluation.results import DatapointOutcome, MetricSummary
from hivekeeper.domain.evaluation.traces import ScoreValue
from hivekeeper.ui.formats import score

EXPLANATION_SUFFIX = "_explanation"


@dataclass(frozen=True, slots=True)
class Cell:
    """One datapoint's values of one metric: their text, verdict (False when any value
    failed, True when one passed and none failed, None without a rule) and explanation."""

    values: tuple[ScoreValue, ...]
    verdict: bool | None
    explanation: str | None

    @property
    def text(self) -> str:
        return ", ".join(score(v) for v in self.values)

    @property
    def first(self) -> ScoreValue | None:
        return self.values[0] if self.values else None


EMPTY = Cell((), None, None)


def metric_names(names: Iterable[str]) -> list[str]:
    """The metrics to show as columns, in order of first appearance: every name but
    the explanations of another name present."""
    present = dict.fromkeys(names)
    return [n for n in present if explained(n, present) is None]


def explained(name: str, names: Collection[str]) -> str | None:
    """The metric `name` explains (`relevance_explanation` → `relevance`) when that
    metric is among `names`; None otherwise."""
    if not name.endswith(EXPLANATION_SUFFIX):
        return None
    base = name.removesuffix(EXPLANATION_SUFFIX)
    return base if base in names else None


def cells(outcome: DatapointOutcome, names: Sequence[str]) -> dict[str, Cell]:
    """The datapoint's cell for each metric of `names` it was scored on."""
    values: dict[str, list[ScoreValue]] = {}
    verdicts: dict[str, list[bool]] = {}
    notes: dict[str, str] = {}
    wanted = set(names)
    for metric in outcome.metrics:
        name, value = metric.score.name, metric.score.value
        if name in wanted:
            values.setdefault(name, []).append(value)
            if metric.passed is not None:
                verdicts.setdefault(name, []).append(metric.passed)
        elif (base := explained(name, wanted)) is not None:
            notes.setdefault(base, str(value))
    out = {}
    for name, found in values.items():
        judged = verdicts.get(name, [])
        verdict = None if not judged else all(judged)
        out[name] = Cell(tuple(found), verdict, notes.get(name))
    return out


def summary_text(summaries: Sequence[MetricSummary]) -> str:
    """A run's figure for one metric (its groups over several events together): the
    aggregate of the first group that has one, else the most frequent label and its
    share (`friendly 12/20`); empty for none."""
    for summary in summaries:
        if summary.aggregate is not None:
            return score(summary.aggregate)
    labels = Counter(label for s in summaries for label in s.string_values)
    if not labels:
        return ""
    label, times = labels.most_common(1)[0]
    return f"{label} {times}/{labels.total()}"


def aggregate_of(summaries: Sequence[MetricSummary]) -> float | None:
    """The aggregate of the first of a metric's groups that has one."""
    return next((s.aggregate for s in summaries if s.aggregate is not None), None)


def by_name(summaries: Iterable[MetricSummary]) -> dict[str, list[MetricSummary]]:
    """A run's metric summaries grouped by metric name (a metric scored on several
    event names has one summary per event)."""
    out: dict[str, list[MetricSummary]] = {}
    for summary in summaries:
        out.setdefault(summary.group[0], []).append(summary)
    return out

"""A run's result (`GET /v1/runs/{id}/result`), computed from its sessions when asked.

Input: the run, the traces of its sessions (`traces.read_sessions` over every event
of the sessions named by the run's `event_ids` or carrying `metadata.run_id`), the
pass/fail rules and an aggregate function. Nothing is stored, so late events change
the next answer.

The answer has the exact shape the SDK parses (spec/evaluation.md §4). Per
(metric, event name, event type): `values` holds the numeric and boolean scores in
datapoint order and `aggregate` the function over them; string scores never enter
`values` (the SDK refuses them there) but are listed in `string_values` and in each
datapoint's `metrics` as `string_value`, with `value: null`. Datapoints of the run
that no session answered yet are listed in `missing`, in neither `passed` nor
`failed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from hivekeeper.domain.evaluation._params import QueryParams, conditions, last
from hivekeeper.domain.evaluation.aggregates import AggregateFunction, aggregate, parse_aggregate
from hivekeeper.domain.evaluation.traces import Score, ScoreValue, SessionTrace
from hivekeeper.domain.evaluation.verdicts import Rules, verdict
from hivekeeper.domain.filters import DEFAULT_MAX_FILTERS, Condition
from hivekeeper.domain.types import JsonObject

Group = tuple[str, str, str]
"""(metric name, event name, event type)."""


@dataclass(frozen=True, slots=True)
class ResultQuery:
    """`/result`, `/summary` and `compare-with` parameters: the aggregate function, and
    filters (export language) restricting which of the run's sessions count."""

    function: AggregateFunction
    conditions: tuple[Condition, ...]


class MetricOutcome(NamedTuple):
    """One score of one datapoint and its verdict (None: no rule applies)."""

    score: Score
    passed: bool | None


@dataclass(frozen=True, slots=True)
class DatapointOutcome:
    """One session of the run: its datapoint, scores, and whether it passed."""

    trace: SessionTrace
    passed: bool
    metrics: tuple[MetricOutcome, ...]


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """One (metric, event name, event type) over the whole run."""

    group: Group
    metric_type: str
    aggregate: float | None
    values: tuple[bool | float, ...]
    string_values: tuple[str, ...]
    passing_range: JsonObject | None
    passed: tuple[str, ...]
    failed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RunResult:
    """Everything `/result` answers but the run object."""

    status: str
    success: bool
    aggregation_function: AggregateFunction
    datapoints: tuple[DatapointOutcome, ...]
    metrics: tuple[MetricSummary, ...]
    missing: tuple[str, ...]
    event_details: tuple[tuple[str, str], ...]

    @property
    def passed(self) -> list[str]:
        return list(dict.fromkeys(d.trace.key for d in self.datapoints if d.passed))

    @property
    def failed(self) -> list[str]:
        return list(dict.fromkeys(d.trace.key for d in self.datapoints if not d.passed))


def parse_result_query(
    params: QueryParams, *, max_filters: int = DEFAULT_MAX_FILTERS
) -> ResultQuery:
    """`aggregate_function` (default average) and `filters` (at most `max_filters`).
    Raises ValidationFailed naming the parameter."""
    return ResultQuery(
        function=parse_aggregate(last(params, "aggregate_function")),
        conditions=conditions(params, "filters", max_filters),
    )


def compute_result(
    *,
    status: str,
    datapoint_ids: Sequence[str],
    traces: Iterable[SessionTrace],
    rules: Rules,
    function: AggregateFunction,
) -> RunResult:
    """The result of a run in state `status` whose planned datapoints are
    `datapoint_ids`, from the traces of its sessions. Pure; never raises."""
    ordered = in_run_order(list(traces), datapoint_ids)
    outcomes = tuple(_outcome(trace, rules) for trace in ordered)
    answered = {t.datapoint_id for t in ordered}
    return RunResult(
        status=status,
        success=status == "completed" and bool(outcomes),
        aggregation_function=function,
        datapoints=outcomes,
        metrics=_summaries(outcomes, rules, function),
        missing=tuple(d for d in dict.fromkeys(datapoint_ids) if d not in answered),
        event_details=tuple(
            dict.fromkeys((e.event_name, e.event_type) for t in ordered for e in t.events)
        ),
    )


def render_result(result: RunResult, run_object: JsonObject) -> JsonObject:
    """The `/result` body (also `/summary`)."""
    return {
        "status": result.status,
        "success": result.success,
        "passed": result.passed,
        "failed": result.failed,
        "missing": list(result.missing),
        "metrics": {
            "aggregation_function": result.aggregation_function,
            "details": [_render_summary(m) for m in result.metrics],
        },
        "datapoints": [_render_datapoint(d) for d in result.datapoints],
        "event_details": [
            {"event_name": name, "event_type": kind} for name, kind in result.event_details
        ],
        "run_object": run_object,
    }


def metric_type(values: Iterable[ScoreValue]) -> str:
    """`boolean` when every value is one, `numeric` when any is a number, else `string`."""
    kinds = {type(v) for v in values}
    if kinds == {bool}:
        return "boolean"
    return "numeric" if float in kinds else "string"


def numeric(value: ScoreValue) -> float | None:
    """A score as a number to aggregate (True is 1, False 0); None for a string."""
    return None if isinstance(value, str) else float(value)


def in_run_order(
    traces: Iterable[SessionTrace], datapoint_ids: Sequence[str]
) -> list[SessionTrace]:
    """Sessions in the order of the run's datapoints, then the rest as they came (by
    start time); `sorted` is stable, so sessions of one datapoint keep theirs."""
    rank = {d: i for i, d in enumerate(dict.fromkeys(datapoint_ids))}
    return sorted(traces, key=lambda t: rank.get(t.datapoint_id or "", len(rank)))


def _outcome(trace: SessionTrace, rules: Rules) -> DatapointOutcome:
    metrics = tuple(MetricOutcome(s, verdict(s.value, rules.get(s.name))) for s in trace.scores)
    passed = trace.error is None and all(m.passed is not False for m in metrics)
    return DatapointOutcome(trace=trace, passed=passed, metrics=metrics)


def _summaries(
    outcomes: Sequence[DatapointOutcome], rules: Rules, function: AggregateFunction
) -> tuple[MetricSummary, ...]:
    by_group: dict[Group, list[tuple[str, MetricOutcome]]] = {}
    for outcome in outcomes:
        for metric in outcome.metrics:
            by_group.setdefault(metric.score.group, []).append((outcome.trace.key, metric))
    summaries = []
    for group in sorted(by_group):
        entries = by_group[group]
        scores = [m.score.value for _, m in entries]
        numbers = [n for n in map(numeric, scores) if n is not None]
        rule = rules.get(group[0])
        bounded = rule is not None and (rule.min is not None or rule.max is not None)
        summaries.append(
            MetricSummary(
                group=group,
                metric_type=metric_type(scores),
                aggregate=aggregate(function, numbers, len(scores)),
                values=tuple(v for v in scores if not isinstance(v, str)),
                string_values=tuple(v for v in scores if isinstance(v, str)),
                passing_range={"min": rule.min, "max": rule.max} if rule and bounded else None,
                passed=tuple(dict.fromkeys(k for k, m in entries if m.passed is True)),
                failed=tuple(dict.fromkeys(k for k, m in entries if m.passed is False)),
            )
        )
    return tuple(summaries)


def _render_summary(summary: MetricSummary) -> JsonObject:
    name, event_name, event_type = summary.group
    out: JsonObject = {
        "metric_name": name,
        "metric_type": summary.metric_type,
        "event_name": event_name,
        "event_type": event_type,
        "aggregate": summary.aggregate,
        "values": list(summary.values),
        "string_values": list(summary.string_values),
        "datapoints": {"passed": list(summary.passed), "failed": list(summary.failed)},
    }
    if summary.passing_range is not None:
        out["passing_range"] = summary.passing_range
    return out


def _render_datapoint(outcome: DatapointOutcome) -> JsonObject:
    trace = outcome.trace
    return {
        "datapoint_id": trace.datapoint_id,
        "session_id": trace.session_id,
        "passed": outcome.passed,
        "error": trace.error,
        "inputs": trace.inputs,
        "outputs": trace.outputs,
        "ground_truth": trace.ground_truth,
        "metrics": [_render_metric(m) for m in outcome.metrics],
    }


def _render_metric(metric: MetricOutcome) -> JsonObject:
    score = metric.score
    out: JsonObject = {
        "name": score.name,
        "event_name": score.event_name,
        "event_type": score.event_type,
        "value": None if isinstance(score.value, str) else score.value,
        "passed": metric.passed,
    }
    if isinstance(score.value, str):
        out["string_value"] = score.value
    return out


def render_metric_events(traces: Iterable[SessionTrace]) -> JsonObject:
    """`GET /v1/runs/{id}/metrics`: every event of the run with scores, `{events:
    [{event_id, event_name, event_type, session_id, metadata: {datapoint_id}, metrics}],
    totalEvents}`."""
    events: list[JsonObject] = []
    for trace in traces:
        by_event: dict[str, JsonObject] = {}
        for score in trace.scores:
            event = by_event.setdefault(
                score.event_id,
                {
                    "event_id": score.event_id,
                    "event_name": score.event_name,
                    "event_type": score.event_type,
                    "session_id": trace.session_id,
                    "metadata": {"datapoint_id": trace.datapoint_id},
                    "metrics": {},
                },
            )
            event["metrics"][score.name] = score.value
        events.extend(by_event.values())
    return {"events": events, "totalEvents": len(events)}

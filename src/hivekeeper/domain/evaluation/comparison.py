"""Two runs side by side: `compare-with` (metrics per common datapoint) and `compare/events`.

Runs are matched by datapoint id, so two runs over the same stored dataset, or over
the same local rows (the SDK derives `EXT-…` ids from their content), compare. For
each (metric, event name, event type) the answer holds both runs' aggregates (as
`/result` computes them), and, over the datapoints both runs scored with a number or
boolean, which improved, degraded or stayed the same; a datapoint with several values
(several sessions or events) is first reduced by the same aggregate function. Higher is
better unless the metric's rule says otherwise (`verdicts.lower_is_better`).
`old_values`/`new_values` are those paired values, in the order of `found`.

A comparison reads of each run only what it answers (`run_scores`, one pass over its
sessions): no verdicts, no per-datapoint rendering, no inputs or outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hivekeeper.domain.evaluation._params import (
    MAX_PAGE,
    QueryParams,
    conditions,
    page_number,
    query_fields,
)
from hivekeeper.domain.evaluation.aggregates import AggregateFunction, aggregate
from hivekeeper.domain.evaluation.results import Group, in_run_order, metric_type
from hivekeeper.domain.evaluation.traces import ScoreValue, SessionTrace
from hivekeeper.domain.evaluation.verdicts import Rules, lower_is_better
from hivekeeper.domain.filters import DEFAULT_LIMIT, DEFAULT_MAX_FILTERS, MAX_LIMIT, Condition
from hivekeeper.domain.types import JsonObject


@dataclass(frozen=True, slots=True)
class GroupScores:
    """One (metric, event name, event type) of one run, as a comparison reads it: the
    run's aggregate (what `/result` answers) and each datapoint's numeric values reduced
    by the same function."""

    metric_type: str
    aggregate: float | None
    by_datapoint: dict[str, float]


@dataclass(frozen=True, slots=True)
class RunScores:
    """What comparing a run needs of its result: its datapoints in result order, its
    metrics, and the (event name, event type) pairs its sessions hold."""

    datapoints: tuple[str, ...]
    groups: dict[Group, GroupScores]
    event_details: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """One (metric, event name, event type) across the two runs."""

    group: Group
    metric_type: str | None
    old_aggregate: float | None
    new_aggregate: float | None
    found: tuple[str, ...]
    improved: tuple[str, ...]
    degraded: tuple[str, ...]
    same: tuple[str, ...]
    old_values: tuple[float, ...]
    new_values: tuple[float, ...]

    @property
    def difference(self) -> float | None:
        if self.old_aggregate is None or self.new_aggregate is None:
            return None
        return self.new_aggregate - self.old_aggregate

    @property
    def percentage_change(self) -> float | None:
        difference = self.difference
        if difference is None or not self.old_aggregate:
            return None
        return difference / abs(self.old_aggregate) * 100.0


@dataclass(frozen=True, slots=True)
class Comparison:
    """`compare-with`'s answer but the two run objects."""

    metrics: tuple[MetricComparison, ...]
    common: tuple[str, ...]
    new_only: tuple[str, ...]
    old_only: tuple[str, ...]
    event_presence: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True, slots=True)
class CompareEventsQuery:
    """`GET /v1/runs/compare/events` (`run_id_1` is the new run, `run_id_2` the old, as
    `compare_run_events(new, old)` sends them) or `/v1/runs/{new}/compare/{old}/events`."""

    new_run_id: str
    old_run_id: str
    event_name: str | None
    event_type: str | None
    conditions: tuple[Condition, ...]
    page: int
    limit: int


@dataclass(frozen=True, slots=True)
class EventPair:
    """Events of the same name and type in both runs' sessions of one datapoint."""

    datapoint_id: str
    event_name: str
    event_type: str
    new_event_id: str
    old_event_id: str


def parse_compare_events(
    params: QueryParams,
    *,
    new_run_id: str | None = None,
    old_run_id: str | None = None,
    max_filters: int = DEFAULT_MAX_FILTERS,
) -> CompareEventsQuery:
    """The query of either compare-events route: run ids from the path when given, else
    the required `run_id_1` (new) and `run_id_2` (old); `event_name`, `event_type`,
    `filter` (export language, at most `max_filters`), `page`, `limit` (default 1000,
    at most 7500)."""
    fields = query_fields(params)
    new_id = new_run_id or fields.identifier("run_id_1", required=True)
    old_id = old_run_id or fields.identifier("run_id_2", required=True)
    return CompareEventsQuery(
        new_run_id=str(new_id),
        old_run_id=str(old_id),
        event_name=fields.string("event_name"),
        event_type=fields.string("event_type"),
        conditions=conditions(params, "filter", max_filters),
        page=page_number(params, "page", 1, MAX_PAGE),
        limit=page_number(params, "limit", DEFAULT_LIMIT, MAX_LIMIT),
    )


def run_scores(
    traces: Iterable[SessionTrace], datapoint_ids: Sequence[str], function: AggregateFunction
) -> RunScores:
    """What comparing a run needs of its result, in one pass over its sessions (in
    result order, `results.in_run_order`). Pure; never raises."""
    datapoints: dict[str, None] = {}
    details: dict[tuple[str, str], None] = {}
    scores: dict[Group, list[ScoreValue]] = {}
    numbers: dict[Group, dict[str, list[float]]] = {}
    for trace in in_run_order(traces, datapoint_ids):
        datapoint_id = trace.datapoint_id
        if datapoint_id is not None:
            datapoints[datapoint_id] = None
        for event in trace.events:
            details[(event.event_name, event.event_type)] = None
        for score in trace.scores:
            group = score.group
            scores.setdefault(group, []).append(score.value)
            if datapoint_id is not None and not isinstance(score.value, str):
                numbers.setdefault(group, {}).setdefault(datapoint_id, []).append(
                    float(score.value)
                )
    groups = {}
    for group, values in scores.items():
        all_numbers = [float(v) for v in values if not isinstance(v, str)]
        reduced = {
            datapoint_id: value
            for datapoint_id, found in numbers.get(group, {}).items()
            if (value := aggregate(function, found, len(found))) is not None
        }
        groups[group] = GroupScores(
            metric_type=metric_type(values),
            aggregate=aggregate(function, all_numbers, len(values)),
            by_datapoint=reduced,
        )
    return RunScores(datapoints=tuple(datapoints), groups=groups, event_details=tuple(details))


def compare(new: RunScores, old: RunScores, rules: Rules) -> Comparison:
    """Compare run `new` against `old` (`rules` say which way is better). Pure; never
    raises."""
    new_ids, old_ids = dict.fromkeys(new.datapoints), dict.fromkeys(old.datapoints)
    common = tuple(d for d in new_ids if d in old_ids)
    metrics = []
    for group in sorted(new.groups.keys() | old.groups.keys()):
        new_group, old_group = new.groups.get(group), old.groups.get(group)
        new_values = new_group.by_datapoint if new_group else {}
        old_values = old_group.by_datapoint if old_group else {}
        metrics.append(
            _compare_metric(
                group,
                new_group,
                old_group,
                [
                    (d, new_values[d], old_values[d])
                    for d in common
                    if d in new_values and d in old_values
                ],
                lower_is_better(rules.get(group[0])),
            )
        )
    new_events, old_events = set(new.event_details), set(old.event_details)
    presence = tuple(
        (
            name,
            kind,
            "both"
            if (name, kind) in new_events and (name, kind) in old_events
            else "new"
            if (name, kind) in new_events
            else "old",
        )
        for name, kind in dict.fromkeys([*new.event_details, *old.event_details])
    )
    return Comparison(
        metrics=tuple(metrics),
        common=common,
        new_only=tuple(d for d in new_ids if d not in old_ids),
        old_only=tuple(d for d in old_ids if d not in new_ids),
        event_presence=presence,
    )


def render_comparison(
    comparison: Comparison, new_run: JsonObject, old_run: JsonObject
) -> JsonObject:
    """The `compare-with` body: §5.9's fields plus what `compare_runs()` reads."""
    return {
        "metrics": [_render_metric(m) for m in comparison.metrics],
        "commonDatapoints": list(comparison.common),
        "new_only_datapoints": list(comparison.new_only),
        "old_only_datapoints": list(comparison.old_only),
        "event_details": [
            {"event_name": name, "event_type": kind, "presence": presence}
            for name, kind, presence in comparison.event_presence
        ],
        "old_run": old_run,
        "new_run": new_run,
    }


def pair_events(
    new: Sequence[SessionTrace],
    old: Sequence[SessionTrace],
    *,
    event_name: str | None = None,
    event_type: str | None = None,
) -> list[EventPair]:
    """For each datapoint both runs answered (in the new run's order), each event name
    and type both of its sessions hold (optionally only `event_name`/`event_type`),
    the first such event of each run. The caller pages the list and loads the events."""
    old_by_datapoint = _first_events(old)
    pairs = []
    for datapoint_id, new_events in _first_events(new).items():
        old_events = old_by_datapoint.get(datapoint_id)
        if old_events is None:
            continue
        for (name, kind), new_id in new_events.items():
            if (event_name is not None and name != event_name) or (
                event_type is not None and kind != event_type
            ):
                continue
            if (name, kind) in old_events:
                pairs.append(EventPair(datapoint_id, name, kind, new_id, old_events[(name, kind)]))
    return pairs


def render_event_pairs(
    pairs: Sequence[EventPair],
    events: Mapping[str, JsonObject],
    *,
    page: int,
    limit: int,
    total: int,
) -> JsonObject:
    """The `compare/events` body for one page of `pairs`: `event_1` is the new run's
    event, `event_2` the old run's (`events` maps ids to rendered events; a pair whose
    event was deleted meanwhile is left out). Both `totalEvents` and `pagination`, as
    the SDK and the spec each expect one."""
    items = [
        {
            "datapoint_id": pair.datapoint_id,
            "event_name": pair.event_name,
            "event_type": pair.event_type,
            "event_1": events[pair.new_event_id],
            "event_2": events[pair.old_event_id],
        }
        for pair in pairs
        if pair.new_event_id in events and pair.old_event_id in events
    ]
    return {
        "events": items,
        "totalEvents": total,
        "pagination": {"page": page, "limit": limit, "total": total},
    }


def _compare_metric(
    group: Group,
    new: GroupScores | None,
    old: GroupScores | None,
    pairs: list[tuple[str, float, float]],
    lower_better: bool,
) -> MetricComparison:
    improved, degraded, same = [], [], []
    for datapoint_id, new_value, old_value in pairs:
        if new_value == old_value:
            same.append(datapoint_id)
        elif (new_value < old_value) == lower_better:
            improved.append(datapoint_id)
        else:
            degraded.append(datapoint_id)
    return MetricComparison(
        group=group,
        metric_type=summary.metric_type if (summary := new or old) else None,
        old_aggregate=old.aggregate if old else None,
        new_aggregate=new.aggregate if new else None,
        found=tuple(d for d, _, _ in pairs),
        improved=tuple(improved),
        degraded=tuple(degraded),
        same=tuple(same),
        old_values=tuple(o for _, _, o in pairs),
        new_values=tuple(n for _, n, _ in pairs),
    )


def _render_metric(metric: MetricComparison) -> JsonObject:
    name, event_name, event_type = metric.group
    return {
        "metric_name": name,
        "metric_type": metric.metric_type,
        "event_name": event_name,
        "event_type": event_type,
        "old_aggregate": metric.old_aggregate,
        "new_aggregate": metric.new_aggregate,
        "difference": metric.difference,
        "percentage_change": metric.percentage_change,
        "found_count": len(metric.found),
        "improved_count": len(metric.improved),
        "degraded_count": len(metric.degraded),
        "same_count": len(metric.same),
        "found": list(metric.found),
        "improved": list(metric.improved),
        "degraded": list(metric.degraded),
        "same": list(metric.same),
        "old_values": list(metric.old_values),
        "new_values": list(metric.new_values),
    }


def _first_events(traces: Sequence[SessionTrace]) -> dict[str, dict[tuple[str, str], str]]:
    """Datapoint id → (event name, type) → the id of its first event across the
    datapoint's sessions (traces and their events come in start order)."""
    out: dict[str, dict[tuple[str, str], str]] = {}
    for trace in traces:
        if trace.datapoint_id is None:
            continue
        events = out.setdefault(trace.datapoint_id, {})
        for event in trace.events:
            events.setdefault((event.event_name, event.event_type), event.event_id)
    return out

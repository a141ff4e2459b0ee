"""Pass/fail of metric values and datapoints (spec/evaluation.md §6; HoneyHive leaves it open).

A value is judged by the run's `passing_ranges[metric]` when it has one, else by the
metric definition's `threshold`; a metric with neither has no verdict. A datapoint
fails when its session errored or any value with a verdict failed, and passes
otherwise. In comparisons a metric is better higher, unless its rule says lower is
better: only a `max` bound, or `pass_when: false`.
"""

from __future__ import annotations

from collections.abc import Mapping

from hivekeeper.domain.evaluation.evaluators import Threshold
from hivekeeper.domain.evaluation.traces import ScoreValue
from hivekeeper.domain.fields import finite_number

Rules = Mapping[str, Threshold]
"""Metric name → the rule its values are judged by."""


def rules_for(passing_ranges: Mapping[str, object], thresholds: Mapping[str, Threshold]) -> Rules:
    """Each metric's rule: the run's passing range for it, else its definition's threshold."""
    rules = {name: rule for name, rule in thresholds.items() if not rule.is_empty}
    for name, bounds in passing_ranges.items():
        if isinstance(bounds, Mapping):
            rule = Threshold(
                min=finite_number(bounds.get("min")), max=finite_number(bounds.get("max"))
            )
            if not rule.is_empty:
                rules[name] = rule
    return rules


def verdict(value: ScoreValue, rule: Threshold | None) -> bool | None:
    """Whether `value` passes `rule`; None when the rule says nothing about such a value.

    Numbers: within `[min, max]`, else equal to a numeric `pass_when`. Booleans: equal
    to a boolean `pass_when`, else judged as 1/0 by `[min, max]`. Strings: in
    `passing_categories`.
    """
    if rule is None:
        return None
    if isinstance(value, str):
        return None if rule.passing_categories is None else value in rule.passing_categories
    if isinstance(value, bool) and isinstance(rule.pass_when, bool):
        return value == rule.pass_when
    if rule.min is not None or rule.max is not None:
        number = float(value)
        return (rule.min is None or number >= rule.min) and (rule.max is None or number <= rule.max)
    if rule.pass_when is not None and not isinstance(rule.pass_when, bool):
        return not isinstance(value, bool) and float(value) == rule.pass_when
    return None


def lower_is_better(rule: Threshold | None) -> bool:
    """Whether a decrease of this metric is an improvement."""
    if rule is None:
        return False
    return rule.pass_when is False or (rule.max is not None and rule.min is None)

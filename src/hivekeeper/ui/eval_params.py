"""The experiment pages' URL parameters: each read here or refused by name.

A value the page's own controls never send (a hand-edited or stale link) is a
ValidationFailed naming the parameter, answered as a 400 page, never a silent default.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from urllib.parse import urlencode

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation.aggregates import (
    AGGREGATE_FUNCTIONS,
    DEFAULT_AGGREGATE,
    AggregateFunction,
    parse_aggregate,
)


def aggregate_param(raw: str | None) -> AggregateFunction:
    """`agg`: the aggregate function results use (average when absent)."""
    try:
        return parse_aggregate(raw) if raw else DEFAULT_AGGREGATE
    except ValidationFailed:
        raise ValidationFailed(
            f"agg must be one of {', '.join(AGGREGATE_FUNCTIONS)}", field="agg"
        ) from None


def choice_param(raw: str | None, options: Sequence[str], name: str) -> str:
    """One of `options`, or the first of them when absent."""
    if not raw:
        return options[0]
    if raw not in options:
        raise ValidationFailed(f"{name} must be one of {', '.join(options)}", field=name)
    return raw


def limit_param(raw: str | None, options: Sequence[int], default: int) -> int:
    """`limit`: rows per page, one of `options` (`default` when absent)."""
    if not raw:
        return default
    return int(choice_param(raw, [str(n) for n in options], "limit"))


def number_param(raw: str | None, name: str) -> float | None:
    """A finite number, or None when absent or blank."""
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a number", field=name) from None
    if not math.isfinite(value):
        raise ValidationFailed(f"{name} must be a finite number", field=name)
    return value


def query_string(
    fixed: Iterable[tuple[str, str]], named: Iterable[tuple[str, object, object]]
) -> str:
    """`?…` of the `fixed` pairs, then of each (name, value, default) whose value is
    not its default; empty when there is nothing to say."""
    pairs = [*fixed, *((name, str(value)) for name, value, default in named if value != default)]
    return f"?{urlencode(pairs)}" if pairs else ""

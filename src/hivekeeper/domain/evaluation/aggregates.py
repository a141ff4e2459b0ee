"""The aggregate functions of run results (`?aggregate_function=`), over a metric's values.

`average`, `sum`, `min`, `max`, `median`, `p90`, `p95`, `p99` summarise the numeric
values (a boolean counts as 1 or 0; sums exact, via `math.fsum`), percentiles by
linear interpolation as charts compute them; `count` counts every value recorded,
strings included. With no numeric value the answer is null (and `sum` too: "no data"
is not zero).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, cast, get_args

from hivekeeper.domain.charts import percentile
from hivekeeper.domain.errors import ValidationFailed

AggregateFunction = Literal["average", "sum", "min", "max", "median", "p90", "p95", "p99", "count"]
AGGREGATE_FUNCTIONS: tuple[str, ...] = get_args(AggregateFunction)
DEFAULT_AGGREGATE: AggregateFunction = "average"
_ALIASES = {"avg": "average", "mean": "average", "p50": "median"}
_PERCENTILES = {"median": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}


def parse_aggregate(raw: str | None) -> AggregateFunction:
    """The aggregate a query names (case-insensitive; `avg`/`mean`, `p50` accepted);
    `average` when absent. Raises ValidationFailed naming `aggregate_function`."""
    if raw is None or not raw.strip():
        return DEFAULT_AGGREGATE
    name = raw.strip().lower()
    name = _ALIASES.get(name, name)
    if name not in AGGREGATE_FUNCTIONS:
        raise ValidationFailed(
            f"aggregate_function must be one of {', '.join(AGGREGATE_FUNCTIONS)}, got {raw!r}",
            field="aggregate_function",
        )
    return cast(AggregateFunction, name)


def aggregate(function: AggregateFunction, numbers: Sequence[float], count: int) -> float | None:
    """`function` over `numbers`; for `count`, `count` (every value, strings included).

    Only the statistic asked for is computed: comparisons call this once per datapoint
    and metric, mostly with a single value.
    """
    if function == "count":
        return count
    if not numbers:
        return None
    if len(numbers) == 1:
        return float(numbers[0])
    if function == "average":
        return math.fsum(numbers) / len(numbers)
    if function == "sum":
        return math.fsum(numbers)
    if function == "min":
        return min(numbers)
    if function == "max":
        return max(numbers)
    return percentile(sorted(numbers), _PERCENTILES[function])

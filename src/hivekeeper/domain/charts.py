"""Chart queries (`GET /v1/events/chart`): parameters, UTC time buckets and aggregation.

A store streams `(start_time, group, metric)` rows matching the query's filters;
everything after that is here and engine-neutral: rows are bucketed in Python and
each (bucket, group) keeps only its list of metric values, summarised exactly
(percentiles by linear interpolation, as numpy's default) when the stream ends.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Literal, TypedDict, cast, get_args

from hivekeeper.domain.errors import ValidationFailed, quoted
from hivekeeper.domain.events import MAX_TIME_MS
from hivekeeper.domain.filters import (
    DEFAULT_MAX_FILTERS,
    DURATION,
    EventQuery,
    FieldRef,
    parse_field,
    parse_query_params,
)

Bucket = Literal["minute", "hour", "day", "week", "month"]
BUCKETS: tuple[str, ...] = get_args(Bucket)
Aggregation = Literal["count", "avg", "sum", "min", "max", "p50", "p75", "p90", "p95", "p99"]
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)

# `1m` is a minute and `1M` a month, so those two are matched case-sensitively.
_BUCKET_ALIASES: dict[str, str] = {
    "1m": "minute",
    "1M": "month",
    "minutes": "minute",
    "1h": "hour",
    "hours": "hour",
    "1d": "day",
    "days": "day",
    "1w": "week",
    "weeks": "week",
    "months": "month",
}
_AGGREGATION_ALIASES: dict[str, str] = {"average": "avg", "mean": "avg", "median": "p50"}
_FIXED_MS: dict[str, float] = {"minute": 60_000.0, "hour": 3_600_000.0, "day": 86_400_000.0}
_DAY_MS = 86_400_000.0
_MAX_YEAR = datetime.fromtimestamp(MAX_TIME_MS / 1000.0, UTC).year
# Columns that never hold numbers cannot be a metric.
_NUMERIC_COLUMNS = frozenset({"start_time", "end_time", "duration"})
# Parameters that shape the filtered event set, handed to the filter parser.
_QUERY_KEYS = ("filters", "dateRange")


class Summary(TypedDict):
    """Exact statistics of a list of values; all but `count` and `sum` None when empty."""

    count: int
    avg: float | None
    sum: float
    min: float | None
    max: float | None
    p50: float | None
    p75: float | None
    p90: float | None
    p95: float | None
    p99: float | None


class ChartPoint(Summary):
    """One (bucket, group) of a chart; `value` is the requested aggregation.

    `count` and the statistics cover numeric metric values; with aggregation `count`,
    `value` counts every matching event, numeric metric or not.
    """

    bucket: str
    bucket_start_ms: float
    group: str | None
    value: float | int | None


@dataclass(frozen=True, slots=True)
class ChartQuery:
    """Which events (`query`: filters and date range), what to measure, how to slice it."""

    query: EventQuery = field(default_factory=EventQuery)
    metric: FieldRef = DURATION
    group_by: FieldRef | None = None
    bucket: Bucket = "hour"
    aggregation: Aggregation = "avg"


def parse_chart_params(
    params: Mapping[str, list[str]], *, now_ms: float, max_filters: int = DEFAULT_MAX_FILTERS
) -> ChartQuery:
    """The chart query from `GET /v1/events/chart` parameters (`parse_qs` shape).

    `dateRange` and `filters` (at most `max_filters`) as for `GET /events`; `metric`
    (default `duration`) a numeric field path; `groupBy` (or `group_by`) any field
    path; `bucket` and `aggregation` with the spec's aliases. `evaluation_id` and
    `only_experiments` are ignored. Raises ValidationFailed naming the parameter at fault.
    """
    query_params = {
        key: values
        for key, values in params.items()
        if any(key == name or key.startswith(f"{name}[") for name in _QUERY_KEYS)
    }
    metric_text = _last(params, "metric")
    metric = DURATION if metric_text is None else _metric(metric_text)
    group_text = _last(params, "groupBy") or _last(params, "group_by")
    return ChartQuery(
        query=parse_query_params(query_params, now_ms=now_ms, max_filters=max_filters),
        metric=metric,
        group_by=None if group_text is None else parse_field(group_text, "groupBy"),
        bucket=parse_bucket(_last(params, "bucket")),
        aggregation=parse_aggregation(_last(params, "aggregation")),
    )


def parse_bucket(raw: str | None) -> Bucket:
    """A bucket size or its alias (default `hour`); raises ValidationFailed(`bucket`)."""
    if raw is None or not raw.strip():
        return "hour"
    text = raw.strip()
    key = _BUCKET_ALIASES.get(text) or _BUCKET_ALIASES.get(text.lower(), text.lower())
    if key in BUCKETS:
        return cast(Bucket, key)
    raise ValidationFailed(
        f"bucket {quoted(raw)} is not a bucket; use one of: {', '.join(BUCKETS)}", field="bucket"
    )


def parse_aggregation(raw: str | None) -> Aggregation:
    """An aggregation or its alias (default `avg`); raises ValidationFailed(`aggregation`)."""
    if raw is None or not raw.strip():
        return "avg"
    key = raw.strip().lower()
    key = _AGGREGATION_ALIASES.get(key, key)
    if key in AGGREGATIONS:
        return cast(Aggregation, key)
    raise ValidationFailed(
        f"aggregation {quoted(raw)} is not an aggregation; use one of: {', '.join(AGGREGATIONS)}",
        field="aggregation",
    )


def bucket_start_ms(ms: float, bucket: Bucket) -> float:
    """The start (epoch ms, UTC) of the bucket holding `ms`.

    Weeks start on Monday 00:00 UTC; months are calendar months.
    """
    if bucket in _FIXED_MS:
        size = _FIXED_MS[bucket]
        return (ms // size) * size
    if bucket == "week":
        day = ms // _DAY_MS
        # Day 0 (1970-01-01) was a Thursday: step back to the Monday on or before `day`.
        return (day - (day + 3) % 7) * _DAY_MS
    stamp = datetime.fromtimestamp(ms / 1000.0, UTC)
    return datetime(stamp.year, stamp.month, 1, tzinfo=UTC).timestamp() * 1000.0


def next_bucket_start_ms(start_ms: float, bucket: Bucket) -> float | None:
    """The start of the bucket after the one that starts at `start_ms`, or None when
    it would start after the last storable time (`MAX_TIME_MS`, the end of year 9999),
    where calendar arithmetic ends."""
    if bucket in _FIXED_MS:
        following = start_ms + _FIXED_MS[bucket]
    elif bucket == "week":
        following = start_ms + 7 * _DAY_MS
    else:
        stamp = datetime.fromtimestamp(start_ms / 1000.0, UTC)
        year, month = divmod(stamp.year * 12 + stamp.month, 12)  # month is 0-based here
        if year > _MAX_YEAR:
            return None
        following = datetime(year, month + 1, 1, tzinfo=UTC).timestamp() * 1000.0
    return following if following <= MAX_TIME_MS else None


def summarize(values: Sequence[float]) -> Summary:
    """count, avg, sum, min, max and p50..p99 of `values`, exactly (sum via `math.fsum`).

    A sum past the largest double is ±inf (JSON null); the average is still exact.
    """
    ordered = sorted(values)
    count = len(ordered)
    total, avg = _sum_and_mean(ordered)
    return Summary(
        count=count,
        avg=avg,
        sum=total,
        min=ordered[0] if count else None,
        max=ordered[-1] if count else None,
        p50=percentile(ordered, 50.0),
        p75=percentile(ordered, 75.0),
        p90=percentile(ordered, 90.0),
        p95=percentile(ordered, 95.0),
        p99=percentile(ordered, 99.0),
    )


def chart_points(rows: Iterable[Sequence[object]], chart: ChartQuery) -> list[ChartPoint]:
    """Bucket and aggregate `(start_time, group, metric)` rows into chart points.

    Rows without a start time are skipped, and so are rows whose metric is not a
    finite number unless the aggregation is `count`. Points are sorted by bucket,
    then group (None first).
    """
    values: dict[tuple[float, str | None], list[float]] = {}
    events: dict[tuple[float, str | None], int] = {}
    counting = chart.aggregation == "count"
    for start, group, metric in rows:
        if not isinstance(start, int | float) or isinstance(start, bool):
            continue
        number = _finite(metric)
        if number is None and not counting:
            continue
        key = (bucket_start_ms(float(start), chart.bucket), None if group is None else str(group))
        bucket_values = values.setdefault(key, [])
        if number is not None:
            bucket_values.append(number)
        if counting:
            events[key] = events.get(key, 0) + 1
    points: list[ChartPoint] = []
    for key in sorted(values, key=lambda k: (k[0], k[1] is not None, k[1] or "")):
        start_ms, group = key
        summary = summarize(values[key])
        statistics = cast(Mapping[str, float | None], summary)
        value = events[key] if counting else statistics[chart.aggregation]
        point = {"bucket": iso_time(start_ms), "bucket_start_ms": start_ms, "group": group}
        points.append(cast(ChartPoint, {**point, "value": value, **summary}))
    return points


def _metric(text: str) -> FieldRef:
    ref = parse_field(text, "metric")
    if (ref.column is not None and ref.column not in _NUMERIC_COLUMNS) or (
        ref.namespace is not None and not ref.path
    ):
        raise ValidationFailed(
            f"metric {quoted(text)} is not numeric; use duration, start_time, end_time or a path "
            "such as metadata.cost",
            field="metric",
        )
    return ref


def _sum_and_mean(values: Sequence[float]) -> tuple[float, float | None]:
    """The correctly rounded sum and mean (None for no values)."""
    try:
        total = math.fsum(values)
    except OverflowError:
        # A partial sum left the doubles (1e308 + 1e308 - 1e308): add exact fractions.
        exact = sum(map(Fraction, values), Fraction(0))
        return _rounded(exact), _rounded(exact / len(values))
    return total, total / len(values) if values else None


def _rounded(exact: Fraction) -> float:
    """`exact` as the nearest double, or ±inf past the largest one."""
    try:
        return float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """The `p`th percentile of sorted values by linear interpolation (numpy's default);
    None for no values."""
    if not ordered:
        return None
    rank = p / 100.0 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    below, above, weight = ordered[low], ordered[high], rank - low
    spread = above - below
    if math.isinf(spread):  # two doubles further apart than the largest one
        return below * (1.0 - weight) + above * weight
    return below + spread * weight


def _finite(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def iso_time(ms: float) -> str:
    """Epoch milliseconds as UTC ISO-8601 with milliseconds: `2026-11-30T12:00:00.000Z`."""
    stamp = datetime.fromtimestamp(ms / 1000.0, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _last(params: Mapping[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[-1] if values else None

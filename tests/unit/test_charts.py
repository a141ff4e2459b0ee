"""Chart parameters, UTC bucketing and exact summaries."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from hivekeeper.domain.charts import (
    ChartQuery,
    bucket_start_ms,
    chart_points,
    next_bucket_start_ms,
    parse_aggregation,
    parse_bucket,
    parse_chart_params,
    summarize,
)
from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.events import MAX_TIME_MS
from hivekeeper.domain.filters import DURATION, Condition, EventQuery, FieldRef

NOW_MS = 1_767_225_600_000.0  # 2026-01-01T00:00:00Z, a Thursday


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *rest: int) -> float:
    second, microsecond = (*rest, 0, 0)[:2]
    stamp = datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)
    return stamp.timestamp() * 1000.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "hour"),
        ("", "hour"),
        ("minute", "minute"),
        ("minutes", "minute"),
        ("1m", "minute"),
        ("hour", "hour"),
        ("Hours", "hour"),
        ("1h", "hour"),
        ("day", "day"),
        ("days", "day"),
        ("1d", "day"),
        ("week", "week"),
        ("weeks", "week"),
        ("1w", "week"),
        ("month", "month"),
        ("MONTHS", "month"),
        ("1M", "month"),
    ],
)
def test_bucket_aliases(raw: str | None, expected: str) -> None:
    assert parse_bucket(raw) == expected


@pytest.mark.parametrize("raw", ["year", "2h", "1y", "fortnight"])
def test_bad_bucket(raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_bucket(raw)
    assert caught.value.field == "bucket"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "avg"),
        ("avg", "avg"),
        ("average", "avg"),
        ("Mean", "avg"),
        ("median", "p50"),
        ("count", "count"),
        ("sum", "sum"),
        ("min", "min"),
        ("max", "max"),
        ("p50", "p50"),
        ("p75", "p75"),
        ("p90", "p90"),
        ("P95", "p95"),
        ("p99", "p99"),
    ],
)
def test_aggregation_aliases(raw: str | None, expected: str) -> None:
    assert parse_aggregation(raw) == expected


def test_bad_aggregation() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_aggregation("p42")
    assert caught.value.field == "aggregation"
    assert "p95" in caught.value.message


@pytest.mark.parametrize(
    ("bucket", "at", "start"),
    [
        ("minute", (2026, 1, 1, 10, 17, 59, 999_000), (2026, 1, 1, 10, 17)),
        ("hour", (2026, 1, 1, 10, 59, 59, 999_000), (2026, 1, 1, 10)),
        ("hour", (2026, 1, 1, 10), (2026, 1, 1, 10)),
        ("day", (2026, 1, 1, 23, 59, 59), (2026, 1, 1)),
        # 2026-01-01 is a Thursday; its week began on Monday 2025-12-29.
        ("week", (2026, 1, 1, 12), (2025, 12, 29)),
        ("week", (2026, 1, 4, 23, 59, 59, 999_000), (2025, 12, 29)),
        ("week", (2026, 1, 5), (2026, 1, 5)),
        ("week", (2026, 1, 5, 0, 0, 0, 1000), (2026, 1, 5)),
        ("week", (1970, 1, 1), (1969, 12, 29)),
        ("month", (2026, 3, 31, 23, 59, 59, 999_000), (2026, 3, 1)),
        ("month", (2026, 4, 1), (2026, 4, 1)),
        ("month", (2024, 2, 29, 12), (2024, 2, 1)),
        ("month", (2025, 12, 31, 23, 59), (2025, 12, 1)),
    ],
)
def test_bucket_start(bucket: str, at: tuple[int, ...], start: tuple[int, ...]) -> None:
    assert bucket_start_ms(_ms(*at), bucket) == _ms(*start)  # type: ignore[arg-type]  # literal from the table


def test_bucket_start_keeps_fractions_out() -> None:
    assert bucket_start_ms(_ms(2026, 1, 1, 10) + 0.25, "minute") == _ms(2026, 1, 1, 10)


def test_summarize_hand_computed() -> None:
    # Linear interpolation: rank = p/100 * (n - 1) over [1, 2, 3, 4].
    summary = summarize([4.0, 1.0, 3.0, 2.0])
    assert summary == {
        "count": 4,
        "avg": 2.5,
        "sum": 10.0,
        "min": 1.0,
        "max": 4.0,
        "p50": 2.5,
        "p75": pytest.approx(3.25),
        "p90": pytest.approx(3.7),
        "p95": pytest.approx(3.85),
        "p99": pytest.approx(3.97),
    }


def test_summarize_odd_count_and_exact_ranks() -> None:
    summary = summarize([10.0, 20.0, 30.0, 40.0, 50.0])
    assert summary["p50"] == 30.0
    assert summary["p75"] == 40.0
    assert summary["p90"] == pytest.approx(46.0)
    assert summary["p99"] == pytest.approx(49.6)


def test_summarize_one_and_none() -> None:
    one = summarize([7.0])
    assert (one["count"], one["min"], one["p50"], one["p99"], one["avg"]) == (1, 7.0, 7.0, 7.0, 7.0)
    empty = summarize([])
    assert empty["count"] == 0
    assert empty["sum"] == 0.0
    assert empty["avg"] is None
    assert empty["p95"] is None


def test_summarize_sum_is_exact() -> None:
    assert summarize([0.1] * 10)["sum"] == 1.0


def test_summarize_partial_sums_past_the_largest_double() -> None:
    summary = summarize([1e308, 1e308, -1e308])
    assert (summary["sum"], summary["avg"]) == (1e308, 1e308 / 3)
    assert summarize([1e308, -1e308, 1e308, -1e308, 5e-324])["sum"] == 5e-324
    doubled = summarize([1e308, 1e308])
    assert (doubled["sum"], doubled["avg"], doubled["p50"]) == (math.inf, 1e308, 1e308)
    assert summarize([-1e308, -1e308])["sum"] == -math.inf


def test_percentiles_between_values_further_apart_than_the_largest_double() -> None:
    summary = summarize([-1e308, 1e308])
    assert summary["p50"] == 0.0
    assert summary["p75"] == pytest.approx(5e307)
    assert summary["p99"] == pytest.approx(0.98e308)


@pytest.mark.parametrize(
    ("bucket", "start", "following"),
    [
        ("minute", (2026, 1, 1, 23, 59), (2026, 1, 2)),
        ("hour", (2026, 1, 1, 23), (2026, 1, 2)),
        ("day", (2024, 2, 28), (2024, 2, 29)),
        ("week", (2025, 12, 29), (2026, 1, 5)),
        ("month", (2024, 1, 1), (2024, 2, 1)),
        ("month", (2025, 12, 1), (2026, 1, 1)),
        ("month", (9999, 11, 1), (9999, 12, 1)),
        ("week", (9999, 12, 20), (9999, 12, 27)),
        ("day", (9999, 12, 30), (9999, 12, 31)),
        ("minute", (9999, 12, 31, 23, 58), (9999, 12, 31, 23, 59)),
    ],
)
def test_next_bucket_start(bucket: str, start: tuple[int, ...], following: tuple[int, ...]) -> None:
    assert next_bucket_start_ms(_ms(*start), bucket) == _ms(*following)  # type: ignore[arg-type]  # literal from the table


@pytest.mark.parametrize(
    ("bucket", "start"),
    [
        ("month", (9999, 12, 1)),
        ("week", (9999, 12, 27)),
        ("day", (9999, 12, 31)),
        ("hour", (9999, 12, 31, 23)),
        ("minute", (9999, 12, 31, 23, 59)),
    ],
)
def test_no_bucket_follows_the_last_of_year_9999(bucket: str, start: tuple[int, ...]) -> None:
    assert bucket_start_ms(MAX_TIME_MS, bucket) == _ms(*start)  # type: ignore[arg-type]  # literal from the table
    assert next_bucket_start_ms(_ms(*start), bucket) is None  # type: ignore[arg-type]  # literal from the table


def test_chart_params_defaults() -> None:
    chart = parse_chart_params({}, now_ms=NOW_MS)
    assert chart == ChartQuery(
        query=EventQuery(), metric=DURATION, group_by=None, bucket="hour", aggregation="avg"
    )


def test_chart_params_full() -> None:
    chart = parse_chart_params(
        {
            "dateRange": ['{"relative": "1d"}'],
            "filters": ['[{"field": "event_type", "operator": "is", "value": "model"}]'],
            "metric": ["metadata.cost"],
            "groupBy": ["config.model"],
            "bucket": ["1d"],
            "aggregation": ["median"],
            "evaluation_id": ["ignored"],
            "only_experiments": ["true"],
            "limit": ["999999"],
        },
        now_ms=NOW_MS,
    )
    assert chart.query.conditions == (
        Condition(FieldRef(column="event_type"), "is", "string", "model"),
    )
    assert (chart.query.start_ms, chart.query.end_ms) == (NOW_MS - 86_400_000, NOW_MS)
    assert chart.metric == FieldRef(namespace="metadata", path=("cost",))
    assert chart.group_by == FieldRef(namespace="config", path=("model",))
    assert (chart.bucket, chart.aggregation) == ("day", "p50")


def test_chart_group_by_alias() -> None:
    chart = parse_chart_params({"group_by": ["event_type"]}, now_ms=NOW_MS)
    assert chart.group_by == FieldRef(column="event_type")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"metric": ["event_name"]}, "metric"),
        ({"metric": ["inputs"]}, "metric"),
        ({"metric": ["metadata..x"]}, "metric"),
        ({"groupBy": ["children_ids"]}, "groupBy"),
        ({"bucket": ["decade"]}, "bucket"),
        ({"aggregation": ["mode"]}, "aggregation"),
        ({"filters": ["{"]}, "filters"),
        ({"dateRange": ["soon"]}, "dateRange"),
    ],
)
def test_chart_param_errors(params: dict[str, list[str]], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_chart_params(params, now_ms=NOW_MS)
    assert caught.value.field == field


def test_chart_points_bucket_group_and_sort() -> None:
    h0, h1 = _ms(2026, 1, 1, 0), _ms(2026, 1, 1, 1)
    rows = [
        (h1 + 5, "model", 100),
        (h0 + 1, "model", 10.0),
        (h0 + 2, "tool", 5),
        (h0 + 3, "model", 30.0),
        (h0 + 4, None, 1.0),
        (h0 + 5, "model", "not a number"),
        (h0 + 6, "model", True),
        (h0 + 7, "model", float("nan")),
        (None, "model", 1.0),
    ]
    points = chart_points(rows, ChartQuery(group_by=FieldRef(column="event_type")))
    assert [(p["bucket"], p["group"], p["value"], p["count"]) for p in points] == [
        ("2026-01-01T00:00:00.000Z", None, 1.0, 1),
        ("2026-01-01T00:00:00.000Z", "model", 20.0, 2),
        ("2026-01-01T00:00:00.000Z", "tool", 5.0, 1),
        ("2026-01-01T01:00:00.000Z", "model", 100.0, 1),
    ]
    assert points[0]["bucket_start_ms"] == h0
    assert set(points[0]) == {
        "bucket", "bucket_start_ms", "group", "value", "count", "avg", "sum", "min", "max",
        "p50", "p75", "p90", "p95", "p99",
    }  # fmt: skip


def test_chart_points_count_counts_every_event() -> None:
    h0 = _ms(2026, 1, 1, 0)
    rows = [(h0, "a", 2.0), (h0 + 1, "a", None), (h0 + 2, "a", "x"), (h0 + 3, "b", None)]
    points = chart_points(rows, ChartQuery(aggregation="count"))
    assert [(p["group"], p["value"], p["count"], p["avg"]) for p in points] == [
        ("a", 3, 1, 2.0),
        ("b", 1, 0, None),
    ]


def test_chart_points_aggregation_picks_the_value() -> None:
    rows = [(0.0, None, v) for v in (1.0, 2.0, 3.0, 4.0)]
    expected = {"sum": 10.0, "min": 1.0, "max": 4.0, "p50": 2.5, "p95": 3.85}
    for aggregation, value in expected.items():
        (point,) = chart_points(rows, ChartQuery(aggregation=aggregation))  # type: ignore[arg-type]  # literal from the table
        assert point["value"] == pytest.approx(value)

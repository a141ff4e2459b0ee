"""The retention rule: cutoff, last activity, settings as the CLI reads them."""

from __future__ import annotations

import pytest

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.retention import (
    DAY_MS,
    describe_retention,
    effective_retention_days,
    is_expired,
    last_activity_ms,
    parse_retention,
    retention_cutoff_ms,
)

NOW = 1_800_000_000_000.0


def test_a_project_setting_wins_over_the_server_default() -> None:
    assert effective_retention_days(None, 30) == 30
    assert effective_retention_days(7, 30) == 7
    assert effective_retention_days(0, 30) == 0  # the project keeps forever
    assert effective_retention_days(None, 0) == 0


def test_cutoff_is_days_before_now_and_none_for_forever() -> None:
    assert retention_cutoff_ms(NOW, 0) is None
    assert retention_cutoff_ms(NOW, 1) == NOW - DAY_MS
    assert retention_cutoff_ms(NOW, 30) == NOW - 30 * DAY_MS


def test_last_activity_is_the_later_of_start_and_end() -> None:
    assert last_activity_ms(10.0, 20.0) == 20.0
    assert last_activity_ms(10.0, None) == 10.0
    assert last_activity_ms(30.0, 20.0) == 30.0  # a client-sent end before the start
    assert last_activity_ms(None, 20.0) is None


@pytest.mark.parametrize(
    ("start", "end", "expired"),
    [
        (NOW - 3 * DAY_MS, NOW - 3 * DAY_MS, True),
        (NOW - 3 * DAY_MS, NOW - 1 * DAY_MS, False),  # a recent event kept it alive
        (NOW - 2 * DAY_MS - 1, NOW - 2 * DAY_MS - 1, True),
        (NOW - 2 * DAY_MS, NOW - 2 * DAY_MS, False),  # exactly at the cutoff: kept
        (None, NOW - 9 * DAY_MS, False),  # no start: age unknown
        (NOW + DAY_MS, None, False),
    ],
)
def test_expired_means_last_active_strictly_before_the_cutoff(
    start: float | None, end: float | None, expired: bool
) -> None:
    assert is_expired(start, end, retention_cutoff_ms(NOW, 2)) is expired


def test_forever_expires_nothing() -> None:
    assert not is_expired(0.0, 0.0, retention_cutoff_ms(NOW, 0))


@pytest.mark.parametrize(
    ("text", "days"),
    [("30", 30), (" 7 ", 7), ("0", 0), ("none", 0), ("None", 0), ("forever", 0), ("default", None)],
)
def test_parse_retention(text: str, days: int | None) -> None:
    assert parse_retention(text) == days


@pytest.mark.parametrize("text", ["-1", "1.5", "", "week", "10000000"])
def test_parse_retention_refuses_the_rest(text: str) -> None:
    with pytest.raises(ValidationFailed, match="whole number of days"):
        parse_retention(text)


def test_describe_retention() -> None:
    assert describe_retention(None) == "server default"
    assert describe_retention(0) == "forever"
    assert describe_retention(14) == "14 days"

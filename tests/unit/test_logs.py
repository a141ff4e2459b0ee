"""The log flood guard: a client-caused message cannot fill the log, and what it drops
is still counted."""

from __future__ import annotations

import logging

import pytest

from hivekeeper.logs import RateLimitedLog


def test_at_most_per_minute_records_then_the_dropped_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log = RateLimitedLog(logging.getLogger("tests.flood"), per_minute=3, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="tests.flood"):
        for i in range(10):
            log.info("no route for GET /x/%d", i)
        assert [r.getMessage() for r in caplog.records] == [
            "no route for GET /x/0",
            "no route for GET /x/1",
            "no route for GET /x/2",
        ]
        now[0] = 60.0  # the next minute
        log.info("no route for GET /%s", "y")
    assert caplog.records[-1].getMessage() == (
        "no route for GET /y (7 similar messages dropped in the last minute)"
    )


def test_structured_fields_ride_along(caplog: pytest.LogCaptureFixture) -> None:
    log = RateLimitedLog(logging.getLogger("tests.fields"))
    with caplog.at_level(logging.INFO, logger="tests.fields"):
        log.info("no route for %s %s", "GET", "/x", fields={"method": "GET", "path": "/x"})
    assert caplog.records[0].fields == {"method": "GET", "path": "/x"}  # type: ignore[attr-defined]  # set through `extra`

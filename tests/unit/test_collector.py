"""The cyclic collector is paused while results are computed, in any number of threads,
and runs again once the last of them ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from hivekeeper.api.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


@collector_paused
def computation(started: threading.Event, release: threading.Event, seen: list[bool]) -> None:
    started.set()
    release.wait(10)
    seen.append(gc.isenabled())


def test_overlapping_computations_keep_it_paused_until_the_last_ends() -> None:
    first_started, second_started = threading.Event(), threading.Event()
    release_first, release_second = threading.Event(), threading.Event()
    seen: list[bool] = []
    first = threading.Thread(target=computation, args=(first_started, release_first, seen))
    second = threading.Thread(target=computation, args=(second_started, release_second, seen))
    first.start()
    first_started.wait(10)
    second.start()
    second_started.wait(10)
    assert not gc.isenabled()
    release_first.set()  # the first to start ends first
    first.join(10)
    assert not gc.isenabled()
    release_second.set()
    second.join(10)
    assert seen == [False, False]
    assert gc.isenabled()


def test_it_runs_again_after_an_error_and_stays_off_if_it_was_off() -> None:
    @collector_paused
    def failing() -> None:
        assert not gc.isenabled()
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        failing()
    assert gc.isenabled()
    gc.disable()
    with pytest.raises(ValueError):
        failing()
    assert not gc.isenabled()

"""One project cannot starve the others: bounded filters, a bound on each project's
concurrent reads, and key lookups and writes that never queue behind long reads."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.testclient import TestClient

from hivekeeper.app import create_app
from hivekeeper.store import open_store
from hivekeeper.web import AppContext
from hivekeeper.web.lanes import READ_THREADS
from tests.support.poll import eventually
from tests.support.server import LiveServer, run_app, run_server, settings_for
from tests.ui.client import signed_in

DEFAULT_MAX_FILTERS = 100


def not_contains(count: int) -> list[dict[str, str]]:
    return [
        {"field": "inputs", "operator": "not contains", "value": f"needle-{i}", "type": "string"}
        for i in range(count)
    ]


def _assert_too_many_filters(answer: httpx.Response) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["errorCode"] == "VALIDATION_ERROR"
    assert body["field"] == "filters"
    assert "max_filters" in body["message"] and str(DEFAULT_MAX_FILTERS) in body["message"]


def test_more_filters_than_max_filters_are_a_400_naming_the_setting(api: httpx.Client) -> None:
    for path in ("/v1/events/export", "/v1/events/search"):
        assert (
            api.post(path, json={"filters": not_contains(DEFAULT_MAX_FILTERS)}).status_code == 200
        )
        for count in (DEFAULT_MAX_FILTERS + 1, 10_000):
            _assert_too_many_filters(api.post(path, json={"filters": not_contains(count)}))
    too_many = orjson.dumps(not_contains(DEFAULT_MAX_FILTERS + 1)).decode()
    for path in ("/events", "/v1/events/chart"):
        _assert_too_many_filters(api.get(path, params={"filters": too_many}))
        # The same count split over repeated parameters and the bracket form.
        half = DEFAULT_MAX_FILTERS // 2 + 1
        split = [orjson.dumps(not_contains(half)).decode()] * 2
        _assert_too_many_filters(api.get(path, params={"filters": split}))
        brackets = {
            f"filters[{i}][{key}]": value
            for i, one in enumerate(not_contains(DEFAULT_MAX_FILTERS + 1))
            for key, value in one.items()
        }
        _assert_too_many_filters(api.get(path, params=brackets))


# Filters of every shape the stores translate most deeply: nested paths, session
# roll-ups, datetimes and numbers, negations.
DEEP_FILTERS: list[dict[str, Any]] = [
    {"field": "metadata.cost", "operator": "greater than", "value": 0.5, "type": "number"},
    {"field": "metadata.num_events", "operator": "less than", "value": 9, "type": "number"},
    {"field": "metadata.has_feedback", "operator": "is not", "value": True, "type": "boolean"},
    {"field": "inputs.a.b.c.d", "operator": "not contains", "value": "x", "type": "string"},
    {"field": "feedback.when", "operator": "after", "value": "2026-01-01", "type": "datetime"},
    {"field": "event_name", "operator": "is not", "value": "x", "type": "string"},
    {"field": "user_properties.u", "operator": "not exists"},
    {"field": "duration", "operator": "less than or equal", "value": 9, "type": "number"},
]


def test_max_filters_at_its_ceiling_works_on_every_store(tmp_path: Path, store_kind: str) -> None:
    ceiling = 500
    with run_app(tmp_path, store_kind, max_filters=ceiling) as live, live.client() as api:
        api.post("/events", json={"event": {"event_type": "tool", "metadata": {"cost": 1}}})
        filters = [DEEP_FILTERS[i % len(DEEP_FILTERS)] for i in range(ceiling)]
        answer = api.post("/v1/events/export", json={"filters": filters})
        assert answer.status_code == 200, answer.text
        chart = api.get("/v1/events/chart", params={"filters": orjson.dumps(filters).decode()})
        assert chart.status_code == 200, chart.text


def _address(live: LiveServer) -> tuple[str, int]:
    host, port = live.url.removeprefix("http://").split(":")
    return host, int(port)


def reads_in_progress(api: httpx.Client) -> float:
    for line in api.get("/metrics").text.splitlines():
        if line.startswith("hivekeeper_reads_in_progress "):
            return float(line.split()[1])
    raise AssertionError("/metrics has no hivekeeper_reads_in_progress")


def test_reads_past_a_projects_bound_are_429_and_other_projects_read_on(
    tmp_path: Path, store_kind: str
) -> None:
    """One export holds the project's only read slot: its key is checked, then the
    server waits for the rest of its body. Every other read of the project, by any of
    its keys or a browser, is refused at once; writes and other projects go on. Over a
    socket: the held export is a connection whose body has not all arrived."""
    with run_server(tmp_path, store_kind, max_reads_per_project=1) as live, live.client() as api:
        second_key = live.new_key()  # the same project, another key
        live.store.create_project("other")
        other_key = live.new_key("other")
        with socket.create_connection(_address(live)) as held:
            body_start = b'{"limit": 1'
            held.sendall(
                (
                    "POST /v1/events/export HTTP/1.1\r\n"
                    f"Host: 127.0.0.1\r\nAuthorization: Bearer {live.key}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(body_start) + 1}\r\n\r\n"
                ).encode()
                + body_start
            )
            eventually(lambda: reads_in_progress(api) == 1, 10, "the held export took no read")

            for key in (live.key, second_key):
                with live.client(key) as same_project:
                    refused = same_project.get("/events", params={"limit": 1})
                    assert refused.status_code == 429, refused.text
                    assert refused.headers["Retry-After"] == "1"
                    body = refused.json()
                    assert body["errorCode"] == "TOO_MANY_READS"
                    assert "max_reads_per_project" in body["message"]
            with signed_in(live.url, live.key) as browser:
                page = browser.get(browser.get("/").headers["location"])
                assert page.status_code == 429 and page.headers["Retry-After"] == "1"
            # Writes are not reads, and other projects read on.
            written = api.post("/events", json={"event": {"event_type": "tool"}})
            assert written.status_code == 200, written.text
            with live.client(other_key) as other:
                assert other.get("/events", params={"limit": 1}).status_code == 200

            held.sendall(b"}")
            assert held.recv(64).startswith(b"HTTP/1.1 200 "), "the held export failed"
        eventually(lambda: reads_in_progress(api) == 0, 10, "the read slot was never released")
        assert api.get("/events", params={"limit": 1}).status_code == 200


def test_key_lookups_and_writes_do_not_queue_behind_long_reads(
    tmp_path: Path, store_kind: str
) -> None:
    """Every read thread is taken by a read that cannot finish until the test lets it;
    a write, which must look its key up first, is still answered."""
    settings = settings_for(tmp_path, store_kind)
    store = open_store(settings.database_url)
    store.open()
    key = store.bootstrap().new_key_secret
    app = create_app(settings, store=store)
    ctx: AppContext = app.state.hivekeeper
    release = threading.Event()
    with TestClient(app) as client, ThreadPoolExecutor(1) as writer:
        assert client.portal is not None
        blocked = [
            client.portal.start_task_soon(ctx.read, release.wait) for _ in range(READ_THREADS)
        ]
        try:
            headers = {"Authorization": f"Bearer {key}"}
            event = {"event": {"event_type": "tool"}}
            write = writer.submit(client.post, "/events", json=event, headers=headers)
            # Not a timing: the reads cannot end before `release`, so a write that
            # queued behind them would never be answered; 60 s only ends the wait.
            written = write.result(60)
            assert written.status_code == 200, written.text
            # A session start answers the session it stored, read back by id.
            start = writer.submit(client.post, "/v1/sessions", json={}, headers=headers)
            started = start.result(60)
            assert started.status_code == 200 and started.json()["session_id"], started.text
            assert not any(read.done() for read in blocked), "a long read ended early"
        finally:
            release.set()
        for read in blocked:
            assert read.result(10) is True

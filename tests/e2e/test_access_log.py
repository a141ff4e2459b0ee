"""The request log of the real `hivekeeper serve`: an access log that one flag turns on,
and unknown routes noted at info whatever the flag, without queries, keys or bodies."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from tests.support.process import ServeProcess, serve_process

_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ .*$", re.MULTILINE)


def _records(data_dir: Path) -> list[dict[str, Any]]:
    lines = (data_dir / "server.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _traffic(served: ServeProcess) -> None:
    with served.client() as client:
        assert client.get("/health").status_code == 200
        answer = client.post(
            "/events?api_key=query-secret",
            json={"event": {"event_type": "tool", "event_name": "body-secret"}},
        )
        assert answer.status_code == 200, answer.text
        assert client.get(f"/no/such/route/{served.key}?token=query-secret").status_code == 404
        assert client.get("/v1/events/missing").status_code == 404  # a route, no event


def test_access_log_is_one_json_object_per_request(tmp_path: Path) -> None:
    with serve_process(tmp_path, access_log="true", log_format="json") as served:
        _traffic(served)
    records = _records(tmp_path)
    access = [r for r in records if r["logger"] == "hivekeeper.access"]
    by_path = {r["path"]: r for r in access}
    posted = by_path["/events"]
    assert posted["level"] == "info"
    assert (posted["method"], posted["route"], posted["status"]) == ("POST", "/events", 200)
    assert posted["client"] == "127.0.0.1" and posted["duration_ms"] >= 0
    assert by_path["/v1/events/missing"]["route"] == "/v1/events/{event_id}"
    assert by_path["/v1/events/missing"]["status"] == 404
    unknown = by_path["/no/such/route/hh_…"]  # the key in the path masked
    assert (unknown["route"], unknown["status"]) == (None, 404)
    logged = json.dumps(records)  # the log records, not the first start's welcome
    for secret in ("query-secret", "body-secret", served.key, served.key.split("_", 2)[-1]):
        assert secret not in logged


def test_unknown_routes_are_logged_without_the_access_log(tmp_path: Path) -> None:
    with serve_process(tmp_path) as served:
        _traffic(served)
        with httpx.Client(base_url=served.url) as client:
            for i in range(150):  # a scanner
                assert client.get(f"/wp-admin/{i}.php").status_code == 404
    # The log records, not the first start's welcome (which shows the key).
    output = "\n".join(_LOG_LINE.findall((tmp_path / "server.log").read_text()))
    assert "hivekeeper.access" not in output  # off by default
    unmatched = [line for line in output.splitlines() if "no route for" in line]
    assert any("INFO" in line and "GET /no/such/route/hh_…" in line for line in unmatched)
    assert not any("/v1/events/missing" in line for line in unmatched)  # a route matched
    assert 1 < len(unmatched) <= 60, f"{len(unmatched)} lines for one scanner's minute"
    for secret in ("query-secret", served.key, served.key.split("_", 2)[-1]):
        assert secret not in output

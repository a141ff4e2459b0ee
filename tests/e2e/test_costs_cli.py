"""Costs from the command line on a live server (SQLite): a project's own price added,
listed, applied within seconds, stored events re-priced, the price removed; what the
commands refuse."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.support.poll import eventually
from tests.support.process import run_cli, serve_process

JULY_2025_MS = datetime(2025, 7, 2, 12, tzinfo=UTC).timestamp() * 1000


def _model_event(api: httpx.Client, model: str) -> str:
    event_id = str(uuid.uuid4())
    event = {"event_id": event_id, "event_type": "model", "start_time": JULY_2025_MS,
             "config": {"model": model}, "metadata": {"prompt_tokens": 1_000_000}}
    assert api.post("/events", json={"event": event}).status_code == 200
    return event_id


def _cost(api: httpx.Client, event_id: str) -> object:
    return api.get(f"/v1/events/{event_id}").json()["event"]["metadata"].get("cost")


def test_prices_managed_and_events_repriced_on_a_live_server(tmp_path: Path) -> None:
    where = ("--data-dir", str(tmp_path))
    with serve_process(tmp_path) as served, served.client() as api:
        stored = _model_event(api, "acme-7b")
        assert _cost(api, stored) is None  # no price for it

        bad = run_cli("costs", "prices", "add", "default", "--provider", "openai",
                      "--model", "acme-7b", "--rate", "inputs=1", *where)
        assert bad.returncode == 2 and "unknown token class 'inputs'" in bad.stderr
        unknown = run_cli("costs", "prices", "add", "nope", "--provider", "openai",
                          "--model", "acme-7b", "--rate", "input=1", *where)
        assert unknown.returncode == 1 and "no project named 'nope'" in unknown.stderr
        added = run_cli("costs", "prices", "add", "default", "--provider", "openai",
                        "--model", "acme-7b", "--from", "2025-01-01", "--rate", "input=2",
                        "--rate", "request=0.5", *where)
        assert added.returncode == 0, added.stderr
        price_id = added.stdout.split()[2]
        listing = run_cli("costs", "prices", "list", "default", *where).stdout
        assert price_id in listing and "acme-7b" in listing and "2025-01-01" in listing
        assert "input=2 request=0.5" in listing

        # New events: priced within the server's refresh; stored ones wait for recompute.
        eventually(lambda: _cost(api, _model_event(api, "acme-7b")) == 2.5, timeout_s=20)
        assert _cost(api, stored) is None
        done = run_cli("costs", "recompute", "--project", "default", "--since", "2025-07-01",
                       *where)
        assert done.returncode == 0, done.stderr
        assert "re-priced" in done.stdout
        assert _cost(api, stored) == pytest.approx(2.5)
        bad_day = run_cli("costs", "recompute", "--project", "default", "--since", "July",
                          *where)
        assert bad_day.returncode == 2 and "YYYY-MM-DD" in bad_day.stderr

        removed = run_cli("costs", "prices", "remove", price_id, *where)
        assert removed.returncode == 0 and "removed" in removed.stdout
        assert run_cli("costs", "prices", "remove", price_id, *where).returncode == 1
        eventually(lambda: _cost(api, _model_event(api, "acme-7b")) is None, timeout_s=20)

"""Costs over HTTP on every store: computed from tokens at write time, given ones kept,
both rolled up into their session."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

M = 1_000_000
JULY_2025_MS = datetime(2025, 7, 1, 12, tzinfo=UTC).timestamp() * 1000


def _event(api: httpx.Client, event_id: str) -> dict:
    got = api.get(f"/v1/events/{event_id}")
    assert got.status_code == 200, got.text
    event: dict = got.json()["event"]
    return event


def test_model_events_are_costed_and_sessions_add_computed_and_given_costs(
    api: httpx.Client,
) -> None:
    sid = str(uuid.uuid4())
    computed, given, late = (str(uuid.uuid4()) for _ in range(3))
    common = {"session_id": sid, "event_type": "model", "start_time": JULY_2025_MS}
    events = [
        {  # gpt-4o-mini: input $0.15, cached $0.075, output $0.60 per million
            **common,
            "event_id": computed,
            "config": {"model": "gpt-4o-mini-2024-07-18", "provider": "openai"},
            "metadata": {"prompt_tokens": 10_000, "cache_read_tokens": 8_000,
                         "completion_tokens": 1_000},
        },
        {
            **common,
            "event_id": given,
            "config": {"model": "gpt-4o-mini"},
            "metadata": {"prompt_tokens": 10, "completion_tokens": 10, "cost": 0.5},
        },
        {  # tokens now, the model in an update below
            **common,
            "event_id": late,
            "metadata": {"prompt_tokens": 1_000_000},
        },
    ]
    answer = api.post("/events/batch", json={"events": events})
    assert answer.status_code == 200, answer.text
    assert "cost" not in _event(api, late)["metadata"]  # no model, no price
    update = api.put(f"/v1/events/{late}", json={"config": {"model": "gpt-4o-mini"}})
    assert update.status_code == 200, update.text

    first = _event(api, computed)["metadata"]
    expected = (2_000 * 0.15 + 8_000 * 0.075 + 1_000 * 0.60) / M
    assert first["cost"] == pytest.approx(expected)
    assert first["cost_source"] == "computed"
    assert first["cost_breakdown"]["model"] == "gpt-4o-mini"
    assert first["cost_breakdown"]["parts"]["cache_read"] == pytest.approx(8_000 * 0.075 / M)
    second = _event(api, given)["metadata"]
    assert (second["cost"], second["cost_source"]) == (0.5, "given")
    third = _event(api, late)["metadata"]
    assert (third["cost"], third["cost_source"]) == (pytest.approx(0.15), "computed")

    session = _event(api, sid)["metadata"]
    assert session["cost"] == pytest.approx(expected + 0.5 + 0.15)
    # The computed cost filters like any stored field.
    found = api.post(
        "/v1/events/export",
        json={"filters": [{"field": "metadata.cost_source", "operator": "is",
                           "value": "computed", "type": "string"}]},
    )
    assert found.status_code == 200, found.text
    assert {e["event_id"] for e in found.json()["events"]} == {computed, late}

"""A project's own prices on every store: added, listed and removed over HTTP, applied
to the events written next from their day on, and to stored events by a recompute."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from hivekeeper.ingest import recompute_costs
from tests.support.server import LiveServer

M = 1_000_000


def _ms(day: str) -> float:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00").astimezone(UTC).timestamp() * 1000


def _model_event(api: httpx.Client, model: str, day: str, **metadata: float) -> str:
    event_id = str(uuid.uuid4())
    answer = api.post(
        "/events",
        json={"event": {"event_id": event_id, "event_type": "model", "start_time": _ms(day),
                        "config": {"model": model, "provider": "openai"},
                        "metadata": metadata}},
    )
    assert answer.status_code == 200, answer.text
    return event_id


def _cost(api: httpx.Client, event_id: str) -> tuple[float | None, str | None]:
    metadata = api.get(f"/v1/events/{event_id}").json()["event"]["metadata"]
    return metadata.get("cost"), metadata.get("cost_source")


def test_a_project_price_prices_its_events_from_its_day_on(api: httpx.Client) -> None:
    added = api.post(
        "/v1/prices",
        json={"provider": "OpenAI", "model": "gpt-4o-mini", "effective_from": "2025-07-01",
              "rates": {"input": 1.0, "output": 2.0, "request": 0.01}},
    )
    assert added.status_code == 200, added.text
    price = added.json()["price"]
    assert (price["provider"], price["model"], price["effective_from"]) == (
        "openai", "gpt-4o-mini", "2025-07-01"
    )
    before = _model_event(api, "gpt-4o-mini-2024-07-18", "2025-06-30", prompt_tokens=1_000_000)
    after = _model_event(api, "gpt-4o-mini-2024-07-18", "2025-07-02", prompt_tokens=1_000_000)
    assert _cost(api, before) == (pytest.approx(0.15), "computed")  # the shipped price
    assert _cost(api, after) == (pytest.approx(1.01), "computed")  # the project's
    breakdown = api.get(f"/v1/events/{after}").json()["event"]["metadata"]["cost_breakdown"]
    assert (breakdown["price_source"], breakdown["effective_from"]) == ("project", "2025-07-01")

    listed = api.get("/v1/prices")
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["prices"]] == [price["id"]]
    removed = api.delete(f"/v1/prices/{price['id']}")
    assert removed.status_code == 200, removed.text
    assert api.get("/v1/prices").json()["prices"] == []
    assert api.delete(f"/v1/prices/{price['id']}").status_code == 404
    later = _model_event(api, "gpt-4o-mini", "2025-07-02", prompt_tokens=1_000_000)
    assert _cost(api, later) == (pytest.approx(0.15), "computed")


def test_a_custom_model_gets_a_cost_once_priced_and_recompute_reprices_stored_events(
    server: LiveServer, api: httpx.Client
) -> None:
    custom = _model_event(api, "acme-llm-7b", "2025-07-02", prompt_tokens=2_000_000,
                          completion_tokens=1_000_000)
    given = _model_event(api, "acme-llm-7b", "2025-07-02", prompt_tokens=1, cost=9.0)
    assert _cost(api, custom) == (None, None)  # no price for it yet
    answer = api.post(
        "/v1/prices",
        json={"provider": "openai", "model": "acme-llm-7b", "rates": {"input": 0.5,
                                                                       "output": 1.5}},
    )
    assert answer.status_code == 200, answer.text
    assert _cost(api, custom) == (None, None)  # stored events wait for a recompute
    project_id = api.get(f"/v1/events/{custom}").json()["event"]["project_id"]
    done = asyncio.run(recompute_costs(server.store, project_id, _ms("2025-07-01")))
    assert done.events == 2
    assert _cost(api, custom) == (pytest.approx(2.5), "computed")
    assert _cost(api, given) == (9.0, "given")
    session = api.get(f"/v1/events/{custom}").json()["event"]["session_id"]
    assert api.get(f"/v1/events/{session}").json()["event"]["metadata"]["cost"] == 2.5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "m", "rates": {"input": 1}}, "provider"),
        ({"provider": "openai", "rates": {"input": 1}}, "model"),
        ({"provider": "openai", "model": "m"}, "rates"),
        ({"provider": "openai", "model": "m", "rates": {"inputs": 1}}, "rates.inputs"),
        ({"provider": "openai", "model": "m", "rates": {"input": -1}}, "rates.input"),
        ({"provider": "openai", "model": "m", "rates": {"input": 1},
          "effective_from": "July"}, "effective_from"),
        ({"provider": "openai", "model": "m", "rates": {"input": 1}, "tier": 2}, "tier"),
    ],
)
def test_a_bad_price_is_a_400_naming_its_field(
    api: httpx.Client, body: dict[str, object], field: str
) -> None:
    answer = api.post("/v1/prices", json=body)
    assert answer.status_code == 400
    assert (answer.json()["errorCode"], answer.json()["field"]) == ("VALIDATION_ERROR", field)
    assert api.get("/v1/prices").json()["prices"] == []


def test_prices_are_the_projects_own_and_need_a_full_key(server: LiveServer) -> None:
    server.store.create_project("other")
    body = {"provider": "openai", "model": "m", "rates": {"input": 1}}
    with server.client() as mine, server.client(server.new_key("other")) as theirs:
        price_id = mine.post("/v1/prices", json=body).json()["price"]["id"]
        assert theirs.get("/v1/prices").json()["prices"] == []
        assert theirs.delete(f"/v1/prices/{price_id}").status_code == 404
        assert theirs.delete("/v1/prices/not-a-number").status_code == 404
        assert len(mine.get("/v1/prices").json()["prices"]) == 1
    with server.client(server.new_key(kind="ingest")) as ingest:
        for answer in (ingest.get("/v1/prices"), ingest.post("/v1/prices", json=body),
                       ingest.delete(f"/v1/prices/{price_id}")):
            assert answer.status_code == 403

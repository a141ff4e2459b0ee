"""One real server for every UI test, with data sent through the real REST and OTLP API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import orjson
import pytest

from tests.support.scenario import run_scenario
from tests.support.server import LiveServer, run_server

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
NOW_MS = time.time() * 1000


@dataclass
class Seeded:
    """What the seed stored, by the names tests use."""

    server: LiveServer
    key: str
    second_key: str
    ingest_key: str
    second_project_id: str
    project_id: str = ""
    reading_key: str = ""
    reading_project_id: str = ""
    sessions: dict[str, str] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def session_url(self, name: str) -> str:
        return f"{self.url}/p/{self.project_id}/sessions/{self.sessions[name]}"


def _post(api: httpx.Client, path: str, body: object) -> dict[str, object]:
    answer = api.post(
        path, content=orjson.dumps(body), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


def _seed_checkout(api: httpx.Client, seeded: Seeded) -> None:
    """A session with a chain → model (chat with a tool call) → tool, and a failing tool."""
    session_id = str(uuid.uuid4())
    t0 = NOW_MS - 120_000
    _post(
        api,
        "/v1/sessions",
        {
            "session_id": session_id,
            "session_name": "checkout-flow",
            "source": "prod",
            "user_properties": {"user_id": "alice"},
            "inputs": {"query": "Where is my parcel?"},
            "start_time": t0,
        },
    )
    chain, model, tool, broken = (str(uuid.uuid4()) for _ in range(4))
    events = [
        {
            "event_id": chain,
            "parent_id": session_id,
            "event_type": "chain",
            "event_name": "answer-question",
            "start_time": t0 + 10,
            "end_time": t0 + 2000,
        },
        {
            "event_id": model,
            "parent_id": chain,
            "event_type": "model",
            "event_name": "openai.chat",
            "start_time": t0 + 20,
            "end_time": t0 + 900,
            "config": {
                "model": "gpt-4o-mini",
                "provider": "openai",
                "hyperparameters": {"temperature": 0.2},
            },
            "inputs": {
                "chat_history": [
                    {"role": "system", "content": "You are a parcel assistant."},
                    {"role": "user", "content": "Where is my parcel 42?"},
                ]
            },
            "outputs": {
                "role": "assistant",
                "content": "Let me look that up.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "track_parcel", "arguments": '{"parcel": 42}'},
                    }
                ],
            },
            "metadata": {
                "prompt_tokens": 30,
                "completion_tokens": 12,
                "total_tokens": 42,
                "cost": 0.0021,
            },
        },
        {
            "event_id": tool,
            "parent_id": chain,
            "event_type": "tool",
            "event_name": "track_parcel",
            "start_time": t0 + 950,
            "end_time": t0 + 1500,
            "inputs": {"parcel": 42},
            "outputs": {"status": "in transit, arrives tomorrow"},
        },
        {
            "event_id": broken,
            "parent_id": session_id,
            "event_type": "tool",
            "event_name": "notify_customer",
            "start_time": t0 + 2100,
            "end_time": t0 + 2300,
            "error": "SMTPError: connection refused",
        },
    ]
    _post(api, f"/v1/sessions/{session_id}/events/batch", {"events": events})
    seeded.sessions["checkout"] = session_id
    seeded.events.update(chain=chain, model=model, tool=tool, broken=broken)


def _seed_others(api: httpx.Client, seeded: Seeded) -> None:
    """Plain sessions to filter and page over, one with hostile markup everywhere."""
    for i in range(6):
        session_id = str(uuid.uuid4())
        _post(
            api,
            "/v1/sessions",
            {
                "session_id": session_id,
                "session_name": f"batch-job-{i}",
                "source": "staging" if i % 2 else "prod",
                "start_time": NOW_MS - 3_600_000 - i * 60_000,
                "inputs": {"note": f"routine run {i}"},
            },
        )
        seeded.sessions[f"batch-{i}"] = session_id
    hostile = str(uuid.uuid4())
    _post(
        api,
        "/v1/sessions",
        {
            "session_id": hostile,
            "session_name": HOSTILE,
            "source": HOSTILE,
            "start_time": NOW_MS - 30_000,
            "inputs": {"text": HOSTILE},
            "user_properties": {"user_id": HOSTILE},
            "feedback": {"comment": HOSTILE},
        },
    )
    _post(
        api,
        "/v1/events",
        {
            "event": {
                "session_id": hostile,
                "parent_id": hostile,
                "event_type": "model",
                "event_name": HOSTILE,
                "start_time": NOW_MS - 29_000,
                "end_time": NOW_MS - 28_000,
                "inputs": {"chat_history": [{"role": "user", "content": HOSTILE}]},
                "outputs": {"role": "assistant", "content": HOSTILE},
                "error": HOSTILE,
            }
        },
    )
    seeded.sessions["hostile"] = hostile


def _seed_otlp(api: httpx.Client, seeded: Seeded) -> None:
    """A span with an attribute no convention maps: the detail lists it as unmapped."""
    session_id = str(uuid.uuid4())
    start_ns = int((NOW_MS - 10_000) * 1_000_000)
    attributes = {
        "honeyhive.session_id": session_id,
        "honeyhive_event_type": "tool",
        "honeyhive_event_name": "otlp-lookup",
        "warehouse.shelf": "B-17",
    }
    body = {
        "resourceSpans": [
            {
                "resource": {},
                "scopeSpans": [
                    {
                        "scope": {"name": "tests.ui"},
                        "spans": [
                            {
                                "traceId": uuid.uuid4().hex,
                                "spanId": "00000000000000aa",
                                "name": "otlp-lookup",
                                "kind": "SPAN_KIND_INTERNAL",
                                "startTimeUnixNano": str(start_ns),
                                "endTimeUnixNano": str(start_ns + 5_000_000),
                                "attributes": [
                                    {"key": k, "value": {"stringValue": v}}
                                    for k, v in attributes.items()
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    answer = api.post(
        "/opentelemetry/v1/traces",
        content=orjson.dumps(body),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    seeded.sessions["otlp"] = session_id


def _seed_bare(api: httpx.Client, seeded: Seeded) -> None:
    """A session that names no inputs or outputs itself: its list preview comes from its
    first event's inputs and its last event's outputs."""
    session_id = str(uuid.uuid4())
    _post(
        api,
        "/v1/sessions",
        {"session_id": session_id, "session_name": "bare-run", "start_time": NOW_MS - 60_000},
    )
    events = [
        {"event_type": "chain", "event_name": "plan", "start_time": NOW_MS - 59_000,
         "end_time": NOW_MS - 58_000, "inputs": {"goal": "book a table for two"},
         "outputs": {"plan": "call the restaurant"}},
        {"event_type": "tool", "event_name": "call", "start_time": NOW_MS - 57_000,
         "end_time": NOW_MS - 56_000, "inputs": {"number": "555"},
         "outputs": {"result": "booked for 8 pm"}},
    ]  # fmt: skip
    _post(api, f"/v1/sessions/{session_id}/events/batch", {"events": events})
    seeded.sessions["bare"] = session_id


def _seed_sdk_exception(server: LiveServer, seeded: Seeded) -> None:
    """One exception through two nested `@trace` functions, from the real SDK tracer."""
    run = run_scenario("nested_exception", server_url=server.url, api_key=seeded.reading_key)
    seeded.sessions["sdk-exception"] = run.result["session_id"]


def _project_id(api: httpx.Client, session_id: str) -> str:
    answer = api.get(f"/v1/sessions/{session_id}")
    assert answer.status_code == 200, answer.text
    project_id: str = answer.json()["project_id"]
    return project_id


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A running server with two projects and known data; tests must not depend on
    what other tests change (feedback they add goes on events no other test reads)."""
    with run_server(tmp_path_factory.mktemp("ui"), "sqlite") as server:
        server.store.create_project("second")
        seeded = Seeded(
            server=server,
            key=server.key,
            second_key=server.new_key("second"),
            ingest_key=server.new_key("default", "ingest"),
            second_project_id="",
        )
        with server.client() as api:
            _seed_checkout(api, seeded)
            _seed_others(api, seeded)
            _seed_otlp(api, seeded)
            seeded.project_id = _project_id(api, seeded.sessions["checkout"])
        # Issue 16's sessions live in a project of their own, out of the lists above.
        server.store.create_project("reading")
        seeded.reading_key = server.new_key("reading")
        with server.client(seeded.reading_key) as api:
            _seed_bare(api, seeded)
            seeded.reading_project_id = _project_id(api, seeded.sessions["bare"])
        _seed_sdk_exception(server, seeded)
        with server.client(seeded.second_key) as api:
            other = str(uuid.uuid4())
            _post(api, "/v1/sessions", {"session_id": other, "session_name": "second-project-run"})
            seeded.sessions["second"] = other
            seeded.second_project_id = _project_id(api, other)
        yield seeded

"""The real honeyhive 1.7.0 API client (`HoneyHive(...)`) against a live hivekeeper.

These tests call the SDK exactly as its users do (the calls mirror the capture
scenario `s11_api_client`), so they fail when our answers stop satisfying the SDK's
pydantic models or its status rules, and they read the stored result back to check
that what the SDK reported is what we kept.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from honeyhive import HoneyHive
from honeyhive._generated.api_config import HTTPException
from honeyhive.models import (
    EventFilter,
    PostEventBatchRequest,
    PostEventRequest,
    StartSessionRequest,
    UpdateEventRequest,
)
from honeyhive.utils import APIError, RetryConfig

from hivekeeper.domain.events import OBJECT_FIELDS
from tests.support.reads import stored_event
from tests.support.server import LiveServer

# 2026-11-26T09:33:20Z: inside the year the export date ranges below select.
T0 = 1795700000000
YEAR_2026 = {"$gte": "2026-01-01T00:00:00Z", "$lte": "2026-12-31T23:59:59Z"}
def _sdk(server: LiveServer, api_key: str | None = None, **kwargs: Any) -> HoneyHive:
    # No export retries: a server error must fail the test at once, not after backoff.
    return HoneyHive(
        api_key=api_key or server.key,
        server_url=server.url,
        timeout=30,
        retry_config=RetryConfig(max_retries=0),
        **kwargs,
    )


@pytest.fixture
def sdk(server: LiveServer) -> HoneyHive:
    return _sdk(server)


@pytest.fixture
def rest(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def _session_filter(session_id: str) -> EventFilter:
    return EventFilter(field="session_id", operator="is", value=session_id, type="string")


def _start(sdk: HoneyHive, session_id: str, **fields: Any) -> None:
    sdk.sessions.start(StartSessionRequest(session={"session_id": session_id, **fields}))


def _model_event(session_id: str, name: str, start_ms: float, cost: float) -> dict[str, Any]:
    return {
        "event_type": "model",
        "event_name": name,
        "session_id": session_id,
        "source": "compat",
        "config": {"model": "gpt-4o"},
        "inputs": {},
        "start_time": start_ms,
        "end_time": start_ms + 50,
        "metadata": {"cost": cost},
    }


def test_start_session_echoes_the_supplied_id_and_answers_the_full_event(
    sdk: HoneyHive, rest: httpx.Client
) -> None:
    sid = str(uuid.uuid4())
    started = sdk.sessions.start(
        StartSessionRequest(
            session={
                "session_id": sid,
                "session_name": "api-session",
                "source": "capture-test",
                "project": "capture-project",
                "inputs": {"q": "hi"},
                "metadata": {"m": 1},
                "user_properties": {"user_id": "u1"},
                "config": {"c": 1},
                "start_time": T0,
            }
        )
    )
    assert started.session_id == sid
    assert started.event_id == sid
    assert started.parent_id is None
    assert started.event_type == "session"
    assert started.event_name == "api-session"
    assert started.source == "capture-test"
    assert started.inputs == {"q": "hi"}
    assert started.config == {"c": 1}
    assert started.user_properties == {"user_id": "u1"}
    assert started.metadata["m"] == 1
    assert started.start_time == T0
    for tenant in (started.org_id, started.workspace_id, started.project_id):
        assert isinstance(tenant, str) and tenant
    stored = stored_event(rest, sid)
    assert stored["event_name"] == "api-session"
    assert stored["project_id"] == started.project_id
    assert "project" not in stored  # the body's project name is a hint, the key decides


def test_start_session_without_an_id_generates_one(sdk: HoneyHive, rest: httpx.Client) -> None:
    wrapped = sdk.sessions.start(StartSessionRequest(session={"session_name": "no-id"}))
    with pytest.warns(DeprecationWarning, match="flat session payload"):
        flat = sdk.sessions.start(
            {"session_name": "flat-session", "source": "capture-test", "project": "capture-project"}
        )
    assert wrapped.session_id != flat.session_id
    for started, name in ((wrapped, "no-id"), (flat, "flat-session")):
        assert uuid.UUID(started.session_id).version == 4
        assert started.event_id == started.session_id
        assert started.event_name == name
        assert stored_event(rest, started.session_id)["event_type"] == "session"
    assert flat.source == "capture-test"


def test_starting_the_same_session_twice_merges(sdk: HoneyHive) -> None:
    sid = str(uuid.uuid4())
    first = sdk.sessions.start(
        StartSessionRequest(
            session={
                "session_id": sid,
                "session_name": "worker-1",
                "metadata": {"a": 1},
                "user_properties": {"user_id": "u1"},
                "start_time": T0,
            }
        )
    )
    second = sdk.sessions.start(
        StartSessionRequest(
            session={"session_id": sid, "metadata": {"b": 2}, "inputs": {"q": "again"}}
        )
    )
    assert first.session_id == second.session_id == second.event_id == sid
    assert second.event_name == "worker-1"  # a start that omits a field keeps it
    assert second.metadata["a"] == 1
    assert second.metadata["b"] == 2
    assert second.user_properties == {"user_id": "u1"}
    assert second.inputs == {"q": "again"}
    sessions = sdk.events.export(
        filters=[
            _session_filter(sid),
            EventFilter(field="event_type", operator="is", value="session"),
        ]
    )
    assert sessions.total_events == 1
    assert [e.event_id for e in sessions.events] == [sid]


def test_create_event_stores_every_field(sdk: HoneyHive, rest: httpx.Client) -> None:
    sid, eid = str(uuid.uuid4()), str(uuid.uuid4())
    _start(sdk, sid, session_name="s", start_time=T0)
    created = sdk.events.create(
        PostEventRequest(
            event={
                "project": "capture-project",
                "source": "capture-test",
                "event_name": "llm_call",
                "event_type": "model",
                "event_id": eid,
                "session_id": sid,
                "parent_id": sid,
                "config": {"model": "gpt-4o", "provider": "openai"},
                "inputs": {"chat_history": [{"role": "user", "content": "hi"}]},
                "outputs": {"role": "assistant", "content": "hello"},
                "error": None,
                "start_time": T0 + 100,
                "end_time": T0 + 600,
                "duration": 500,
                "metadata": {
                    "prompt_tokens": 3,
                    "completion_tokens": 1,
                    "total_tokens": 4,
                    "cost": 0.0001,
                },
                "metrics": {"m": 1},
                "feedback": {"rating": 4},
                "user_properties": {"user_id": "u1"},
            }
        )
    )
    assert created.success is True
    assert created.event_id == eid
    stored = stored_event(rest, eid)
    assert stored["session_id"] == sid
    assert stored["parent_id"] == sid
    assert (stored["event_type"], stored["event_name"]) == ("model", "llm_call")
    assert stored["config"] == {"model": "gpt-4o", "provider": "openai"}
    assert stored["inputs"] == {"chat_history": [{"role": "user", "content": "hi"}]}
    assert stored["outputs"] == {"role": "assistant", "content": "hello"}
    assert stored["metadata"]["total_tokens"] == 4
    assert stored["feedback"] == {"rating": 4}
    assert (stored["start_time"], stored["end_time"], stored["duration"]) == (
        T0 + 100,
        T0 + 600,
        500,
    )
    session = stored_event(rest, sid)
    assert session["metadata"]["num_model_events"] == 1
    assert session["metadata"]["total_tokens"] == 4


def test_create_event_without_ids_generates_them(sdk: HoneyHive, rest: httpx.Client) -> None:
    created = sdk.events.create(
        PostEventRequest(event={"event_type": "tool", "event_name": "lookup", "inputs": {"k": 1}})
    )
    assert created.success is True
    stored = stored_event(rest, created.event_id)
    assert stored["event_name"] == "lookup"
    assert stored["parent_id"] == stored["session_id"]
    assert stored_event(rest, stored["session_id"])["event_type"] == "session"


def test_create_batch_into_a_new_single_session(sdk: HoneyHive, rest: httpx.Client) -> None:
    answer = sdk.events.create_batch(
        PostEventBatchRequest(
            events=[
                {
                    "project": "capture-project",
                    "source": "capture-test",
                    "event_type": "tool",
                    "event_name": "t1",
                    "inputs": {"a": 1},
                },
                {
                    "project": "capture-project",
                    "source": "capture-test",
                    "event_type": "chain",
                    "event_name": "c1",
                    "inputs": {"b": 2},
                },
            ],
            is_single_session=True,
            session_properties={
                "session_name": "batch-session",
                "user_properties": {"u": 1},
                "metadata": {"m": 2},
            },
        )
    )
    assert answer.success is True
    assert len(answer.event_ids) == 2
    assert answer.session_id is not None
    session = stored_event(rest, answer.session_id)
    assert session["event_name"] == "batch-session"
    assert session["user_properties"] == {"u": 1}
    assert session["metadata"]["m"] == 2
    assert session["metadata"]["num_events"] == 2
    names = {eid: stored_event(rest, eid)["event_name"] for eid in answer.event_ids}
    assert sorted(names.values()) == ["c1", "t1"]
    found = sdk.events.export(filters=[_session_filter(answer.session_id)])
    assert found.total_events == 3
    assert {e.event_id for e in found.events} == {answer.session_id, *answer.event_ids}


def test_create_batch_joins_the_session_an_event_names(sdk: HoneyHive) -> None:
    sid = str(uuid.uuid4())
    _start(sdk, sid, session_name="api-session", start_time=T0)
    answer = sdk.events.create_batch(
        PostEventBatchRequest(
            events=[
                {"event_type": "tool", "event_name": "t1", "session_id": sid, "inputs": {}},
                {"event_type": "chain", "event_name": "c1", "inputs": {}},
            ],
            is_single_session=True,
            session_properties={"metadata": {"m": 2}},
        )
    )
    assert answer.session_id == sid
    found = sdk.events.export(filters=[_session_filter(sid)])
    assert {e.event_name for e in found.events} == {"api-session", "t1", "c1"}
    assert found.total_events == 3


def test_update_and_update_event_merge_into_the_event(sdk: HoneyHive, rest: httpx.Client) -> None:
    sid, eid = str(uuid.uuid4()), str(uuid.uuid4())
    _start(sdk, sid, start_time=T0)
    sdk.events.create(
        PostEventRequest(
            event={
                "event_type": "model",
                "event_name": "llm_call",
                "event_id": eid,
                "session_id": sid,
                "config": {"model": "gpt-4o"},
                "inputs": {},
                "outputs": {"role": "assistant", "content": "hello"},
                "start_time": T0 + 100,
                "end_time": T0 + 600,
                "duration": 500,
                "metadata": {"total_tokens": 4},
                "metrics": {"m": 1},
                "feedback": {"rating": 4, "note": "ok"},
                "user_properties": {"user_id": "u1"},
            }
        )
    )
    assert (
        sdk.events.update(
            UpdateEventRequest(
                event_id=eid,
                metadata={"late": True},
                feedback={"rating": 5},
                metrics={"acc": 1.0},
                outputs={"content": "hello!"},
                config={"temperature": 0},
                user_properties={"tier": "pro"},
                duration=510,
                end_time=T0 + 610,
                children_ids=[],
            )
        )
        is None
    )
    assert sdk.events.update_event({"event_id": eid, "metadata": {"x": 1}}) is None
    stored = stored_event(rest, eid)
    assert stored["metadata"] == {"total_tokens": 4, "late": True, "x": 1}
    assert stored["feedback"] == {"rating": 5, "note": "ok"}
    assert stored["metrics"] == {"m": 1, "acc": 1.0}
    assert stored["outputs"] == {"role": "assistant", "content": "hello!"}
    assert stored["config"] == {"model": "gpt-4o", "temperature": 0}
    assert stored["user_properties"] == {"user_id": "u1", "tier": "pro"}
    assert stored["duration"] == 510
    assert stored["end_time"] == T0 + 610
    assert stored["start_time"] == T0 + 100


def test_update_a_session_through_its_id(sdk: HoneyHive, rest: httpx.Client) -> None:
    sid = str(uuid.uuid4())
    _start(sdk, sid, metadata={"a": 1}, start_time=T0)
    sdk.events.update_event(
        {"event_id": sid, "metadata": {"b": 2}, "feedback": {"ground_truth": {"answer": 42}}}
    )
    session = stored_event(rest, sid)
    assert (session["metadata"]["a"], session["metadata"]["b"]) == (1, 2)
    assert session["feedback"] == {"ground_truth": {"answer": 42}}


@pytest.fixture
def costed_session(sdk: HoneyHive) -> dict[str, str]:
    """A 2026 session whose model events cost 0.001, 0.02 and 0.5, plus a tool event
    with a cost, a 2025 model event and a costly event in another session."""
    sid, other = str(uuid.uuid4()), str(uuid.uuid4())
    _start(sdk, sid, session_name="costed", start_time=T0)
    _start(sdk, other, session_name="other", start_time=T0)
    ids: dict[str, str] = {"session": sid}
    events = [
        ("cheap", _model_event(sid, "cheap", T0 + 100, 0.001)),
        ("pricey", _model_event(sid, "pricey", T0 + 200, 0.02)),
        ("priciest", _model_event(sid, "priciest", T0 + 300, 0.5)),
        ("tool", {**_model_event(sid, "tool", T0 + 400, 0.3), "event_type": "tool"}),
        ("old", _model_event(sid, "old", 1735700000000, 1.0)),  # 2025-01-01
        ("elsewhere", _model_event(other, "elsewhere", T0 + 100, 0.9)),
    ]
    for key, event in events:
        ids[key] = sdk.events.create(PostEventRequest(event=event)).event_id
    return ids


def test_export_with_filters_projections_date_range_and_paging(
    sdk: HoneyHive, costed_session: dict[str, str]
) -> None:
    filters: list[EventFilter | dict[str, Any]] = [
        _session_filter(costed_session["session"]),
        {"field": "metadata.cost", "operator": "greater than", "value": "0.01", "type": "number"},
        EventFilter(field="event_type", operator="is", value="model", type="string"),
    ]
    pages = [
        sdk.events.export(
            filters=filters,
            date_range=YEAR_2026,
            projections=["event_id", "event_name"],
            limit=1,
            page=page,
        )
        for page in (1, 2, 3)
    ]
    assert [p.total_events for p in pages] == [2, 2, 2]
    assert [len(p.events) for p in pages] == [1, 1, 0]
    got = {e.event_id: e.event_name for p in pages for e in p.events}
    assert got == {costed_session["pricey"]: "pricey", costed_session["priciest"]: "priciest"}
    for event in (e for p in pages for e in p.events):
        assert set(event.model_dump(exclude_none=True)) == {"event_id", "event_name"}
    without_range = sdk.events.export(filters=filters)
    assert {e.event_name for e in without_range.events} == {"pricey", "priciest", "old"}
    tools = sdk.events.export(
        filters=[
            _session_filter(costed_session["session"]),
            EventFilter(field="event_type", operator="is", value="tool"),
        ]
    )
    assert [e.event_id for e in tools.events] == [costed_session["tool"]]
    assert tools.events[0].metadata == {"cost": 0.3}


def test_export_returns_full_events_with_object_fields(
    sdk: HoneyHive, costed_session: dict[str, str]
) -> None:
    found = sdk.events.export(filters=[_session_filter(costed_session["session"])])
    assert found.total_events == 6  # the session and its five events
    by_name = {e.event_name: e for e in found.events}
    assert set(by_name) == {"costed", "cheap", "pricey", "priciest", "tool", "old"}
    for event in found.events:
        for field in OBJECT_FIELDS:
            assert isinstance(getattr(event, field), dict), (event.event_name, field)
    assert by_name["pricey"].config == {"model": "gpt-4o"}
    session = by_name["costed"]
    assert session.metadata["num_model_events"] == 4
    assert session.metadata["cost"] == pytest.approx(0.001 + 0.02 + 0.5 + 1.0)


def test_list_reads_through_export(sdk: HoneyHive, costed_session: dict[str, str]) -> None:
    listed = sdk.events.list(
        {
            "filters": [
                {"field": "event_type", "operator": "is", "value": "model", "type": "string"},
                {
                    "field": "session_id",
                    "operator": "is",
                    "value": costed_session["session"],
                    "type": "string",
                },
            ],
            "limit": 10,
            "dateRange": YEAR_2026,
        }
    )
    assert listed.totalEvents == 3
    assert {e.event_name for e in listed.events} == {"cheap", "pricey", "priciest"}


def test_list_with_a_relative_date_range(sdk: HoneyHive) -> None:
    sid = str(uuid.uuid4())
    _start(sdk, sid, session_name="recent")  # no start_time: stamped with the server's now
    eid = sdk.events.create(
        PostEventRequest(
            event={"event_type": "model", "event_name": "now", "session_id": sid, "inputs": {}}
        )
    ).event_id
    listed = sdk.events.list(
        {
            "filters": [
                {"field": "event_type", "operator": "is", "value": "model", "type": "string"}
            ],
            "limit": 10,
            "dateRange": {"relative": "7d"},
        }
    )
    assert listed.totalEvents == 1
    assert [e.event_id for e in listed.events] == [eid]


def test_get_by_session_id_returns_the_session_in_time_order(sdk: HoneyHive) -> None:
    sid = str(uuid.uuid4())
    _start(sdk, sid, session_name="ordered", start_time=T0)
    later = sdk.events.create(
        PostEventRequest(event=_model_event(sid, "second", T0 + 200, 0.1))
    ).event_id
    earlier = sdk.events.create(
        PostEventRequest(event=_model_event(sid, "first", T0 + 100, 0.1))
    ).event_id
    sdk.events.create(PostEventRequest(event=_model_event(str(uuid.uuid4()), "x", T0, 0.1)))
    with pytest.warns(DeprecationWarning, match="get_by_session_id"):
        found = sdk.events.get_by_session_id(sid)
    assert [e.event_id for e in found.events] == [sid, earlier, later]
    assert found.total_events == 3


def test_ingestion_key_writes_while_the_api_key_reads(server: LiveServer) -> None:
    ingest = server.new_key(kind="ingest")
    # An api_key the server does not know proves every write below used the ingest key.
    writer = _sdk(server, api_key="hh_not_a_known_key", ingestion_api_key=ingest)
    sid, eid = str(uuid.uuid4()), str(uuid.uuid4())
    started = writer.sessions.start(
        StartSessionRequest(
            session={"session_id": sid, "session_name": "ingested", "start_time": T0}
        )
    )
    assert started.session_id == sid
    created = writer.events.create(
        PostEventRequest(
            event={
                "event_type": "model",
                "event_id": eid,
                "session_id": sid,
                "inputs": {},
                "start_time": T0 + 1,
            }
        )
    )
    assert created.event_id == eid
    batch = writer.events.create_batch(
        PostEventBatchRequest(
            events=[{"event_type": "tool", "event_name": "t", "session_id": sid, "inputs": {}}],
            is_single_session=True,
        )
    )
    assert batch.session_id == sid
    writer.events.update(UpdateEventRequest(event_id=eid, metadata={"via": "ingest"}))
    with pytest.raises(APIError) as refused:
        writer.events.export(filters=[_session_filter(sid)])
    assert refused.value.error_response is not None
    assert refused.value.error_response.status_code == 401
    found = _sdk(server).events.export(filters=[_session_filter(sid)])
    assert found.total_events == 3
    stored = {e.event_id: e for e in found.events}
    assert stored[eid].metadata == {"via": "ingest"}


def test_an_ingest_key_cannot_read(server: LiveServer) -> None:
    ingest_only = _sdk(server, api_key=server.new_key(kind="ingest"))
    sid = ingest_only.sessions.start(StartSessionRequest(session={"session_name": "w"})).session_id
    with pytest.raises(APIError) as refused:
        ingest_only.events.export(filters=[_session_filter(sid)])
    assert refused.value.error_response is not None
    assert refused.value.error_response.status_code == 403
    body = json.loads(refused.value.error_response.error_message)
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errorCode"], str) and body["errorCode"]


def test_an_unknown_key_raises_with_our_message_and_error_code(server: LiveServer) -> None:
    unknown = "hh_unknown_key_0000"
    with httpx.Client(base_url=server.url) as raw:
        expected = raw.post(
            "/session/start", json={"session": {}}, headers={"Authorization": f"Bearer {unknown}"}
        )
    assert expected.status_code == 401
    ours = expected.json()
    client = _sdk(server, api_key=unknown)
    with pytest.raises(HTTPException) as refused:
        client.sessions.start(StartSessionRequest(session={"session_name": "nope"}))
    assert refused.value.status_code == 401
    assert refused.value.server_message == ours["message"]
    assert refused.value.error_code == ours["errorCode"]
    with pytest.raises(HTTPException) as refused_event:
        client.events.create(PostEventRequest(event={"event_type": "tool", "inputs": {}}))
    assert (refused_event.value.status_code, refused_event.value.error_code) == (
        401,
        ours["errorCode"],
    )
    with pytest.raises(APIError) as refused_export:
        client.events.export(filters=[])
    assert ours["errorCode"] in str(refused_export.value)

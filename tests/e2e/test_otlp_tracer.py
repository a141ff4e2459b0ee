"""The real honeyhive 1.7.0 tracer exporting spans to a live hivekeeper, in every wire mode.

A user's only contact with OTLP is `HoneyHiveTracer.init(...)` plus `@trace`; whether
the spans go out as JSON or protobuf, gzipped, batched or one by one is a setting they
may not even know they changed. Each mode runs the same application
(`scenarios/tracer_workload.py`) in its own interpreter through a recording proxy, so
the test sees both what went over the wire and the session tree we stored from it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.fake_llm import COMPLETION_TOKENS, MODEL, PROMPT_TOKENS, REPLY, fake_openai
from tests.support.reads import by_name, export, session_tree, shape, stored_event, walk
from tests.support.scenario import ScenarioRun, run_scenario
from tests.support.server import LiveServer, run_server
from tests.support.wire import RecordingProxy, recording_proxy

OTLP_PATH = "/opentelemetry/v1/traces"
JSON, PROTOBUF = "application/json", "application/x-protobuf"


@dataclass(frozen=True, slots=True)
class Mode:
    env: dict[str, str]
    content_type: str
    content_encoding: str | None = None
    one_request_per_span: bool = False


MODES = {
    "json-batched": Mode({}, JSON),
    "json-immediate": Mode({"WORKLOAD_DISABLE_BATCH": "1"}, JSON, one_request_per_span=True),
    # The JSON exporter never compresses, whatever the OTel variables say (fixture s16).
    "json-compression-env": Mode({"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip"}, JSON),
    "protobuf": Mode({"HH_OTLP_PROTOCOL": "http/protobuf"}, PROTOBUF),
    "protobuf-gzip-otel-env": Mode(
        {
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
        },
        PROTOBUF,
        "gzip",
    ),
}
# Spans in the workload's main session; each of its two request sessions holds one.
MAIN_SPANS = 9
REQUEST_SESSIONS = 2


@dataclass(frozen=True, slots=True)
class Traced:
    mode: Mode
    run: ScenarioRun
    proxy: RecordingProxy
    api: httpx.Client
    started_ms: float


@pytest.fixture(scope="module", params=list(MODES))
def traced(
    request: pytest.FixtureRequest, module_store: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Traced]:
    """The workload, run once per mode against its own fresh server; the tests of this
    module then read what it stored (a run takes seconds, reads take milliseconds)."""
    mode = MODES[request.param]
    data_dir = tmp_path_factory.mktemp("tracer")
    with (
        run_server(data_dir, module_store) as live,
        recording_proxy(live.url) as proxy,
        live.client() as api,
    ):
        started_ms = time.time() * 1000
        run = run_scenario("tracer_workload", server_url=proxy.url, api_key=live.key, env=mode.env)
        yield Traced(mode=mode, run=run, proxy=proxy, api=api, started_ms=started_ms)


def test_every_export_is_accepted_in_the_chosen_encoding(traced: Traced) -> None:
    mode = traced.mode
    exports = traced.proxy.to(OTLP_PATH)
    assert exports, "the tracer sent no spans"
    refused = [(e.status, e.answer) for e in traced.proxy.exchanges if e.status != 200]
    assert refused == []
    assert traced.run.logged_problems() == []
    assert {(e.content_type, e.content_encoding) for e in exports} == {
        (mode.content_type, mode.content_encoding)
    }
    if mode.one_request_per_span:
        assert len(exports) == MAIN_SPANS + REQUEST_SESSIONS
    else:  # the workload flushes twice; each flush drains the batch queue
        assert len(exports) <= 3
    # The answer's encoding follows the request's (spec §6.1).
    assert {e.answer_type.split(";")[0] for e in exports} == {mode.content_type}


def test_session_tree_nests_every_traced_call(traced: Traced) -> None:
    api = traced.api
    session_id = traced.run.result["session_id"]
    tree = session_tree(api, session_id)
    assert (tree["event_type"], tree["event_name"], tree["source"]) == (
        "session",
        "workload",
        "e2e-test",
    )
    assert shape(tree) == {
        "pipeline": (
            "chain",
            {
                "__main__.plain_helper": ("tool", {}),  # bare @trace: tool, module.function
                "llm_call": ("model", {}),
                "lookup": ("tool", {}),
            },
        ),
        "async_agent": (
            "chain",
            {"async_fetch": ("tool", {}), "async_summarise": ("model", {})},
        ),
        "will_fail": ("tool", {}),
        "will_fail_error": ("tool", {}),
    }
    now_ms = time.time() * 1000
    for parent, node in walk(tree):
        assert node["session_id"] == session_id
        assert node["parent_id"] == parent["event_id"]
        assert node["event_id"] in parent["children_ids"]
        assert node["source"] == "e2e-test"
        # Nanoseconds on the wire, milliseconds stored; a child runs inside its parent.
        assert traced.started_ms - 1000 <= node["start_time"] <= node["end_time"] <= now_ms
        assert node["duration"] == pytest.approx(node["end_time"] - node["start_time"], abs=0.01)
        if parent is not tree:
            assert parent["start_time"] <= node["start_time"] <= node["end_time"]
            assert node["end_time"] <= parent["end_time"]


def test_enrich_span_fills_every_namespace(traced: Traced) -> None:
    api = traced.api
    events = by_name(session_tree(api, traced.run.result["session_id"]))

    llm = stored_event(api, events["llm_call"]["event_id"])
    assert llm["event_type"] == "model"
    assert (
        llm["config"].items()
        >= {
            "model": "gpt-e2e",  # from @trace(span_config=...)
            "provider": "fake-llm",
            "temperature": 0.2,
        }.items()
    )
    assert llm["inputs"] == {
        "prompt": "Q: what is up?",
        "chat_history": [{"role": "user", "content": "Q: what is up?"}],
    }
    assert llm["outputs"] == {"role": "assistant", "content": "hello", "result": "hello"}
    assert (
        llm["metadata"].items()
        >= {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "cost": 0.0012,
        }.items()
    )
    assert llm["metrics"] == {"relevance": 0.75}
    assert llm["feedback"] == {"rating": 5}
    assert llm["user_properties"] == {"user_id": "u-1"}
    assert llm["error"] is None

    lookup = events["lookup"]
    # A dict argument travels as one JSON string and is kept as one (spec §7.1).
    assert lookup["inputs"] == {"query": "what is up?", "options": '{"k": 2}'}
    assert lookup["outputs"] == {"result": {"rows": ["r1", "r2"], "count": 2}}
    assert lookup["metadata"].items() >= {"db": "kv", "nested": {"a": 1, "b": [1, 2]}}.items()
    assert lookup["metrics"] == {"hits": 3}

    pipeline = events["pipeline"]
    assert pipeline["inputs"] == {"question": "what is up?"}
    assert pipeline["outputs"] == {"result": {"answer": "hello", "product": 6}}
    assert pipeline["metadata"]["version"] == "1"
    assert events["__main__.plain_helper"]["inputs"] == {"x": 2, "y": 3}
    assert events["__main__.plain_helper"]["outputs"] == {"result": 6}
    assert events["async_fetch"]["outputs"] == {"result": "body of http://docs.invalid/a"}
    assert events["async_summarise"]["inputs"] == {"text": "body of http://docs.invalid/a"}
    assert events["async_summarise"]["metadata"]["total_tokens"] == 10


def test_an_exception_is_stored_on_the_span_and_its_error_sibling(traced: Traced) -> None:
    api = traced.api
    session_id = traced.run.result["session_id"]
    events = by_name(session_tree(api, session_id))
    failed = events["will_fail"]
    assert failed["error"] == "ValueError: boom 7"  # the span's status message
    assert failed["inputs"] == {"n": 7}
    # Its `exception` span events are kept, stack trace included (spec §7.5).
    assert any("raise ValueError" in e["stacktrace"] for e in failed["metadata"]["exceptions"])
    sibling = events["will_fail_error"]  # spec §7.5: the decorator's extra root span
    assert sibling["error"] == "boom 7"
    assert sibling["parent_id"] == session_id
    for name, event in events.items():
        if not name.startswith("will_fail"):
            assert event["error"] is None, name


def test_session_enrichment_and_rollups(traced: Traced) -> None:
    api = traced.api
    session = session_tree(api, traced.run.result["session_id"])
    assert (
        session["metadata"].items()
        >= {
            "stage": "done",
            "inputs": {"first_question": "what is up?"},  # the SDK sends inputs as metadata
            "num_events": MAIN_SPANS,
            "num_model_events": 2,
            "error_count": 1,  # the exception and its `_error` sibling count once
            "has_feedback": True,
            "prompt_tokens": 17,
            "completion_tokens": 8,
            "total_tokens": 25,
        }.items()
    )
    assert session["metadata"]["cost"] == pytest.approx(0.0015)
    assert session["metrics"] == {"session_score": 0.9}
    assert session["feedback"] == {"thumbs": "up"}
    assert session["user_properties"] == {"user_id": "u-1"}
    assert session["config"] == {"app_version": "1.2.3"}
    assert session["outputs"] == {"final": "done"}
    children = [node for _, node in walk(session)]
    assert session["start_time"] <= min(c["start_time"] for c in children)
    assert session["end_time"] >= max(c["end_time"] for c in children)


def test_each_request_gets_its_own_session(traced: Traced) -> None:
    api = traced.api
    main = traced.run.result["session_id"]
    request_sessions = traced.run.result["request_sessions"]
    assert len(set(request_sessions)) == 2 and main not in request_sessions
    for n, session_id in enumerate(request_sessions, start=1):
        session = session_tree(api, session_id)
        assert session["event_name"] == f"request-{n}"
        assert session["inputs"] == {"path": f"/chat/{n}"}
        assert session["outputs"] == {"status_code": 200}
        assert session["metadata"].items() >= {"n": n, "num_events": 1}.items()
        (handled,) = session["children"]
        assert (handled["event_name"], handled["event_type"]) == ("handle_request", "chain")
        assert handled["inputs"] == {"req": f"r{n}"}
        assert handled["outputs"] == {"result": f"handled r{n}"}
        assert handled["metadata"]["req"] == f"r{n}"
    assert {e["event_name"] for e in export(api, event_name="handle_request")} == {"handle_request"}
    assert {e["session_id"] for e in export(api, event_name="handle_request")} == set(
        request_sessions
    )


def test_export_filters_find_the_traced_events(traced: Traced) -> None:
    api = traced.api
    session_id = traced.run.result["session_id"]
    in_session = export(api, session_id=session_id)
    assert len(in_session) == MAIN_SPANS + 1  # the session event too
    models = export(api, session_id=session_id, event_type="model")
    assert sorted(e["event_name"] for e in models) == ["async_summarise", "llm_call"]
    (llm,) = export(api, config__provider="fake-llm")
    assert llm["event_name"] == "llm_call"
    assert llm["metadata"]["total_tokens"] == 15


def test_openinference_spans_through_the_tracer_provider(
    server: LiveServer, api: httpx.Client
) -> None:
    """An instrumentor registered on the tracer's provider joins the tracer's session."""
    with fake_openai() as llm, recording_proxy(server.url) as proxy:
        run = run_scenario(
            "tracer_openai",
            server_url=proxy.url,
            api_key=server.key,
            env={"SCENARIO_LLM_URL": llm.base_url},
        )
    assert run.result["reply"] == REPLY
    assert len(llm.requests) == 1
    assert {e.status for e in proxy.exchanges} == {200}
    assert proxy.to(OTLP_PATH)
    assert run.logged_problems() == []

    tree = session_tree(api, run.result["session_id"])
    assert shape(tree) == {"agent_turn": ("chain", {"ChatCompletion": ("model", {})})}
    turn = by_name(tree)["agent_turn"]
    assert turn["outputs"] == {"result": REPLY}
    completion = stored_event(api, by_name(tree)["ChatCompletion"]["event_id"])
    assert completion["parent_id"] == turn["event_id"]
    assert completion["config"]["model"] == MODEL  # llm.model_name: the response's model
    assert completion["inputs"]["chat_history"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hello"},
    ]
    assert completion["outputs"].items() >= {"role": "assistant", "content": REPLY}.items()
    assert (
        completion["metadata"].items()
        >= {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        }.items()
    )
    assert (
        tree["metadata"].items()
        >= {
            "num_events": 2,
            "num_model_events": 1,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        }.items()
    )

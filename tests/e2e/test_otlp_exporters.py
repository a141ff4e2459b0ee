"""Spans from a stock OpenTelemetry exporter, not the HoneyHive SDK, land as proper events.

Users who already run OpenInference, OTel GenAI or their own instrumentation point a
plain `OTLPSpanExporter` at us. These tests build such spans by hand on a local
`TracerProvider` (no global state), and drive a real instrumentor
(`openinference-instrumentation-openai`) against a fake OpenAI server, then check the
mapping of spec §7.7 through the REST API: types, chat history, outputs, model,
tokens, session roll-ups, and that attributes no rule maps are kept, not dropped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import httpx
import pytest
from openai import OpenAI
from openinference.instrumentation import using_session
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import Tracer

from tests.support.fake_llm import COMPLETION_TOKENS, MODEL, PROMPT_TOKENS, REPLY, fake_openai
from tests.support.reads import (
    Event,
    assert_kept_unmapped,
    by_name,
    export,
    session_tree,
    shape,
    stored_event,
)
from tests.support.server import LiveServer
from tests.support.wire import RecordingProxy, recording_proxy

ROUTES = ("/opentelemetry/v1/traces", "/v1/traces")
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
SYSTEM = {"role": "system", "content": "You are terse."}
USER = {"role": "user", "content": "Weather in Paris?"}
CUSTOM_KEY, CUSTOM_VALUE = "acme.request_tag", "blue"


@pytest.fixture(autouse=True)
def _no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The exporter reads OTEL_* variables; a developer's shell must not redirect it."""
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def proxy(server: LiveServer) -> Iterator[RecordingProxy]:
    with recording_proxy(server.url) as recording:
        yield recording


def _provider(
    proxy: RecordingProxy,
    key: str,
    *,
    route: str = ROUTES[0],
    compression: Compression = Compression.NoCompression,
    batch: bool = False,
) -> TracerProvider:
    exporter = OTLPSpanExporter(
        endpoint=f"{proxy.url}{route}",
        headers={"Authorization": f"Bearer {key}"},
        compression=compression,
        timeout=30,
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-exporter"}))
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    return provider


def _assert_all_accepted(proxy: RecordingProxy, route: str, encoding: str | None = None) -> None:
    exports = proxy.to(route)
    assert exports, f"nothing was exported to {route}"
    assert [(e.status, e.answer) for e in exports if e.status != 200] == []
    assert {e.content_type for e in exports} == {"application/x-protobuf"}
    assert {e.content_encoding for e in exports} == {encoding}
    assert {e.answer_type.split(";")[0] for e in exports} == {"application/x-protobuf"}


def _only(api: httpx.Client, **equal_to: str) -> Event:
    (event,) = export(api, **equal_to)
    return event


def _tree_of(api: httpx.Client, event_name: str) -> Event:
    """The session tree holding the one event called `event_name`.

    Foreign session ids (`session.id`, `gen_ai.conversation.id`) may be stored verbatim
    or mapped to a UUID (spec §7.2), so the tests find the session through its events.
    """
    return session_tree(api, _only(api, event_name=event_name)["session_id"])


def _openinference_trace(tracer: Tracer, session: str) -> None:
    """An agent (CHAIN) calling an LLM and a tool, as OpenInference instrumentors emit it."""
    common = {"session.id": session}
    with tracer.start_as_current_span(
        "agent",
        attributes={
            **common,
            "openinference.span.kind": "CHAIN",
            "input.value": USER["content"],
            "output.value": "Sunny.",
            CUSTOM_KEY: CUSTOM_VALUE,
        },
    ):
        with tracer.start_as_current_span(
            "ChatCompletion",
            attributes={
                **common,
                "openinference.span.kind": "LLM",
                "llm.model_name": RESPONSE_MODEL,
                "llm.provider": "openai",
                "llm.invocation_parameters": '{"temperature": 0.1, "max_tokens": 50}',
                "llm.input_messages.0.message.role": SYSTEM["role"],
                "llm.input_messages.0.message.content": SYSTEM["content"],
                "llm.input_messages.1.message.role": USER["role"],
                "llm.input_messages.1.message.content": USER["content"],
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "Sunny.",
                "llm.token_count.prompt": 21,
                "llm.token_count.completion": 3,
                "llm.token_count.total": 24,
            },
        ):
            pass
        with tracer.start_as_current_span(
            "lookup_weather",
            attributes={
                **common,
                "openinference.span.kind": "TOOL",
                "tool.name": "lookup_weather",
                "input.value": '{"city": "Paris"}',
                "input.mime_type": "application/json",
                "output.value": "sunny",
            },
        ):
            pass


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_openinference_spans(
    server: LiveServer,
    api: httpx.Client,
    proxy: RecordingProxy,
    route: str,
    compression: Compression,
) -> None:
    provider = _provider(proxy, server.key, route=route, compression=compression)
    _openinference_trace(provider.get_tracer("e2e.openinference"), "conversation-oi-1")
    provider.shutdown()
    _assert_all_accepted(proxy, route, None if compression is Compression.NoCompression else "gzip")

    tree = _tree_of(api, "ChatCompletion")
    assert tree["event_type"] == "session"
    assert shape(tree) == {
        "agent": ("chain", {"ChatCompletion": ("model", {}), "lookup_weather": ("tool", {})})
    }
    events = by_name(tree)
    llm = stored_event(api, events["ChatCompletion"]["event_id"])
    assert llm["config"]["model"] == RESPONSE_MODEL
    assert llm["config"]["provider"] == "openai"
    assert (
        llm["config"]["hyperparameters"].items() >= {"temperature": 0.1, "max_tokens": 50}.items()
    )
    assert llm["inputs"]["chat_history"] == [SYSTEM, USER]
    assert llm["outputs"].items() >= {"role": "assistant", "content": "Sunny."}.items()
    assert (
        llm["metadata"].items()
        >= {
            "prompt_tokens": 21,
            "completion_tokens": 3,
            "total_tokens": 24,
        }.items()
    )
    agent = events["agent"]
    assert agent["inputs"]["value"] == USER["content"]
    assert agent["outputs"]["value"] == "Sunny."
    assert_kept_unmapped(agent, CUSTOM_KEY, CUSTOM_VALUE)
    tool = events["lookup_weather"]
    assert tool["inputs"]["value"] == {"city": "Paris"}  # parsed: its mime type is JSON
    assert tool["outputs"]["value"] == "sunny"
    assert (
        tree["metadata"].items()
        >= {
            "num_events": 3,
            "num_model_events": 1,
            "prompt_tokens": 21,
            "completion_tokens": 3,
            "total_tokens": 24,
            "error_count": 0,
        }.items()
    )


def _genai_conversation(tracer: Tracer, conversation: str, question: str) -> None:
    """An agent turn with one chat call and one tool call, in OTel GenAI conventions."""
    common = {"gen_ai.conversation.id": conversation, "gen_ai.provider.name": "openai"}
    with tracer.start_as_current_span(
        "invoke_agent planner",
        attributes={
            **common,
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "planner",
        },
    ):
        messages = [
            {"role": "system", "parts": [{"type": "text", "content": SYSTEM["content"]}]},
            {"role": "user", "parts": [{"type": "text", "content": question}]},
        ]
        answer = [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": f"re: {question}"}],
                "finish_reason": "stop",
            }
        ]
        with tracer.start_as_current_span(
            f"chat {conversation}",
            attributes={
                **common,
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": RESPONSE_MODEL,
                "gen_ai.request.temperature": 0.1,
                "gen_ai.request.max_tokens": 100,
                "gen_ai.usage.input_tokens": 12,
                "gen_ai.usage.output_tokens": 6,
                "gen_ai.input.messages": json.dumps(messages),
                "gen_ai.output.messages": json.dumps(answer),
                "gen_ai.response.finish_reasons": ["stop"],
                CUSTOM_KEY: CUSTOM_VALUE,
            },
        ):
            pass
        with tracer.start_as_current_span(
            f"execute_tool get_weather {conversation}",
            attributes={
                **common,
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.call.id": "call_1",
                "gen_ai.tool.call.arguments": '{"city": "Paris"}',
                "gen_ai.tool.call.result": "sunny",
            },
        ):
            pass


def test_genai_spans_of_two_conversations_in_one_batch(
    server: LiveServer, api: httpx.Client, proxy: RecordingProxy
) -> None:
    provider = _provider(proxy, server.key, batch=True)
    tracer = provider.get_tracer("e2e.genai", "0.1")
    _genai_conversation(tracer, "conv-a", "Weather in Paris?")
    _genai_conversation(tracer, "conv-b", "Weather in Oslo?")
    assert provider.force_flush(30_000)
    provider.shutdown()
    _assert_all_accepted(proxy, ROUTES[0])
    assert len(proxy.to(ROUTES[0])) == 1  # one request held both sessions

    trees = {c: _tree_of(api, f"chat {c}") for c in ("conv-a", "conv-b")}
    assert trees["conv-a"]["event_id"] != trees["conv-b"]["event_id"]
    for conversation, tree in trees.items():
        assert shape(tree) == {
            "invoke_agent planner": (
                "chain",
                {
                    f"chat {conversation}": ("model", {}),
                    f"execute_tool get_weather {conversation}": ("tool", {}),
                },
            )
        }
        assert (
            tree["metadata"].items()
            >= {
                "num_events": 3,
                "num_model_events": 1,
                "prompt_tokens": 12,
                "completion_tokens": 6,
                "total_tokens": 18,
            }.items()
        )

    events = by_name(trees["conv-a"])
    chat = stored_event(api, events["chat conv-a"]["event_id"])
    assert chat["config"]["model"] == RESPONSE_MODEL  # the response model is preferred
    assert chat["config"]["provider"] == "openai"
    assert (
        chat["config"]["hyperparameters"].items()
        >= {
            "temperature": 0.1,
            "max_tokens": 100,
        }.items()
    )
    assert chat["inputs"]["chat_history"] == [SYSTEM, USER]  # text parts flattened
    assert (
        chat["outputs"].items()
        >= {
            "role": "assistant",
            "content": "re: Weather in Paris?",
            "finish_reason": "stop",
        }.items()
    )
    assert (
        chat["metadata"].items()
        >= {
            "prompt_tokens": 12,
            "completion_tokens": 6,
            "total_tokens": 18,  # not sent: prompt + completion
        }.items()
    )
    assert_kept_unmapped(chat, CUSTOM_KEY, CUSTOM_VALUE)
    assert events["invoke_agent planner"]["metadata"]["agent_name"] == "planner"
    tool = events["execute_tool get_weather conv-a"]
    assert "Paris" in json.dumps(tool["inputs"])  # the call's arguments
    assert "sunny" in json.dumps(tool["outputs"])  # and its result


def test_spans_without_a_session_get_one_per_trace(
    server: LiveServer, api: httpx.Client, proxy: RecordingProxy
) -> None:
    """A foreign sender that names no session still gets its trace stored as one."""
    provider = _provider(proxy, server.key)
    tracer = provider.get_tracer("e2e.plain")
    for job in ("job-1", "job-2"):
        with tracer.start_as_current_span(job), tracer.start_as_current_span(f"{job}-step"):
            pass
    provider.shutdown()
    _assert_all_accepted(proxy, ROUTES[0])

    trees = [_tree_of(api, f"{job}-step") for job in ("job-1", "job-2")]
    assert trees[0]["event_id"] != trees[1]["event_id"]
    for job, tree in zip(("job-1", "job-2"), trees, strict=True):
        assert tree["event_type"] == "session"
        # A plain span with children is a chain (issue 15), a leaf a tool.
        assert shape(tree) == {job: ("chain", {f"{job}-step": ("tool", {})})}
        assert tree["metadata"]["num_events"] == 2


def test_exporter_configured_by_environment_appends_the_signal_path(
    server: LiveServer, api: httpx.Client, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`OTEL_EXPORTER_OTLP_ENDPOINT=<server>/opentelemetry` is how collectors are set up."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"{proxy.url}/opentelemetry")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{server.key}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    _openinference_trace(provider.get_tracer("e2e.env"), "conversation-env")
    provider.shutdown()
    _assert_all_accepted(proxy, ROUTES[0], "gzip")
    assert _only(api, event_name="ChatCompletion")["event_type"] == "model"


@pytest.fixture
def instrumented(proxy: RecordingProxy, server: LiveServer) -> Iterator[TracerProvider]:
    """OpenInference's OpenAI instrumentor on a local provider exporting to us."""
    provider = _provider(proxy, server.key)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield provider
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def test_openinference_openai_instrumentor(
    instrumented: TracerProvider, api: httpx.Client, proxy: RecordingProxy
) -> None:
    with (
        fake_openai() as llm,
        using_session("chat-session-7"),
        OpenAI(api_key="sk-test", base_url=llm.base_url, max_retries=0) as client,
    ):
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            temperature=0.1,
            max_tokens=50,
            messages=[SYSTEM, {"role": "user", "content": "Say hello"}],
        )
    assert completion.choices[0].message.content == REPLY
    assert len(llm.requests) == 1
    instrumented.force_flush(30_000)
    _assert_all_accepted(proxy, ROUTES[0])

    event = _only(api, event_type="model")
    assert event["event_name"] == "ChatCompletion"
    assert event["config"]["model"] == MODEL
    assert event["inputs"]["chat_history"] == [SYSTEM, {"role": "user", "content": "Say hello"}]
    assert event["outputs"].items() >= {"role": "assistant", "content": REPLY}.items()
    assert (
        event["metadata"].items()
        >= {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        }.items()
    )
    assert event["error"] is None
    session = session_tree(api, event["session_id"])
    assert [child["event_id"] for child in session["children"]] == [event["event_id"]]
    assert (
        session["metadata"].items()
        >= {
            "num_events": 1,
            "num_model_events": 1,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        }.items()
    )

"""The official GenAI instrumentation with content capture on: its messages come as OTLP
log records, apart from its spans, and land on the model event all the same.

`opentelemetry-instrumentation-openai-v2` drives a fake OpenAI server through a
two-turn tool call, exporting traces, logs and metrics with the stock OTLP/HTTP
exporters. By default it sends one record per message (`gen_ai.user.message`, …,
`gen_ai.choice`); with the latest conventions one
`gen_ai.client.inference.operation.details` record. Either way the stored model event
carries the whole chat history and the answer, and the client logs no export error.
"""

from __future__ import annotations

import pytest

from hivekeeper.ingest.span_mapping import trace_session_id
from tests.support.fake_llm import COMPLETION_TOKENS, MODEL, PROMPT_TOKENS, REPLY, fake_openai
from tests.support.reads import by_name, session_tree
from tests.support.scenario import run_scenario
from tests.support.server import LiveServer
from tests.support.wire import recording_proxy

MODES = [
    pytest.param(
        {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}, id="message-events"
    ),
    pytest.param(
        {
            "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVENT_ONLY",
        },
        id="operation-details",
    ),
]
TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "lookup_weather", "arguments": '{"city": "Paris"}'},
}


@pytest.mark.parametrize("env", MODES)
def test_messages_sent_as_log_records_land_on_the_model_event(
    server: LiveServer, env: dict[str, str]
) -> None:
    with fake_openai() as llm, recording_proxy(server.url) as proxy:
        run = run_scenario(
            "genai_logs",
            server_url=proxy.url,
            api_key=server.key,
            env={
                **env,
                "SCENARIO_LLM_URL": llm.base_url,
                "OTEL_EXPORTER_OTLP_ENDPOINT": proxy.url,
                "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{server.key}",
            },
        )
    assert run.result["reply"] == REPLY
    assert run.logged_problems() == []
    routes = {e.path for e in proxy.exchanges}
    assert {"/v1/traces", "/v1/logs", "/v1/metrics"} <= routes
    assert [(e.path, e.status) for e in proxy.exchanges if e.status != 200] == []

    with server.client() as api:
        tree = session_tree(api, trace_session_id(run.result["trace_id"]))
    model = by_name(tree)["chat gpt-4o-mini"]
    assert model["event_type"] == "model"
    assert model["config"]["model"] == MODEL
    assert model["metadata"]["prompt_tokens"] == PROMPT_TOKENS
    assert model["metadata"]["completion_tokens"] == COMPLETION_TOKENS
    history = model["inputs"]["chat_history"]
    assert [m["role"] for m in history] == ["system", "user", "assistant", "tool"]
    assert history[0]["content"] == "You are terse."
    assert history[1]["content"] == "Weather in Paris?"
    (call,) = history[2]["tool_calls"]
    assert call["id"] == "call_1"
    assert call["function"]["name"] == "lookup_weather"
    assert history[3]["content"] == "sunny"
    assert history[3]["tool_call_id"] == "call_1"
    assert model["outputs"]["role"] == "assistant"
    assert model["outputs"]["content"] == REPLY
    assert model["outputs"]["finish_reason"] == "stop"

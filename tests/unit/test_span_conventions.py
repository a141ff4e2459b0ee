"""Third-party conventions on spans (spec §7.7): OpenInference, OTel GenAI (attributes and
the older span events) and Traceloop, as a user of the stored events sees them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hivekeeper.domain.merge import apply_ops, rollup_metadata
from hivekeeper.domain.types import EventPatch, Key, StoredRow, Upsert
from hivekeeper.ingest.span_mapping import spans_to_ops
from hivekeeper.ingest.spans import Span, SpanEvent

P = "proj"
SESSION = "3b1f9a52-1d4e-4c1e-9a55-5e6d7c8b9a01"


def map_span(
    attributes: dict[str, Any],
    *,
    events: list[SpanEvent] | None = None,
    span_id: str = "00000000000000a1",
) -> EventPatch:
    span = Span(
        trace_id="1f" * 16,
        span_id=span_id,
        parent_span_id=None,
        name="span",
        kind=3,
        start_unix_nano=1_000_000_000,
        end_unix_nano=2_000_000_000,
        attributes={"session.id": SESSION, **attributes},
        events=events or [],
        scope_name="some.instrumentation",
    )
    # The other op is the session's update: a root span names its session.
    (op,) = [op for op in spans_to_ops(P, [span]) if isinstance(op, Upsert)]
    return op.patch


def unmapped(patch: EventPatch) -> list[str]:
    listed: list[str] = patch["metadata"]["otel"].get("unmapped_attributes", [])
    return listed


# --- OpenInference ------------------------------------------------------------------------

OPENINFERENCE_LLM: dict[str, Any] = {
    "openinference.span.kind": "LLM",
    "llm.system": "openai",
    "llm.provider": "azure",
    "llm.model_name": "gpt-4o-2024-08-06",
    "llm.invocation_parameters": '{"temperature": 0.2, "max_tokens": 64}',
    "llm.tools.0.tool.json_schema": '{"type": "function", "function": {"name": "lookup"}}',
    "llm.input_messages.0.message.role": "system",
    "llm.input_messages.0.message.content": "Be brief.",
    "llm.input_messages.1.message.role": "user",
    "llm.input_messages.1.message.contents.0.message_content.type": "text",
    "llm.input_messages.1.message.contents.0.message_content.text": "What is in",
    "llm.input_messages.1.message.contents.1.message_content.type": "text",
    "llm.input_messages.1.message.contents.1.message_content.text": "this picture?",
    "llm.input_messages.1.message.contents.2.message_content.type": "image",
    "llm.input_messages.1.message.contents.2.message_content.image.image.url": "http://i/1.png",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"q": "cat"}',
    "llm.token_count.prompt": 120,
    "llm.token_count.completion": 30,
    "llm.token_count.prompt_details.cache_read": 100,
    "llm.token_count.completion_details.reasoning": 12,
    "llm.cost.prompt": 0.001,
    "llm.cost.completion": 0.002,
    "llm.prompt_template.template": "Describe {thing}",
    "llm.prompt_template.variables": '{"thing": "the picture"}',
    "llm.prompt_template.version": "v3",
    "input.value": '{"messages": []}',
    "input.mime_type": "application/json",
    "output.value": "raw response",
    "user.id": "u-7",
    "tag.tags": ["beta", "vision"],
    "metadata": '{"tenant": "acme", "prompt_tokens": 1}',
}


def test_openinference_llm_span() -> None:
    patch = map_span(OPENINFERENCE_LLM)
    assert patch["event_type"] == "model"
    assert patch["config"] == {
        "model": "gpt-4o-2024-08-06",
        "provider": "azure",
        "hyperparameters": {"temperature": 0.2, "max_tokens": 64},
        "tools": [{"type": "function", "function": {"name": "lookup"}}],
        "template": "Describe {thing}",
        "template_version": "v3",
    }
    assert patch["inputs"] == {
        "chat_history": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": "What is in\nthis picture?",
                "parts": [{"type": "image", "image": {"image": {"url": "http://i/1.png"}}}],
            },
        ],
        "thing": "the picture",
    }
    assert patch["outputs"] == {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"q": "cat"}'},
            }
        ],
    }
    metadata = patch["metadata"]
    assert metadata["prompt_tokens"] == 120
    assert metadata["completion_tokens"] == 30
    assert metadata["total_tokens"] == 150  # prompt + completion when no total is sent
    assert metadata["cost"] == pytest.approx(0.003)
    assert (metadata["prompt_cost"], metadata["completion_cost"]) == (0.001, 0.002)
    assert (metadata["cache_read_tokens"], metadata["reasoning_tokens"]) == (100, 12)
    assert metadata["tags"] == ["beta", "vision"]
    assert metadata["tenant"] == "acme"
    assert patch["user_properties"] == {"user_id": "u-7"}
    # The raw payload next to structured messages is kept, unparsed, not mapped.
    assert metadata["input"] == {"value": '{"messages": []}', "mime_type": "application/json"}
    assert metadata["output"] == {"value": "raw response"}
    # llm.system said something other than llm.provider: kept, not lost.
    assert metadata["llm"] == {"system": "openai"}
    # OpenInference metadata may not overwrite a mapped count.
    assert metadata["otel"]["shadowed"] == {"metadata.prompt_tokens": 1}
    assert unmapped(patch) == [
        "input.mime_type",
        "input.value",
        "llm.system",
        "openinference.span.kind",
        "output.value",
    ]


@pytest.mark.parametrize(
    ("kind", "extra", "inputs", "outputs"),
    [
        (
            "TOOL",
            {
                "tool.name": "lookup",
                "tool.description": "Finds things.",
                "tool.parameters": '{"type": "object"}',
                "input.value": '{"q": "cat"}',
                "input.mime_type": "application/json",
                "output.value": "a cat",
            },
            {
                "tool_name": "lookup",
                "tool_description": "Finds things.",
                "tool_parameters": '{"type": "object"}',
                "value": {"q": "cat"},
            },
            {"value": "a cat"},
        ),
        (
            "RETRIEVER",
            {
                "input.value": "cats",
                "retrieval.documents.0.document.id": "d1",
                "retrieval.documents.0.document.content": "Cats purr.",
                "retrieval.documents.0.document.score": 0.9,
                "retrieval.documents.0.document.metadata": '{"src": "wiki"}',
                "retrieval.documents.1.document.id": "d2",
                "retrieval.documents.1.document.content": "Cats nap.",
            },
            {"value": "cats"},
            {
                "documents": [
                    {
                        "id": "d1",
                        "content": "Cats purr.",
                        "score": 0.9,
                        "metadata": '{"src": "wiki"}',
                    },
                    {"id": "d2", "content": "Cats nap."},
                ]
            },
        ),
        (
            "CHAIN",
            {
                "input.value": '{"question": "hi"}',
                "input.mime_type": "application/json",
                "output.value": "[1, 2",
                "output.mime_type": "application/json",
            },
            {"value": {"question": "hi"}},
            {"value": "[1, 2"},  # not JSON after all: kept as the string it is
        ),
    ],
)
def test_openinference_non_model_spans(
    kind: str, extra: dict[str, Any], inputs: dict[str, Any], outputs: dict[str, Any]
) -> None:
    patch = map_span({"openinference.span.kind": kind, **extra})
    assert patch["event_type"] == ("chain" if kind == "CHAIN" else "tool")
    assert patch["inputs"] == inputs
    assert patch["outputs"] == outputs


def test_embedding_model_is_the_config_model() -> None:
    patch = map_span({"openinference.span.kind": "EMBEDDING", "embedding.model_name": "e5"})
    assert patch["config"] == {"model": "e5"}
    assert patch["event_type"] == "tool"


def test_input_value_without_json_mime_type_stays_text() -> None:
    patch = map_span({"input.value": '{"a": 1}'})
    assert patch["inputs"] == {"value": '{"a": 1}'}


# --- OTel GenAI ---------------------------------------------------------------------------


def test_genai_attributes() -> None:
    patch = map_span(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.request.temperature": 0.1,
            "gen_ai.request.max_tokens": 100,
            "gen_ai.request.top_p": 0.9,
            "gen_ai.request.stop_sequences": ["\n\n"],
            "gen_ai.request.seed": 7,
            "gen_ai.request.choice.count": 2,
            "gen_ai.system_instructions": '[{"type": "text", "content": "Be kind."}]',
            "gen_ai.input.messages": json.dumps(
                [
                    {"role": "user", "parts": [{"type": "text", "content": "Weather?"}]},
                    {
                        "role": "assistant",
                        "parts": [
                            {
                                "type": "tool_call",
                                "id": "c1",
                                "name": "weather",
                                "arguments": {"city": "Oslo"},
                            }
                        ],
                    },
                    {
                        "role": "tool",
                        "parts": [{"type": "tool_call_response", "id": "c1", "response": "rain"}],
                    },
                ]
            ),
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [{"type": "text", "content": "Rain."}],
                        "finish_reason": "stop",
                    },
                    {
                        "role": "assistant",
                        "parts": [{"type": "text", "content": "Wet."}],
                        "finish_reason": "length",
                    },
                ]
            ),
            "gen_ai.tool.definitions": '[{"type": "function", "name": "weather"}]',
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 6,
            "gen_ai.usage.cache_read.input_tokens": 4,
            "gen_ai.usage.cache_creation.input_tokens": 2,
            "gen_ai.usage.reasoning_tokens": 1,
            "gen_ai.usage.cost": 0.0005,
            "gen_ai.response.id": "chatcmpl-1",
            "gen_ai.response.finish_reasons": ["stop", "length"],
            "gen_ai.openai.response.system_fingerprint": "fp_1",
            "gen_ai.user": "u-1",
            "gen_ai.agent.name": "weather-bot",
        }
    )
    assert patch["event_type"] == "model"
    assert patch["config"] == {
        "model": "gpt-4o-mini-2024-07-18",
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini-2024-07-18",
        "provider": "openai",
        "hyperparameters": {
            "temperature": 0.1,
            "max_tokens": 100,
            "top_p": 0.9,
            "stop_sequences": ["\n\n"],
            "seed": 7,
            "choice_count": 2,
        },
        "tools": [{"type": "function", "name": "weather"}],
    }
    assert patch["inputs"]["chat_history"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": {"city": "Oslo"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "rain"},
    ]
    first = {"role": "assistant", "content": "Rain.", "finish_reason": "stop"}
    assert patch["outputs"] == {
        **first,
        "choices": [first, {"role": "assistant", "content": "Wet.", "finish_reason": "length"}],
    }
    metadata = patch["metadata"]
    assert {k: metadata[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")} == {
        "prompt_tokens": 12,
        "completion_tokens": 6,
        "total_tokens": 18,
    }
    assert (metadata["cache_read_tokens"], metadata["cache_write_tokens"]) == (4, 2)
    assert (metadata["reasoning_tokens"], metadata["cost"]) == (1, 0.0005)
    assert metadata["response_id"] == "chatcmpl-1"
    assert metadata["finish_reasons"] == ["stop", "length"]
    assert metadata["system_fingerprint"] == "fp_1"
    assert metadata["agent_name"] == "weather-bot"
    assert patch["user_properties"] == {"user_id": "u-1"}
    assert unmapped(patch) == ["gen_ai.operation.name"]


def test_genai_span_events() -> None:
    events = [
        SpanEvent("gen_ai.system.message", 1, {"gen_ai.system": "openai", "content": "Be kind."}),
        SpanEvent("gen_ai.user.message", 2, {"content": "Weather?"}),
        SpanEvent(
            "gen_ai.assistant.message",
            3,
            {"tool_calls": '[{"id": "c1", "type": "function", "function": {"name": "w"}}]'},
        ),
        SpanEvent("gen_ai.tool.message", 4, {"content": "rain", "id": "c1"}),
        SpanEvent(
            "gen_ai.choice",
            6,
            {"index": 1, "finish_reason": "length", "message.content": "Wet."},
        ),
        SpanEvent(
            "gen_ai.choice",
            5,
            {
                "index": 0,
                "finish_reason": "stop",
                "message": '{"role": "assistant", "content": "Rain."}',
            },
        ),
        SpanEvent("log", 7, {"note": "kept"}),
    ]
    patch = map_span({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}, events=events)
    assert patch["config"]["provider"] == "openai"
    assert patch["inputs"]["chat_history"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w"}}],
        },
        {"role": "tool", "content": "rain", "tool_call_id": "c1"},
    ]
    assert patch["outputs"] == {
        "role": "assistant",
        "content": "Rain.",
        "finish_reason": "stop",
        "choices": [
            {"role": "assistant", "content": "Rain.", "finish_reason": "stop"},
            {"role": "assistant", "content": "Wet.", "finish_reason": "length"},
        ],
    }
    assert [e["name"] for e in patch["metadata"]["otel"]["events"]] == ["log"]


def test_message_events_are_kept_when_attributes_already_carry_messages() -> None:
    events = [SpanEvent("gen_ai.user.message", 1, {"content": "older copy"})]
    patch = map_span(
        {"gen_ai.input.messages": '[{"role": "user", "content": "hi"}]'}, events=events
    )
    assert patch["inputs"]["chat_history"] == [{"role": "user", "content": "hi"}]
    assert patch["metadata"]["otel"]["events"][0]["name"] == "gen_ai.user.message"


@pytest.mark.parametrize(
    ("arguments", "result"),
    [('{"city": "Oslo"}', "rain"), ({"city": "Oslo"}, ["r", "a"])],
)
def test_genai_tool_span(arguments: Any, result: Any) -> None:
    patch = map_span(
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "weather",
            "gen_ai.tool.call.id": "c1",
            "gen_ai.tool.type": "function",
            "gen_ai.tool.description": "Weather by city.",
            "gen_ai.tool.call.arguments": arguments,
            "gen_ai.tool.call.result": result,
        }
    )
    assert patch["event_type"] == "tool"
    assert patch["inputs"] == {
        "tool_name": "weather",
        "tool_call_id": "c1",
        "tool_type": "function",
        "tool_description": "Weather by city.",
        "arguments": arguments,
    }
    assert patch["outputs"] == {"result": result}


# --- Traceloop ----------------------------------------------------------------------------


def test_traceloop_llm_span() -> None:
    patch = map_span(
        {
            "llm.request.type": "chat",
            "gen_ai.system": "Anthropic",
            "gen_ai.request.model": "claude-3-5-sonnet",
            "llm.request.model": "claude-3-5-sonnet",
            "llm.is_streaming": True,
            "llm.top_k": 5,
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "Weather in Oslo?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.finish_reason": "tool_calls",
            "gen_ai.completion.0.tool_calls.0.id": "c1",
            "gen_ai.completion.0.tool_calls.0.name": "weather",
            "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Oslo"}',
            "llm.request.functions.0.name": "weather",
            "llm.request.functions.0.description": "Weather by city.",
            "llm.request.functions.0.parameters": '{"type": "object"}',
            "llm.request.repetition_penalty": 1.1,
            "gen_ai.usage.prompt_tokens": 20,
            "gen_ai.usage.completion_tokens": 5,
            "llm.usage.total_tokens": 25,
            "traceloop.association.properties.user_id": "u-3",
        }
    )
    assert patch["event_type"] == "model"
    assert patch["config"] == {
        "model": "claude-3-5-sonnet",
        "request_model": "claude-3-5-sonnet",
        "provider": "Anthropic",
        "hyperparameters": {"is_streaming": True, "top_k": 5},
        "tools": [
            {"name": "weather", "description": "Weather by city.", "parameters": {"type": "object"}}
        ],
    }
    assert patch["inputs"] == {"chat_history": [{"role": "user", "content": "Weather in Oslo?"}]}
    assert patch["outputs"] == {
        "role": "assistant",
        "finish_reason": "tool_calls",
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    }
    metadata = patch["metadata"]
    assert (metadata["prompt_tokens"], metadata["completion_tokens"]) == (20, 5)
    assert metadata["total_tokens"] == 25
    assert patch["user_properties"] == {"user_id": "u-3"}
    # `llm.request.type` decided the event type; it stays visible, like any kind.
    assert metadata["llm"]["request"] == {"type": "chat", "repetition_penalty": 1.1}
    assert unmapped(patch) == ["llm.request.repetition_penalty", "llm.request.type"]


def test_traceloop_entity_span() -> None:
    patch = map_span(
        {
            "traceloop.span.kind": "workflow",
            "traceloop.entity.name": "answer",
            "traceloop.entity.input": '{"args": ["q"], "kwargs": {}}',
            "traceloop.entity.output": '"done"',
            "traceloop.prompt.template": "Q: {q}",
            "traceloop.prompt.template_variables": '{"q": "why"}',
            "traceloop.prompt.version": 2,
        }
    )
    assert patch["event_type"] == "chain"
    assert patch["inputs"] == {"value": {"args": ["q"], "kwargs": {}}, "q": "why"}
    assert patch["outputs"] == {"value": "done"}
    assert patch["config"] == {"template": "Q: {q}", "template_version": 2}
    assert patch["metadata"]["traceloop"]["entity"] == {"name": "answer"}


def test_older_traceloop_prompts() -> None:
    patch = map_span(
        {
            "llm.request.type": "completion",
            "llm.prompts.0.role": "user",
            "llm.prompts.0.content": "Say hi",
            "llm.completions.0.role": "assistant",
            "llm.completions.0.content": "hi",
        }
    )
    assert patch["inputs"] == {"chat_history": [{"role": "user", "content": "Say hi"}]}
    assert patch["outputs"] == {"role": "assistant", "content": "hi"}


# --- several conventions on one span ------------------------------------------------------


def test_first_convention_with_messages_wins_and_the_others_are_kept() -> None:
    patch = map_span(
        {
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "from openinference",
            "gen_ai.input.messages": '[{"role": "user", "content": "from genai"}]',
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "from traceloop",
        }
    )
    assert patch["inputs"] == {"chat_history": [{"role": "user", "content": "from openinference"}]}
    metadata = patch["metadata"]
    assert metadata["gen_ai"]["input"] == {
        "messages": '[{"role": "user", "content": "from genai"}]'
    }
    assert metadata["gen_ai"]["prompt"] == [{"role": "user", "content": "from traceloop"}]


def test_aliases_that_agree_are_consumed_and_disagreeing_ones_kept() -> None:
    patch = map_span(
        {
            "llm.token_count.prompt": 10,
            "gen_ai.usage.input_tokens": 10,
            "llm.token_count.completion": 4,
            "gen_ai.usage.output_tokens": 5,
            "llm.token_count.total": "bad",
        }
    )
    metadata = patch["metadata"]
    assert (metadata["prompt_tokens"], metadata["completion_tokens"]) == (10, 4)
    assert metadata["total_tokens"] == 14
    assert unmapped(patch) == ["gen_ai.usage.output_tokens", "llm.token_count.total"]


def test_numeric_strings_count_as_numbers() -> None:
    metadata = map_span({"llm.token_count.prompt": "12", "llm.cost.total": "0.25"})["metadata"]
    assert (metadata["prompt_tokens"], metadata["total_tokens"], metadata["cost"]) == (12, 12, 0.25)


def test_explicit_honeyhive_values_win() -> None:
    patch = map_span(
        {
            "honeyhive_config.model": "mine",
            "honeyhive_metadata.cost": 1.0,
            "honeyhive_outputs.content": "edited",
            "llm.model_name": "theirs",
            "llm.cost.total": 2.0,
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "original",
        }
    )
    assert patch["config"] == {"model": "mine"}
    assert patch["metadata"]["cost"] == 1.0
    assert patch["outputs"] == {"content": "edited", "role": "assistant"}
    assert patch["metadata"]["otel"]["shadowed"] == {
        "config.model": "theirs",
        "metadata.cost": 2.0,
        "outputs.content": "original",
    }


# --- what the captures and the roll-ups make of it ----------------------------------------


def test_tokens_and_cost_reach_the_session() -> None:
    llm_a = {**OPENINFERENCE_LLM}
    llm_b = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "m",
        "gen_ai.usage.input_tokens": 7,
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.usage.cost": 0.5,
    }
    tool = {"openinference.span.kind": "TOOL", "llm.token_count.prompt": 1000}
    rows: dict[Key, StoredRow] = {}
    for span_id, attributes in (("a1" * 8, llm_a), ("b2" * 8, llm_b), ("c3" * 8, tool)):
        apply_ops(rows, [Upsert(P, map_span(attributes, span_id=span_id))], 0.0)
    rollups = rollup_metadata(rows[(P, SESSION)])
    assert rollups["num_events"] == 3 and rollups["num_model_events"] == 2
    assert (rollups["prompt_tokens"], rollups["completion_tokens"]) == (127, 33)
    assert rollups["total_tokens"] == 160  # only model events count
    assert rollups["cost"] == pytest.approx(0.503)

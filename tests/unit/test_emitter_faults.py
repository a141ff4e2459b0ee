"""Mapping faults real emitters showed (issue 15, item 8): openlit's doubled system
prompt, OpenInference's request settings among the hyperparameters and its error spans
without a model."""

from __future__ import annotations

import json
from typing import Any

from hivekeeper.domain.types import EventPatch, Upsert
from hivekeeper.ingest.span_mapping import spans_to_ops
from hivekeeper.ingest.spans import Span, StatusCode
from hivekeeper.ui.detail import event_detail
from hivekeeper.ui.formats import pretty_json


def patch_of(attributes: dict[str, Any], status: StatusCode = StatusCode.UNSET) -> EventPatch:
    span = Span(
        trace_id="1f" * 16,
        span_id="2e" * 8,
        parent_span_id="3d" * 8,
        name="span",
        kind=3,
        start_unix_nano=1_000_000_000,
        end_unix_nano=2_000_000_000,
        attributes=attributes,
        status_code=status,
        status_message="boom" if status == StatusCode.ERROR else "",
        scope_name="some.instrumentation",
    )
    (op,) = [op for op in spans_to_ops("p", [span]) if isinstance(op, Upsert)]
    return op.patch


def test_system_instructions_also_sent_as_a_turn_appear_once() -> None:
    system = [{"type": "text", "content": "You are terse."}]
    turns = [
        {"role": "system", "parts": system},
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    ]
    patch = patch_of({
        "gen_ai.operation.name": "chat",
        "gen_ai.system_instructions": json.dumps(system),
        "gen_ai.input.messages": json.dumps(turns),
    })  # fmt: skip
    history = patch["inputs"]["chat_history"]
    assert [m["role"] for m in history] == ["system", "user"]
    assert history[0]["content"] == "You are terse."


def test_system_instructions_not_among_the_turns_come_first() -> None:
    turns = [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]
    patch = patch_of({
        "gen_ai.operation.name": "chat",
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": json.dumps(turns),
    })  # fmt: skip
    history = patch["inputs"]["chat_history"]
    assert [(m["role"], m["content"]) for m in history] == [
        ("system", "Be brief."),
        ("user", "Hi"),
    ]


def test_openinference_request_model_and_stream_are_no_hyperparameters() -> None:
    invocation = {"model": "gpt-4o-mini", "stream": True,
                  "stream_options": {"include_usage": True}, "temperature": 0.2}  # fmt: skip
    patch = patch_of({
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "llm.invocation_parameters": json.dumps(invocation),
    })  # fmt: skip
    config = patch["config"]
    assert config["model"] == "gpt-4o-mini-2024-07-18"
    assert config["request_model"] == "gpt-4o-mini"
    assert config["hyperparameters"] == {"temperature": 0.2}
    assert patch["metadata"]["stream"] is True
    assert patch["metadata"]["stream_options"] == {"include_usage": True}


def test_an_openinference_error_span_keeps_its_model() -> None:
    patch = patch_of(
        {
            "openinference.span.kind": "LLM",
            "llm.invocation_parameters": json.dumps({"model": "no-such-model"}),
        },
        StatusCode.ERROR,
    )
    assert patch["event_type"] == "model"
    assert patch["config"]["model"] == "no-such-model"
    assert patch["error"] == "boom"


def test_genai_tool_call_arguments_stay_an_object_and_render_as_json() -> None:
    call = {"type": "tool_call", "id": "call_1", "name": "lookup_weather",
            "arguments": {"city": "Paris"}}  # fmt: skip
    patch = patch_of({
        "gen_ai.operation.name": "chat",
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [call]}]),
    })  # fmt: skip
    (stored,) = patch["outputs"]["tool_calls"]
    assert stored["function"] == {"name": "lookup_weather", "arguments": {"city": "Paris"}}

    detail = event_detail({"event_type": "model", "outputs": patch["outputs"]})
    (shown,) = detail.answers[0].tool_calls
    assert json.loads(pretty_json(shown.arguments)) == {"city": "Paris"}

"""Langfuse's span attributes → event fields (`ingest.langfuse`), through `spans_to_ops`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hivekeeper.domain.merge import apply_ops
from hivekeeper.domain.types import Key, StoredRow, Update, Upsert
from hivekeeper.ingest.langfuse_scores import ScoreError, parse_score, score_update
from hivekeeper.ingest.span_mapping import span_event_id, spans_to_ops, trace_session_id
from tests.unit.test_span_mapping import NOW, TRACE, P, make_span, patch_of


@pytest.mark.parametrize(
    ("observation_type", "event_type"),
    [
        ("generation", "model"),
        ("embedding", "model"),
        ("span", "chain"),
        ("agent", "chain"),
        ("chain", "chain"),
        ("event", "chain"),
        ("evaluator", "chain"),
        ("guardrail", "chain"),
        ("tool", "tool"),
        ("retriever", "tool"),
    ],
)
def test_observation_types_become_event_types_and_stay_visible(
    observation_type: str, event_type: str
) -> None:
    patch = patch_of(make_span({"langfuse.observation.type": observation_type}))
    assert patch["event_type"] == event_type
    assert patch["metadata"]["observation_type"] == observation_type


def test_a_generation_maps_model_parameters_messages_usage_cost_and_prompt() -> None:
    patch = patch_of(
        make_span(
            {
                "langfuse.observation.type": "generation",
                "langfuse.observation.model.name": "claude-sonnet-4-5",
                "langfuse.observation.model.parameters": json.dumps({"temperature": 0}),
                "langfuse.observation.input": json.dumps(
                    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
                ),
                "langfuse.observation.output": json.dumps({"role": "assistant", "content": "yo"}),
                "langfuse.observation.usage_details": json.dumps(
                    {"input": 100, "cache_read_input_tokens": 300,
                     "cache_creation_input_tokens": 50, "output": 20,
                     "output_reasoning_tokens": 30}
                ),
                "langfuse.observation.cost_details": json.dumps({"input": 0.5, "total": 0.75}),
                "langfuse.observation.prompt.name": "greeter",
                "langfuse.observation.prompt.version": 3,
                "langfuse.observation.completion_start_time": '"2026-12-05T10:00:00Z"',
            }
        )
    )
    assert patch["event_type"] == "model"
    assert patch["config"] == {
        "model": "claude-sonnet-4-5",
        "hyperparameters": {"temperature": 0},
        "prompt_name": "greeter",
        "prompt_version": 3,
    }
    assert [m["role"] for m in patch["inputs"]["chat_history"]] == ["system", "user"]
    assert patch["outputs"] == {"role": "assistant", "content": "yo"}
    meta = patch["metadata"]
    # Langfuse's classes are exclusive; the flat counts include their parts.
    assert meta["prompt_tokens"] == 450
    assert meta["cache_read_tokens"] == 300
    assert meta["cache_write_tokens"] == 50
    assert meta["completion_tokens"] == 50
    assert meta["reasoning_tokens"] == 30
    assert meta["usage_details"]["output_reasoning_tokens"] == 30
    assert (meta["cost"], meta["cost_details"]) == (0.75, {"input": 0.5, "total": 0.75})
    assert meta["completion_start_time"] == '"2026-12-05T10:00:00Z"'


def test_a_providers_usage_object_keeps_its_own_rules() -> None:
    # OpenAI's usage, as Langfuse's OpenAI integration sends it: cached is a subset.
    openai = {"prompt_tokens": 1_000, "completion_tokens": 300, "total_tokens": 1_300,
              "prompt_tokens_details": {"cached_tokens": 600},
              "completion_tokens_details": {"reasoning_tokens": 100}}
    meta = patch_of(make_span({"langfuse.observation.usage_details": json.dumps(openai)}))[
        "metadata"
    ]
    assert (meta["prompt_tokens"], meta["cache_read_tokens"]) == (1_000, 600)
    assert (meta["completion_tokens"], meta["reasoning_tokens"]) == (300, 100)
    assert meta["total_tokens"] == 1_300
    # Anthropic's: input excludes the cache reads.
    anthropic = {"input_tokens": 100, "cache_read_input_tokens": 900, "output_tokens": 10}
    meta = patch_of(make_span({"langfuse.observation.usage_details": json.dumps(anthropic)}))[
        "metadata"
    ]
    assert (meta["prompt_tokens"], meta["cache_read_tokens"]) == (1_000, 900)


def test_trace_attributes_name_the_session_and_tag_the_event() -> None:
    span = make_span(
        {
            "langfuse.trace.name": "checkout",
            "langfuse.trace.tags": ["a", "b"],
            "langfuse.trace.metadata.tier": '"gold"',
            "langfuse.trace.metadata.count": "3",
            "langfuse.observation.metadata.attempt": "2",
            "langfuse.observation.metadata.note": '"123"',
            "langfuse.environment": "production",
            "langfuse.release": "v1.2",
            "langfuse.version": "7",
            "user.id": "u-1",
        }
    )
    ops = spans_to_ops(P, [span])
    # The trace's name and its user go onto the session (issue 15 item 1).
    session = {"event_id": trace_session_id(TRACE), "event_name": "checkout"}
    assert ops[0] == Update(P, {**session, "user_properties": {"user_id": "u-1"}})
    patch = next(op.patch for op in ops if isinstance(op, Upsert))
    assert patch["source"] == "production"
    assert patch["user_properties"] == {"user_id": "u-1"}
    meta = patch["metadata"]
    assert meta["tags"] == ["a", "b"]
    assert meta["trace_metadata"] == {"tier": "gold", "count": 3}
    assert (meta["attempt"], meta["note"]) == (2, "123")  # "123" stays a string
    assert (meta["release"], meta["version"]) == ("v1.2", "7")
    assert "unmapped_attributes" not in meta["otel"]


def test_a_honeyhive_session_name_wins_over_the_trace_name() -> None:
    span = make_span({"honeyhive.session_name": "mine", "langfuse.trace.name": "theirs"})
    assert spans_to_ops(P, [span])[0].patch["event_name"] == "mine"


def test_experiment_attributes_become_run_fields() -> None:
    meta_and_feedback = patch_of(
        make_span(
            {
                "langfuse.experiment.id": "run-1",
                "langfuse.experiment.name": "nightly",
                "langfuse.experiment.dataset.id": "ds-1",
                "langfuse.experiment.item.id": "item-9",
                "langfuse.experiment.item.expected_output": '{"a": "4"}',
                "langfuse.experiment.item.metadata": '{"topic": "math"}',
            }
        )
    )
    meta = meta_and_feedback["metadata"]
    assert (meta["run_id"], meta["dataset_id"], meta["datapoint_id"]) == ("run-1", "ds-1", "item-9")
    assert meta["experiment_name"] == "nightly"
    assert meta["datapoint_metadata"] == {"topic": "math"}
    assert meta_and_feedback["feedback"] == {"ground_truth": {"a": "4"}}


def test_unknown_langfuse_attributes_and_wrong_shapes_are_kept_as_unmapped() -> None:
    patch = patch_of(
        make_span(
            {
                "langfuse.observation.type": "mystery",
                "langfuse.observation.usage_details": "not json",
                "langfuse.internal.as_root": True,
            }
        )
    )
    meta = patch["metadata"]
    assert meta["langfuse"]["observation"]["type"] == "mystery"
    assert meta["langfuse"]["observation"]["usage_details"] == "not json"
    assert meta["langfuse"]["internal"]["as_root"] is True
    assert set(meta["otel"]["unmapped_attributes"]) == {
        "langfuse.observation.type",
        "langfuse.observation.usage_details",
        "langfuse.internal.as_root",
    }


def _apply(ops: list[Any]) -> dict[Key, StoredRow]:
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, ops, NOW)
    return rows


def test_a_score_lands_on_its_observations_event_even_before_the_span() -> None:
    span_id = "98f2ff890e8f9d75"
    score = parse_score(
        {"name": "correct", "value": 1, "dataType": "BOOLEAN", "comment": "exact",
         "traceId": TRACE.upper(), "observationId": span_id}
    )
    event_id = span_event_id(TRACE, span_id)
    span = make_span({"langfuse.observation.type": "span"}, span_id=span_id)
    rows = _apply([score_update(P, score, None), *spans_to_ops(P, [span])])
    event = rows[(P, event_id)]
    assert event["event_type"] == "chain"
    assert event["metrics"] == {"correct": True, "correct_comment": "exact"}
    assert event["metadata"]["scores"]["correct"]["comment"] == "exact"


def test_annotations_are_feedback_and_session_scores_name_their_session() -> None:
    score = parse_score(
        {"name": "rating", "value": "good", "source": "ANNOTATION", "sessionId": "s-1"}
    )
    assert score_update(P, score, None) == Update(
        P,
        {"event_id": "s-1", "feedback": {"rating": "good"},
         "metadata": {"scores": {"rating": score.sent}}},
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([], "score"),
        ({"value": 1, "traceId": TRACE}, "name"),
        ({"name": "x", "value": 1}, "traceId"),
        ({"name": "x", "value": 1, "observationId": "98f2ff890e8f9d75"}, "traceId"),
        ({"name": "x", "value": 1, "traceId": "nope"}, "traceId"),
        ({"name": "x", "value": float("nan"), "traceId": TRACE}, "value"),
        ({"name": "x", "value": 2, "dataType": "BOOLEAN", "traceId": TRACE}, "value"),
        ({"name": "x", "value": 1, "traceId": TRACE, "comment": 5}, "comment"),
    ],
)
def test_a_score_that_cannot_be_stored_names_its_field(raw: object, field: str) -> None:
    with pytest.raises(ScoreError) as caught:
        parse_score(raw)
    assert caught.value.field == field

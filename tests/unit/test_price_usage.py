"""Reported token counts → one usage record: every token in one class, counted once."""

from __future__ import annotations

from typing import Any

import pytest

from hivekeeper.domain.pricing import Usage, normalize_usage

# 1,200 prompt tokens of which 1,000 cached; 700 completion tokens of which 500 reasoning.
OPENAI_SPLIT = Usage(input=200, cache_read=1000, output=200, reasoning=500)


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param(
            {
                "prompt_tokens": 1200,
                "completion_tokens": 700,
                "total_tokens": 1900,
                "prompt_tokens_details": {"cached_tokens": 1000, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 500, "audio_tokens": 0},
            },
            id="openai-chat-completions",
        ),
        pytest.param(
            {
                "input_tokens": 1200,
                "input_tokens_details": {"cached_tokens": 1000},
                "output_tokens": 700,
                "output_tokens_details": {"reasoning_tokens": 500},
                "total_tokens": 1900,
            },
            id="openai-responses",
        ),
        pytest.param(
            # what the span mapping writes from OpenInference or the GenAI conventions
            {
                "prompt_tokens": 1200,
                "cache_read_tokens": 1000,
                "completion_tokens": 700,
                "reasoning_tokens": 500,
                "total_tokens": 1900,
            },
            id="span-mapping",
        ),
        pytest.param(
            {"prompt_tokens": 1200, "cache_read_tokens": 1000, "completion_tokens": 700,
             "reasoning_tokens": 500},
            id="span-mapping-without-total",
        ),
    ],
)
def test_cached_input_and_reasoning_are_subsets_in_openai_shapes(counts: dict[str, Any]) -> None:
    assert normalize_usage(counts) == OPENAI_SPLIT


def test_anthropic_input_tokens_exclude_cache_reads_and_writes() -> None:
    usage = normalize_usage(
        {
            "input_tokens": 5000,
            "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 0,
            "output_tokens": 10,
        }
    )
    # Read as OpenAI's rule, 1,000 of the 5,000 would be taken for cached: they are not.
    assert usage == Usage(input=5000, cache_read=1000, output=10)


def test_anthropic_cache_writes_keep_their_lifetime() -> None:
    usage = normalize_usage(
        {
            "input_tokens": 50,
            "cache_read_input_tokens": 3000,
            "cache_creation_input_tokens": 1000,
            "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 400},
            "output_tokens": 300,
        }
    )
    assert usage == Usage(
        input=50, cache_read=3000, cache_write=600, cache_write_1h=400, output=300
    )
    assert usage.prompt_tokens == 4050


def test_gemini_thoughts_and_tool_prompts_are_outside_the_other_counts() -> None:
    camel = normalize_usage(
        {
            "promptTokenCount": 11500,
            "cachedContentTokenCount": 10000,
            "candidatesTokenCount": 1000,
            "thoughtsTokenCount": 10000,
            "totalTokenCount": 22500,
        }
    )
    assert camel == Usage(input=1500, cache_read=10000, output=1000, reasoning=10000)
    snake = normalize_usage(
        {
            "prompt_token_count": 1000,
            "prompt_tokens_details": [
                {"modality": "TEXT", "token_count": 600},
                {"modality": "AUDIO", "token_count": 400},
            ],
            "candidates_token_count": 100,
            "tool_use_prompt_token_count": 20,
        }
    )
    assert snake == Usage(input=620, input_audio=400, output=100)


def test_a_part_larger_than_its_whole_is_outside_it() -> None:
    # An emitter that put Anthropic's input_tokens into gen_ai.usage.input_tokens.
    usage = normalize_usage(
        {"prompt_tokens": 50, "cache_read_tokens": 3000, "cache_write_tokens": 1000,
         "completion_tokens": 300}
    )
    assert usage == Usage(input=50, cache_read=3000, cache_write=1000, output=300)
    # A Gemini emitter that put candidates and thoughts apart.
    assert normalize_usage(
        {"prompt_tokens": 100, "completion_tokens": 40, "reasoning_tokens": 300}
    ) == Usage(input=100, output=40, reasoning=300)


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (5010, Usage(input=4000, cache_read=1000, output=10)),
        (6010, Usage(input=5000, cache_read=1000, output=10)),
    ],
)
def test_a_total_that_adds_up_one_way_decides_cache_inclusion(total: int, expected: Usage) -> None:
    counts = {"prompt_tokens": 5000, "cache_read_tokens": 1000, "completion_tokens": 10}
    assert normalize_usage({**counts, "total_tokens": total}) == expected


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (140, Usage(input=100, output=10, reasoning=30)),
        (170, Usage(input=100, output=40, reasoning=30)),
    ],
)
def test_a_total_that_adds_up_one_way_decides_reasoning_inclusion(
    total: int, expected: Usage
) -> None:
    counts = {"prompt_tokens": 100, "completion_tokens": 40, "reasoning_tokens": 30}
    assert normalize_usage({**counts, "total_tokens": total}) == expected


def test_an_emitters_known_rule_overrides_the_convention() -> None:
    counts = {"prompt_tokens": 5000, "cache_read_tokens": 1000, "completion_tokens": 10,
              "reasoning_tokens": 4}
    assert normalize_usage(counts) == Usage(input=4000, cache_read=1000, output=6, reasoning=4)
    assert normalize_usage(
        counts, input_includes_cache=False, output_includes_reasoning=False
    ) == Usage(input=5000, cache_read=1000, output=10, reasoning=4)


def test_audio_is_its_own_class_inside_prompt_and_completion() -> None:
    usage = normalize_usage(
        {"prompt_tokens": 300, "prompt_audio_tokens": 100, "completion_tokens": 50,
         "completion_audio_tokens": 20}
    )
    assert usage == Usage(input=200, input_audio=100, output=30, output_audio=20)


def test_no_counts_is_no_usage_and_junk_values_are_ignored() -> None:
    assert normalize_usage({}) is None
    assert normalize_usage({"cost": 0.12, "model": "gpt-4o"}) is None
    assert normalize_usage({"prompt_tokens": -5, "completion_tokens": True}) is None
    usage = normalize_usage(
        {"prompt_tokens": "12", "completion_tokens": float("nan"), "cache_read_tokens": "x",
         "prompt_tokens_details": "not an object"}
    )
    assert usage == Usage(input=12)


@pytest.mark.parametrize(
    "counts",
    [
        {"prompt_tokens": 1200, "completion_tokens": 700, "cache_read_tokens": 1000,
         "cache_write_tokens": 100, "reasoning_tokens": 500, "prompt_audio_tokens": 50,
         "completion_audio_tokens": 20},
        {"prompt_tokens": 10, "completion_tokens": 5},
    ],
)
def test_inclusive_counts_are_split_without_losing_or_adding_a_token(
    counts: dict[str, float],
) -> None:
    usage = normalize_usage(counts)
    assert usage is not None
    assert usage.prompt_tokens == counts["prompt_tokens"]
    assert usage.output + usage.reasoning + usage.output_audio == counts["completion_tokens"]

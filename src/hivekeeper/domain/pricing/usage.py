"""Token counts as emitters report them → one usage record, each token counted once.

Providers and conventions disagree on what their totals contain:

- OpenAI (Chat Completions and Responses), OpenInference and the OpenTelemetry GenAI
  conventions count cached input *inside* the prompt count and reasoning and audio
  *inside* the completion count: they are subsets;
- Anthropic's `input_tokens` *excludes* cache reads and writes
  (`cache_read_input_tokens`, `cache_creation_input_tokens`), while its `output_tokens`
  include thinking;
- Gemini's `promptTokenCount` includes `cachedContentTokenCount`, but
  `thoughtsTokenCount` and `toolUsePromptTokenCount` are *outside* the other counts.

The raw shapes say which rule holds. The flat keys hivekeeper's span mapping writes
into `metadata` (`prompt_tokens`, `cache_read_tokens`, `reasoning_tokens`, …) follow
the conventions (subsets), unless the numbers prove otherwise: a part larger than its
whole, or a `total_tokens` that only adds up with the part outside.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hivekeeper.domain.pricing.table import TokenClass


@dataclass(frozen=True, slots=True)
class Usage:
    """The tokens of one model call by billing class; every token is in one class only."""

    input: float = 0.0
    cache_read: float = 0.0
    cache_write: float = 0.0
    cache_write_1h: float = 0.0
    input_audio: float = 0.0
    output: float = 0.0
    reasoning: float = 0.0
    output_audio: float = 0.0
    requests: int = 1

    @property
    def prompt_tokens(self) -> float:
        """Every input token, cached or not: what long-prompt price tiers look at."""
        cached = self.cache_read + self.cache_write + self.cache_write_1h
        return self.input + cached + self.input_audio

    def count(self, token_class: TokenClass) -> float:
        """The tokens in `token_class`."""
        value: float = getattr(self, token_class)
        return value


@dataclass(slots=True)
class _Reported:
    """Counts as a shape reports them, with what its rules say about inclusion."""

    prompt: float | None = None
    completion: float | None = None
    total: float | None = None
    cache_read: float = 0.0
    cache_write: float = 0.0
    cache_write_1h: float = 0.0
    input_audio: float = 0.0
    output_audio: float = 0.0
    reasoning: float = 0.0
    tool_prompt: float = 0.0
    input_includes_cache: bool | None = None
    output_includes_reasoning: bool | None = None


_ANTHROPIC_KEYS = ("cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation")
_GEMINI_KEYS = (
    "promptTokenCount",
    "prompt_token_count",
    "candidatesTokenCount",
    "candidates_token_count",
)


def normalize_usage(
    counts: Mapping[str, Any],
    *,
    input_includes_cache: bool | None = None,
    output_includes_reasoning: bool | None = None,
) -> Usage | None:
    """One model call's usage from the counts an emitter reported, or None if none.

    `counts` is an event's `metadata` (the keys the span mapping writes) or a raw
    `usage` object of OpenAI, Anthropic or Gemini. The two flags state an emitter's
    rule where it is known; None lets the shape and the numbers decide. Values that
    are not non-negative numbers (or strings of them) are ignored. Never raises.
    """
    if any(key in counts for key in _ANTHROPIC_KEYS):
        reported = _anthropic(counts)
    elif any(key in counts for key in _GEMINI_KEYS):
        reported = _gemini(counts)
    else:
        reported = _openai_like(counts)
    if reported.prompt is None and reported.completion is None:
        return None
    if input_includes_cache is not None:
        reported.input_includes_cache = input_includes_cache
    if output_includes_reasoning is not None:
        reported.output_includes_reasoning = output_includes_reasoning
    _decide_inclusion(reported)
    return _usage(reported)


def _anthropic(counts: Mapping[str, Any]) -> _Reported:
    split = counts.get("cache_creation")
    split = split if isinstance(split, Mapping) else {}
    short = _count(split.get("ephemeral_5m_input_tokens")) or 0.0
    long = _count(split.get("ephemeral_1h_input_tokens")) or 0.0
    written = _count(counts.get("cache_creation_input_tokens"))
    written = short + long if written is None else written
    return _Reported(
        prompt=_count(counts.get("input_tokens")),
        completion=_count(counts.get("output_tokens")),
        cache_read=_count(counts.get("cache_read_input_tokens")) or 0.0,
        cache_write=written,
        cache_write_1h=min(long, written),
        input_includes_cache=False,
        output_includes_reasoning=True,
    )


def _gemini(counts: Mapping[str, Any]) -> _Reported:
    details = counts.get("promptTokensDetails", counts.get("prompt_tokens_details"))
    return _Reported(
        prompt=_first(counts, "promptTokenCount", "prompt_token_count"),
        completion=_first(counts, "candidatesTokenCount", "candidates_token_count"),
        total=_first(counts, "totalTokenCount", "total_token_count"),
        cache_read=_first(counts, "cachedContentTokenCount", "cached_content_token_count")
        or 0.0,
        input_audio=_modality(details, "AUDIO"),
        reasoning=_first(counts, "thoughtsTokenCount", "thoughts_token_count") or 0.0,
        tool_prompt=_first(counts, "toolUsePromptTokenCount", "tool_use_prompt_token_count")
        or 0.0,
        input_includes_cache=True,
        output_includes_reasoning=False,
    )


def _openai_like(counts: Mapping[str, Any]) -> _Reported:
    """OpenAI's Chat Completions and Responses shapes, and the span mapping's keys."""
    prompt_details = _object(counts, "prompt_tokens_details", "input_tokens_details")
    output_details = _object(counts, "completion_tokens_details", "output_tokens_details")
    cached = _count(prompt_details.get("cached_tokens"))
    reasoning = _count(output_details.get("reasoning_tokens"))
    reported = _Reported(
        prompt=_first(counts, "prompt_tokens", "input_tokens"),
        completion=_first(counts, "completion_tokens", "output_tokens"),
        total=_first(counts, "total_tokens"),
        cache_read=_first(counts, "cache_read_tokens") or cached or 0.0,
        cache_write=_first(counts, "cache_write_tokens") or 0.0,
        input_audio=_first(counts, "prompt_audio_tokens")
        or _count(prompt_details.get("audio_tokens"))
        or 0.0,
        output_audio=_first(counts, "completion_audio_tokens")
        or _count(output_details.get("audio_tokens"))
        or 0.0,
        reasoning=_first(counts, "reasoning_tokens") or reasoning or 0.0,
    )
    if cached is not None:
        reported.input_includes_cache = True  # OpenAI's details are subsets
    if reasoning is not None:
        reported.output_includes_reasoning = True
    return reported


def _decide_inclusion(reported: _Reported) -> None:
    """Settle the undecided rules: a `total_tokens` that only adds up one way decides;
    else a part larger than its whole is outside it; else the conventions (inside)."""
    prompt, completion = reported.prompt or 0.0, reported.completion or 0.0
    cached = reported.cache_read + reported.cache_write
    # A rule is only in question when its part is there: (True,) alone otherwise.
    ins = _choices(reported.input_includes_cache, cached)
    withins = _choices(reported.output_includes_reasoning, reported.reasoning)
    if reported.total is not None and len(ins) * len(withins) > 1:
        fits = [
            (inside, within)
            for inside in ins
            for within in withins
            if math.isclose(
                prompt
                + completion
                + reported.tool_prompt
                + (0.0 if inside else cached)
                + (0.0 if within else reported.reasoning),
                reported.total,
            )
        ]
        if len(fits) == 1:
            reported.input_includes_cache, reported.output_includes_reasoning = fits[0]
    if reported.input_includes_cache is None:
        reported.input_includes_cache = cached <= prompt
    if reported.output_includes_reasoning is None:
        reported.output_includes_reasoning = reported.reasoning <= completion


def _choices(rule: bool | None, part: float) -> tuple[bool, ...]:
    if rule is not None:
        return (rule,)
    return (True, False) if part else (True,)


def _usage(reported: _Reported) -> Usage:
    fresh = reported.prompt or 0.0
    if reported.input_includes_cache:
        fresh -= reported.cache_read + reported.cache_write
    text_output = reported.completion or 0.0
    if reported.output_includes_reasoning:
        text_output -= reported.reasoning
    return Usage(
        input=max(fresh - reported.input_audio, 0.0) + reported.tool_prompt,
        cache_read=reported.cache_read,
        cache_write=reported.cache_write - reported.cache_write_1h,
        cache_write_1h=reported.cache_write_1h,
        input_audio=reported.input_audio,
        output=max(text_output - reported.output_audio, 0.0),
        reasoning=reported.reasoning,
        output_audio=reported.output_audio,
    )


def _count(value: Any) -> float | None:
    """A token count: a finite number >= 0, or a string of one; None otherwise."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    elif isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _first(counts: Mapping[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = _count(counts.get(key))
        if value is not None:
            return value
    return None


def _object(counts: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = counts.get(key)
        if isinstance(value, Mapping):
            return value
    return {}


def _modality(details: Any, modality: str) -> float:
    """Gemini's per-modality counts: `[{"modality": "AUDIO", "tokenCount": 12}, …]`."""
    if not isinstance(details, list):
        return 0.0
    total = 0.0
    for item in details:
        if isinstance(item, Mapping) and str(item.get("modality", "")).upper() == modality:
            total += _count(item.get("tokenCount", item.get("token_count"))) or 0.0
    return total

"""What a call costs: every token class at its rate, dated prices, tiers, project prices.

Expected values are worked out by hand from `prices.toml` (USD per million tokens).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from hivekeeper.domain.pricing import (
    PriceTable,
    PriceTableError,
    Usage,
    normalize_usage,
    price,
    shipped_table,
)

M = 1_000_000
DAY = date(2025, 7, 1)


def _usage(counts: dict[str, Any]) -> Usage:
    usage = normalize_usage(counts)
    assert usage is not None
    return usage


def test_cached_input_is_priced_at_the_cached_rate_and_not_twice() -> None:
    # gpt-4o: input $2.50, cached input $1.25, output $10.00.
    usage = _usage(
        {"prompt_tokens": 10_000, "prompt_tokens_details": {"cached_tokens": 8_000},
         "completion_tokens": 500}
    )
    cost = price(usage, "gpt-4o-2024-11-20", "openai", DAY)
    assert cost is not None
    assert cost.parts == pytest.approx(
        {"input": 2_000 * 2.50 / M, "cache_read": 8_000 * 1.25 / M, "output": 500 * 10.00 / M}
    )
    assert cost.total == pytest.approx(0.02)
    assert (cost.provider, cost.model) == ("openai", "gpt-4o-2024-08-06")


def test_anthropic_cache_writes_are_priced_by_lifetime_and_reads_apart() -> None:
    # claude-sonnet-4-5: input $3, 5m write $3.75, 1h write $6, hit $0.30, output $15.
    counts: dict[str, Any] = {
        "input_tokens": 50,
        "cache_read_input_tokens": 3_000,
        "cache_creation_input_tokens": 1_000,
        "output_tokens": 300,
    }
    split = {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 400}
    cost = price(_usage({**counts, "cache_creation": split}), "claude-sonnet-4-5", None, DAY)
    assert cost is not None
    assert cost.parts == pytest.approx(
        {
            "input": 50 * 3.00 / M,
            "cache_read": 3_000 * 0.30 / M,
            "cache_write": 600 * 3.75 / M,
            "cache_write_1h": 400 * 6.00 / M,
            "output": 300 * 15.00 / M,
        }
    )
    assert cost.total == pytest.approx(0.0102)
    # Without the lifetime split, writes are the default five-minute ones.
    plain = price(_usage(counts), "claude-sonnet-4-5-20250929", "anthropic", DAY)
    assert plain is not None
    assert plain.total == pytest.approx((150 + 900 + 1_000 * 3.75 + 4_500) / M)


@pytest.mark.parametrize(
    "counts",
    [
        {"prompt_tokens": 1_000, "completion_tokens": 5_000,
         "completion_tokens_details": {"reasoning_tokens": 4_000}},
        {"prompt_tokens": 1_000, "completion_tokens": 5_000, "reasoning_tokens": 4_000},
    ],
)
def test_openai_reasoning_is_inside_completion_and_billed_as_output(
    counts: dict[str, Any],
) -> None:
    # o3 from 2025-06-10: input $2, output $8; reasoning has no rate of its own.
    cost = price(_usage(counts), "o3", "openai", DAY)
    assert cost is not None
    assert cost.parts == pytest.approx(
        {"input": 1_000 * 2 / M, "output": 1_000 * 8 / M, "reasoning": 4_000 * 8 / M}
    )
    assert cost.total == pytest.approx(0.042)  # not (1,000 + 5,000 + 4,000) tokens' worth


def test_gemini_thoughts_are_billed_as_output_on_top_of_candidates() -> None:
    # gemini-2.5-pro (prompt <= 200K): input $1.25, cached $0.125, output $10.
    usage = _usage(
        {"promptTokenCount": 11_500, "cachedContentTokenCount": 10_000,
         "candidatesTokenCount": 1_000, "thoughtsTokenCount": 10_000,
         "totalTokenCount": 22_500}
    )
    cost = price(usage, "models/gemini-2.5-pro", "gcp.gemini", DAY)
    assert cost is not None
    assert cost.total == pytest.approx((1_500 * 1.25 + 10_000 * 0.125 + 11_000 * 10.00) / M)


def test_audio_input_is_priced_at_its_own_rate_where_the_provider_has_one() -> None:
    # gemini-2.5-flash: text input $0.30, audio input $1.00, output $2.50.
    usage = _usage(
        {"promptTokenCount": 1_000, "candidatesTokenCount": 100,
         "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 400}]}
    )
    cost = price(usage, "gemini-2.5-flash", "google", DAY)
    assert cost is not None
    assert cost.parts == pytest.approx(
        {"input": 600 * 0.30 / M, "input_audio": 400 * 1.00 / M, "output": 100 * 2.50 / M}
    )


def test_an_embedding_is_priced_on_its_input() -> None:
    cost = price(Usage(input=1_000), "text-embedding-3-small", "openai", DAY)
    assert cost is not None
    assert cost.total == pytest.approx(1_000 * 0.02 / M)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        # claude-sonnet-4-5 above 200K prompt tokens: input $6, hit $0.60, output $22.50.
        (Usage(input=200_000, output=1_000), (200_000 * 3 + 1_000 * 15) / M),
        (Usage(input=250_000, output=1_000), (250_000 * 6 + 1_000 * 22.50) / M),
        (
            Usage(input=1_000, cache_read=199_500, output=1_000),  # cache reads count too
            (1_000 * 6 + 199_500 * 0.60 + 1_000 * 22.50) / M,
        ),
    ],
)
def test_a_long_prompt_pays_the_long_context_rates_on_every_token(
    usage: Usage, expected: float
) -> None:
    cost = price(usage, "claude-sonnet-4-5", "anthropic", DAY)
    assert cost is not None
    assert cost.total == pytest.approx(expected)


def test_price_versions_are_chosen_by_day() -> None:
    usage = Usage(input=1_000, output=1_000)
    # o3 launched at $10 / $40 on 2025-04-16 and cost $2 / $8 from 2025-06-10.
    before = price(usage, "o3", "openai", date(2025, 6, 9))
    after = price(usage, "o3-2025-04-16", "openai", date(2025, 6, 10))
    assert before is not None and after is not None
    assert before.total == pytest.approx(0.05)
    assert (after.total, after.effective_from) == (pytest.approx(0.01), date(2025, 6, 10))
    # A moment is taken in UTC: 02:00 at +05:00 on the 10th is still the 9th.
    moment = datetime(2025, 6, 10, 2, 0, tzinfo=timezone(timedelta(hours=5)))
    late = price(usage, "o3", "openai", moment)
    assert late is not None and late.total == pytest.approx(0.05)
    naive = price(usage, "o3", "openai", datetime(2025, 6, 10, 0, 1))
    assert naive is not None and naive.total == pytest.approx(0.01)
    # Before the first price took effect there is no price.
    assert price(usage, "o3", "openai", date(2025, 4, 15)) is None
    # The gpt-4o alias moved from the $5 / $15 snapshot on 2024-10-02.
    old = price(usage, "gpt-4o", "openai", date(2024, 9, 1))
    new = price(usage, "gpt-4o", "openai", date(2024, 10, 2))
    assert old is not None and new is not None
    assert (old.total, new.total) == (pytest.approx(0.020), pytest.approx(0.0125))
    # A cache-read cut alone: claude-sonnet-5-5 hits went from $0.20 to $0.10.
    hits = Usage(cache_read=M)
    dearer = price(hits, "claude-sonnet-5-5", None, date(2026, 10, 6))
    cheaper = price(hits, "claude-sonnet-5-5", None, date(2026, 10, 7))
    assert dearer is not None and cheaper is not None
    assert (dearer.total, cheaper.total) == (pytest.approx(0.20), pytest.approx(0.10))


def test_azure_and_bedrock_calls_use_the_model_makers_list() -> None:
    usage = Usage(input=1_000, output=1_000)
    azure = price(usage, "gpt-4o-mini-2024-07-18", "az.ai.openai", DAY)
    bedrock = price(usage, "anthropic.claude-3-haiku-20240307-v1:0", "aws.bedrock", DAY)
    assert azure is not None and bedrock is not None
    assert (azure.provider, azure.model) == ("openai", "gpt-4o-mini")
    assert azure.total == pytest.approx((1_000 * 0.15 + 1_000 * 0.60) / M)
    assert (bedrock.provider, bedrock.model) == ("anthropic", "claude-3-haiku")
    assert bedrock.total == pytest.approx((1_000 * 0.25 + 1_000 * 1.25) / M)


def test_an_unknown_model_has_no_price() -> None:
    usage = Usage(input=1_000, output=1_000)
    assert price(usage, "gpt-4o-audio-preview", "openai", DAY) is None
    assert price(usage, "llama-3.3-70b-versatile", None, DAY) is None
    assert price(usage, "totally-unknown", "acme", DAY) is None


PROJECT = {
    "model": [
        {
            "provider": "acme",
            "name": "acme-chat",
            "source": "project prices",
            "price": [{"input": 1.0, "output": 2.0, "request": 0.005}],
        },
        {
            "provider": "openai",
            "name": "gpt-4o",
            "source": "negotiated",
            "price": [{"from": date(2026, 1, 1), "input": 2.0, "cache_read": 1.0, "output": 8.0}],
        },
    ]
}


def test_a_per_request_fee_is_added_once_per_call() -> None:
    table = PriceTable.from_document(PROJECT).over(shipped_table())
    cost = price(Usage(input=1_000, output=500), "acme-chat-2026-01-01", "acme", DAY, table=table)
    assert cost is not None
    assert cost.parts == pytest.approx(
        {"input": 1_000 * 1.0 / M, "output": 500 * 2.0 / M, "request": 0.005}
    )
    assert cost.total == pytest.approx(0.007)


def test_project_prices_layer_over_the_shipped_ones_from_their_day() -> None:
    table = PriceTable.from_document(PROJECT).over(shipped_table())
    usage = Usage(input=1_000, output=1_000)
    before = price(usage, "gpt-4o", "openai", date(2025, 12, 31), table=table)
    after = price(usage, "gpt-4o", "openai", datetime(2026, 1, 1, tzinfo=UTC), table=table)
    assert before is not None and after is not None
    assert (before.total, before.source) == (
        pytest.approx((1_000 * 2.50 + 1_000 * 10) / M),
        "https://platform.openai.com/docs/pricing",
    )
    assert (after.total, after.source) == (pytest.approx((1_000 * 2 + 1_000 * 8) / M), "negotiated")
    # A model the project did not price keeps the shipped price.
    mini = price(usage, "gpt-4o-mini", "openai", date(2026, 6, 1), table=table)
    assert mini is not None and mini.total == pytest.approx((1_000 * 0.15 + 1_000 * 0.60) / M)
    # The shipped table is unchanged.
    alone = price(usage, "gpt-4o", "openai", date(2026, 6, 1))
    assert alone is not None and alone.source != "negotiated"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"model": [{"provider": "a", "name": "m", "source": "s", "price": [{"inptu": 1}]}]},
         "model[0].price[0]: unknown key 'inptu'"),
        ({"model": [{"provider": "a", "name": "m", "source": "s", "price": [{"input": -1}]}]},
         "model[0].price[0].input: must be a number >= 0"),
        ({"model": [{"provider": "a", "name": "m", "source": "s", "price": [{"input": "1"}]}]},
         "model[0].price[0].input: must be a number >= 0"),
        ({"model": [{"provider": "a", "name": "m", "source": "s", "price": []}]},
         "model[0].price: at least one price is needed"),
        ({"model": [{"provider": "a", "name": "m", "source": "s",
                     "price": [{"from": "2025-01-01", "input": 1}]}]},
         "model[0].price[0].from: must be a date"),
        ({"model": [{"provider": "a", "name": "m", "source": "s",
                     "price": [{"input": 1, "tiers": [{"input": 2}]}]}]},
         "model[0].price[0].tiers[0].above_prompt_tokens"),
        ({"model": [{"provider": "a", "name": "m", "source": "s", "price": [{"input": 1}]},
                    {"provider": "a", "name": "x", "aliases": ["M"], "source": "s",
                     "price": [{"input": 1}]}]},
         "model[1]: 'm' is listed twice"),
    ],
)
def test_a_malformed_table_is_refused_with_the_place_named(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(PriceTableError, match=message.replace("[", r"\[").replace("]", r"\]")):
        PriceTable.from_document(document)

"""Which shipped price entry a model name and provider land on, and which they never do."""

from __future__ import annotations

import pytest

from hivekeeper.domain.pricing import find_entry, shipped_table

TABLE = shipped_table()


@pytest.mark.parametrize(
    ("model", "provider", "expected"),
    [
        # OpenAI snapshots, routing prefixes, Azure, case
        ("gpt-4o-mini-2024-07-18", "openai", ("openai", "gpt-4o-mini")),
        ("gpt-4o-mini", None, ("openai", "gpt-4o-mini")),
        ("openai/gpt-4o", None, ("openai", "gpt-4o")),
        ("GPT-4o-Mini", "OpenAI", ("openai", "gpt-4o-mini")),
        ("gpt-4o-2024-08-06", "az.ai.openai", ("openai", "gpt-4o-2024-08-06")),
        ("gpt-4o-2024-11-20", "azure.ai.openai", ("openai", "gpt-4o-2024-08-06")),
        ("azure/gpt-4o", None, ("openai", "gpt-4o")),
        ("gpt-4.1-nano-2025-04-14", "openai", ("openai", "gpt-4.1-nano")),
        ("gpt-4.1-2025-04-14", "openai", ("openai", "gpt-4.1")),
        ("o3-mini-2025-01-31", "openai", ("openai", "o3-mini")),
        ("o3-2025-04-16", "openai", ("openai", "o3")),
        ("o3-pro-2025-06-10", "openai", ("openai", "o3-pro")),
        ("gpt-5-mini-2025-08-07", "openai", ("openai", "gpt-5-mini")),
        ("gpt-4-0613", "openai", ("openai", "gpt-4")),
        ("text-embedding-3-small", "openai", ("openai", "text-embedding-3-small")),
        # the longest (most specific) entry wins over the family's
        ("gpt-4o-2024-05-13", "openai", ("openai", "gpt-4o-2024-05-13")),
        # Anthropic: dated ids, -latest, -0 aliases, OpenRouter's dotted names
        ("claude-3-5-sonnet-20241022", "anthropic", ("anthropic", "claude-3-5-sonnet")),
        ("claude-3-5-sonnet-latest", None, ("anthropic", "claude-3-5-sonnet")),
        (" Claude-3-Haiku-20240307 ", None, ("anthropic", "claude-3-haiku")),
        ("claude-sonnet-4-20250514", "anthropic", ("anthropic", "claude-sonnet-4")),
        ("claude-sonnet-4-0", "anthropic", ("anthropic", "claude-sonnet-4")),
        ("claude-sonnet-4-5-20250929", "anthropic", ("anthropic", "claude-sonnet-4-5")),
        ("claude-opus-4-1-20250805", "anthropic", ("anthropic", "claude-opus-4-1")),
        ("claude-haiku-4-5-20251001", "anthropic", ("anthropic", "claude-haiku-4-5")),
        ("anthropic/claude-3.5-sonnet", "openrouter", ("anthropic", "claude-3-5-sonnet")),
        ("anthropic/claude-sonnet-4.5", None, ("anthropic", "claude-sonnet-4-5")),
        # Bedrock ids, region prefixes and ARNs; Vertex AI's @version
        (
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "aws.bedrock",
            ("anthropic", "claude-3-5-sonnet"),
        ),
        (
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "aws.bedrock",
            ("anthropic", "claude-3-7-sonnet"),
        ),
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", None, ("anthropic", "claude-3-5-sonnet")),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "aws.bedrock",
            ("anthropic", "claude-sonnet-4"),
        ),
        ("bedrock/anthropic.claude-3-haiku-20240307-v1:0", None, ("anthropic", "claude-3-haiku")),
        ("claude-3-5-sonnet-v2@20241022", "gcp.vertex_ai", ("anthropic", "claude-3-5-sonnet")),
        ("claude-opus-4@20250514", "vertex_ai", ("anthropic", "claude-opus-4")),
        # Gemini resource names and numbered versions
        ("models/gemini-1.5-pro-002", "gcp.gemini", ("google", "gemini-1.5-pro")),
        (
            "projects/p/locations/us-central1/publishers/google/models/gemini-1.5-flash-001",
            None,
            ("google", "gemini-1.5-flash"),
        ),
        ("gemini-1.5-flash-8b-001", "google", ("google", "gemini-1.5-flash-8b")),
        ("gemini-2.0-flash-001", "gcp.gen_ai", ("google", "gemini-2.0-flash")),
        ("gemini-2.5-flash-lite", "gcp.gemini", ("google", "gemini-2.5-flash-lite")),
        ("gemini-2.5-flash", "gemini", ("google", "gemini-2.5-flash")),
        # Mistral's dated ids; the OpenAI SDK pointed at another vendor's endpoint
        ("mistral-small-2506", "mistral_ai", ("mistral", "mistral-small-2503")),
        ("mistral-large-2411", "mistralai", ("mistral", "mistral-large-2411")),
        ("gemini-2.5-pro", "openai", ("google", "gemini-2.5-pro")),
        # a host's own price list, only when the call names the host
        ("openai/gpt-oss-120b", "groq", ("groq", "openai/gpt-oss-120b")),
        ("llama-3.3-70b-versatile", "groq", ("groq", "llama-3.3-70b-versatile")),
    ],
)
def test_model_names_land_on_their_family(
    model: str, provider: str | None, expected: tuple[str, str]
) -> None:
    entry = find_entry(TABLE, model, provider)
    assert entry is not None, model
    assert (entry.provider, entry.name) == expected


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        # a variant of a priced family is a different model, priced differently
        ("gpt-4o-audio-preview", "openai"),
        ("gpt-4o-realtime-preview-2024-12-17", "openai"),
        ("gpt-4o-search-preview", "openai"),
        ("gpt-4-32k-0613", "openai"),
        ("gpt-4-1106-preview", "openai"),
        ("o3-deep-research", "openai"),
        ("gpt-5-pro", "openai"),
        ("o1-mini", "openai"),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc123", "openai"),
        ("claude-sonnet-4-6", "anthropic"),
        ("claude-2.1", "anthropic"),
        ("gemini-2.5-flash-preview-05-20", "gcp.gemini"),
        ("gemini-2.0-flash-exp", "gcp.gemini"),
        # a moving alias, an Azure deployment name
        ("mistral-large-latest", "mistral_ai"),
        ("my-gpt4o-deployment", "az.ai.openai"),
        # open models: the price is the host's, and the host is not known or not listed
        ("llama-3.3-70b-versatile", None),
        ("llama-3.3-70b-versatile", "openai"),
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "together"),
        # a provider whose prices for this model are not the first party's
        ("gemini-2.0-flash-001", "gcp.vertex_ai"),
        ("gpt-4o", "groq"),
        ("", None),
    ],
)
def test_never_a_wrong_family(model: str, provider: str | None) -> None:
    entry = find_entry(TABLE, model, provider)
    assert entry is None, (model, entry and entry.name)


def test_every_shipped_entry_is_found_by_its_names_and_dated_id() -> None:
    assert TABLE.compiled is not None
    for (price_list, name), entry in TABLE.entries.items():
        assert all(v.source.startswith("https://") for v in entry.layers[0]), name
        provider = price_list if price_list == "groq" else None
        found = find_entry(TABLE, name, provider)
        assert found is entry, name
        dated = find_entry(TABLE, f"{name}-2099-01-01", provider)
        assert dated is entry, name

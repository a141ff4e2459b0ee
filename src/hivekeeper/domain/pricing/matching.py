"""Which price entry bills a model call: provider → price lists, model name → entry.

A model name is matched exactly (case aside) after removing what only says *where* or
*which snapshot*: a path (`models/`, `projects/…/models/`), a routing prefix
(`openai/`, `anthropic.` on Bedrock, a Bedrock region), a Bedrock or Vertex version
(`-v2:0`, `@20241022`), then trailing snapshot suffixes one at a time (`-2024-07-18`,
`-20241022`, `-0613`, `-002`, `-latest`). Each shorter name is tried only after the
longer one missed, so the most specific entry wins. Nothing else is ever cut, so
`gpt-4o-mini` can never be priced as `gpt-4o`, nor `gpt-4o-audio-preview` at all.

Providers name price lists: Azure OpenAI bills OpenAI's models at OpenAI's list,
Bedrock and Vertex AI bill Claude at Anthropic's. Open models are sold by many hosts
at different prices, so a host's list (Groq) is used only when the call names that
host; a call naming no provider, an unknown one, or OpenAI (whose SDK is pointed at
every OpenAI-compatible endpoint) falls back to the first-party lists by model name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from hivekeeper.domain.pricing.table import PriceEntry, PriceTable

_PROVIDER_ALIASES: dict[str, str] = {
    "openai": "openai",
    "azure": "azure",
    "azure_openai": "azure",
    "azure.openai": "azure",
    "az.ai.openai": "azure",
    "azure.ai.openai": "azure",
    "az.ai.inference": "azure",
    "azure.ai.inference": "azure",
    "anthropic": "anthropic",
    "aws": "bedrock",
    "aws.bedrock": "bedrock",
    "bedrock": "bedrock",
    "amazon_bedrock": "bedrock",
    "vertex": "vertex",
    "vertexai": "vertex",
    "vertex_ai": "vertex",
    "gcp.vertex_ai": "vertex",
    "google": "google",
    "gemini": "google",
    "google_genai": "google",
    "google.genai": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "mistral": "mistral",
    "mistralai": "mistral",
    "mistral_ai": "mistral",
    "groq": "groq",
}
"""Provider spellings of the GenAI conventions (`gen_ai.provider.name`, `gen_ai.system`),
OpenInference (`llm.provider`, `llm.system`) and routing prefixes, to one name."""

_LISTS: dict[str, tuple[str, ...]] = {
    "azure": ("azure", "openai"),
    "bedrock": ("bedrock", "anthropic"),
    "vertex": ("vertex", "anthropic"),
}
"""Price lists a provider bills with, its own first (a project may price it apart)."""

_KNOWN = frozenset(_PROVIDER_ALIASES.values())
_FIRST_PARTY = ("openai", "anthropic", "google", "mistral")
"""Lists of models only their maker sells under that name: found by name alone."""

_OPEN_PROVIDERS = frozenset({"openai"})
"""Providers whose clients are pointed at other vendors' compatible endpoints."""

_PATH = re.compile(r"^(?:.*/)?models/")
_BEDROCK = re.compile(
    r"^(?:(?:us|eu|apac|ap|ca|jp|au|global|us-gov)\.)?(anthropic)\.(.+?)(?:-v\d+:\d+)?$"
)
_VERTEX = re.compile(r"^(.+?)(?:-v\d+)?@[\w.-]+$")
_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{3}|latest)$")


def canonical_provider(provider: str | None) -> str | None:
    """The one name of a provider spelling; an unknown one lower-cased; None if blank."""
    if provider is None or not provider.strip():
        return None
    name = provider.strip().lower()
    return _PROVIDER_ALIASES.get(name, name)


def find_entry(table: PriceTable, model: str, provider: str | None) -> PriceEntry | None:
    """The entry that prices `model` called through `provider`, or None.

    Tries each name from `model_names` (most specific first) against each price list
    the provider bills with; a name's routing prefix may name the provider.
    """
    key = (model, provider)
    if key in table.found:
        return table.found[key]
    entry = _search(table, model, canonical_provider(provider))
    if len(table.found) < _MAX_REMEMBERED:
        table.found[key] = entry
    return entry


_MAX_REMEMBERED = 4096
"""Lookups a table remembers: a model is priced on every write of its events, and
clients name few models; the bound keeps made-up names from growing it."""


def _search(table: PriceTable, model: str, given: str | None) -> PriceEntry | None:
    for hint, name in model_names(model):
        for price_list in _price_lists(given or hint):
            entry = table.get(price_list, name)
            if entry is not None:
                return entry
    return None


def model_names(model: str) -> Iterator[tuple[str | None, str]]:
    """(provider hint, name) to look up for `model`, from most to least specific."""
    name = model.strip().lower()
    if name.startswith("arn:"):
        name = name.rsplit("/", 1)[-1]  # a Bedrock inference profile ARN
    name = _PATH.sub("", name)
    hint: str | None = None
    if "/" in name:
        yield from _shortened(None, name)  # a host's own id, like Groq's `openai/gpt-oss-120b`
        prefix, name = name.split("/", 1)
        hint = canonical_provider(prefix)
    bedrock = _BEDROCK.match(name)
    if bedrock is not None:
        hint, name = hint or bedrock[1], bedrock[2]
    vertex = _VERTEX.match(name)
    if vertex is not None:
        name = vertex[1]
    yield from _shortened(hint, name)


def _shortened(hint: str | None, name: str) -> Iterator[tuple[str | None, str]]:
    """`name`, then `name` less one snapshot suffix at a time."""
    while name:
        yield hint, name
        shorter = _SNAPSHOT.sub("", name)
        if shorter == name:
            return
        name = shorter


def _price_lists(provider: str | None) -> tuple[str, ...]:
    if provider is None:
        return _FIRST_PARTY
    lists = _LISTS.get(provider, (provider,))
    if provider in _OPEN_PROVIDERS or provider not in _KNOWN:
        lists += tuple(name for name in _FIRST_PARTY if name not in lists)
    return lists

"""Price tables: dated per-model rates, read from TOML, layered project over shipped.

A table holds entries keyed by (price list, model name). Each entry has one or more
price versions, each effective from a day (or from the beginning); a version may carry
tiers that replace its rates for long prompts. `PriceTable.over(base)` layers one table
over another: at a given day, the top table's version in force wins, and the base
answers where the top has none (before its first `from`, or for a model it lacks).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Literal, get_args

TokenClass = Literal[
    "input",
    "cache_read",
    "cache_write",
    "cache_write_1h",
    "input_audio",
    "output",
    "reasoning",
    "output_audio",
]
"""The classes a token is billed in; each token of a call is in exactly one."""

TOKEN_CLASSES: tuple[TokenClass, ...] = get_args(TokenClass)

_FALLBACK: dict[TokenClass, TokenClass] = {
    "cache_read": "input",
    "cache_write": "input",
    "cache_write_1h": "cache_write",
    "input_audio": "input",
    "reasoning": "output",
    "output_audio": "output",
}
"""The rate a class is billed at when the table gives none: a provider that does not
distinguish a class bills it as its parent (o-series reasoning as output, …)."""

_RATE_KEYS = frozenset((*TOKEN_CLASSES, "request"))
_PER_MILLION = 1_000_000


class PriceTableError(ValueError):
    """A price table that does not have the documented shape; the message names where."""


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens of each class given, and USD per request."""

    input: float | None = None
    cache_read: float | None = None
    cache_write: float | None = None
    cache_write_1h: float | None = None
    input_audio: float | None = None
    output: float | None = None
    reasoning: float | None = None
    output_audio: float | None = None
    request: float | None = None

    def per_token(self, token_class: TokenClass) -> float:
        """USD for one token of `token_class`, following the fallbacks; 0 if no rate."""
        current: TokenClass | None = token_class
        while current is not None:
            rate: float | None = getattr(self, current)
            if rate is not None:
                return rate / _PER_MILLION
            current = _FALLBACK.get(current)
        return 0.0

    def replaced_by(self, other: Rates) -> Rates:
        """These rates with every rate `other` gives put in their place."""
        given = {f.name: getattr(other, f.name) for f in fields(other)}
        return replace(self, **{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True, slots=True)
class Tier:
    """Rates that apply instead when a request's prompt is above a size."""

    above_prompt_tokens: int
    rates: Rates


@dataclass(frozen=True, slots=True)
class PriceVersion:
    """The prices of a model from a day on (`effective_from` None: from the beginning),
    and the page or party they come from."""

    effective_from: date | None
    rates: Rates
    source: str
    tiers: tuple[Tier, ...] = ()

    def rates_for(self, prompt_tokens: float) -> Rates:
        """The rates for a request of `prompt_tokens`: the largest tier it is above."""
        chosen = self.rates
        for tier in self.tiers:  # sorted by threshold at load
            if prompt_tokens > tier.above_prompt_tokens:
                chosen = self.rates.replaced_by(tier.rates)
        return chosen


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """One model on one price list, with its price versions per layer, top first."""

    provider: str
    name: str
    layers: tuple[tuple[PriceVersion, ...], ...]
    aliases: tuple[str, ...] = field(default=())

    def version_at(self, day: date) -> PriceVersion | None:
        """The version in force on `day`: the top layer's latest one that has begun."""
        for versions in self.layers:
            current = None
            for version in versions:  # sorted by day at load, the undated first
                if version.effective_from is None or version.effective_from <= day:
                    current = version
            if current is not None:
                return current
        return None


EntryKey = tuple[str, str]
"""(price list, model name), both lower case."""


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Entries by (price list, name or alias). Immutable; build with `from_document`."""

    compiled: date | None
    entries: Mapping[EntryKey, PriceEntry]
    found: dict[tuple[str, str | None], PriceEntry | None] = field(
        default_factory=dict, compare=False, repr=False
    )
    """What `matching.find_entry` has looked up in this table (the entries never change)."""

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> PriceTable:
        """Build a table from a parsed document of the `prices.toml` shape.

        Raises PriceTableError naming the entry and key at fault: an unknown key, a
        rate that is not a non-negative number, a name listed twice.
        """
        compiled = document.get("compiled")
        if compiled is not None and not isinstance(compiled, date):
            raise PriceTableError("compiled: must be a date")
        models = document.get("model", [])
        if not isinstance(models, list):
            raise PriceTableError("model: must be an array of tables")
        entries: dict[EntryKey, PriceEntry] = {}
        for index, raw in enumerate(models):
            entry = _entry(raw, f"model[{index}]")
            for name in (entry.name, *entry.aliases):
                key = (entry.provider, name)
                if key in entries:
                    raise PriceTableError(f"model[{index}]: {name!r} is listed twice")
                entries[key] = entry
        return cls(compiled, entries)

    def over(self, base: PriceTable) -> PriceTable:
        """This table layered over `base`: its versions win from their day on.

        A model only one table has keeps that table's versions; `compiled` is this one's.
        Each version keeps its own `source`.
        """
        merged = dict(base.entries)
        for key, entry in self.entries.items():
            below = merged.get(key)
            if below is not None:
                entry = replace(entry, layers=entry.layers + below.layers)
            merged[key] = entry
        return PriceTable(self.compiled, merged)

    def get(self, provider: str, name: str) -> PriceEntry | None:
        """The entry listed under exactly this price list and name or alias."""
        return self.entries.get((provider, name))


@cache
def shipped_table() -> PriceTable:
    """The price table shipped in this package (`prices.toml`), read once."""
    data = resources.files("hivekeeper.domain.pricing").joinpath("prices.toml")
    text = data.read_text(encoding="utf-8")
    return PriceTable.from_document(tomllib.loads(text))


def _entry(raw: object, where: str) -> PriceEntry:
    table = _table(raw, where, {"provider", "name", "aliases", "source", "price"})
    provider = _text(table, "provider", where).lower()
    name = _text(table, "name", where).lower()
    aliases = table.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise PriceTableError(f"{where}.aliases: must be an array of names")
    prices = table.get("price")
    if not isinstance(prices, list) or not prices:
        raise PriceTableError(f"{where}.price: at least one price is needed")
    source = _text(table, "source", where)
    versions = [_version(item, f"{where}.price[{i}]", source) for i, item in enumerate(prices)]
    versions.sort(key=lambda v: v.effective_from or date.min)
    days = [v.effective_from for v in versions]
    if len(set(days)) != len(days):
        raise PriceTableError(f"{where}.price: two prices start on the same day")
    return PriceEntry(
        provider=provider,
        name=name,
        layers=(tuple(versions),),
        aliases=tuple(a.lower() for a in aliases),
    )


def _version(raw: object, where: str, source: str) -> PriceVersion:
    table = _table(raw, where, {*_RATE_KEYS, "from", "tiers"})
    day = table.get("from")
    if day is not None and type(day) is not date:  # a TOML date-time is not a day
        raise PriceTableError(f"{where}.from: must be a date (YYYY-MM-DD)")
    tiers = table.get("tiers", [])
    if not isinstance(tiers, list):
        raise PriceTableError(f"{where}.tiers: must be an array of tables")
    parsed = [_tier(item, f"{where}.tiers[{i}]") for i, item in enumerate(tiers)]
    return PriceVersion(
        effective_from=day,
        rates=_rates(table, where),
        source=source,
        tiers=tuple(sorted(parsed, key=lambda t: t.above_prompt_tokens)),
    )


def _tier(raw: object, where: str) -> Tier:
    table = _table(raw, where, {*_RATE_KEYS, "above_prompt_tokens"})
    above = table.get("above_prompt_tokens")
    if type(above) is not int or above < 0:
        raise PriceTableError(f"{where}.above_prompt_tokens: must be a whole number >= 0")
    return Tier(above, _rates(table, where))


def _rates(table: Mapping[str, object], where: str) -> Rates:
    values: dict[str, float] = {}
    for key in _RATE_KEYS.intersection(table):
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PriceTableError(f"{where}.{key}: must be a number >= 0")
        if not math.isfinite(value) or value < 0:
            raise PriceTableError(f"{where}.{key}: must be a number >= 0")
        values[key] = float(value)
    return Rates(**values)


def _table(raw: object, where: str, allowed: set[str]) -> dict[str, object]:
    if not isinstance(raw, dict):
        raise PriceTableError(f"{where}: must be a table")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise PriceTableError(f"{where}: unknown key {unknown[0]!r}")
    return raw


def _text(table: Mapping[str, object], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PriceTableError(f"{where}.{key}: must be a non-empty string")
    return value.strip()

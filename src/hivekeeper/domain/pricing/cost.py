"""What a model call cost: its usage priced at the entry and version in force that day."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from hivekeeper.domain.pricing.matching import find_entry
from hivekeeper.domain.pricing.table import TOKEN_CLASSES, PriceTable, TokenClass, shipped_table
from hivekeeper.domain.pricing.usage import Usage

CostPart = TokenClass | Literal["request"]
"""A token class, or `request` for per-request fees."""


@dataclass(frozen=True, slots=True)
class Cost:
    """A computed cost in USD, with what it was computed from."""

    total: float
    parts: Mapping[CostPart, float]
    """USD per token class billed (only classes the call used) and `request`."""
    provider: str
    """The price list that billed the call (`openai` for an Azure call, …)."""
    model: str
    """The entry's name (`gpt-4o-mini` for `gpt-4o-mini-2024-07-18`)."""
    source: str
    """Where the price version used comes from (a page, or a project's own prices)."""
    effective_from: date | None
    """The day the price version used took effect; None: the entry's first version."""


def price(
    usage: Usage,
    model: str,
    provider: str | None,
    when: date,
    *,
    table: PriceTable | None = None,
) -> Cost | None:
    """The cost of a call of `model` through `provider` on `when`, or None.

    None when no entry matches the model (see `matching`) or none of its prices had
    begun on that day. `when` is a day or a moment (an aware one is taken in UTC).
    `table` defaults to the shipped one; pass `project.over(shipped_table())` to let a
    project's prices win. Pure: reads nothing but the table.
    """
    entry = find_entry(table or shipped_table(), model, provider)
    if entry is None:
        return None
    version = entry.version_at(_utc_day(when))
    if version is None:
        return None
    rates = version.rates_for(usage.prompt_tokens)
    parts: dict[CostPart, float] = {
        token_class: usage.count(token_class) * rates.per_token(token_class)
        for token_class in TOKEN_CLASSES
        if usage.count(token_class)
    }
    if rates.request:
        parts["request"] = usage.requests * rates.request
    return Cost(
        total=sum(parts.values()),
        parts=parts,
        provider=entry.provider,
        model=entry.name,
        source=version.source,
        effective_from=version.effective_from,
    )


def _utc_day(when: date) -> date:
    if isinstance(when, datetime):
        return when.astimezone(UTC).date() if when.tzinfo is not None else when.date()
    return when

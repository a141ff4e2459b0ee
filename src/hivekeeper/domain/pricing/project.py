"""A project's own model prices: checked once when added, layered over the shipped table.

A project price names a price list (`provider`, spelled as calls name it: `openai`,
`azure_openai`, …), a model name (snapshot ids and routing prefixes are matched as for
shipped prices) and its rates, USD per million tokens of each token class and USD per
request, effective from a day (UTC) or, without one, from the beginning. Its table
(`project_table`) goes over the shipped one: from its day on it wins, before it the
shipped price (if any) still applies. Two prices of a model from the same day: the one
added last wins.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.pricing.matching import canonical_provider
from hivekeeper.domain.pricing.table import TOKEN_CLASSES, PriceTable, PriceTableError

RATE_KEYS: tuple[str, ...] = (*TOKEN_CLASSES, "request")
"""The rates a price may give: USD per million tokens of each class, per request."""
PROJECT_SOURCE = "project"
"""The `source` of a project's prices in a cost breakdown."""
_MAX_NAME_CHARS = 256


@dataclass(frozen=True, slots=True)
class PriceSpec:
    """A price as given, checked: what `add_price` stores."""

    provider: str
    model: str
    effective_from: date | None
    rates: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class ProjectPrice:
    """A stored project price."""

    id: int
    project_id: str
    provider: str
    model: str
    effective_from: date | None
    rates: Mapping[str, float]
    created_at: float

    def as_json(self) -> dict[str, Any]:
        """The API's shape of the price."""
        return {
            "id": self.id,
            "provider": self.provider,
            "model": self.model,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "rates": dict(self.rates),
            "created_at": self.created_at,
        }


def parse_price(raw: object) -> PriceSpec:
    """A price from a request body or the command line: `{provider, model,
    effective_from?, rates: {class: USD per million tokens, request: USD}}`.

    Raises ValidationFailed naming the field at fault.
    """
    if not isinstance(raw, Mapping):
        raise ValidationFailed("a price must be a JSON object", field="body")
    unknown = sorted(set(raw) - {"provider", "model", "effective_from", "rates"})
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}", field=unknown[0])
    provider = canonical_provider(_name(raw.get("provider"), "provider"))
    assert provider is not None  # _name refuses blanks
    return PriceSpec(
        provider=provider,
        model=_name(raw.get("model"), "model").lower(),
        effective_from=parse_day(raw.get("effective_from"), "effective_from"),
        rates=_rates(raw.get("rates")),
    )


def parse_day(value: object, field: str) -> date | None:
    """A day as `YYYY-MM-DD` (None or absent: none). ValidationFailed otherwise."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationFailed("must be a day, YYYY-MM-DD", field=field)


def project_table(prices: Iterable[ProjectPrice]) -> PriceTable:
    """The table of a project's prices (to layer over the shipped one with `over`)."""
    latest: dict[tuple[str, str, date | None], ProjectPrice] = {}
    for item in sorted(prices, key=lambda p: p.id):
        latest[(item.provider, item.model, item.effective_from)] = item
    versions: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for (provider, model, day), item in latest.items():
        version: dict[str, Any] = dict(item.rates)
        if day is not None:
            version["from"] = day
        versions.setdefault((provider, model), []).append(version)
    document = {
        "model": [
            {"provider": provider, "name": model, "source": PROJECT_SOURCE, "price": price}
            for (provider, model), price in versions.items()
        ]
    }
    try:
        return PriceTable.from_document(document)
    except PriceTableError as exc:  # parse_price keeps stored prices in shape
        raise ValidationFailed(f"stored prices: {exc}", field="prices") from None


def _name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_NAME_CHARS:
        raise ValidationFailed(f"must be a name of 1 to {_MAX_NAME_CHARS} characters", field=field)
    return value.strip()


def _rates(raw: object) -> dict[str, float]:
    if not isinstance(raw, Mapping) or not raw:
        raise ValidationFailed(
            f"give at least one rate: {', '.join(RATE_KEYS)} (USD per million tokens; "
            "request: USD per request)",
            field="rates",
        )
    rates: dict[str, float] = {}
    for key, value in raw.items():
        if key not in RATE_KEYS:
            raise ValidationFailed(
                f"unknown token class {key!r}; one of {', '.join(RATE_KEYS)}",
                field=f"rates.{key}",
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationFailed("must be a number >= 0", field=f"rates.{key}")
        if not math.isfinite(value) or value < 0:
            raise ValidationFailed("must be a number >= 0", field=f"rates.{key}")
        rates[key] = float(value)
    return rates

"""An event's cost at write time: priced from its tokens and model unless the client sent one.

The merge rule calls `bill` on every model event it has merged. A cost the write itself
carries (`metadata.cost`) is the client's and always wins: it is marked
`metadata.cost_source = "given"`, and so is a cost stored before costs were computed.
Otherwise, when the event has token counts and a model a price entry matches, its cost
is computed at the price version in force on its start day (UTC): `metadata.cost`,
`metadata.cost_source = "computed"` and `metadata.cost_breakdown` (USD per token class,
the entry and where its prices come from). A computed cost is computed again on every
write of its event, so tokens or a model arriving later, or prices changed since
(`recompute`), re-price it; one whose event no price matches any more is removed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from hivekeeper.domain.pricing.cost import Cost, price
from hivekeeper.domain.pricing.table import PriceTable, shipped_table
from hivekeeper.domain.pricing.usage import normalize_usage
from hivekeeper.domain.types import JsonObject, StoredRow

COST_SOURCE: Final = "cost_source"
"""`metadata` key saying where `metadata.cost` comes from: `given` or `computed`."""
GIVEN: Final = "given"
COMPUTED: Final = "computed"
BREAKDOWN: Final = "cost_breakdown"
"""`metadata` key of a computed cost's parts and the price it used."""

PriceBook = Callable[[str], PriceTable]
"""A project id → the price table its events are priced with."""


def shipped_prices(project_id: str) -> PriceTable:
    """The price book of a server whose projects have no prices of their own."""
    return shipped_table()


def bill(row: StoredRow, written: Mapping[str, Any] | None, table: PriceTable) -> None:
    """Set or refresh the cost of the merged model event `row`, in place.

    `written` is the `metadata` the write itself carried (None if it had none): a cost
    in it is given. `row["metadata"]` is replaced, never changed in place (it may be
    the stored row's own object). Pure; never raises for any stored metadata.
    """
    metadata = row["metadata"]
    source = metadata.get(COST_SOURCE)
    if written is not None and written.get("cost") is not None:
        if source != GIVEN:
            row["metadata"] = _given(metadata, written)
        return
    if source == GIVEN or (source != COMPUTED and metadata.get("cost") is not None):
        if source != GIVEN:
            row["metadata"] = {**metadata, COST_SOURCE: GIVEN}
        return
    cost = _cost(row, table)
    if cost is not None:
        row["metadata"] = {
            **metadata,
            "cost": _usd(cost.total),
            COST_SOURCE: COMPUTED,
            BREAKDOWN: _breakdown(cost),
        }
    elif source == COMPUTED:
        row["metadata"] = {
            k: v for k, v in metadata.items() if k not in ("cost", COST_SOURCE, BREAKDOWN)
        }


def _given(metadata: JsonObject, written: Mapping[str, Any]) -> JsonObject:
    """`metadata` with its cost marked given; a computed breakdown the client did not
    send goes with the computed cost it explained."""
    out = {**metadata, COST_SOURCE: GIVEN}
    if metadata.get(COST_SOURCE) == COMPUTED and BREAKDOWN not in written:
        out.pop(BREAKDOWN, None)
    return out


def _cost(row: StoredRow, table: PriceTable) -> Cost | None:
    config = row["config"]
    model = config.get("model")
    if type(model) is not str or not model.strip():
        return None
    usage = normalize_usage(row["metadata"])
    if usage is None:
        return None
    provider = config.get("provider")
    return price(
        usage, model, provider if type(provider) is str else None, _day(row), table=table
    )


def _day(row: StoredRow) -> date:
    start = row["start_time"]
    return datetime.fromtimestamp((start or 0.0) / 1000, UTC).date()


def _usd(amount: float) -> float:
    # Rates per million tokens leave binary noise in the last digits (0.000164999…);
    # twelve decimals are a millionth of a millionth of a dollar.
    return round(amount, 12)


def _breakdown(cost: Cost) -> JsonObject:
    return {
        "parts": {part: _usd(usd) for part, usd in cost.parts.items()},
        "provider": cost.provider,
        "model": cost.model,
        "price_source": cost.source,
        "effective_from": cost.effective_from.isoformat() if cost.effective_from else None,
    }

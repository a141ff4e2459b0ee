"""Projects' own model prices on ClickHouse: versioned rows of `model_prices`, a
removal being a tombstone version, as redaction rules are kept."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import orjson

from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.pricing.project import PriceSpec, ProjectPrice
from hivekeeper.store.clickhouse._schema import MODEL_PRICES
from hivekeeper.store.clickhouse._session import Session
from hivekeeper.store.clickhouse._tenancy import Version, insert_rows, select_all


def add_price(session: Session, project_id: str, spec: PriceSpec, version: Version) -> ProjectPrice:
    # Without FINAL, removed prices' tombstones count too: ids are never reused.
    (last,) = session.rows(f"SELECT max(id) FROM {MODEL_PRICES.name}")[0]
    row = {
        "id": int(last or 0) + 1,
        "project_id": project_id,
        "provider": spec.provider,
        "model": spec.model,
        "effective_from": spec.effective_from.isoformat() if spec.effective_from else None,
        "rates": orjson.dumps(spec.rates).decode(),
        "created_at": time.time(),
    }
    insert_rows(session, MODEL_PRICES, [row], version())
    return _price(row)


def list_prices(session: Session, project_id: str | None = None) -> list[ProjectPrice]:
    rows = (
        select_all(session, MODEL_PRICES)
        if project_id is None
        else select_all(session, MODEL_PRICES, "WHERE project_id = {p:String}", p=project_id)
    )
    return sorted((_price(row) for row in rows), key=lambda price: price.id)


def remove_price(
    session: Session, price_id: int, project_id: str | None, version: Version
) -> ProjectPrice:
    for price in list_prices(session, project_id):
        if price.id == price_id:
            row = [
                price.id,
                price.project_id,
                price.provider,
                price.model,
                price.effective_from.isoformat() if price.effective_from else None,
                orjson.dumps(price.rates).decode(),
                price.created_at,
            ]
            session.insert(MODEL_PRICES, [[*row, version(), 1]])
            return price
    raise NotFound(f"no price with id {price_id}", field="price_id")


def _price(row: dict[str, Any]) -> ProjectPrice:
    day = row["effective_from"]
    return ProjectPrice(
        id=int(row["id"]),
        project_id=row["project_id"],
        provider=row["provider"],
        model=row["model"],
        effective_from=date.fromisoformat(day) if day else None,
        rates=orjson.loads(row["rates"]),
        created_at=row["created_at"],
    )

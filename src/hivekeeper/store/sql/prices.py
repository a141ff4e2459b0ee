"""Projects' own model prices in SQL (SQLite, PostgreSQL): the `model_prices` table."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import orjson

from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.pricing.project import PriceSpec, ProjectPrice
from hivekeeper.store.sql.tenancy import Connection

_SELECT = (
    "SELECT id, project_id, provider, model, effective_from, rates, created_at FROM model_prices"
)


def add_price(conn: Connection, project_id: str, spec: PriceSpec) -> ProjectPrice:
    """Store `spec` as a price of `project_id` (which must exist)."""
    day = spec.effective_from.isoformat() if spec.effective_from else None
    (price_id,) = conn.execute(
        "INSERT INTO model_prices "
        "(project_id, provider, model, effective_from, rates, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (
            project_id,
            spec.provider,
            spec.model,
            day,
            orjson.dumps(spec.rates).decode(),
            time.time(),
        ),
    ).fetchone()
    return _price(conn.execute(f"{_SELECT} WHERE id = ?", (price_id,)).fetchone())


def list_prices(conn: Connection, project_id: str | None = None) -> list[ProjectPrice]:
    """The prices of `project_id` (None: of every project), oldest first."""
    if project_id is None:
        return [_price(row) for row in conn.execute(f"{_SELECT} ORDER BY id")]
    rows = conn.execute(f"{_SELECT} WHERE project_id = ? ORDER BY id", (project_id,))
    return [_price(row) for row in rows]


def remove_price(conn: Connection, project_id: str | None, price_id: int) -> ProjectPrice:
    """Remove a price of `project_id` (None: of any project). NotFound otherwise."""
    row = conn.execute(f"{_SELECT} WHERE id = ?", (price_id,)).fetchone()
    if row is None or (project_id is not None and row[1] != project_id):
        raise NotFound(f"no price with id {price_id}", field="price_id")
    conn.execute("DELETE FROM model_prices WHERE id = ?", (price_id,))
    return _price(row)


def _price(row: Any) -> ProjectPrice:
    price_id, project_id, provider, model, day, rates, created_at = row
    return ProjectPrice(
        id=int(price_id),
        project_id=project_id,
        provider=provider,
        model=model,
        effective_from=date.fromisoformat(day) if day else None,
        rates=orjson.loads(rates),
        created_at=created_at,
    )

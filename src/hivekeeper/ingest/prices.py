"""The server's copy of every project's price table, which the writer prices events with.

Projects' own prices live in the database, where the CLI (`hivekeeper costs prices`)
and the API (`/v1/prices`) change them. The server reads them at start, again every
`refresh_s` (one query over a small table) so a change made with the CLI applies within
that time, and at once after a change made through the API (`load`). A project without
prices of its own is priced with the shipped table.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from hivekeeper.domain.pricing import PriceTable, shipped_table
from hivekeeper.domain.pricing.project import ProjectPrice, project_table
from hivekeeper.ingest.periodic import Mirror
from hivekeeper.store import Store

logger = logging.getLogger(__name__)

REFRESH_S = 2.0
"""How soon a price added or removed with the CLI applies to a running server."""


class ProjectPrices(Mirror):
    """Price tables per project id; `table` is the writer's `PriceBook`."""

    def __init__(self, store: Store, *, refresh_s: float = REFRESH_S) -> None:
        self._store = store
        self._tables: dict[str, PriceTable] = {}
        self._loaded: tuple[ProjectPrice, ...] = ()
        super().__init__("project-prices", refresh_s)

    def table(self, project_id: str) -> PriceTable:
        """The table `project_id`'s events are priced with: its prices over the shipped."""
        return self._tables.get(project_id) or shipped_table()

    def load(self) -> None:
        """Read every project's prices now. Raises the store's error if it cannot."""
        prices = tuple(self._store.list_prices())
        if prices == self._loaded:
            return
        by_project: dict[str, list[ProjectPrice]] = defaultdict(list)
        for price in prices:
            by_project[price.project_id].append(price)
        tables = {
            project_id: project_table(own).over(shipped_table())
            for project_id, own in by_project.items()
        }
        self._tables = tables  # one assignment: the writer sees old or new, never half
        self._loaded = prices
        logger.info("project prices loaded: %d prices in %d projects", len(prices), len(tables))


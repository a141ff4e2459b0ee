"""The cost engine's pure part: shipped model prices and how a model name finds its price.

`shipped_table()` is `prices.toml`; a project's table of the same shape layers over it
with `PriceTable.over`; `find_entry` picks the entry for a model and provider.
"""

from hivekeeper.domain.pricing.matching import find_entry
from hivekeeper.domain.pricing.table import (
    PriceTable,
    PriceTableError,
    TokenClass,
    shipped_table,
)

__all__ = ["PriceTable", "PriceTableError", "TokenClass", "find_entry", "shipped_table"]

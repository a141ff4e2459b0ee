"""The cost engine's pure part: shipped model prices, matching, usage, cost.

`normalize_usage` turns reported token counts into one `Usage`; `price` finds the
price entry for a model and provider (`find_entry`) and the version in force on a day,
and returns a `Cost` per token class. `shipped_table()` is `prices.toml`; a project's
table of the same shape layers over it with `PriceTable.over`.
"""

from hivekeeper.domain.pricing.cost import Cost, price
from hivekeeper.domain.pricing.matching import find_entry
from hivekeeper.domain.pricing.table import (
    PriceTable,
    PriceTableError,
    TokenClass,
    shipped_table,
)
from hivekeeper.domain.pricing.usage import Usage, normalize_usage

__all__ = [
    "Cost",
    "PriceTable",
    "PriceTableError",
    "TokenClass",
    "Usage",
    "find_entry",
    "normalize_usage",
    "price",
    "shipped_table",
]

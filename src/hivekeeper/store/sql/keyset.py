"""Keyset pagination in SQL: the rows after a given row of a sort, shared by the engines.

A page continues from the last row of the previous one (its sort value and event id)
rather than from an offset, so paging stays as cheap on page 1,000 as on page 1 and a
row written meanwhile never shifts a page.
"""

from __future__ import annotations

from hivekeeper.store.sql.fragments import Sql, sql


def after_row(column: str, value: Sql | None, event_id: Sql, *, descending: bool) -> Sql:
    """Rows strictly after the row `(value, event_id)` in `ORDER BY column, event_id`
    (both descending when `descending`), NULL ordering below every value: first
    ascending, last descending. `value` None is a NULL sort value."""
    beyond = "<" if descending else ">"
    if value is None:
        tied = sql(f"({column} IS NULL AND event_id {beyond} ", event_id, ")")
        return tied if descending else sql("(", tied, f" OR {column} IS NOT NULL)")
    ahead = sql(
        f"({column} {beyond} ", value, f" OR ({column} = ", value,
        f" AND event_id {beyond} ", event_id, ")",
    )  # fmt: skip
    return sql(ahead, f" OR {column} IS NULL)") if descending else sql(ahead, ")")

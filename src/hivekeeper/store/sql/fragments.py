"""SQL fragments with their bound parameters, shared by the SQL engines' query builders.

A fragment keeps its text and the values of its placeholders together, so a query is
assembled from parts without ever pasting a value into SQL. Engines differ only in the
placeholder they bind with (`?` for SQLite, `%s` for psycopg), passed to `param`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class Sql(NamedTuple):
    """A SQL fragment and the parameters its placeholders bind, in order."""

    text: str
    params: tuple[object, ...] = ()


def sql(*parts: Sql | str) -> Sql:
    """Concatenate fragments, keeping their parameters in placeholder order."""
    text = "".join(p if isinstance(p, str) else p.text for p in parts)
    params = tuple(v for p in parts if not isinstance(p, str) for v in p.params)
    return Sql(text, params)


def param(value: object, mark: str = "?") -> Sql:
    """One bound value, written as the engine's placeholder `mark`."""
    return Sql(mark, (value,))


def join(parts: list[Sql], separator: str) -> Sql:
    """The fragments joined by `separator` (e.g. `" AND "`)."""
    return Sql(separator.join(p.text for p in parts), tuple(v for p in parts for v in p.params))


COMPARISONS: dict[str, str] = {
    "is": "=",
    "greater than": ">",
    "after": ">",
    "less than": "<",
    "before": "<",
    "greater than or equal": ">=",
    "less than or equal": "<=",
}
"""The SQL comparison of each comparing filter operator."""

_NEGATIONS = {"is not": "is", "not contains": "contains"}


def filter_condition(operator: str, present: Sql, test: Callable[[str], Sql], *, false: str) -> Sql:
    """One filter in SQL: `exists` / `not exists` test `present`; any other operator is
    `test(operator)`, and a negation (`is not`, `not contains`) is its positive test
    negated, true also where the field is absent (Mongo `$ne`). `false` is the engine's
    false literal."""
    if operator == "exists":
        return present
    if operator == "not exists":
        return sql("NOT ", present)
    positive = _NEGATIONS.get(operator)
    result = test(positive or operator)
    # A test on an absent field is NULL or false; the negation must then be true.
    return sql("NOT COALESCE(", result, f", {false})") if positive else result

"""Read queries over the SQLite events table: filtered pages, totals and chart rows.

Translates the filter AST of `domain.filters` to SQL. Values and JSON paths are
always bound parameters; identifiers come only from the allow-lists in
`domain.filters` and `domain.types` and pass through `sql.identifiers.quote_column`.
Filter semantics:

* `exists`: the value is present and not JSON null (a whole namespace: not `{}`).
* `is not` / `not contains` also match rows where the field is absent (Mongo `$ne`).
* string: compared as text, so a stored number 5 (or 5.0) matches "5" and JSON true
  matches "true"; `contains` is a case-insensitive substring test (ASCII case folding, as
  SQLite's `lower()`) over the value's text, a whole namespace's JSON text included.
* number: only numeric values match; SQLite orders every text above every number,
  so comparisons are guarded by `typeof()`. JSON booleans read as 1 and 0.
* boolean: true matches JSON true, 1 and the text "true" (false likewise).
* datetime: epoch ms numbers, or ISO-8601 text converted with `julianday()`.
* `metadata.<roll-up>` on a session row falls back to the session's roll-up columns.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hivekeeper.domain.charts import ChartPoint, ChartQuery, chart_points
from hivekeeper.domain.filters import COLUMNS, Condition, EventQuery, FieldRef
from hivekeeper.domain.types import EVENT_TYPES, ROLLUP_FIELDS, OutlineRow, StoredRow
from hivekeeper.store.sql.fragments import COMPARISONS, filter_condition
from hivekeeper.store.sql.fragments import Sql as _Sql
from hivekeeper.store.sql.fragments import param as _param
from hivekeeper.store.sql.fragments import sql as _sql
from hivekeeper.store.sql.identifiers import quote_column
from hivekeeper.store.sql.keyset import after_row
from hivekeeper.store.sql.rows import SELECT_EVENTS, decode_row
from hivekeeper.store.sqlite._schema import INDEXED_PATHS, VISIBLE

_TEXT_COLUMNS = frozenset(COLUMNS) - {"start_time", "end_time", "duration"}
# Session aggregates as `rollup_metadata()` names them; feedback_count surfaces only
# through has_feedback.
_ROLLUPS = frozenset(ROLLUP_FIELDS) - {"feedback_count"}
_NUMERIC = "IN ('integer', 'real')"
# julianday() counts days from noon, 4714 BC; 2440587.5 is 1970-01-01T00:00:00Z.
_UNIX_EPOCH_JULIAN_DAY = 2440587.5
_OUTLINE_FIELDS = tuple(OutlineRow.__annotations__)


@dataclass(frozen=True, slots=True)
class _Operand:
    """One field as SQL: its value, its text rendering, and whether it is present."""

    value: _Sql
    text: _Sql
    present: _Sql


def where_clause(project_id: str, query: EventQuery) -> tuple[str, list[object]]:
    """The WHERE condition (without the keyword) and its parameters for `query`.

    Always restricts to `project_id` and to visible rows (a NULL `event_type` marks a
    pending update), then the date range on `start_time`, then each condition, ANDed.
    """
    parts = [_sql("project_id = ", _param(project_id)), _Sql(VISIBLE), *_date_range(query)]
    parts.extend(_sql("(", _condition(c), ")") for c in query.conditions)
    if query.search:
        parts.append(_search(project_id, query))
    return " AND ".join(p.text for p in parts), [v for p in parts for v in p.params]


def _date_range(query: EventQuery) -> list[_Sql]:
    parts = []
    if query.start_ms is not None:
        parts.append(_sql("start_time >= ", _param(query.start_ms)))
    if query.end_ms is not None:
        parts.append(_sql("start_time <= ", _param(query.end_ms)))
    return parts


def _search(project_id: str, query: EventQuery) -> _Sql:
    """The row's inputs or outputs contain the text, or (a session row) some event's do.

    A session's events are probed through the (project_id, session_id) index, one
    session at a time in the page's order, so a common term stops after about a page of
    sessions; a rare one reads every candidate session's events (a scan).
    """
    needle = (query.search or "").lower()
    matches = _sql(
        "(instr(lower(inputs), ", _param(needle), ") > 0 OR instr(lower(outputs), ",
        _param(needle), ") > 0)",
    )  # fmt: skip
    # Unqualified columns inside the sub-select name its own table, `e`.
    in_session = _sql(
        "(event_type = 'session' AND EXISTS (SELECT 1 FROM events AS e WHERE "
        "e.project_id = ", _param(project_id), " AND e.session_id = events.event_id AND ",
        matches, "))",
    )  # fmt: skip
    return _sql("(", matches, " OR ", in_session, ")")


def select_events(
    conn: sqlite3.Connection, project_id: str, query: EventQuery
) -> tuple[list[StoredRow], int | None]:
    """The page of rows `query` selects and the number of rows matching it (None when
    `query.count_total` is False).

    Rows are ordered by `query.sort`, then `event_id` (both descending when
    `query.descending`). Page and total come from one read snapshot, so they agree;
    the total ignores the `query.after` cursor (it counts the whole result).
    """
    clause, params = where_clause(project_id, query)
    direction = "DESC" if query.descending else "ASC"
    column = quote_column(query.sort)
    cursor_sql = _Sql("")
    if query.after is not None:
        value, event_id = query.after
        cursor_sql = _sql(
            " AND ",
            after_row(
                column,
                None if value is None else _param(value),
                _param(event_id),
                descending=query.descending,
            ),
        )
    page_sql = (
        f"{SELECT_EVENTS} WHERE {clause}{cursor_sql.text} "
        f"ORDER BY {column} {direction}, event_id {direction} LIMIT ? OFFSET ?"
    )
    with _read_snapshot(conn):
        total: int | None = None
        if query.count_total:
            counted = f"SELECT COUNT(*) FROM events WHERE {clause}"
            if query.count_limit is not None:
                counted = f"SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE {clause} LIMIT ?)"
            limit = [] if query.count_limit is None else [query.count_limit]
            (total,) = conn.execute(counted, [*params, *limit]).fetchone()
            if total <= query.offset:
                return [], total
        cursor = conn.execute(
            page_sql, [*params, *cursor_sql.params, query.limit, query.offset]
        )
        return [decode_row(values) for values in cursor], total


def session_outline(conn: sqlite3.Connection, project_id: str, session_id: str) -> list[OutlineRow]:
    """The outline of every visible event of a session, by start time then event id."""
    cursor = conn.execute(
        "SELECT event_id, parent_id, event_type, event_name, start_time, end_time, duration, "
        "error, CASE json_type(config, '$.model') WHEN 'text' "
        "THEN json_extract(config, '$.model') END, "
        f"CASE WHEN json_type(metadata, '$.total_tokens') {_NUMERIC} "
        "THEN json_extract(metadata, '$.total_tokens') END, "
        f"CASE WHEN json_type(metadata, '$.cost') {_NUMERIC} "
        "THEN json_extract(metadata, '$.cost') END "
        f"FROM events WHERE project_id = ? AND session_id = ? AND {VISIBLE} "
        "ORDER BY start_time, event_id",
        (project_id, session_id),
    )
    # mypy takes TypedDict(...) as keywords only; at run time it is dict(pairs).
    return [OutlineRow(zip(_OUTLINE_FIELDS, values, strict=True)) for values in cursor]  # type: ignore[misc]


def search_session(
    conn: sqlite3.Connection, project_id: str, session_id: str, text: str
) -> list[str]:
    """The ids of the session's visible events whose name, inputs, outputs or metadata
    contain `text`, case-insensitively, by start time then event id."""
    needle = text.lower()
    cursor = conn.execute(
        "SELECT event_id FROM events WHERE project_id = ? AND session_id = ? AND "
        f"{VISIBLE} AND (instr(lower(event_name), ?) > 0 OR instr(lower(inputs), ?) > 0 "
        "OR instr(lower(outputs), ?) > 0 OR instr(lower(metadata), ?) > 0) "
        "ORDER BY start_time, event_id",
        (project_id, session_id, needle, needle, needle, needle),
    )
    return [event_id for (event_id,) in cursor]


def chart(conn: sqlite3.Connection, project_id: str, chart: ChartQuery) -> list[ChartPoint]:
    """Chart points for the events `chart.query` matches, one per (bucket, group).

    Streams `(start_time, group, metric)` rows; see `domain.charts.chart_points` for
    the bucketing and the point shape. Totals are the caller's.
    """
    clause, params = where_clause(project_id, chart.query)
    metric = _operand(chart.metric).value
    group = _operand(chart.group_by).text if chart.group_by is not None else _Sql("NULL")
    select = _sql("SELECT start_time, ", group, ", ", metric, " FROM events WHERE ")
    numeric = (
        _Sql("") if chart.aggregation == "count" else _sql(" AND typeof(", metric, f") {_NUMERIC}")
    )
    sql = select.text + clause + numeric.text
    cursor = conn.execute(sql, [*select.params, *params, *numeric.params])
    try:
        return chart_points(cursor, chart)
    finally:
        cursor.close()


@contextmanager
def _read_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """Run several reads in one transaction, unless the caller already holds one."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        # Nothing was written, so COMMIT only ends the snapshot.
        conn.execute("COMMIT")


def _condition(condition: Condition) -> _Sql:
    operand = _operand(condition.field)
    return filter_condition(
        condition.operator,
        operand.present,
        lambda operator: _test(operand, condition, operator),
        false="0",
    )


def _test(operand: _Operand, condition: Condition, operator: str) -> _Sql:
    value = condition.value
    if condition.type == "string":
        if operator == "contains":
            return _sql("instr(lower(", operand.text, "), lower(", _param(value), ")) > 0")
        if condition.field.column == "event_type" and value in EVENT_TYPES:
            # A literal of the closed set, not a parameter: SQLite then sees that
            # `event_type = 'session'` is the partial index's own condition and reads
            # sessions from the index alone (a bounded count of 10,000: 200 ms -> 1 ms).
            return _sql(operand.text, f" = '{value}'")
        return _sql(operand.text, " = ", _param(value))
    if condition.type == "boolean":
        accepted = "('true', '1')" if value is True else "('false', '0')"
        return _sql("lower(", operand.text, f") IN {accepted}")
    comparison = COMPARISONS[operator]
    if condition.type == "number":
        return _sql(
            "(typeof(", operand.value, f") {_NUMERIC} AND ", operand.value,
            f" {comparison} ", _param(value), ")",
        )  # fmt: skip
    epoch_ms = _sql(
        "(CASE WHEN typeof(", operand.value, f") {_NUMERIC} THEN ", operand.value,
        " WHEN typeof(", operand.value, ") = 'text' THEN round((julianday(", operand.value,
        f") - {_UNIX_EPOCH_JULIAN_DAY}) * 86400000.0) END)",
    )  # fmt: skip
    return _sql(epoch_ms, f" {comparison} ", _param(value))


def _operand(field: FieldRef) -> _Operand:
    if field.column is not None:
        column = quote_column(field.column)
        as_text = _Sql(column) if field.column in _TEXT_COLUMNS else _number_text(_Sql(column))
        return _Operand(_Sql(column), as_text, _Sql(f"{column} IS NOT NULL"))
    namespace = quote_column(field.namespace or "")
    if not field.path:
        return _Operand(_Sql(namespace), _Sql(namespace), _Sql(f"{namespace} <> '{{}}'"))
    json_path = _json_path(field.path)
    # An indexed field's path is written out (a fixed allow-listed literal), so the
    # planner sees the index's expression; any other path stays a bound value.
    indexed = (field.namespace, field.path) in INDEXED_PATHS
    path = _Sql(f"'{json_path}'") if indexed else _param(json_path)
    value = _sql("json_extract(", namespace, ", ", path, ")")
    text = _sql(
        "(CASE json_type(", namespace, ", ", path, ") WHEN 'true' THEN 'true' "
        "WHEN 'false' THEN 'false' WHEN 'real' THEN ", _number_text(value),
        " ELSE CAST(", value, " AS TEXT) END)",
    )  # fmt: skip
    if field.namespace == "metadata" and len(field.path) == 1:
        rollup = _rollup(field.path[0])
        if rollup is not None:
            rollup_value, rollup_text = rollup
            value = _sql("COALESCE(", value, ", ", rollup_value, ")")
            text = _sql("COALESCE(", text, ", ", rollup_text, ")")
    return _Operand(value, text, _sql(value, " IS NOT NULL"))


def _rollup(name: str) -> tuple[str, str] | None:
    """A session's roll-up as (value, text) SQL, NULL on other rows; None if `name` is none."""
    if name == "has_feedback":
        test = f"({quote_column('feedback_count')} > 0 OR {quote_column('feedback')} <> '{{}}')"
        return (
            f"(CASE WHEN event_type = 'session' THEN {test} END)",
            f"(CASE WHEN event_type = 'session' THEN "
            f"(CASE WHEN {test} THEN 'true' ELSE 'false' END) END)",
        )
    if name not in _ROLLUPS:
        return None
    column = quote_column(name)
    return (
        f"(CASE WHEN event_type = 'session' THEN {column} END)",
        f"(CASE WHEN event_type = 'session' THEN {_number_text(_Sql(column)).text} END)",
    )


def _number_text(number: _Sql) -> _Sql:
    """A number as text, whole reals without `.0`, so a stored 120.0 matches "120"."""
    return _sql(
        "(CASE WHEN ", number, " = CAST(", number, " AS INTEGER) THEN CAST(CAST(", number,
        " AS INTEGER) AS TEXT) ELSE CAST(", number, " AS TEXT) END)",
    )  # fmt: skip


def _json_path(path: tuple[str, ...]) -> str:
    """A SQLite JSON path: all-digit segments index arrays, others are quoted keys.

    `domain.filters` guarantees segments hold no `"`, so quoting needs no escapes.
    """
    return "$" + "".join(
        f"[{segment}]" if segment.isascii() and segment.isdigit() else f'."{segment}"'
        for segment in path
    )

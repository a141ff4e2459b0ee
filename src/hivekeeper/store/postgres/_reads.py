"""Read queries over the PostgreSQL events table: filtered pages, totals and chart rows.

Translates the filter AST of `domain.filters` to SQL with SQLite's semantics exactly
(see `sqlite._reads` for the rules): what a filter matches must not depend on the
engine. Where the engines differ, the `hk_*` functions of `postgres._schema` give
PostgreSQL SQLite's view of a value:

* text: numbers render as SQLite renders them (`hk_number_text`: whole numbers without
  `.0`, others with 15 significant digits), booleans as `true`/`false`.
* numbers: JSON numbers, and booleans as 1 and 0 (`hk_json_number`); text never.
* datetime: numbers, or the text forms SQLite's `julianday()` reads (`hk_text_ms`).
* case folding is ASCII only (`lower(... COLLATE "C")`), as SQLite's `lower()`.
* a JSON path reads only what SQLite's would: a digit segment indexes an array and
  never names an object key (strict jsonpath), a key never indexes an array (`#>`).

PostgreSQL text cannot hold NUL, so no stored value contains one: a filter value with
NUL compares as no match (and its negation as a match) without reaching the server.
Values and JSON paths are always bound; identifiers come only from the allow-lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
import psycopg
from psycopg.rows import TupleRow

from hivekeeper.domain.charts import ChartPoint, ChartQuery, chart_points
from hivekeeper.domain.filters import Condition, EventQuery, FieldRef
from hivekeeper.domain.types import ROLLUP_FIELDS, OutlineRow, StoredRow
from hivekeeper.store.postgres._schema import VISIBLE
from hivekeeper.store.sql.fragments import (
    COMPARISONS,
    Sql,
    filter_condition,
    join,
    param,
    sql,
)
from hivekeeper.store.sql.identifiers import quote_column
from hivekeeper.store.sql.keyset import after_row
from hivekeeper.store.sql.rows import SELECT_EVENTS, decode_row

Connection = psycopg.Connection[TupleRow]

_NUMBER_COLUMNS = frozenset({"start_time", "end_time", "duration"})
# Session aggregates as `rollup_metadata()` names them; feedback_count surfaces only
# through has_feedback.
_ROLLUPS = frozenset(ROLLUP_FIELDS) - {"feedback_count"}
# Namespaces with a jsonb_path_ops GIN index (see `postgres._schema`).
_INDEXED = frozenset({"metadata", "config"})
# Array indexes past int32 name no element (and jsonpath cannot spell them).
_MAX_INDEX = 2**31 - 1
_INTEGER_LIKE = re.compile(r"\s*[+-]?\d+\s*")
_OUTLINE_FIELDS = tuple(OutlineRow.__annotations__)
_FALSE = Sql("FALSE")
_SESSION = "event_type = 'session'"
_param = partial(param, mark="%s")


def _text(value: object) -> Sql:
    return Sql("%s::text", (value,))


@dataclass(frozen=True, slots=True)
class _Operand:
    """One field as SQL: as a number, as text, as epoch ms, and whether it is present.

    Each is NULL where SQLite's view of the value is not of that kind.
    """

    number: Sql
    text: Sql
    epoch_ms: Sql
    present: Sql
    # `namespace @> {path: value}` holds whenever the value is the string `value`
    # (None: no such containment test for this field).
    contains_path: tuple[str, tuple[str, ...]] | None = None


def where_clause(project_id: str, query: EventQuery) -> Sql:
    """The WHERE condition (without the keyword) for `query`: the project, visible rows,
    the date range on `start_time`, each condition and the search, ANDed."""
    parts = [sql("project_id = ", _text(project_id)), Sql(VISIBLE), *_date_range(query)]
    parts.extend(sql("(", _condition(c), ")") for c in query.conditions)
    if query.search:
        parts.append(_search(project_id, query))
    return join(parts, " AND ")


def select_events(
    conn: Connection, project_id: str, query: EventQuery
) -> tuple[list[StoredRow], int | None]:
    """The page of rows `query` selects and the number matching it (None when
    `query.count_total` is False), from one snapshot so the two agree; the total
    ignores the `query.after` cursor (it counts the whole result).

    Ordered by `query.sort`, then `event_id`, both descending when `query.descending`;
    NULL orders below every value, as in SQLite (PostgreSQL's default is above).
    """
    where = where_clause(project_id, query)
    column = quote_column(query.sort)
    direction = "DESC NULLS LAST" if query.descending else "ASC NULLS FIRST"
    page = sql(f"{SELECT_EVENTS} WHERE ", where)
    if query.after is not None:
        value, event_id = query.after
        bound = None if value is None else Sql("%s::float8", (value,))
        cursor = after_row(column, bound, _text(event_id), descending=query.descending)
        page = sql(page, " AND ", cursor)
    page = sql(
        page, f" ORDER BY {column} {direction}, event_id {direction.split()[0]} ",
        "LIMIT ", _param(query.limit), " OFFSET ", _param(query.offset),
    )  # fmt: skip
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        total: int | None = None
        if query.count_total:
            counted = f"SELECT COUNT(*) FROM events WHERE {where.text}"
            if query.count_limit is not None:
                counted = (
                    f"SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE {where.text} "
                    f"LIMIT {int(query.count_limit)}) AS matches"
                )
            row = conn.execute(counted, where.params)
            total = _first(row.fetchone())
            if total <= query.offset:
                return [], total
        return [decode_row(values) for values in conn.execute(page.text, page.params)], total


def search_session(conn: Connection, project_id: str, session_id: str, text: str) -> list[str]:
    """The ids of the session's visible events whose name, inputs, outputs or metadata
    contain `text`, case-insensitively, by start time then event id."""
    needle = text.lower()
    if "\x00" in needle:
        return []
    found = conn.execute(
        "SELECT event_id FROM events WHERE project_id = %s AND session_id = %s AND "
        f"{VISIBLE} AND (strpos(lower(event_name COLLATE \"C\"), %s) > 0 "
        "OR strpos(lower(inputs::text COLLATE \"C\"), %s) > 0 "
        "OR strpos(lower(outputs::text COLLATE \"C\"), %s) > 0 "
        "OR strpos(lower(metadata::text COLLATE \"C\"), %s) > 0) "
        "ORDER BY start_time, event_id",
        (project_id, session_id, needle, needle, needle, needle),
    )
    return [row[0] for row in found]


def session_outline(conn: Connection, project_id: str, session_id: str) -> list[OutlineRow]:
    """The outline of every visible event of a session, by start time then event id."""
    # Numbers travel as JSON text, so a whole number stays an int as in SQLite.
    cursor = conn.execute(
        "SELECT event_id, parent_id, event_type, event_name, start_time, end_time, duration, "
        "error, CASE jsonb_typeof(config -> 'model') WHEN 'string' THEN config ->> 'model' END, "
        "CASE jsonb_typeof(metadata -> 'total_tokens') WHEN 'number' "
        "THEN metadata -> 'total_tokens' END, "
        "CASE jsonb_typeof(metadata -> 'cost') WHEN 'number' THEN metadata -> 'cost' END "
        f"FROM events WHERE project_id = %s AND session_id = %s AND {VISIBLE} "
        "ORDER BY start_time NULLS FIRST, event_id",
        (project_id, session_id),
    )
    outline: list[OutlineRow] = []
    for values in cursor:
        fields: dict[str, Any] = dict(zip(_OUTLINE_FIELDS, values, strict=True))
        for name in ("total_tokens", "cost"):
            if fields[name] is not None:
                fields[name] = orjson.loads(fields[name])
        outline.append(fields)  # type: ignore[arg-type]  # keys are OutlineRow's, in order
    return outline


def chart(conn: Connection, project_id: str, chart: ChartQuery) -> list[ChartPoint]:
    """Chart points for the events `chart.query` matches, one per (bucket, group).

    Streams `(start_time, group, metric)` rows through a server-side cursor; see
    `domain.charts.chart_points` for the bucketing and the point shape.
    """
    where = where_clause(project_id, chart.query)
    metric = _operand(chart.metric).number
    group = _operand(chart.group_by).text if chart.group_by is not None else Sql("NULL")
    numeric = Sql("") if chart.aggregation == "count" else sql(" AND ", metric, " IS NOT NULL")
    query = sql("SELECT start_time, ", group, ", ", metric, " FROM events WHERE ", where, numeric)
    with conn.transaction(), conn.cursor(name="hivekeeper_chart") as cursor:
        cursor.itersize = 5000
        cursor.execute(query.text, query.params)
        return chart_points(cursor, chart)


def _first(row: TupleRow | None) -> int:
    assert row is not None  # an aggregate always answers one row
    value: int = row[0]
    return value


def _date_range(query: EventQuery) -> list[Sql]:
    parts = []
    if query.start_ms is not None:
        parts.append(sql("start_time >= ", _param(query.start_ms)))
    if query.end_ms is not None:
        parts.append(sql("start_time <= ", _param(query.end_ms)))
    return parts


def _search(project_id: str, query: EventQuery) -> Sql:
    """The row's inputs or outputs contain the text, or (a session row) some event's do.

    Each candidate session's events are probed through the (project_id, session_id)
    index, in the page's order, so a common term stops after about a page of sessions.
    """
    needle = (query.search or "").lower()
    if "\x00" in needle:
        return _FALSE
    matches = sql(
        "(strpos(lower(inputs::text COLLATE \"C\"), ", _text(needle), ") > 0 OR "
        "strpos(lower(outputs::text COLLATE \"C\"), ", _text(needle), ") > 0)",
    )  # fmt: skip
    # Unqualified columns inside the sub-select name its own table, `e`.
    in_session = sql(
        f"({_SESSION} AND EXISTS (SELECT 1 FROM events AS e WHERE e.project_id = ",
        _text(project_id), " AND e.session_id = events.event_id AND ", matches, "))",
    )  # fmt: skip
    return sql("(", matches, " OR ", in_session, ")")


def _condition(condition: Condition) -> Sql:
    operand = _operand(condition.field)
    return filter_condition(
        condition.operator,
        operand.present,
        lambda operator: _test(operand, condition, operator),
        false="FALSE",
    )


def _test(operand: _Operand, condition: Condition, operator: str) -> Sql:
    value = condition.value
    if condition.type == "string":
        assert isinstance(value, str)
        if "\x00" in value:
            return _FALSE
        if operator == "contains":
            return sql(
                "strpos(lower(", operand.text, ' COLLATE "C"), lower(', _text(value),
                ' COLLATE "C")) > 0',
            )  # fmt: skip
        equal = sql(operand.text, " = ", _text(value))
        prefilter = _containment(operand, value)
        return equal if prefilter is None else sql("(", prefilter, " AND ", equal, ")")
    if condition.type == "boolean":
        accepted = "('true', '1')" if value is True else "('false', '0')"
        return sql("lower(", operand.text, f' COLLATE "C") IN {accepted}')
    comparison = COMPARISONS[operator]
    side = operand.number if condition.type == "number" else operand.epoch_ms
    return sql(side, f" {comparison} ", Sql("%s::float8", (value,)))


def _containment(operand: _Operand, value: str) -> Sql | None:
    """`namespace @> {path: value}`, which the GIN index answers, when it is implied by
    the text being `value`: that is, when only a JSON string can render as `value`."""
    if operand.contains_path is None or _renders_as_non_string(value):
        return None
    namespace, path = operand.contains_path
    document: object = value
    for key in reversed(path):
        document = {key: document}
    contained = Sql("%s::jsonb", (orjson.dumps(document).decode(),))
    return sql(f"{quote_column(namespace)} @> ", contained)


def _renders_as_non_string(value: str) -> bool:
    """Whether a number, a boolean, an object or an array could render as `value`."""
    if value in ("true", "false") or value.startswith(("{", "[")):
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True


def _operand(field: FieldRef) -> _Operand:
    if field.column is not None:
        column = quote_column(field.column)
        present = Sql(f"{column} IS NOT NULL")
        if field.column in _NUMBER_COLUMNS:
            return _Operand(Sql(column), Sql(f"hk_number_text({column})"), Sql(column), present)
        return _Operand(Sql("NULL::float8"), Sql(column), Sql(f"hk_text_ms({column})"), present)
    namespace = quote_column(field.namespace or "")
    if not field.path:
        return _Operand(
            Sql("NULL::float8"), Sql(f"{namespace}::text"), Sql("NULL::float8"),
            Sql(f"{namespace} <> '{{}}'::jsonb"),
        )  # fmt: skip
    value = _json_value(namespace, field.path)
    number, text, epoch_ms = (
        sql("hk_json_number(", value, ")"),
        sql("hk_json_text(", value, ")"),
        sql("hk_json_ms(", value, ")"),
    )
    present = sql("(", value, ") IS NOT NULL")
    contains_path = None
    if field.namespace in _INDEXED and all(_plain_key(s) for s in field.path):
        contains_path = (field.namespace or "", field.path)
    if field.namespace == "metadata" and len(field.path) == 1:
        rollup = _rollup(field.path[0])
        if rollup is not None:
            rollup_number, rollup_text = rollup
            # SQLite's COALESCE(json value, roll-up): a present value of any kind wins.
            number = sql("(CASE WHEN ", present, " THEN ", number, f" ELSE {rollup_number} END)")
            text = sql("(CASE WHEN ", present, " THEN ", text, f" ELSE {rollup_text} END)")
            epoch_ms = sql(
                "(CASE WHEN ", present, " THEN ", epoch_ms, f" ELSE {rollup_number} END)"
            )
            present = sql("(", present, f" OR {_SESSION})")
            contains_path = None
    return _Operand(number, text, epoch_ms, present, contains_path)


def _json_value(namespace: str, path: tuple[str, ...]) -> Sql:
    """The JSON value at `path`, SQL NULL when absent or JSON null (as SQLite's)."""
    if all(_plain_key(s) for s in path):
        return sql(f"NULLIF({namespace} #> ", Sql("%s::text[]", (list(path),)), ", 'null'::jsonb)")
    if any(_is_index(s) and int(s) > _MAX_INDEX for s in path):
        return Sql("NULL::jsonb")
    steps = "".join(
        f"[{int(s)}]" if _is_index(s) else '."' + s.replace("\\", "\\\\") + '"' for s in path
    )
    return sql(
        f"NULLIF(jsonb_path_query_first({namespace}, ",
        Sql("%s::jsonpath", (f"strict ${steps}",)),
        ", '{}'::jsonb, TRUE), 'null'::jsonb)",
    )


def _is_index(segment: str) -> bool:
    return segment.isascii() and segment.isdigit()


def _plain_key(segment: str) -> bool:
    """A segment `#>` can only read as an object key (it reads `-1` as an array index)."""
    return _INTEGER_LIKE.fullmatch(segment) is None


def _rollup(name: str) -> tuple[str, str] | None:
    """A session's roll-up as (number, text) SQL, NULL on other rows; None if `name` is none."""
    if name == "has_feedback":
        feedback_count, feedback = quote_column("feedback_count"), quote_column("feedback")
        test = f"({feedback_count} > 0 OR {feedback} <> '{{}}'::jsonb)"
        return (
            f"(CASE WHEN {_SESSION} THEN (CASE WHEN {test} THEN 1.0 ELSE 0.0 END)::float8 END)",
            f"(CASE WHEN {_SESSION} THEN (CASE WHEN {test} THEN 'true' ELSE 'false' END) END)",
        )
    if name not in _ROLLUPS:
        return None
    column = quote_column(name)
    return (
        f"(CASE WHEN {_SESSION} THEN {column}::float8 END)",
        f"(CASE WHEN {_SESSION} THEN hk_number_text({column}::float8) END)",
    )

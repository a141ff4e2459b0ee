"""Read queries over the ClickHouse events table, with the SQLite store's semantics.

The filter AST of `domain.filters` becomes ClickHouse SQL whose values (and JSON
keys) are server-side parameters `{pN:Type}`; identifiers come only from allow-lists.
The semantics are those `sqlite._reads` documents, reproduced value by value: SQLite's
view of a JSON value is rebuilt as three expressions, its `typeof()` (*kind*), its
number and its text. So a JSON `true` is the integer 1 to a number filter and "true"
to a string one, a real prints as SQLite's `%!.15g` (whole reals without `.0`), and
ISO text converts to epoch ms with SQLite's `julianday()` arithmetic (its forms
`YYYY-MM-DD[ T]HH:MM[:SS[.f]][Z|±HH:MM]`, `HH:MM...` and Julian day numbers).
`lower()` folds ASCII only in both engines.

Rows are read through `FINAL`, which resolves each key to its newest version before
any WHERE condition applies: a row whose old version matched never shows up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hivekeeper.domain.charts import ChartPoint, ChartQuery, chart_points
from hivekeeper.domain.filters import Condition, EventQuery, FieldRef
from hivekeeper.domain.types import ROLLUP_FIELDS, OutlineRow, StoredRow
from hivekeeper.store.clickhouse._schema import SELECT_EVENTS, VISIBLE, decode_row
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

Query = Callable[[str, dict[str, object]], Sequence[Sequence[Any]]]
"""Runs a SELECT with parameters and returns its rows (the store's reader)."""
Stream = Callable[[str, dict[str, object]], Iterable[Sequence[Any]]]

_MARK = "{?}"
_REAL_COLUMNS = frozenset({"start_time", "end_time", "duration"})
_ROLLUPS = frozenset(ROLLUP_FIELDS) - {"feedback_count"}
_INTEGER_ROLLUPS = frozenset({"num_events", "num_model_events", "feedback_count", "error_count"})
_NUMERIC_KINDS = "('integer', 'real')"
# An array index past any real array: a bigger digit segment cannot overflow Int64.
_MAX_INDEX = 2**62
# julianday()'s epoch offset: 1970-01-01T00:00:00Z is Julian day 2440587.5, in ms.
_UNIX_EPOCH_JD_MS = 210_866_760_000_000
# SQLite's date-and-time forms (date.c parseYyyyMmDd / parseHhMmSs / parseTimezone).
_ISO = (
    r"^(?:(-?)(\d{4})-(\d{2})-(\d{2})[\t\n\v\f\r T]*)?"
    r"(?:(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?[\t\n\v\f\r ]*"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))?[\t\n\v\f\r ]*)?$"
)
_JULIAN_NUMBER = r"^[\t\n\v\f\r ]*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[\t\n\v\f\r ]*$"


def _param(value: object) -> Sql:
    return param(value, _MARK)


def render(fragment: Sql) -> tuple[str, dict[str, object]]:
    """The fragment's text with each mark as a typed `{pN:Type}` parameter, and the
    parameters by name."""
    pieces = fragment.text.split(_MARK)
    if len(pieces) != len(fragment.params) + 1:
        raise ValueError("a SQL fragment's text holds a parameter mark of its own")
    text = [pieces[0]]
    params: dict[str, object] = {}
    for i, (value, piece) in enumerate(zip(fragment.params, pieces[1:], strict=True)):
        name = f"p{i}"
        params[name] = value
        text.append(f"{{{name}:{_type_of(value)}}}")
        text.append(piece)
    return "".join(text), params


def _type_of(value: object) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return "Array(String)"
    raise TypeError(f"no ClickHouse parameter type for {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class _Operand:
    """One field as SQLite would see it: `kind` is its typeof() ('null', 'integer',
    'real' or 'text'), `number` its value when numeric, `text` its text rendering."""

    kind: Sql
    number: Sql
    text: Sql

    @property
    def present(self) -> Sql:
        return sql("(", self.kind, " != 'null')")


def where_clause(project_id: str, query: EventQuery) -> Sql:
    """The WHERE condition (without the keyword) for `query`: its project, visible rows,
    the date range on `start_time`, each condition, and the search, ANDed."""
    parts = [sql("project_id = ", _param(project_id)), Sql(VISIBLE), *_date_range(query)]
    parts.extend(sql("(", _condition(c), ")") for c in query.conditions)
    if query.search:
        parts.append(_search(project_id, query))
    return join(parts, " AND ")


def _date_range(query: EventQuery) -> list[Sql]:
    parts = []
    if query.start_ms is not None:
        parts.append(sql("start_time >= ", _param(query.start_ms)))
    if query.end_ms is not None:
        parts.append(sql("start_time <= ", _param(query.end_ms)))
    return parts


def _search(project_id: str, query: EventQuery) -> Sql:
    """The row's inputs or outputs contain the text, or (a session row) some event's
    do; the session's rows are shard-local in a cluster, so the IN stays local."""
    needle = (query.search or "").lower()
    matches = sql(
        "(position(lower(inputs), ", _param(needle), ") > 0 OR position(lower(outputs), ",
        _param(needle), ") > 0)",
    )  # fmt: skip
    inner = join([sql("project_id = ", _param(project_id)), matches], " AND ")
    in_session = sql(
        "(event_type = 'session' AND event_id IN (SELECT session_id FROM events FINAL WHERE ",
        inner, "))",
    )  # fmt: skip
    return sql("(", matches, " OR ", in_session, ")")


def select_events(
    query_rows: Query, project_id: str, query: EventQuery
) -> tuple[list[StoredRow], int | None]:
    """The page of rows `query` selects and the number matching (None when
    `query.count_total` is False), ordered by `query.sort` then `event_id`.

    The page's keys are found first on the narrow columns, then only those rows'
    payloads are read; without a transaction, a write between the count and the page
    can make them disagree by that write.
    """
    clause = where_clause(project_id, query)
    total: int | None = None
    if query.count_total:
        counted = sql("SELECT count() FROM events FINAL WHERE ", clause)
        if query.count_limit is not None:
            counted = sql(
                "SELECT count() FROM (SELECT 1 FROM events FINAL WHERE ", clause,
                f" LIMIT {int(query.count_limit)})",
            )  # fmt: skip
        text, params = render(counted)
        total = int(query_rows(text, params)[0][0])
        if total <= query.offset:
            return [], total
    direction = "DESC" if query.descending else "ASC"
    column = quote_column(query.sort, "`")
    if query.after is not None:
        value, event_id = query.after
        cursor = after_row(
            column,
            None if value is None else _param(float(value)),
            _param(event_id),
            descending=query.descending,
        )
        clause = sql(clause, " AND ", cursor)
    # NULL orders below every value, as in SQLite: first ascending, last descending.
    nulls = "LAST" if query.descending else "FIRST"
    page = sql(
        "SELECT event_id FROM events FINAL WHERE ", clause,
        f" ORDER BY {column} {direction} NULLS {nulls}, event_id {direction} LIMIT ",
        _param(query.limit), " OFFSET ", _param(query.offset),
    )  # fmt: skip
    ids = [row[0] for row in query_rows(*render(page))]
    if not ids:
        return [], total
    rows = fetch_rows(query_rows, project_id, ids)
    return [rows[i] for i in ids if i in rows], total


def fetch_rows(
    query_rows: Query, project_id: str, event_ids: Sequence[str]
) -> dict[str, StoredRow]:
    """The current rows (pending ones included) of these event ids, by event id."""
    text, params = render(
        sql(
            SELECT_EVENTS,
            " WHERE project_id = ",
            _param(project_id),
            " AND event_id IN ",
            _param(list(event_ids)),
        )
    )
    return {row["event_id"]: row for row in map(decode_row, query_rows(text, params))}


def existing_ids(query_rows: Query, project_id: str, event_ids: Sequence[str]) -> list[str]:
    """Which of these event ids have a current row (pending ones included).

    Reads only the key and version columns. A point read of a whole row decompresses
    its granule's payloads (8,192 rows of JSON), so a batch of new events, each in a
    different granule, is looked up here first and mostly never read whole.
    """
    select = sql(
        "SELECT event_id FROM events FINAL WHERE project_id = ", _param(project_id),
        " AND event_id IN ", _param(list(event_ids)),
    )  # fmt: skip
    return [row[0] for row in query_rows(*render(select))]


def session_outline(query_rows: Query, project_id: str, session_id: str) -> list[OutlineRow]:
    """The outline of every visible event of a session, by start time then event id."""
    text, params = render(
        sql(
            "SELECT event_id, parent_id, event_type, event_name, start_time, end_time, "
            "duration, error, if(JSONType(config, 'model') = 'String', "
            "JSONExtractString(config, 'model'), NULL), ",
            _outline_number("total_tokens"),
            ", ",
            _outline_number("cost"),
            " FROM events FINAL WHERE project_id = ",
            _param(project_id),
            " AND session_id = ",
            _param(session_id),
            f" AND {VISIBLE} ORDER BY start_time, event_id",
        )
    )
    out: list[OutlineRow] = []
    for row in query_rows(text, params):
        values = list(row[:9])
        for kind, number in (row[9:11], row[11:13]):
            values.append(_json_number(kind, number))
        # mypy takes TypedDict(...) as keywords only; at run time it is dict(pairs).
        out.append(OutlineRow(zip(OutlineRow.__annotations__, values, strict=True)))  # type: ignore[misc]
    return out


def search_session(query_rows: Query, project_id: str, session_id: str, text: str) -> list[str]:
    """The ids of the session's visible events whose name, inputs, outputs or metadata
    contain `text`, case-insensitively, by start time then event id."""
    needle = _param(text.lower())
    select = sql(
        "SELECT event_id FROM events FINAL WHERE project_id = ", _param(project_id),
        " AND session_id = ", _param(session_id), f" AND {VISIBLE} AND (",
        "position(lower(ifNull(event_name, '')), ", needle, ") > 0 OR ",
        "position(lower(inputs), ", needle, ") > 0 OR position(lower(outputs), ", needle,
        ") > 0 OR position(lower(metadata), ", needle, ") > 0) ORDER BY start_time, event_id",
    )  # fmt: skip
    return [row[0] for row in query_rows(*render(select))]


def _outline_number(key: str) -> str:
    # The type travels with the value: SQLite answers JSON 5 as int 5, 5.0 as 5.0.
    return f"toString(JSONType(metadata, '{key}')), JSONExtractFloat(metadata, '{key}')"


def _json_number(kind: str, number: float) -> int | float | None:
    if kind in ("Int64", "UInt64"):
        return int(number)
    return number if kind == "Double" else None


def chart(stream: Stream, project_id: str, chart: ChartQuery) -> list[ChartPoint]:
    """Chart points for the events `chart.query` matches, one per (bucket, group):
    `(start_time, group, metric)` rows streamed into `domain.charts.chart_points`."""
    metric = _operand(chart.metric)
    group = _operand(chart.group_by).text if chart.group_by is not None else Sql("NULL")
    numeric = Sql("") if chart.aggregation == "count" else sql(" AND ", _kind_in(metric))
    text, params = render(
        sql(
            "SELECT start_time, ",
            group,
            ", ",
            metric.number,
            " FROM events FINAL WHERE ",
            where_clause(project_id, chart.query),
            numeric,
        )
    )
    return chart_points(stream(text, params), chart)


def _kind_in(operand: _Operand) -> Sql:
    return sql(operand.kind, f" IN {_NUMERIC_KINDS}")


def _condition(condition: Condition) -> Sql:
    operand = _operand(condition.field)
    return filter_condition(
        condition.operator,
        operand.present,
        lambda operator: _test(operand, condition, operator),
        false="0",
    )


def _test(operand: _Operand, condition: Condition, operator: str) -> Sql:
    value = condition.value
    if condition.type == "string":
        if operator == "contains":
            return sql("position(lower(", operand.text, "), lower(", _param(value), ")) > 0")
        return sql(operand.text, " = ", _param(value))
    if condition.type == "boolean":
        accepted = "('true', '1')" if value is True else "('false', '0')"
        return sql("lower(", operand.text, f") IN {accepted}")
    comparison = COMPARISONS[operator]
    if condition.type == "number":
        return sql(
            "(", _kind_in(operand), " AND ", operand.number, f" {comparison} ", _param(value), ")"
        )
    epoch_ms = sql(
        "multiIf(", _kind_in(operand), ", ", operand.number, ", ", operand.kind,
        " = 'text', ", _julian_epoch_ms(operand.text), ", NULL)",
    )  # fmt: skip
    return sql(epoch_ms, f" {comparison} ", _param(value))


def _operand(field: FieldRef) -> _Operand:
    if field.column is not None:
        column = quote_column(field.column, "`")
        if field.column in _REAL_COLUMNS:
            return _Operand(
                Sql(f"if(isNull({column}), 'null', 'real')"),
                Sql(column),
                _number_text(Sql(column)),
            )
        return _Operand(
            Sql(f"if(isNull({column}), 'null', 'text')"), Sql("CAST(NULL AS Nullable(Float64))"),
            Sql(f"CAST({column} AS Nullable(String))"),
        )  # fmt: skip
    namespace = quote_column(field.namespace or "", "`")
    if not field.path:
        return _Operand(
            Sql(f"if({namespace} = '{{}}', 'null', 'text')"),
            Sql("CAST(NULL AS Nullable(Float64))"),
            Sql(f"CAST({namespace} AS Nullable(String))"),
        )
    operand = _json_operand(namespace, field.path)
    if field.namespace == "metadata" and len(field.path) == 1:
        rollup = _rollup(field.path[0])
        if rollup is not None:
            found = operand.present
            operand = _Operand(
                sql("if(", found, ", ", operand.kind, ", ", rollup.kind, ")"),
                sql("if(", found, ", ", operand.number, ", ", rollup.number, ")"),
                sql("if(", found, ", ", operand.text, ", ", rollup.text, ")"),
            )
    return operand


def _json_operand(namespace: str, path: tuple[str, ...]) -> _Operand:
    """A JSON value as SQLite's `json_extract` sees it. All-digit segments index
    arrays only (`$[n]`), so they also require an array at that point."""
    args: list[Sql] = [Sql(namespace)]
    guards: list[Sql] = []
    for segment in path:
        if segment.isascii() and segment.isdigit():
            guards.append(sql("JSONType(", join(args, ", "), ") = 'Array'"))
            args.append(_param(min(int(segment), _MAX_INDEX) + 1))
        else:
            args.append(_param(segment))
    at = join(args, ", ")
    json_type = sql("toString(JSONType(", at, "))")
    if guards:
        json_type = sql("if(", join(guards, " AND "), ", ", json_type, ", 'Null')")
    kind = sql(
        "multiIf(", json_type, " IN ('Int64', 'UInt64', 'Bool'), 'integer', ", json_type,
        " = 'Double', 'real', ", json_type, " IN ('String', 'Array', 'Object'), 'text', 'null')",
    )  # fmt: skip
    number = sql(
        "multiIf(", json_type, " IN ('Int64', 'UInt64', 'Double'), JSONExtractFloat(", at,
        "), ", json_type, " = 'Bool', toFloat64(JSONExtractBool(", at, ")), NULL)",
    )  # fmt: skip
    text = sql(
        "multiIf(", json_type, " = 'Bool', if(JSONExtractBool(", at, ") = 1, 'true', 'false'), ",
        json_type, " = 'Double', ", _number_text(sql("JSONExtractFloat(", at, ")")), ", ",
        json_type, " = 'Int64', toString(JSONExtractInt(", at, ")), ",
        json_type, " = 'UInt64', toString(JSONExtractUInt(", at, ")), ",
        json_type, " = 'String', JSONExtractString(", at, "), ",
        json_type, " IN ('Array', 'Object'), JSONExtractRaw(", at, "), NULL)",
    )  # fmt: skip
    return _Operand(kind, number, text)


def _rollup(name: str) -> _Operand | None:
    """A session's roll-up (NULL on other rows); None if `name` is not one."""
    session = "event_type = 'session'"
    if name == "has_feedback":
        test = "(feedback_count > 0 OR feedback != '{}')"
        return _Operand(
            Sql(f"if({session}, 'integer', 'null')"),
            Sql(f"if({session}, toFloat64({test}), NULL)"),
            Sql(f"if({session}, if({test}, 'true', 'false'), NULL)"),
        )
    if name not in _ROLLUPS:
        return None
    column = quote_column(name, "`")
    kind = "integer" if name in _INTEGER_ROLLUPS else "real"
    number = f"toFloat64({column})"
    return _Operand(
        Sql(f"if({session}, '{kind}', 'null')"),
        Sql(f"if({session}, {number}, NULL)"),
        sql(f"if({session}, ", _number_text(Sql(number)), ", NULL)"),
    )


def _number_text(number: Sql) -> Sql:
    """SQLite's text for a real: whole values as integers (`CAST(x AS INTEGER)`, whose
    range is Int64), others as its `%!.15g` (at least one decimal, 2-digit exponent)."""
    whole = sql(
        number, " >= -9223372036854775808. AND ", number, " < 9223372036854775808. AND ",
        number, " = trunc(", number, ")",
    )  # fmt: skip
    g = sql("printf('%.15g', ", number, ")")
    real = sql(
        "multiIf(position(", g, ", '.') > 0, ", g, ", position(", g, ", 'e') > 0, "
        "replaceOne(", g, ", 'e', '.0e'), concat(", g, ", '.0'))",
    )  # fmt: skip
    return sql(
        "if(isNull(", number, "), NULL, if(", whole, ", toString(toInt64(", number, ")), ",
        real, "))",
    )  # fmt: skip


def _julian_epoch_ms(text: Sql) -> Sql:
    """Epoch ms of ISO text (or a Julian day number) as SQLite's julianday() reads it,
    NULL for anything it rejects. Integer arithmetic as in SQLite's computeJD().

    `text` and its regex groups are each bound once, as the argument of a lambda
    (`arrayMap(t -> …, [text])[1]`): spelled out at each of their ~30 uses, one
    datetime filter on a JSON path ran to 74 KB of SQL, and a few of them past
    ClickHouse's max_query_size.
    """
    return sql("arrayMap(t -> ", _julian_epoch_ms_of(Sql("t")), ", [", text, "])[1]")


def _julian_epoch_ms_of(text: Sql) -> Sql:
    """`_julian_epoch_ms` of the short expression `text`."""
    groups = sql("extractGroups(", text, f", {_literal(_ISO)})")
    return sql("arrayMap(g -> ", _epoch_ms_of_groups(text, Sql("g")), ", [", groups, "])[1]")


def _epoch_ms_of_groups(text: Sql, g: Sql) -> Sql:
    """`_julian_epoch_ms` of `text`, whose groups of `_ISO` are `g`."""

    def group(i: int) -> Sql:
        return sql("arrayElement(", g, f", {i})")

    def number(i: int) -> Sql:
        return sql("toInt64OrZero(", group(i), ")")

    has_date = sql("notEmpty(", group(2), ")")
    has_time = sql("notEmpty(", group(5), ")")
    year = sql("if(", has_date, ", if(", group(1), " = '-', -1, 1) * ", number(2), ", 2000)")
    month = sql("if(", has_date, ", ", number(3), ", 1)")
    day = sql("if(", has_date, ", ", number(4), ", 1)")
    y = sql("(", year, " - if(", month, " <= 2, 1, 0))")
    m = sql("(", month, " + if(", month, " <= 2, 12, 0))")
    a = sql("intDiv(", y, ", 100)")
    days = sql(
        "(intDiv(36525 * (", y, " + 4716), 100) + intDiv(306001 * (", m, " + 1), 10000) + ",
        day, " + 2 - ", a, " + intDiv(", a, ", 4))",
    )  # fmt: skip
    seconds = sql("toFloat64OrZero(concat(", group(7), ", ", group(8), "))")
    tz = sql("if(", group(10), " = '-', -1, 1) * (", number(11), " * 60 + ", number(12), ")")
    time_ms = sql(
        number(5), " * 3600000 + ", number(6), " * 60000 + toInt64(", seconds,
        " * 1000 + 0.5) - ", tz, " * 60000",
    )  # fmt: skip
    valid = sql(
        "length(", g, ") = 12 AND (", has_date, " OR ", has_time, ") AND (NOT ", has_date,
        " OR (", month, " BETWEEN 1 AND 12 AND ", day, " BETWEEN 1 AND 31)) AND ",
        number(5), " <= 24 AND ", number(6), " <= 59 AND ", number(7), " <= 59 AND ",
        number(11), " <= 14 AND ", number(12), " <= 59",
    )  # fmt: skip
    iso_ms = sql(
        "toFloat64(", days, " * 86400000 - 131716800000 + ", time_ms, f" - {_UNIX_EPOCH_JD_MS})"
    )
    julian = sql("toFloat64OrNull(trimBoth(", text, "))")
    julian_ms = sql(
        "if(", julian, " >= 0 AND ", julian, " < 5373484.5, toFloat64(toInt64(", julian,
        f" * 86400000.0 + 0.5) - {_UNIX_EPOCH_JD_MS}), NULL)",
    )  # fmt: skip
    return sql(
        "multiIf(", valid, ", ", iso_ms, ", match(", text, f", {_literal(_JULIAN_NUMBER)}), ",
        julian_ms, ", NULL)",
    )  # fmt: skip


def _literal(text: str) -> str:
    """A constant of our own as a ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

"""Filtered reads and charts over a real SQLite events table."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from hivekeeper.domain.charts import ChartQuery
from hivekeeper.domain.filters import (
    EventQuery,
    FieldRef,
    parse_condition,
    parse_export_body,
    project_event,
)
from hivekeeper.domain.merge import empty_row
from hivekeeper.store.sql.rows import WRITE_COLUMNS, encode_row
from hivekeeper.store.sqlite._reads import chart, select_events, where_clause
from hivekeeper.store.sqlite._schema import migrate

NOW_MS = 1_767_225_600_000.0
_INSERT = (
    f"INSERT INTO events ({', '.join(WRITE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(WRITE_COLUMNS))})"
)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(tmp_path / "events.db", isolation_level=None)
    migrate(connection)
    try:
        yield connection
    finally:
        connection.close()


def _insert(conn: sqlite3.Connection, project_id: str, event_id: str, **fields: Any) -> None:
    row = empty_row(project_id, event_id)
    cast(dict[str, Any], row).update(fields)
    conn.execute(_INSERT, encode_row(row))


@pytest.fixture
def events(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Two sessions of project p1, a pending row, and another project's row."""
    _insert(
        conn, "p1", "s1", session_id="s1", event_type="session", event_name="chat",
        start_time=1000.0, end_time=9000.0, duration=8000.0,
        user_properties={"user_id": "u-1"},
        num_events=2, num_model_events=1, prompt_tokens=10.0, completion_tokens=20.0,
        total_tokens=30.0, cost=0.25, error_count=1,
    )  # fmt: skip
    _insert(
        conn, "p1", "m1", session_id="s1", parent_id="s1", event_type="model", event_name="llm",
        start_time=2000.0, end_time=2120.0, duration=120.0,
        config={"model": "gpt-4o"},
        inputs={"chat_history": [{"role": "user", "content": "Hello World"}]},
        metadata={"cost": 0.25, "prompt_tokens": 10, "total_tokens": 30, "flag": True, "n": "5"},
        feedback={"rating": 4},
    )  # fmt: skip
    _insert(
        conn, "p1", "t1", session_id="s1", parent_id="s1", event_type="tool", event_name="search",
        start_time=3000.0, end_time=3005.0, duration=5.0, error="boom",
        metadata={"cost": "0.5", "n": 5, "tags": ["a", "b"]}, extra={"custom": "x"},
    )  # fmt: skip
    _insert(
        conn, "p1", "s2", session_id="s2", event_type="session", event_name="chat",
        start_time=4000.0, end_time=5000.0, duration=1000.0,
        metadata={"cost": 9.0}, feedback={"rating": 1}, cost=1.0, num_events=1,
    )  # fmt: skip
    _insert(
        conn, "p1", "c1", session_id="s2", parent_id="s2", event_type="chain", event_name="plan",
        start_time=5000.0, end_time=5500.0, duration=500.0,
        user_properties={"user_id": "u-2"},
        metadata={"created": "1970-01-01T00:00:06Z", "flag": False, "score": None},
    )  # fmt: skip
    # A pending update (no event_type yet) and another project's event: never returned.
    _insert(conn, "p1", "pending", session_id="s1", start_time=2500.0, metadata={"cost": 100})
    _insert(
        conn, "p2", "other", session_id="x", event_type="model", event_name="llm",
        start_time=2000.0, metadata={"cost": 0.25}, user_properties={"user_id": "u-1"},
    )  # fmt: skip
    return conn


ALL = ["s1", "m1", "t1", "s2", "c1"]


def _ids(conn: sqlite3.Connection, *filters: dict[str, object], **body: object) -> list[str]:
    query = parse_export_body({"filters": list(filters), **body}, now_ms=NOW_MS)
    rows, total = select_events(conn, "p1", query)
    if query.page == 1 and len(rows) < query.limit:
        assert total == len(rows)
    return [row["event_id"] for row in rows]


def _f(
    field: str, operator: str, value: object = None, type_: str | None = None
) -> dict[str, object]:
    out: dict[str, object] = {"field": field, "operator": operator}
    if value is not None:
        out["value"] = value
    if type_ is not None:
        out["type"] = type_
    return out


def test_no_filters_returns_every_visible_event_of_the_project(events: sqlite3.Connection) -> None:
    rows, total = select_events(events, "p1", EventQuery())
    assert [r["event_id"] for r in rows] == ALL
    assert total == 5
    assert rows[1]["metadata"]["cost"] == 0.25
    assert rows[1]["inputs"]["chat_history"][0]["role"] == "user"
    assert select_events(events, "nobody", EventQuery()) == ([], 0)


def test_other_projects_rows_never_match(events: sqlite3.Connection) -> None:
    rows, total = select_events(events, "p2", EventQuery())
    assert ([r["event_id"] for r in rows], total) == (["other"], 1)
    assert _ids(events, _f("user_properties.user_id", "is", "u-1")) == ["s1"]


def test_pending_rows_are_invisible(events: sqlite3.Connection) -> None:
    assert _ids(events, _f("metadata.cost", "is", "100", "number")) == []
    assert "pending" not in _ids(events, _f("session_id", "is", "s1"))
    assert "pending" not in _ids(events, _f("event_type", "not exists"))


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # columns
        ([_f("session_id", "is", "s1")], ["s1", "m1", "t1"]),
        ([_f("event_type", "is", "session")], ["s1", "s2"]),
        ([_f("event_type", "is not", "session")], ["m1", "t1", "c1"]),
        ([_f("event_name", "contains", "LL")], ["m1"]),
        ([_f("parent_id", "not exists")], ["s1", "s2"]),
        ([_f("error", "exists")], ["t1"]),
        ([_f("error", "not exists")], ["s1", "m1", "s2", "c1"]),
        ([_f("error", "is not", "boom")], ["s1", "m1", "s2", "c1"]),
        ([_f("duration", "greater than", "100", "number")], ["s1", "m1", "s2", "c1"]),
        ([_f("duration", "less than or equal", "120", "number")], ["m1", "t1"]),
        ([_f("duration", "is", "120", "string")], ["m1"]),
        # nested namespaces
        ([_f("metadata.cost", "greater than", "0.01", "number")], ["s1", "m1", "s2"]),
        ([_f("metadata.cost", "less than", "1", "number")], ["s1", "m1"]),
        ([_f("metadata.cost", "is", "0.25", "number")], ["s1", "m1"]),
        ([_f("metadata.cost", "is not", "0.25", "number")], ["t1", "s2", "c1"]),
        ([_f("metadata.cost", "is", "0.5")], ["t1"]),
        ([_f("metadata.cost", "is", "9")], ["s2"]),
        ([_f("metadata.cost", "is", "0.25")], ["s1", "m1"]),
        ([_f("feedback.rating", "is", "4", "number")], ["m1"]),
        ([_f("feedback.rating", "greater than or equal", "1", "number")], ["m1", "s2"]),
        ([_f("feedback.rating", "exists")], ["m1", "s2"]),
        ([_f("user_properties.user_id", "is", "u-1")], ["s1"]),
        ([_f("user_properties.user_id", "is not", "u-1")], ["m1", "t1", "s2", "c1"]),
        ([_f("config.model", "contains", "GPT")], ["m1"]),
        ([_f("config.model", "not contains", "gpt")], ["s1", "t1", "s2", "c1"]),
        # arrays
        ([_f("inputs.chat_history.0.role", "is", "user")], ["m1"]),
        ([_f("inputs.chat_history.1.role", "exists")], []),
        ([_f("metadata.tags.1", "is", "b")], ["t1"]),
        ([_f("metadata.tags", "contains", '"a"')], ["t1"]),
        # whole namespaces as search
        ([_f("inputs", "contains", "hello world")], ["m1"]),
        ([_f("inputs", "not contains", "hello")], ["s1", "t1", "s2", "c1"]),
        ([_f("inputs", "exists")], ["m1"]),
        ([_f("feedback", "not exists")], ["s1", "t1", "c1"]),
        # numbers vs text
        ([_f("metadata.n", "is", "5", "number")], ["t1"]),
        ([_f("metadata.n", "is", "5")], ["m1", "t1"]),
        ([_f("metadata.n", "greater than", "1", "number")], ["t1"]),
        ([_f("metadata.n", "less than", "100", "number")], ["t1"]),
        # exists means present and not null
        ([_f("metadata.score", "exists")], []),
        ([_f("metadata.score", "not exists")], ALL),
        ([_f("metadata.flag", "exists")], ["m1", "c1"]),
        # booleans
        ([_f("metadata.flag", "is", "true", "boolean")], ["m1"]),
        ([_f("metadata.flag", "is", False, "boolean")], ["c1"]),
        ([_f("metadata.flag", "is not", "true", "boolean")], ["s1", "t1", "s2", "c1"]),
        ([_f("metadata.flag", "is", "true")], ["m1"]),
        # datetimes: epoch ms numbers and ISO-8601 text
        ([_f("start_time", "after", "1970-01-01T00:00:03Z")], ["s2", "c1"]),
        ([_f("start_time", "before", "3000", "datetime")], ["s1", "m1"]),
        ([_f("start_time", "is", "1970-01-01T00:00:02Z", "datetime")], ["m1"]),
        ([_f("start_time", "is not", "2000", "datetime")], ["s1", "t1", "s2", "c1"]),
        ([_f("start_time", "greater than or equal", "3000", "datetime")], ["t1", "s2", "c1"]),
        ([_f("metadata.created", "before", "7000", "datetime")], ["c1"]),
        ([_f("metadata.created", "is", "6000", "datetime")], ["c1"]),
        ([_f("metadata.created", "after", "1970-01-01T00:00:07Z")], []),
        # unknown top-level names address `extra`
        ([_f("custom", "is", "x")], ["t1"]),
        ([_f("custom", "not exists")], ["s1", "m1", "s2", "c1"]),
        # conditions are ANDed
        (
            [_f("session_id", "is", "s1"), _f("metadata.cost", "exists")],
            ["s1", "m1", "t1"],
        ),
        (
            [_f("session_id", "is", "s1"), _f("metadata.cost", "greater than", "0", "number")],
            ["s1", "m1"],
        ),
    ],
)
def test_operator_semantics(
    events: sqlite3.Connection, filters: list[dict[str, object]], expected: list[str]
) -> None:
    assert _ids(events, *filters) == expected


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        (_f("metadata.num_events", "greater than", "1", "number"), ["s1"]),
        (_f("metadata.num_events", "is", "1", "number"), ["s2"]),
        (_f("metadata.num_model_events", "is", "1"), ["s1"]),
        (_f("metadata.total_tokens", "is", "30"), ["s1", "m1"]),
        (_f("metadata.prompt_tokens", "is", "10", "number"), ["s1", "m1"]),
        (_f("metadata.completion_tokens", "greater than", "15", "number"), ["s1"]),
        (_f("metadata.error_count", "is", "1", "number"), ["s1"]),
        # a session's own metadata.cost wins over its roll-up (s2: 9.0 over 1.0)
        (_f("metadata.cost", "is", "1", "number"), []),
        (_f("metadata.cost", "is", "9", "number"), ["s2"]),
        (_f("metadata.has_feedback", "is", "true", "boolean"), ["s2"]),
        (_f("metadata.has_feedback", "is", "false", "boolean"), ["s1"]),
        (_f("metadata.has_feedback", "is", "true"), ["s2"]),
        (_f("metadata.has_feedback", "exists"), ["s1", "s2"]),
        (_f("metadata.num_events", "not exists"), ["m1", "t1", "c1"]),
    ],
)
def test_session_rollup_fields(
    events: sqlite3.Connection, filter_: dict[str, object], expected: list[str]
) -> None:
    assert _ids(events, filter_) == expected


def test_feedback_count_marks_has_feedback(conn: sqlite3.Connection) -> None:
    _insert(
        conn, "p1", "s9", session_id="s9", event_type="session", start_time=1.0, feedback_count=2
    )
    assert _ids(conn, _f("metadata.has_feedback", "is", "true", "boolean")) == ["s9"]


def test_date_range_applies_to_start_time(events: sqlite3.Connection) -> None:
    assert _ids(events, dateRange={"$gte": 2000, "$lte": 4000}) == ["m1", "t1", "s2"]
    assert _ids(events, dateRange={"$gte": "1970-01-01T00:00:04Z"}) == ["s2", "c1"]
    assert _ids(events, dateRange={"$lte": 1000}) == ["s1"]


def test_paging_ordering_and_totals(events: sqlite3.Connection) -> None:
    def page(**body: object) -> tuple[list[str], int]:
        rows, total = select_events(events, "p1", parse_export_body(body, now_ms=NOW_MS))
        return [r["event_id"] for r in rows], total

    assert page(limit=2) == (["s1", "m1"], 5)
    assert page(limit=2, page=2) == (["t1", "s2"], 5)
    assert page(limit=2, page=3) == (["c1"], 5)
    assert page(limit=2, page=4) == ([], 5)
    assert page(limit=2, sort_order="desc") == (["c1", "s2"], 5)
    assert page(
        limit=1, page=2, filters=[{"field": "session_id", "operator": "is", "value": "s1"}]
    ) == (["m1"], 3)


def test_equal_start_times_order_by_event_id(conn: sqlite3.Connection) -> None:
    for event_id in ("b", "c", "a"):
        _insert(conn, "p1", event_id, session_id="s", event_type="tool", start_time=1.0)
    assert _ids(conn) == ["a", "b", "c"]
    assert _ids(conn, sort_order="desc") == ["c", "b", "a"]


def test_values_and_paths_are_bound_never_spliced(events: sqlite3.Connection) -> None:
    hostile = "x'); DROP TABLE events; --"
    query = EventQuery(
        conditions=(
            parse_condition(
                {"field": f"metadata.{hostile}", "operator": "is", "value": hostile}, "f"
            ),
        )
    )
    sql, params = where_clause("p1", query)
    assert hostile not in sql
    assert hostile in params
    assert '$."x\'); DROP TABLE events; --"' in params
    assert select_events(events, "p1", query) == ([], 0)
    assert events.execute("SELECT COUNT(*) FROM events").fetchone() == (7,)


def test_a_model_filter_is_answered_from_its_index(events: sqlite3.Connection) -> None:
    # Filtering by model scanned every row of the project (a JSON parse each); the
    # expression index answers it, its page and its total, from the matching rows only.
    query = parse_export_body(
        {"filters": [{"field": "config.model", "operator": "is", "value": "gpt-4o"}]},
        now_ms=NOW_MS,
    )
    sql, params = where_clause("p1", query)
    for statement in (
        f"SELECT COUNT(*) FROM events WHERE {sql}",
        f"SELECT * FROM events WHERE {sql} ORDER BY start_time DESC, event_id DESC LIMIT 50",
    ):
        plan = " ".join(row[3] for row in events.execute(f"EXPLAIN QUERY PLAN {statement}", params))
        assert "USING INDEX events_by_model" in plan, plan
    rows, total = select_events(events, "p1", query)
    assert ([row["event_id"] for row in rows], total) == (["m1"], 1)


def test_the_session_total_is_counted_in_the_session_index(events: sqlite3.Connection) -> None:
    # The total of a session list read every session row to check its type (seconds
    # at a million events); the index holds the type, so the count reads only it.
    query = parse_export_body(
        {"filters": [{"field": "event_type", "operator": "is", "value": "session"}]},
        now_ms=NOW_MS,
    )
    sql, params = where_clause("p1", query)
    plan = events.execute(f"EXPLAIN QUERY PLAN SELECT COUNT(*) FROM events WHERE {sql}", params)
    assert "COVERING INDEX events_sessions" in " ".join(row[3] for row in plan)
    assert select_events(events, "p1", query)[1] == 2


def test_sessions_sorted_by_cost_are_read_in_cost_order(events: sqlite3.Connection) -> None:
    # Sorting sessions by cost sorted every session of the project for one page; the
    # page now walks an index of session costs from its end.
    sessions = parse_export_body(
        {"filters": [{"field": "event_type", "operator": "is", "value": "session"}]},
        now_ms=NOW_MS,
    )
    query = EventQuery(conditions=sessions.conditions, sort="cost", descending=True, limit=1)
    sql, params = where_clause("p1", query)
    page = f"SELECT * FROM events WHERE {sql} ORDER BY cost DESC, event_id DESC LIMIT 1"
    plan = " ".join(row[3] for row in events.execute(f"EXPLAIN QUERY PLAN {page}", params))
    assert "USING INDEX events_sessions_by_cost" in plan, plan
    rows, total = select_events(events, "p1", query)
    assert ([row["event_id"] for row in rows], total) == (["s2"], 2)  # 1.0 over 0.25


def test_where_clause_shape() -> None:
    sql, params = where_clause("p1", EventQuery(conditions=(), start_ms=1.0, end_ms=2.0))
    assert (
        sql == "project_id = ? AND event_type IS NOT NULL AND start_time >= ? AND start_time <= ?"
    )
    assert params == ["p1", 1.0, 2.0]


def test_children_ids_is_not_filterable() -> None:
    from hivekeeper.domain.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        parse_export_body(
            {"filters": [{"field": "children_ids", "operator": "exists"}]}, now_ms=NOW_MS
        )
    assert caught.value.field == "filters[0].field"


def test_select_inside_a_callers_transaction(events: sqlite3.Connection) -> None:
    events.execute("BEGIN")
    rows, total = select_events(events, "p1", EventQuery(limit=1))
    assert events.in_transaction
    events.execute("COMMIT")
    assert ([r["event_id"] for r in rows], total) == (["s1"], 5)


def test_projections_of_stored_rows(events: sqlite3.Connection) -> None:
    query = parse_export_body(
        {"projections": ["event_name", "metadata.cost", "feedback.rating"], "limit": 2},
        now_ms=NOW_MS,
    )
    rows, _ = select_events(events, "p1", query)
    assert query.projections is not None
    projected = [project_event(cast(dict[str, object], r), query.projections) for r in rows]
    assert projected == [
        {"event_id": "s1", "event_name": "chat"},
        {
            "event_id": "m1",
            "event_name": "llm",
            "metadata": {"cost": 0.25},
            "feedback": {"rating": 4},
        },
    ]


# --- charts -------------------------------------------------------------------------------


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *rest: int) -> float:
    second, microsecond = (*rest, 0, 0)[:2]
    stamp = datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)
    return stamp.timestamp() * 1000.0


H0, H1 = _ms(2026, 1, 1, 0), _ms(2026, 1, 1, 1)


@pytest.fixture
def series(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Hour 0: model durations 10..40 and a tool; hour 1: one model and a text cost."""
    spec: list[tuple[str, str, float, float, dict[str, object]]] = [
        ("a", "model", H0 + 1, 10.0, {"cost": 1.0}),
        ("b", "model", H0 + 2, 20.0, {"cost": 2.0}),
        ("c", "model", H0 + 3, 30.0, {}),
        ("d", "model", H0 + 4, 40.0, {"cost": 4.0}),
        ("e", "tool", H0 + 5, 5.0, {"cost": "free"}),
        ("f", "model", H1 + 6, 100.0, {"cost": 10.0}),
    ]
    for event_id, event_type, start, duration, metadata in spec:
        _insert(
            conn, "p1", event_id, session_id="s", event_type=event_type, start_time=start,
            end_time=start + duration, duration=duration, metadata=metadata,
        )  # fmt: skip
    _insert(conn, "p1", "pending", session_id="s", start_time=H0, duration=1e6)
    _insert(conn, "p2", "z", session_id="s", event_type="model", start_time=H0, duration=1e6)
    return conn


def _points(conn: sqlite3.Connection, chart_query: ChartQuery) -> list[tuple[object, ...]]:
    return [
        (p["bucket"], p["group"], p["value"], p["count"]) for p in chart(conn, "p1", chart_query)
    ]


def test_chart_avg_per_bucket_and_group(series: sqlite3.Connection) -> None:
    event_type = FieldRef(column="event_type")
    assert _points(series, ChartQuery(group_by=event_type)) == [
        ("2026-01-01T00:00:00.000Z", "model", 25.0, 4),
        ("2026-01-01T00:00:00.000Z", "tool", 5.0, 1),
        ("2026-01-01T01:00:00.000Z", "model", 100.0, 1),
    ]


def test_chart_p95_and_full_summary(series: sqlite3.Connection) -> None:
    query = parse_export_body(
        {"filters": [{"field": "event_type", "operator": "is", "value": "model"}]}, now_ms=NOW_MS
    )
    points = chart(series, "p1", ChartQuery(query=query, aggregation="p95", bucket="day"))
    assert len(points) == 1
    point = points[0]
    # [10, 20, 30, 40, 100]: rank 0.95 * 4 = 3.8 → 40 + 0.8 * 60
    assert point["value"] == pytest.approx(88.0)
    assert point["p95"] == point["value"]
    assert (point["count"], point["sum"], point["min"], point["max"]) == (5, 200.0, 10.0, 100.0)
    assert point["avg"] == 40.0
    assert point["p50"] == 30.0
    assert point["bucket_start_ms"] == H0
    assert point["group"] is None


def test_chart_metric_skips_non_numbers_except_for_count(series: sqlite3.Connection) -> None:
    cost = FieldRef(namespace="metadata", path=("cost",))
    assert _points(series, ChartQuery(metric=cost, aggregation="sum")) == [
        ("2026-01-01T00:00:00.000Z", None, 7.0, 3),
        ("2026-01-01T01:00:00.000Z", None, 10.0, 1),
    ]
    assert _points(series, ChartQuery(metric=cost, aggregation="count")) == [
        ("2026-01-01T00:00:00.000Z", None, 5, 3),
        ("2026-01-01T01:00:00.000Z", None, 1, 1),
    ]


def test_chart_group_by_a_json_path_and_date_range(series: sqlite3.Connection) -> None:
    query = EventQuery(start_ms=H0 + 2, end_ms=H0 + 5)
    chart_query = ChartQuery(
        query=query,
        aggregation="count",
        group_by=FieldRef(namespace="metadata", path=("cost",)),
        bucket="minute",
    )
    assert _points(series, chart_query) == [
        ("2026-01-01T00:00:00.000Z", None, 1, 1),
        ("2026-01-01T00:00:00.000Z", "2", 1, 1),
        ("2026-01-01T00:00:00.000Z", "4", 1, 1),
        ("2026-01-01T00:00:00.000Z", "free", 1, 1),
    ]


def test_chart_of_nothing(conn: sqlite3.Connection) -> None:
    assert chart(conn, "p1", ChartQuery()) == []

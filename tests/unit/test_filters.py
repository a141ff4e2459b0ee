"""The filter language parser: fields, operators, types, date ranges, paging, projections."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hivekeeper.domain.charts import parse_chart_params
from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.filters import (
    COLUMNS,
    MAX_LIMIT,
    MAX_PAGE,
    OPERATORS,
    Condition,
    EventQuery,
    FieldRef,
    parse_condition,
    parse_date_range,
    parse_export_body,
    parse_field,
    parse_page,
    parse_query_params,
    project_event,
)

NOW_MS = 1_767_225_600_000.0  # 2026-01-01T00:00:00Z


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *rest: int) -> float:
    second, microsecond = (*rest, 0, 0)[:2]
    stamp = datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)
    return stamp.timestamp() * 1000.0


def _fails(field: str, call: object, *args: object, **kwargs: object) -> ValidationFailed:
    assert callable(call)
    with pytest.raises(ValidationFailed) as caught:
        call(*args, **kwargs)
    assert caught.value.field == field, caught.value.message
    assert caught.value.status == 400
    return caught.value


def _one(raw: dict[str, object]) -> Condition:
    (condition,) = parse_export_body({"filters": [raw]}, now_ms=NOW_MS).conditions
    return condition


# --- fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", COLUMNS)
def test_every_column_is_a_column(name: str) -> None:
    assert parse_field(name, "f") == FieldRef(column=name)  # type: ignore[arg-type]  # from COLUMNS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metadata.cost", FieldRef(namespace="metadata", path=("cost",))),
        ("feedback.rating", FieldRef(namespace="feedback", path=("rating",))),
        ("user_properties.user_id", FieldRef(namespace="user_properties", path=("user_id",))),
        ("config.model", FieldRef(namespace="config", path=("model",))),
        ("inputs", FieldRef(namespace="inputs")),
        (
            "inputs.chat_history.0.content",
            FieldRef(namespace="inputs", path=("chat_history", "0", "content")),
        ),
        ("my_key", FieldRef(namespace="extra", path=("my_key",))),
        ("my_key.deep", FieldRef(namespace="extra", path=("my_key", "deep"))),
        ("extra.x", FieldRef(namespace="extra", path=("extra", "x"))),
        ("  metrics.score  ", FieldRef(namespace="metrics", path=("score",))),
    ],
)
def test_field_paths(text: str, expected: FieldRef) -> None:
    assert parse_field(text, "f") == expected


def test_field_text_round_trips() -> None:
    for text in ("metadata.cost", "event_name", "my_key.deep", "inputs"):
        assert parse_field(text, "f").text == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "metadata..cost",
        "metadata.",
        ".cost",
        'metadata."cost',
        "metadata.co\nst",
        "metadata.co\x00st",
        "metadata." + ".".join("a" * 16),
        "event_name.first",
        "children_ids",
        "x" * 600,
    ],
)
def test_bad_fields_name_the_field(text: str) -> None:
    _fails("filters[0].field", parse_field, text, "filters[0].field")


def test_sixteen_segments_are_allowed() -> None:
    assert len(parse_field("metadata." + ".".join("a" * 15), "f").path) == 15


def test_non_string_field() -> None:
    _fails("filters[0].field", parse_field, 5, "filters[0].field")


def test_field_ref_invariants() -> None:
    with pytest.raises(ValueError):
        FieldRef()
    with pytest.raises(ValueError):
        FieldRef(column="duration", namespace="metadata")
    with pytest.raises(ValueError):
        FieldRef(column="duration", path=("x",))


# --- operators and types -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "type_", "value", "expected_value"),
    [
        ("exists", "string", None, None),
        ("not exists", "number", None, None),
        ("is", "string", "abc", "abc"),
        ("is not", "string", "abc", "abc"),
        ("contains", "string", "ab", "ab"),
        ("not contains", "string", "ab", "ab"),
        ("greater than", "number", "0.01", 0.01),
        ("less than", "number", "-2", -2.0),
        ("greater than or equal", "number", "1e3", 1000.0),
        ("less than or equal", "number", 7, 7.0),
        ("after", "datetime", "2026-01-01T00:00:00Z", NOW_MS),
        ("before", "datetime", "1767225600000", NOW_MS),
        ("after", "number", "5", 5.0),
        ("greater than", "datetime", "2026-01-01", NOW_MS),
        ("is", "boolean", "true", True),
        ("is not", "boolean", "false", False),
    ],
)
def test_every_operator(operator: str, type_: str, value: object, expected_value: object) -> None:
    raw: dict[str, object] = {"field": "metadata.x", "operator": operator, "type": type_}
    if value is not None:
        raw["value"] = value
    condition = _one(raw)
    assert condition.operator == operator
    assert condition.type == type_
    assert condition.value == expected_value
    assert isinstance(condition.value, type(expected_value))


def test_all_operators_are_tested() -> None:
    assert set(OPERATORS) == {
        "exists", "not exists", "is", "is not", "contains", "not contains", "greater than",
        "less than", "greater than or equal", "less than or equal", "after", "before",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("equals", "is"),
        ("EQUALS", "is"),
        ("==", "is"),
        ("=", "is"),
        ("eq", "is"),
        ("!=", "is not"),
        ("not_equals", "is not"),
        ("IS NOT", "is not"),
        ("  is   not ", "is not"),
        (">", "greater than"),
        ("gt", "greater than"),
        ("greater_than", "greater than"),
        ("<", "less than"),
        ("LT", "less than"),
        (">=", "greater than or equal"),
        ("gte", "greater than or equal"),
        ("<=", "less than or equal"),
        ("lte", "less than or equal"),
        ("not_exists", "not exists"),
        ("Exists", "exists"),
        ("does not contain", "not contains"),
    ],
)
def test_operator_aliases(alias: str, canonical: str) -> None:
    type_ = "number" if canonical in ("greater than", "less than") or "equal" in canonical else None
    raw: dict[str, object] = {"field": "duration", "operator": alias, "value": "1"}
    if type_:
        raw["type"] = type_
    assert _one(raw).operator == canonical


def test_unknown_operator_lists_the_valid_ones() -> None:
    error = _fails(
        "filters[1].operator",
        parse_export_body,
        {
            "filters": [
                {"field": "event_name", "operator": "is", "value": "a"},
                {"field": "event_name", "operator": "like", "value": "a"},
            ]
        },
        now_ms=NOW_MS,
    )
    assert "'like'" in error.message
    for operator in OPERATORS:
        assert operator in error.message


@pytest.mark.parametrize("operator", [None, 5, ""])
def test_missing_or_non_string_operator(operator: object) -> None:
    raw = {"field": "event_name", "value": "a"}
    if operator is not None:
        raw["operator"] = operator  # type: ignore[assignment]  # deliberately wrong type
    _fails("filters[0].operator", parse_condition, raw, "filters[0]")


@pytest.mark.parametrize(
    ("operator", "type_"),
    [
        ("contains", "number"),
        ("not contains", "datetime"),
        ("contains", "boolean"),
        ("greater than", "string"),
        ("after", "string"),
        ("greater than", "boolean"),
        ("before", "boolean"),
    ],
)
def test_operator_must_fit_the_type(operator: str, type_: str) -> None:
    raw = {"field": "metadata.x", "operator": operator, "type": type_, "value": "1"}
    error = _fails("filters[0].operator", parse_condition, raw, "filters[0]")
    assert type_ in error.message


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("STRING", "string"),
        ("int", "number"),
        ("float", "number"),
        ("bool", "boolean"),
        ("timestamp", "datetime"),
        ("", "string"),
        (None, "string"),
    ],
)
def test_type_aliases(alias: str | None, canonical: str) -> None:
    raw = {"field": "metadata.x", "operator": "is", "value": "1", "type": alias}
    assert parse_condition(raw, "f").type == canonical


def test_unknown_type() -> None:
    raw = {"field": "metadata.x", "operator": "is", "value": "1", "type": "decimal"}
    error = _fails("filters[0].type", parse_condition, raw, "filters[0]")
    assert "datetime" in error.message


def test_type_defaults_to_string() -> None:
    condition = parse_condition({"field": "metadata.n", "operator": "is", "value": 5}, "f")
    assert (condition.type, condition.value) == ("string", "5")


def test_absent_type_with_an_ordering_operator_is_inferred() -> None:
    gt = parse_condition({"field": "metadata.cost", "operator": ">", "value": "0.01"}, "f")
    assert (gt.type, gt.value) == ("number", 0.01)
    after = parse_condition(
        {"field": "start_time", "operator": "after", "value": "2026-01-01T00:00:00Z"}, "f"
    )
    assert (after.type, after.value) == ("datetime", NOW_MS)
    dated = parse_condition({"field": "start_time", "operator": "<", "value": "2026-01-01"}, "f")
    assert (dated.type, dated.value) == ("datetime", NOW_MS)


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("string", "abc", "abc"),
        ("string", 5, "5"),
        ("string", 0.5, "0.5"),
        ("string", 5.0, "5"),
        ("string", True, "true"),
        ("string", "", ""),
        ("number", "0.01", 0.01),
        ("number", " 42 ", 42.0),
        ("number", "-1.5e-3", -0.0015),
        ("number", ".5", 0.5),
        ("number", 3, 3.0),
        ("boolean", "true", True),
        ("boolean", "FALSE", False),
        ("boolean", " True ", True),
        ("boolean", True, True),
        ("boolean", False, False),
        ("boolean", "1", True),
        ("boolean", 0, False),
        ("datetime", "2026-01-01T00:00:00Z", NOW_MS),
        ("datetime", "2026-01-01T01:00:00+01:00", NOW_MS),
        ("datetime", "2026-01-01T00:00:00", NOW_MS),
        ("datetime", NOW_MS, NOW_MS),
        ("datetime", "1767225600000", NOW_MS),
    ],
)
def test_values_are_coerced_by_type(type_: str, value: object, expected: object) -> None:
    condition = parse_condition(
        {"field": "metadata.x", "operator": "is", "type": type_, "value": value}, "f"
    )
    assert condition.value == expected
    assert type(condition.value) is type(expected)


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("number", "abc"),
        ("number", "nan"),
        ("number", "inf"),
        ("number", "1_000"),
        ("number", True),
        ("number", ""),
        ("number", [1]),
        ("boolean", "yes"),
        ("boolean", 2),
        ("boolean", 1.5),
        ("datetime", "yesterday"),
        ("datetime", True),
        ("datetime", -5),
        ("string", {"a": 1}),
        ("string", [1]),
        ("string", float("nan")),
        ("string", None),
        ("number", None),
    ],
)
def test_bad_values_name_the_value(type_: str, value: object) -> None:
    raw = {"field": "metadata.x", "operator": "is", "type": type_, "value": value}
    _fails("filters[2].value", parse_condition, raw, "filters[2]")


def test_missing_value_names_the_value() -> None:
    raw = {"field": "metadata.x", "operator": "contains"}
    error = _fails("filters[0].value", parse_condition, raw, "filters[0]")
    assert "contains" in error.message


def test_exists_ignores_the_value() -> None:
    condition = parse_condition(
        {"field": "error", "operator": "exists", "value": "ignored", "type": "number"}, "f"
    )
    assert condition == Condition(FieldRef(column="error"), "exists", "number", None)


def test_filter_must_be_an_object_and_name_a_field() -> None:
    _fails("filters[0]", parse_condition, ["field"], "filters[0]")
    _fails("filters[0].field", parse_condition, {"operator": "exists"}, "filters[0]")
    _fails("filters[0].field", parse_condition, {"field": None, "operator": "exists"}, "filters[0]")


# --- the export body ----------------------------------------------------------------------


def test_empty_body_gives_the_defaults() -> None:
    assert parse_export_body({}, now_ms=NOW_MS) == EventQuery(
        conditions=(), start_ms=None, end_ms=None, projections=None, limit=1000, page=1
    )


def test_spec_example_body() -> None:
    query = parse_export_body(
        {
            "filters": [
                {"field": "session_id", "operator": "is", "value": "abc", "type": "string"},
                {
                    "field": "metadata.cost",
                    "operator": "greater than",
                    "value": "0.01",
                    "type": "number",
                },
            ],
            "limit": 50,
            "page": 2,
            "dateRange": {"$gte": "2026-01-01T00:00:00Z", "$lte": "2026-12-31T23:59:59Z"},
            "projections": ["event_id", "event_name"],
            "project": "ignored-name",
            "evaluation_id": "ignored",
            "ignore_order": True,
        },
        now_ms=NOW_MS,
    )
    assert query.conditions == (
        Condition(FieldRef(column="session_id"), "is", "string", "abc"),
        Condition(FieldRef(namespace="metadata", path=("cost",)), "greater than", "number", 0.01),
    )
    assert (query.start_ms, query.end_ms) == (NOW_MS, _ms(2026, 12, 31, 23, 59, 59))
    assert (query.limit, query.page, query.offset) == (50, 2, 50)
    assert query.projections == ("event_id", "event_name")
    assert query.descending is False


def test_filters_as_json_string_or_single_object() -> None:
    one = {"field": "event_type", "operator": "is", "value": "model"}
    expected = (Condition(FieldRef(column="event_type"), "is", "string", "model"),)
    for raw in ([one], one, json.dumps([one]), json.dumps(one)):
        assert parse_export_body({"filters": raw}, now_ms=NOW_MS).conditions == expected
    empties: tuple[object, ...] = (None, [], "", "  ")
    for empty in empties:
        assert parse_export_body({"filters": empty}, now_ms=NOW_MS).conditions == ()


@pytest.mark.parametrize("raw", [5, "not json", "[1,", True])
def test_bad_filters_container(raw: object) -> None:
    _fails("filters", parse_export_body, {"filters": raw}, now_ms=NOW_MS)


def test_filter_errors_carry_their_index() -> None:
    good = {"field": "event_type", "operator": "is", "value": "model"}
    bad = {"field": "metadata.cost", "operator": "is", "value": "x", "type": "number"}
    _fails("filters[2].value", parse_export_body, {"filters": [good, good, bad]}, now_ms=NOW_MS)
    _fails("filters[1]", parse_export_body, {"filters": [good, "oops"]}, now_ms=NOW_MS)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 1000),
        ("", 1000),
        (1, 1),
        (50, 50),
        ("50", 50),
        (" 75 ", 75),
        (50.0, 50),
        (MAX_LIMIT, MAX_LIMIT),
        (str(MAX_LIMIT), MAX_LIMIT),
    ],
)
def test_limit(raw: object, expected: int) -> None:
    assert parse_export_body({"limit": raw}, now_ms=NOW_MS).limit == expected


@pytest.mark.parametrize("raw", [0, -1, MAX_LIMIT + 1, "7501", "abc", "5.5", 5.5, True, [5]])
def test_bad_limit(raw: object) -> None:
    _fails("limit", parse_export_body, {"limit": raw}, now_ms=NOW_MS)


def test_limit_over_max_says_the_max() -> None:
    error = _fails("limit", parse_export_body, {"limit": 10_000}, now_ms=NOW_MS)
    assert "7500" in error.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 1),
        (1, 1),
        ("3", 3),
        (10**6, 10**6),
        ("+7", 7),
        ("0" * 5000 + "12", 12),
        (str(MAX_PAGE), MAX_PAGE),
        (1e9, MAX_PAGE),
    ],
)
def test_page(raw: object, expected: int) -> None:
    assert parse_export_body({"page": raw}, now_ms=NOW_MS).page == expected
    assert parse_page(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        0,
        -2,
        "x",
        10**12,
        False,
        MAX_PAGE + 1,
        str(MAX_PAGE + 1),
        2**63,
        2**64,
        1e300,
        float("inf"),
        float("nan"),
        "9" * 5000,
        "-" + "9" * 5000,
        "1" + "0" * 4400,
    ],
)
def test_bad_page(raw: object) -> None:
    error = _fails("page", parse_export_body, {"page": raw}, now_ms=NOW_MS)
    assert len(error.message) < 200
    _fails("page", parse_query_params, {"page": [str(raw)]}, now_ms=NOW_MS)


@pytest.mark.parametrize("raw", ["9" * 5000, "-" + "9" * 5000, str(2**64)])
def test_huge_limits_are_out_of_range(raw: str) -> None:
    error = _fails("limit", parse_query_params, {"limit": [raw]}, now_ms=NOW_MS)
    assert "between 1 and 7500" in error.message and len(error.message) < 200


@pytest.mark.parametrize(
    ("raw", "descending"), [(None, False), ("asc", False), ("DESC", True), ("descending", True)]
)
def test_sort_order(raw: object, descending: bool) -> None:
    assert parse_export_body({"sort_order": raw}, now_ms=NOW_MS).descending is descending


def test_bad_sort_order() -> None:
    _fails("sort_order", parse_export_body, {"sort_order": "sideways"}, now_ms=NOW_MS)


# --- date ranges --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, (None, None)),
        ("", (None, None)),
        ({}, (None, None)),
        ({"$gte": "2026-01-01T00:00:00Z"}, (NOW_MS, None)),
        ({"$lte": "2026-01-01T00:00:00.000Z"}, (None, NOW_MS)),
        ({"$gte": 1000, "$lte": 2000}, (1000.0, 2000.0)),
        ({"$gte": "1000", "$lte": "2000.5"}, (1000.0, 2000.5)),
        ({"$gte": None, "$lte": 5}, (None, 5.0)),
        ({"relative": "7d"}, (NOW_MS - 7 * 86_400_000, NOW_MS)),
        ({"relative": "30m"}, (NOW_MS - 30 * 60_000, NOW_MS)),
        ({"relative": "12h"}, (NOW_MS - 12 * 3_600_000, NOW_MS)),
        ({"relative": "2w"}, (NOW_MS - 14 * 86_400_000, NOW_MS)),
        ({"relative": "90s"}, (NOW_MS - 90_000, NOW_MS)),
        ({"relative": "1.5h"}, (NOW_MS - 5_400_000, NOW_MS)),
        ("2026-01-01T00:00:00Z", (NOW_MS, None)),
        (NOW_MS, (NOW_MS, None)),
        ('{"$gte": 1, "$lte": 2}', (1.0, 2.0)),
        ('{"relative": "1d"}', (NOW_MS - 86_400_000, NOW_MS)),
    ],
)
def test_date_range_forms(raw: object, expected: tuple[float | None, float | None]) -> None:
    assert parse_date_range(raw, now_ms=NOW_MS) == expected
    query = parse_export_body({"dateRange": raw}, now_ms=NOW_MS)
    assert (query.start_ms, query.end_ms) == expected


def test_date_range_bounds_without_dollar_as_the_sdk_models_serialize_them() -> None:
    # honeyhive 1.7.0's generated AbsoluteDateRange/BatchDateRange dump `gte`/`lte`
    # (the `$` names are validation aliases only), e.g. in charts.create(dateRange=…).
    assert parse_date_range({"gte": 1000, "lte": "2000"}, now_ms=NOW_MS) == (1000.0, 2000.0)
    assert parse_date_range({"gte": "2026-01-01T00:00:00Z"}, now_ms=NOW_MS) == (NOW_MS, None)
    _fails("dateRange.lte", parse_date_range, {"lte": "soon"}, now_ms=NOW_MS)
    _fails("dateRange", parse_date_range, {"gte": 1, "$gte": 2}, now_ms=NOW_MS)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"$gte": "tomorrow"}, "dateRange.$gte"),
        ({"$lte": True}, "dateRange.$lte"),
        ({"$gt": 5}, "dateRange.$gt"),
        ({"from": 5}, "dateRange.from"),
        ({"$gte": 10, "$lte": 5}, "dateRange"),
        ({"relative": "7x"}, "dateRange.relative"),
        ({"relative": "d7"}, "dateRange.relative"),
        ({"relative": 7}, "dateRange.relative"),
        ({"relative": "7d", "$gte": 1}, "dateRange"),
        ("last week", "dateRange"),
        ("{not json", "dateRange"),
        ([1, 2], "dateRange"),
        (True, "dateRange"),
    ],
)
def test_bad_date_ranges_name_the_bound(raw: object, field: str) -> None:
    _fails(field, parse_export_body, {"dateRange": raw}, now_ms=NOW_MS)


# --- projections --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ([], None),
        (["event_name"], ("event_name",)),
        ([" metadata.cost ", "event_name", "metadata.cost"], ("metadata.cost", "event_name")),
        ("event_name,metadata.cost", ("event_name", "metadata.cost")),
        ('["event_name"]', ("event_name",)),
        (["children_ids"], ("children_ids",)),
    ],
)
def test_projections(raw: object, expected: tuple[str, ...] | None) -> None:
    assert parse_export_body({"projections": raw}, now_ms=NOW_MS).projections == expected


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (["event_name", 5], "projections[1]"),
        (["metadata..x"], "projections[0]"),
        ([""], "projections[0]"),
        (5, "projections"),
        ('{"a": 1}', "projections[0]"),
        ("[1,", "projections"),
    ],
)
def test_bad_projections(raw: object, field: str) -> None:
    _fails(field, parse_export_body, {"projections": raw}, now_ms=NOW_MS)


def test_project_event_keeps_nesting_and_event_id() -> None:
    event: dict[str, object] = {
        "event_id": "e1",
        "event_name": "llm",
        "metadata": {"cost": 0.5, "tokens": 10, "nested": {"a": 1, "b": 2}},
        "inputs": {"chat_history": [{"role": "user"}]},
        "feedback": {},
    }
    assert project_event(event, ("metadata.cost",)) == {"event_id": "e1", "metadata": {"cost": 0.5}}
    assert project_event(event, ("event_name", "metadata.nested.b", "metadata.cost")) == {
        "event_id": "e1",
        "event_name": "llm",
        "metadata": {"nested": {"b": 2}, "cost": 0.5},
    }
    # A whole field wins over a part of it, in either order.
    whole = {"event_id": "e1", "metadata": event["metadata"]}
    assert project_event(event, ("metadata.cost", "metadata")) == whole
    assert project_event(event, ("metadata", "metadata.cost")) == whole
    # Missing fields are left out; a path into an array keeps the array.
    assert project_event(event, ("missing", "metadata.missing.deep", "feedback.rating")) == {
        "event_id": "e1"
    }
    assert project_event(event, ("inputs.chat_history.0.role",)) == {
        "event_id": "e1",
        "inputs": {"chat_history": [{"role": "user"}]},
    }
    assert event["metadata"] == {"cost": 0.5, "tokens": 10, "nested": {"a": 1, "b": 2}}


# --- query parameters ---------------------------------------------------------------------


def test_query_params_defaults() -> None:
    assert parse_query_params({}, now_ms=NOW_MS) == EventQuery()


def test_query_params_full() -> None:
    query = parse_query_params(
        {
            "filters": [
                '[{"field": "metadata.cost", "operator": ">", "value": "1", "type": "number"}]'
            ],
            "dateRange": ['{"$gte": "2026-01-01T00:00:00Z"}'],
            "projections": ["event_id,metadata.cost"],
            "limit": ["10", "20"],
            "page": ["3"],
            "sort_order": ["desc"],
            "evaluation_id": ["ignored"],
        },
        now_ms=NOW_MS,
    )
    assert query == EventQuery(
        conditions=(
            Condition(
                FieldRef(namespace="metadata", path=("cost",)), "greater than", "number", 1.0
            ),
        ),
        start_ms=NOW_MS,
        projections=("event_id", "metadata.cost"),
        limit=20,
        page=3,
        descending=True,
    )


def test_query_param_filter_shapes_combine_in_order() -> None:
    query = parse_query_params(
        {
            "filters": ['{"field": "event_type", "operator": "is", "value": "model"}'],
            "filters[]": ['{"field": "source", "operator": "is", "value": "dev"}'],
            "filters[1][field]": ["error"],
            "filters[1][operator]": ["exists"],
            "filters[0][field]": ["metadata.cost"],
            "filters[0][operator]": ["gt"],
            "filters[0][value]": ["0.5"],
            "filters[0][type]": ["number"],
        },
        now_ms=NOW_MS,
    )
    assert [(c.field.text, c.operator, c.value) for c in query.conditions] == [
        ("event_type", "is", "model"),
        ("source", "is", "dev"),
        ("metadata.cost", "greater than", 0.5),
        ("error", "exists", None),
    ]


def test_query_param_date_range_forms() -> None:
    iso = parse_query_params({"dateRange": ["2026-01-01T00:00:00Z"]}, now_ms=NOW_MS)
    assert (iso.start_ms, iso.end_ms) == (NOW_MS, None)
    brackets = parse_query_params(
        {"dateRange[$gte]": ["1000"], "dateRange[$lte]": ["2000"]}, now_ms=NOW_MS
    )
    assert (brackets.start_ms, brackets.end_ms) == (1000.0, 2000.0)
    relative = parse_query_params({"dateRange[relative]": ["1h"]}, now_ms=NOW_MS)
    assert (relative.start_ms, relative.end_ms) == (NOW_MS - 3_600_000, NOW_MS)


def test_query_param_projection_forms() -> None:
    query = parse_query_params(
        {
            "projections": ['["event_name", "metadata.cost"]', "source"],
            "projections[]": ["error", "event_name"],
        },
        now_ms=NOW_MS,
    )
    assert query.projections == ("event_name", "metadata.cost", "source", "error")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filters": ["not json"]}, "filters"),
        ({"filters[]": ["5"]}, "filters[]"),
        (
            {"filters": ['[{"field": "x", "operator": "nope", "value": "1"}]']},
            "filters[0].operator",
        ),
        ({"filters[0][field]": ["x"], "filters[0][operator]": ["is"]}, "filters[0].value"),
        ({"dateRange": ["{bad"]}, "dateRange"),
        ({"dateRange[$gte]": ["soon"]}, "dateRange.$gte"),
        ({"projections": ["[5]"]}, "projections[0]"),
        ({"limit": ["7501"]}, "limit"),
        ({"page": ["0"]}, "page"),
        ({"sort_order": ["up"]}, "sort_order"),
        ({f"filters[{'9' * 5000}][field]": ["x"]}, "filters"),
        ({"filters[10000][field]": ["x"], "filters[10000][operator]": ["exists"]}, "filters"),
    ],
)
def test_query_param_errors_name_the_parameter(params: dict[str, list[str]], field: str) -> None:
    _fails(field, parse_query_params, params, now_ms=NOW_MS)


def test_bracket_filter_indices_order_numerically() -> None:
    query = parse_query_params(
        {
            "filters[10][field]": ["source"],
            "filters[10][operator]": ["exists"],
            "filters[9999][field]": ["error"],
            "filters[9999][operator]": ["exists"],
            "filters[0002][field]": ["event_name"],
            "filters[0002][operator]": ["exists"],
        },
        now_ms=NOW_MS,
    )
    assert [c.field.text for c in query.conditions] == ["event_name", "source", "error"]


def test_number_values_of_many_digits_parse_in_linear_time() -> None:
    """A long run of digits that is not a number is refused at once (the old pattern
    tried every split of the digits: minutes for 50,000 of them)."""
    for value in ("1" * 200_000 + "x", "1" * 200_000 + "." + "1" * 200_000 + "e"):
        _fails(
            "filters[0].value",
            _one,
            {"field": "x", "operator": "is", "value": value, "type": "number"},
        )
    huge = _one({"field": "x", "operator": ">", "value": "1" * 200_000 + ".5e-199990"})
    assert huge.type == "number" and huge.value == pytest.approx(1.1111111111111e9)


@pytest.mark.parametrize(
    ("relative", "start_ms"),
    [("1000000w", 0.0), ("99999999999999999999d", 0.0), ("7d", NOW_MS - 7 * 86_400_000)],
)
def test_relative_ranges_start_no_earlier_than_1970(relative: str, start_ms: float) -> None:
    assert parse_date_range({"relative": relative}, now_ms=NOW_MS) == (start_ms, NOW_MS)


def test_relative_range_past_any_number_names_the_bound() -> None:
    error = _fails(
        "dateRange.relative", parse_date_range, {"relative": "9" * 400 + "d"}, now_ms=NOW_MS
    )
    assert len(error.message) < 200


def _is_filters(count: int) -> list[dict[str, str]]:
    return [{"field": "event_name", "operator": "is", "value": str(i)} for i in range(count)]


def test_filters_are_bounded_in_every_shape_they_arrive_in() -> None:
    bound = 3
    body_error = _fails(
        "filters", parse_export_body, {"filters": _is_filters(4)}, now_ms=NOW_MS, max_filters=bound
    )
    assert "max_filters" in body_error.message and "3" in body_error.message
    ok = parse_export_body({"filters": _is_filters(3)}, now_ms=NOW_MS, max_filters=bound)
    assert len(ok.conditions) == 3
    # Counted before any filter is parsed: a huge list costs no parsing.
    garbage: list[object] = [None] * 100_000
    _fails("filters", parse_export_body, {"filters": garbage}, now_ms=NOW_MS, max_filters=bound)
    as_params = {
        "filters": [json.dumps(_is_filters(2)), json.dumps(_is_filters(1))],
        "filters[]": [json.dumps(_is_filters(1)[0])],
    }
    _fails("filters", parse_query_params, as_params, now_ms=NOW_MS, max_filters=bound)
    brackets = {
        f"filters[{i}][{key}]": [value]
        for i, one in enumerate(_is_filters(4))
        for key, value in one.items()
    }
    _fails("filters", parse_query_params, brackets, now_ms=NOW_MS, max_filters=bound)
    _fails("filters", parse_chart_params, brackets, now_ms=NOW_MS, max_filters=bound)

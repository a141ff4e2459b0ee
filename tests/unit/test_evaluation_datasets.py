"""Datasets and datapoints: bodies the SDK's models produce, answers its models parse,
`add_datapoints` mappings, datapoints from events, and versions as a change log."""

from __future__ import annotations

from typing import Any

import pytest
from honeyhive._generated.models import (
    GetDatapointResponse,
    GetDatasetsResponse,
)
from honeyhive.models import (
    AddDatapointsToDatasetRequest,
    CreateDatapointRequest,
    CreateDatasetRequest,
    DatapointMapping,
    UpdateDatasetRequest,
)

from hivekeeper.domain.evaluation.changelog import (
    ChangeItem,
    ChangeSummary,
    Member,
    addition_items,
    materialize,
    membership_items,
    version_at,
    version_numbers,
)
from hivekeeper.domain.evaluation.datapoints import (
    DatapointContent,
    DatapointQuery,
    apply_patch,
    ground_truth_out,
    parse_datapoint,
    parse_datapoint_query,
    render_datapoint,
)
from hivekeeper.domain.evaluation.datasets import (
    DatasetQuery,
    DatasetRecord,
    parse_dataset,
    parse_dataset_query,
    parse_delete,
    parse_legacy_update,
    render_dataset,
)
from hivekeeper.domain.evaluation.mapping import (
    datapoint_from_event,
    datapoints_from_rows,
    parse_mapping,
    parse_rows,
    parse_selection,
)
from tests.support.sdk_query import sdk_query
from tests.support.validation import fails

NOW = 1_796_000_000_000.0


# --- datapoints -----------------------------------------------------------------------


def test_a_datapoint_the_sdk_creates_round_trips_into_its_own_model() -> None:
    body = CreateDatapointRequest(
        inputs={"q": "hi"},
        history=[{"role": "user", "content": "hi"}],
        ground_truth={"a": "HI"},
        linked_datasets=["ds-1"],
    ).model_dump(exclude_none=True)
    patch = parse_datapoint(body)
    assert patch["linked_datasets"] == ["ds-1"]
    content = apply_patch(None, patch)
    answer = {
        "datapoint": [
            render_datapoint(
                "dp-1", content, created_at_ms=NOW, updated_at_ms=None, linked_datasets=["ds-1"]
            )
        ]
    }
    (parsed,) = GetDatapointResponse(**answer).datapoint
    assert (parsed.id, parsed.inputs, parsed.ground_truth) == ("dp-1", {"q": "hi"}, {"a": "HI"})
    assert parsed.history == [{"role": "user", "content": "hi"}]
    assert parsed.metadata == {} and parsed.linked_event is None
    assert parsed.created_at == "2026-11-30T00:53:20.000Z" and parsed.updated_at is None


def test_an_empty_datapoint_still_has_every_field() -> None:
    rendered = render_datapoint(
        "dp",
        apply_patch(None, parse_datapoint({})),
        created_at_ms=0,
        updated_at_ms=0,
        linked_datasets=[],
    )
    assert set(rendered) == {
        "id",
        "inputs",
        "history",
        "ground_truth",
        "metadata",
        "linked_event",
        "created_at",
        "updated_at",
        "linked_datasets",
    }
    assert GetDatapointResponse(datapoint=[rendered]).datapoint[0].ground_truth is None


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (None, None),
        ({"a": 1}, {"a": 1}),
        ("Paris", {"value": "Paris"}),
        (42, {"value": 42}),
        (False, {"value": False}),
        ([1, 2], {"value": [1, 2]}),
    ],
)
def test_ground_truth_goes_out_as_an_object_or_null(stored: object, shown: object) -> None:
    assert ground_truth_out(stored) == shown
    content = apply_patch(None, parse_datapoint({"ground_truth": stored}))
    rendered = render_datapoint(
        "d", content, created_at_ms=0, updated_at_ms=None, linked_datasets=[]
    )
    assert GetDatapointResponse(datapoint=[rendered]).datapoint[0].ground_truth == shown


def test_an_update_replaces_the_fields_it_names_and_keeps_the_rest() -> None:
    first = apply_patch(
        None, parse_datapoint({"inputs": {"q": 1}, "metadata": {"k": 1}, "tag": "x"})
    )
    second = apply_patch(first, parse_datapoint({"metadata": {"j": 2}}))
    assert second == DatapointContent(inputs={"q": 1}, metadata={"j": 2}, extra={"tag": "x"})
    rendered = render_datapoint("d", second, created_at_ms=0, updated_at_ms=1, linked_datasets=[])
    assert rendered["tag"] == "x"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"inputs": "q"}, "inputs"),
        ({"history": {"role": "user"}}, "history"),
        ({"history": ["hi"]}, "history[0]"),
        ({"metadata": [1]}, "metadata"),
        ({"linked_event": 5}, "linked_event"),
        ({"linked_datasets": ["ok", ""]}, "linked_datasets[1]"),
    ],
)
def test_bad_datapoint_fields_are_named(body: dict[str, Any], field: str) -> None:
    fails(field, parse_datapoint, body)


def test_datapoint_lists_as_the_sdk_asks_for_them() -> None:
    by_ids = parse_datapoint_query(sdk_query({"datapoint_ids": ["d1", "d2"], "dataset_name": None}))
    assert by_ids == DatapointQuery(datapoint_ids=("d1", "d2"))
    by_name = parse_datapoint_query(sdk_query({"dataset_name": "qa"}))
    assert by_name == DatapointQuery(dataset_name="qa")
    assert parse_datapoint_query({}) == DatapointQuery()
    fails("datapoint_ids[1]", parse_datapoint_query, {"datapoint_ids[]": ["d1", ""]})


# --- add_datapoints -------------------------------------------------------------------


def add_body(data: list[dict[str, Any]], **mapping: list[str]) -> dict[str, Any]:
    return AddDatapointsToDatasetRequest(data=data, mapping=DatapointMapping(**mapping)).model_dump(
        exclude_none=True
    )


def test_mapped_columns_go_to_their_namespace_and_the_rest_to_metadata() -> None:
    body = add_body(
        [
            {
                "question": "2+2?",
                "answer": "4",
                "turns": [{"role": "user", "content": "2+2?"}],
                "src": "a",
            },
            {"question": "3+3?", "answer": "6", "src": "b", "extra": 1},
        ],
        inputs=["question"],
        ground_truth=["answer"],
        history=["turns"],
    )
    rows, mapping = parse_rows(body, max_rows=10)
    first, second = datapoints_from_rows(rows, mapping)
    assert first == DatapointContent(
        inputs={"question": "2+2?"},
        history=[{"role": "user", "content": "2+2?"}],
        ground_truth={"answer": "4"},
        metadata={"src": "a"},
    )
    assert second.metadata == {"src": "b", "extra": 1} and second.history == []


def test_ten_thousand_rows_map_in_one_request() -> None:
    data = [{"q": i, "a": i * 2} for i in range(10_000)]
    rows, mapping = parse_rows(add_body(data, inputs=["q"], ground_truth=["a"]), max_rows=10_000)
    contents = datapoints_from_rows(rows, mapping)
    assert len(contents) == 10_000 and contents[-1].ground_truth == {"a": 19_998}


def test_a_mapping_naming_a_column_no_row_has_is_refused() -> None:
    error = fails(
        "mapping.inputs[1]", parse_rows, add_body([{"q": 1}], inputs=["q", "qestion"]), max_rows=10
    )
    assert "qestion" in error.message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": [], "mapping": {}}, "data"),
        ({"data": "rows", "mapping": {}}, "data"),
        ({"data": [{"q": 1}, 5], "mapping": {}}, "data[1]"),
        ({"data": [{"q": 1}], "mapping": {"inputs": "q"}}, "mapping.inputs"),
        (
            {"data": [{"q": 1}], "mapping": {"inputs": ["q"], "ground_truth": ["q"]}},
            "mapping.ground_truth[0]",
        ),
        ({"data": [{"q": 1}] * 3, "mapping": {}}, "data"),
    ],
)
def test_bad_add_datapoints_bodies_are_named(body: dict[str, Any], field: str) -> None:
    fails(field, parse_rows, body, max_rows=2)


def test_a_history_column_holds_messages() -> None:
    rows, mapping = parse_rows(add_body([{"h": "hello"}], history=["h"]), max_rows=1)
    fails("data[0].h", datapoints_from_rows, rows, mapping)


# --- datapoints from events ------------------------------------------------------------

EVENT = {
    "event_id": "ev-1",
    "event_name": "llm",
    "inputs": {"question": "2+2?", "chat_history": [{"role": "user", "content": "2+2?"}]},
    "outputs": {"content": "4"},
    "feedback": {},
    "metadata": {"topic": "math"},
}


def test_an_event_becomes_a_linked_datapoint() -> None:
    made = datapoint_from_event(EVENT, None)
    assert made == DatapointContent(
        inputs={"question": "2+2?"},
        history=[{"role": "user", "content": "2+2?"}],
        ground_truth={"content": "4"},
        linked_event="ev-1",
    )
    with_truth = datapoint_from_event({**EVENT, "feedback": {"ground_truth": "four"}}, None)
    assert with_truth.ground_truth == "four"


def test_an_event_mapping_names_event_fields() -> None:
    mapping = parse_mapping(
        {"inputs": ["inputs.question", "metadata.topic"], "ground_truth": ["outputs.content"]}
    )
    made = datapoint_from_event(EVENT, mapping)
    assert made.inputs == {"question": "2+2?", "topic": "math"}
    assert made.ground_truth == {"content": "4"}


def test_a_batch_selects_events_by_id_or_by_filter() -> None:
    chosen = parse_selection(
        {"events": ["a", "b"], "checkState": {"c": True, "b": False}, "dataset_id": "ds"},
        now_ms=NOW,
    )
    assert chosen.event_ids == ("a", "b", "c") and chosen.query is None
    assert chosen.excluded_ids == frozenset({"b"}) and chosen.dataset_id == "ds"
    everything = parse_selection(
        {
            "selectAll": True,
            "filters": [{"field": "event_type", "operator": "is", "value": "model"}],
            "dateRange": {"gte": "2026-01-01T00:00:00Z", "lte": "2026-02-01T00:00:00Z"},
            "mapping": {"inputs": ["inputs.question"]},
        },
        now_ms=NOW,
    )
    assert everything.query is not None and len(everything.query.conditions) == 1
    assert everything.query.start_ms is not None and everything.mapping is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "events"),
        ({"checkState": {"a": False}}, "events"),
        ({"checkState": {"a": "yes"}}, "checkState.a"),
        ({"events": ["a"], "mapping": {"inputs": ["question"]}}, "mapping.inputs[0]"),
        (
            {"selectAll": True, "filters": [{"field": "x", "operator": "bigger"}]},
            "filters[0].operator",
        ),
    ],
)
def test_bad_batches_are_named(body: dict[str, Any], field: str) -> None:
    fails(field, parse_selection, body, now_ms=NOW)


# --- datasets -------------------------------------------------------------------------


def test_dataset_bodies_of_both_generations() -> None:
    created = parse_dataset(
        CreateDatasetRequest(name=" qa ", datapoints=["d1"]).model_dump(exclude_none=True)
    )
    assert (created.name, created.datapoint_ids) == ("qa", ["d1"])
    dataset_id, update = parse_legacy_update(
        UpdateDatasetRequest(dataset_id="ds-1", description="v2").model_dump(exclude_none=True)
    )
    assert dataset_id == "ds-1" and update.description == "v2" and update.datapoint_ids is None
    fails("dataset_id", parse_legacy_update, {"name": "x"})
    fails("name", parse_dataset, {"name": "  "})


def test_dataset_query() -> None:
    query = parse_dataset_query({"dataset_id": ["ds"], "include_datapoints": ["true"]})
    assert query == DatasetQuery(dataset_id="ds", include_datapoints=True)
    assert parse_dataset_query({"name": ["a", "b"], "version": ["3"]}) == DatasetQuery(
        name="b", version=3
    )
    fails("include_datapoints", parse_dataset_query, {"include_datapoints": ["maybe"]})
    fails("version", parse_dataset_query, {"version": ["0"]})


def test_the_dataset_answer_parses_with_its_version_history() -> None:
    record = DatasetRecord("ds-1", "qa", None, NOW, NOW + 5)
    history = [
        ChangeSummary((NOW + 5, "c2"), "key-b", added=0, removed=1, edited=1),
        ChangeSummary((NOW, "c1"), "key-a", added=2, removed=0, edited=0),
    ]
    body = render_dataset(record, ["d2"], history)
    (parsed,) = GetDatasetsResponse(datasets=[body]).datasets
    assert parsed.datapoints == ["d2"]
    assert body["version"] == 2
    assert [(v["version"], v["key_id"], v["added"], v["removed"]) for v in body["versions"]] == [
        (1, "key-a", 2, 0),
        (2, "key-b", 0, 1),
    ]
    assert render_dataset(record, [], [])["version"] == 0


# --- versions as changes --------------------------------------------------------------


def test_versions_are_replayed_from_the_changes() -> None:
    v1, v2, v3, v4 = (NOW, "a"), (NOW + 1, "b"), (NOW + 2, "c"), (NOW + 3, "d")
    log = [
        *addition_items(v1, [], ["d1", "d2", "d3"], {"d1": "r1", "d2": "r1", "d3": "r1"}),
        ChangeItem(v2, 0, "d2", "edited", "r2"),
        *membership_items(v3, ["d1", "d2", "d3"], ["d1", "d2"], {}),
        *addition_items(v4, ["d1", "d2"], ["d3", "d1"], {"d3": "r4", "d1": "r1"}),
    ]
    assert materialize(log, v1) == [Member("d1", "r1"), Member("d2", "r1"), Member("d3", "r1")]
    assert materialize(log, v2) == [Member("d1", "r1"), Member("d2", "r2"), Member("d3", "r1")]
    assert materialize(log, v3) == [Member("d1", "r1"), Member("d2", "r2")]
    # Removed and added again: last; an item for a member already in is not made.
    assert materialize(log) == [Member("d1", "r1"), Member("d2", "r2"), Member("d3", "r4")]
    assert [i.datapoint_id for i in log if i.key == v4] == ["d3"]
    assert materialize(reversed(log), v2) == materialize(log, v2)


def test_an_addition_of_a_member_changes_nothing_so_replays_are_idempotent() -> None:
    first = addition_items((NOW, "a"), [], ["d1", "d2"], {"d1": "r1", "d2": "r1"})
    # The same addition again, as a retried write or a second writer could append it.
    again = ChangeItem((NOW + 1, "b"), 0, "d1", "added", "r1")
    assert materialize([*first, again]) == [Member("d1", "r1"), Member("d2", "r1")]


def test_an_edit_costs_one_item_however_large_the_dataset() -> None:
    ids = [f"d{i}" for i in range(100_000)]
    log = addition_items((NOW, "a"), [], ids, dict.fromkeys(ids, "r1"))
    edit = ChangeItem((NOW + 1, "b"), 0, "d500", "edited", "r2")
    members = materialize([*log, edit])
    assert len(members) == 100_000 and members[500] == Member("d500", "r2")
    assert materialize([*log, edit], (NOW, "a"))[500] == Member("d500", "r1")


def test_replacing_membership_records_additions_then_removals() -> None:
    items = membership_items((NOW, "c"), ["a", "b"], ["b", "c", "c"], {"c": "r"})
    assert [(i.datapoint_id, i.kind, i.ordinal) for i in items] == [
        ("c", "added", 0),
        ("a", "removed", 1),
    ]
    assert membership_items((NOW, "c"), ["a"], ["a"], {}) == []


def test_version_numbers_follow_time_then_change_id_not_arrival() -> None:
    keys = [(NOW + 1, "b"), (NOW, "z"), (NOW + 1, "a")]
    assert version_numbers(keys) == {(NOW, "z"): 1, (NOW + 1, "a"): 2, (NOW + 1, "b"): 3}


def test_a_removed_item_names_no_revision() -> None:
    with pytest.raises(ValueError):
        ChangeItem((NOW, "a"), 0, "d", "removed", "r")
    with pytest.raises(ValueError):
        ChangeItem((NOW, "a"), 0, "d", "added", None)


def test_a_run_uses_the_version_in_force_when_it_was_created() -> None:
    keys = [(NOW, "a"), (NOW + 10, "c"), (NOW + 10, "b")]
    assert version_at(keys, NOW - 1) is None
    assert version_at(keys, NOW + 9) == (NOW, "a")
    assert version_at(keys, NOW + 10) == (NOW + 10, "c")


def test_a_delete_names_its_dataset_in_the_path_or_the_query() -> None:
    assert parse_delete(sdk_query({"dataset_id": "d-1"})) == ("d-1", False)
    assert parse_delete({"force": ["true"], "dataset_id": ["ignored"]}, "d-2") == ("d-2", True)
    fails("dataset_id", parse_delete, {})
    fails("force", parse_delete, {"force": ["maybe"]}, "d-3")


@pytest.mark.parametrize("text", ["9" * 5000, "²", "-1"])
def test_numbers_no_int_holds_are_refused_naming_the_parameter(text: str) -> None:
    # Thousands of digits, or a digit int() refuses: a 400, never int()'s ValueError.
    fails("version", parse_dataset_query, {"dataset_id": ["d"], "version": [text]})
    fails("limit", parse_datapoint_query, {"limit": [text]})
    fails("page", parse_datapoint_query, {"page": [text]})

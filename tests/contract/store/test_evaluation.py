"""The evaluation plane at the Store level, on every store: dataset versions, datapoint
edits, prompt and metric versions and deployments, runs and their sessions, retention
and deletes, a 10,000-datapoint import, and a run's result read in a bounded number of
queries.

Writes go straight to `write_batch` (the writer's call) at increasing times, as the
writer stamps them; reads go through the `EvaluationStore` protocol and the domain
functions the API will call on what they return.
"""

from __future__ import annotations

import pytest

from hivekeeper.domain.errors import Conflict, NotFound
from hivekeeper.domain.evaluation import changelog, results, traces, verdicts, versions
from hivekeeper.domain.evaluation.datapoints import DatapointContent
from hivekeeper.domain.evaluation.evaluators import threshold_of
from hivekeeper.domain.evaluation.ops import (
    ChangeMembership,
    DatapointWrite,
    DeleteChart,
    DeleteDatapoint,
    DeleteDataset,
    DeleteDefinition,
    DeleteRun,
    Deploy,
    PutDatapoints,
    PutRun,
    SaveChart,
    SaveDataset,
    SaveVersion,
)
from hivekeeper.domain.evaluation.runs import RunListQuery
from hivekeeper.domain.filters import parse_condition
from hivekeeper.domain.retention import DAY_MS
from hivekeeper.domain.types import EventPatch, ExpireSessions, Upsert, WriteOp
from hivekeeper.store import Store
from tests.support.statements import count_statements

NOW = 1_800_000_000_000.0
OLD = NOW - 10 * DAY_MS
CUTOFF = NOW - 5 * DAY_MS


class Clock:
    """Batch times a second apart, as a writer would stamp them."""

    def __init__(self) -> None:
        self.now = NOW

    def write(self, store: Store, *ops: WriteOp) -> float:
        self.now += 1000
        store.write_batch(list(ops), self.now)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _content(question: str, answer: object = None, **more: object) -> DatapointContent:
    return DatapointContent(inputs={"q": question}, ground_truth=answer, **more)  # type: ignore[arg-type]  # test data


def _new(*ids: str) -> tuple[DatapointWrite, ...]:
    return tuple(DatapointWrite(i, _content(f"{i}?", f"{i}!"), new=True) for i in ids)


def _dataset(store: Store, clock: Clock, project: str, dataset_id: str, *datapoints: str) -> None:
    clock.write(
        store,
        SaveDataset(project, dataset_id, name=f"set {dataset_id}", create=True),
        PutDatapoints(project, _new(*datapoints), dataset_ids=(dataset_id,)),
    )


def _members(store: Store, project: str, dataset_id: str) -> list[str]:
    return [m.datapoint_id for m in store.dataset_members(project, [dataset_id])[dataset_id]]


def _history(store: Store, project: str, dataset_id: str) -> list[changelog.ChangeSummary]:
    return store.dataset_histories(project, [dataset_id])[dataset_id]


def _questions(
    store: Store, project: str, dataset_id: str, at: changelog.VersionKey | None = None
) -> list[object]:
    points = store.list_datapoints(project, dataset_id=dataset_id, at=at, limit=1000)
    return [p.content.inputs["q"] for p in points]


# --- datasets, membership and versions ---


def test_a_dataset_lists_with_its_members_in_order_and_its_history(
    store: Store, project: str, clock: Clock
) -> None:
    _dataset(store, clock, project, "d1", "a", "b", "c")
    (record,) = store.list_datasets(project, dataset_id="d1")
    assert (record.id, record.name, record.description) == ("d1", "set d1", None)
    assert _members(store, project, "d1") == ["a", "b", "c"]
    (change,) = _history(store, project, "d1")
    assert (change.added, change.removed, change.edited) == (3, 0, 0)
    assert store.list_datasets(project, name="set d1") == [record]
    assert store.list_datasets(project, name="nothing") == []
    assert store.list_datasets(store.create_project("other").id) == []

    clock.write(store, SaveDataset(project, "d1", description="described"))
    (record,) = store.list_datasets(project, dataset_id="d1")
    assert (record.name, record.description) == ("set d1", "described")
    assert record.updated_at_ms is not None and record.updated_at_ms > record.created_at_ms


def test_membership_changes_make_versions_only_when_something_changes(
    store: Store, project: str, clock: Clock
) -> None:
    _dataset(store, clock, project, "d", "a", "b")
    clock.write(store, PutDatapoints(project, _new("c", "e")))
    clock.write(store, ChangeMembership(project, "d", add=("b", "c")))  # b is already in
    assert _members(store, project, "d") == ["a", "b", "c"]
    clock.write(store, ChangeMembership(project, "d", add=("a",), remove=("e",)))  # no change
    assert len(_history(store, project, "d")) == 2
    clock.write(store, ChangeMembership(project, "d", remove=("a",)))
    clock.write(store, ChangeMembership(project, "d", add=("a",)))  # back in, at the end
    assert _members(store, project, "d") == ["b", "c", "a"]
    clock.write(store, ChangeMembership(project, "d", replace=("e", "b")))
    assert _members(store, project, "d") == ["b", "e"]
    history = _history(store, project, "d")
    assert [(c.added, c.removed, c.edited) for c in history] == [
        (2, 0, 0), (1, 0, 0), (0, 1, 0), (1, 0, 0), (1, 2, 0),
    ]  # fmt: skip
    # Every version replays to what it was.
    assert [
        [m.datapoint_id for m in store.version_members(project, "d", change.key)]
        for change in history
    ] == [["a", "b"], ["a", "b", "c"], ["b", "c"], ["b", "c", "a"], ["b", "e"]]


def test_membership_of_what_does_not_exist_is_refused_whole(
    store: Store, project: str, clock: Clock
) -> None:
    _dataset(store, clock, project, "d", "a")
    missing = ChangeMembership(project, "d", add=("a", "ghost"))
    with pytest.raises(NotFound) as raised:
        store.write_batch([missing], clock.now + 1000)
    assert raised.value.field == "datapoints" and raised.value.culprit is missing
    with pytest.raises(NotFound):
        store.write_batch([ChangeMembership(project, "nope", add=("a",))], clock.now + 2000)
    with pytest.raises(Conflict):
        store.write_batch([SaveDataset(project, "d", name="again", create=True)], clock.now + 3000)
    assert len(_history(store, project, "d")) == 1


def test_a_run_made_before_an_edit_still_sees_the_old_datapoints(
    store: Store, project: str, clock: Clock
) -> None:
    _dataset(store, clock, project, "d", "a", "b")
    clock.write(store, PutRun(project, "run-1", {"dataset_id": "d", "name": "before"}, create=True))
    clock.write(
        store,
        PutDatapoints(project, (DatapointWrite("a", _content("a, edited", "new"), new=False),)),
    )
    clock.write(store, PutDatapoints(project, _new("c"), dataset_ids=("d",)))
    clock.write(store, DeleteDatapoint(project, "b"))

    run = store.get_run(project, "run-1")
    assert run is not None
    history = _history(store, project, "d")
    used = changelog.version_at([c.key for c in history], run.created_at_ms)
    assert used == history[0].key
    assert _questions(store, project, "d", at=used) == ["a?", "b?"]
    assert _questions(store, project, "d") == ["a, edited", "c?"]
    assert [(c.added, c.removed, c.edited) for c in history] == [
        (2, 0, 0), (0, 0, 1), (1, 0, 0), (0, 1, 0),
    ]  # fmt: skip
    (old_a,) = store.list_datapoints(project, dataset_id="d", at=used, limit=1)
    assert old_a.content.ground_truth == "a!" and old_a.updated_at_ms is None


def test_an_edited_datapoint_is_a_new_version_of_every_dataset_holding_it(
    store: Store, project: str, clock: Clock
) -> None:
    _dataset(store, clock, project, "d1", "a", "b")
    clock.write(store, SaveDataset(project, "d2", name="two", create=True),
                ChangeMembership(project, "d2", add=("a",)))  # fmt: skip
    edited_at = clock.write(
        store,
        PutDatapoints(project, (DatapointWrite("a", _content("a2", {"x": 1}), new=False),)),
    )
    (a,) = store.get_datapoints(project, ["a"])
    assert a.content.inputs == {"q": "a2"} and a.content.ground_truth == {"x": 1}
    assert a.updated_at_ms == edited_at and a.created_at_ms < edited_at
    assert a.linked_datasets == ("d1", "d2")
    assert [c.edited for c in _history(store, project, "d1")] == [0, 1]
    assert [c.edited for c in _history(store, project, "d2")] == [0, 1]
    assert [(m.datapoint_id, m.revision) for m in store.dataset_members(project, ["d2"])["d2"]] == [
        ("a", a.revision)
    ]
    with pytest.raises(NotFound):
        store.write_batch(
            [PutDatapoints(project, (DatapointWrite("ghost", _content("?"), new=False),))],
            clock.now + 1000,
        )
    with pytest.raises(Conflict):
        store.write_batch([PutDatapoints(project, _new("a"))], clock.now + 2000)


def test_datapoints_read_by_ids_and_page_by_page(store: Store, project: str, clock: Clock) -> None:
    clock.write(store, PutDatapoints(project, _new("p1", "p2", "p3")))
    clock.write(store, PutDatapoints(project, _new("p4")))
    clock.write(store, DeleteDatapoint(project, "p2"))
    ids = [p.id for p in store.get_datapoints(project, ["p4", "p2", "nope", "p1", "p4"])]
    assert ids == ["p4", "p1"]
    pages = [
        [p.id for p in store.list_datapoints(project, limit=2, offset=offset)] for offset in (0, 2)
    ]
    assert pages == [["p1", "p3"], ["p4"]]
    assert store.list_datapoints(store.create_project("other").id, limit=10) == []
    with pytest.raises(NotFound):
        store.write_batch([DeleteDatapoint(project, "p2")], clock.now + 1000)


def test_ten_thousand_datapoints_in_one_op_are_stored_all_or_nothing(
    store: Store, project: str, clock: Clock
) -> None:
    clock.write(store, SaveDataset(project, "big", name="big", create=True))
    rows = tuple(
        DatapointWrite(f"dp-{i:05d}", _content(f"q{i}", i, metadata={"row": i}), new=True)
        for i in range(10_000)
    )
    clock.write(store, PutDatapoints(project, rows, dataset_ids=("big",)))
    members = store.dataset_members(project, ["big"])["big"]
    assert [m.datapoint_id for m in members] == [w.datapoint_id for w in rows]
    last = store.list_datapoints(project, dataset_id="big", limit=1, offset=9_999)
    assert last[0].content.metadata == {"row": 9_999}

    # The last row of the next import collides: nothing of it is stored.
    clash = (
        *_new(*(f"more-{i}" for i in range(9_999))),
        DatapointWrite("dp-00000", _content("x"), new=True),
    )
    with pytest.raises(Conflict):
        store.write_batch([PutDatapoints(project, clash, dataset_ids=("big",))], clock.now + 1000)
    assert store.get_datapoints(project, ["more-0", "more-9998"]) == []
    assert len(_history(store, project, "big")) == 1
    assert len(store.dataset_members(project, ["big"])["big"]) == 10_000


# --- deletes ---


def test_a_dataset_runs_use_is_deleted_only_when_forced_and_the_runs_keep_their_version(
    store: Store, project: str, clock: Clock
) -> None:
    _dataset(store, clock, project, "d", "a")
    clock.write(store, PutRun(project, "r", {"dataset_id": "d"}, create=True))
    refused = DeleteDataset(project, "d")
    with pytest.raises(Conflict) as raised:
        store.write_batch([refused], clock.now + 1000)
    assert raised.value.culprit is refused and raised.value.field == "dataset_id"
    assert [d.id for d in store.list_datasets(project)] == ["d"]

    clock.write(store, DeleteDataset(project, "d", force=True))
    assert store.list_datasets(project) == []
    assert store.dataset_members(project, ["d"]) == {"d": []}
    (version,) = _history(store, project, "d")
    assert _questions(store, project, "d", at=version.key) == ["a?"]
    (a,) = store.get_datapoints(project, ["a"])
    assert a.linked_datasets == ()
    with pytest.raises(NotFound):
        store.write_batch([DeleteDataset(project, "d")], clock.now + 1000)


def test_an_unused_dataset_is_deleted_without_force(
    store: Store, project: str, clock: Clock
) -> None:
    _dataset(store, clock, project, "d", "a")
    clock.write(store, PutRun(project, "r", {"dataset_id": "d"}, create=True))
    clock.write(store, DeleteRun(project, "r"))
    clock.write(store, DeleteDataset(project, "d"))
    assert store.list_datasets(project) == []


# --- configurations and metrics ---


def test_versions_and_deployments_of_prompts_and_metrics(
    store: Store, project: str, clock: Clock
) -> None:
    first = SaveVersion(project, "configuration", "c1", {"name": "greet", "model": "a"},
                        create=True, deploy=("dev",))  # fmt: skip
    clock.write(store, first)
    second = SaveVersion(project, "configuration", "c1", {"name": "greet", "model": "b"},
                         deploy=("staging", "prod"))  # fmt: skip
    clock.write(store, second)
    clock.write(
        store, SaveVersion(project, "configuration", "c1", {"name": "greeting", "model": "c"})
    )
    clock.write(store, Deploy(project, "configuration", "c1", "dev", second.change_id))
    clock.write(store, SaveVersion(project, "metric", "m1", {"name": "greet"}, create=True))

    (c1,) = store.list_definitions(project, "configuration")
    assert c1.id == "c1"
    assert [v.content["model"] for v in c1.versions] == ["a", "b", "c"]
    assert versions.deployed(c1.deployments) == {
        "dev": second.change_id, "staging": second.change_id, "prod": second.change_id,
    }  # fmt: skip
    assert versions.number_of(c1.versions, second.change_id) == 2
    assert store.list_definitions(project, "configuration", names=["greeting"]) == [c1]
    assert store.list_definitions(project, "configuration", names=["greet"]) == []
    assert [d.id for d in store.list_definitions(project, "metric", names=["greet"])] == ["m1"]
    assert store.list_definitions(project, "metric", definition_id="c1") == []

    with pytest.raises(NotFound) as raised:
        store.write_batch(
            [Deploy(project, "configuration", "c1", "dev", "no-such-version")], clock.now + 1000
        )
    assert raised.value.field == "version"
    with pytest.raises(NotFound):
        store.write_batch([SaveVersion(project, "metric", "c1", {"name": "x"})], clock.now + 1000)
    with pytest.raises(Conflict):
        store.write_batch([first], clock.now + 1000)

    clock.write(store, DeleteDefinition(project, "configuration", "c1"))
    assert store.list_definitions(project, "configuration") == []
    assert len(store.list_definitions(project, "metric")) == 1


# --- runs ---


def test_run_patches_merge_into_the_run(store: Store, project: str, clock: Clock) -> None:
    created = clock.write(
        store,
        PutRun(project, "ci-1234", {"name": "first", "status": "pending",
                                    "metadata": {"a": 1, "b": 1}, "event_ids": ["s1", "s2"],
                                    "datapoint_ids": ["d1", "d2"]}, create=True),
    )  # fmt: skip
    # Two workers report their sessions; a third marks the run completed.
    clock.write(
        store, PutRun(project, "ci-1234", {"event_ids": ["s3", "s1"], "metadata": {"b": 2}})
    )
    updated = clock.write(
        store, PutRun(project, "ci-1234", {"status": "completed", "event_ids": ["s4"]})
    )
    run = store.get_run(project, "ci-1234")
    assert run is not None
    assert (run.name, run.status, run.metadata) == ("first", "completed", {"a": 1, "b": 2})
    assert run.event_ids == ["s1", "s2", "s3", "s4"]
    assert run.datapoint_ids == ["d1", "d2"]
    assert (run.created_at_ms, run.updated_at_ms) == (created, updated)

    with pytest.raises(Conflict):
        store.write_batch([PutRun(project, "ci-1234", {}, create=True)], clock.now + 1000)
    with pytest.raises(NotFound):
        store.write_batch([PutRun(project, "nope", {"status": "failed"})], clock.now + 1000)
    assert store.get_run(store.create_project("other").id, "ci-1234") is None


def test_runs_list_by_filters_in_pages(store: Store, project: str, clock: Clock) -> None:
    _dataset(store, clock, project, "d", "a")
    for i, (dataset, status) in enumerate(
        [("d", "completed"), (None, "pending"), ("d", "pending")]
    ):
        patch = {"name": f"run {i}", "status": status}
        if dataset:
            patch["dataset_id"] = dataset
        else:
            patch["metadata"] = {"offline_dataset_id": "EXT-abc"}
        clock.write(store, PutRun(project, f"r{i}", patch, create=True))  # type: ignore[arg-type]  # test data
    page = store.list_runs(project, RunListQuery(limit=2))
    assert [r.run_id for r in page.runs] == ["r2", "r1"]
    assert (page.total, page.total_unfiltered) == (3, 3)
    assert [r.run_id for r in store.list_runs(project, RunListQuery(limit=2, page=2)).runs] == [
        "r0"
    ]
    by_dataset = store.list_runs(project, RunListQuery(dataset_id="d", status="pending"))
    assert [r.run_id for r in by_dataset.runs] == ["r2"] and by_dataset.total == 1
    offline = store.list_runs(project, RunListQuery(dataset_id="EXT-abc"))
    assert [r.run_id for r in offline.runs] == ["r1"]
    named = store.list_runs(project, RunListQuery(name="run 0", run_ids=("r0", "r1")))
    assert [r.run_id for r in named.runs] == ["r0"]
    by_name = store.list_runs(project, RunListQuery(sort_by="name", descending=False))
    assert [r.run_id for r in by_name.runs] == ["r0", "r1", "r2"]
    assert store.list_runs(project, RunListQuery(run_ids=())).total == 0


def _evaluated_session(
    project: str, run_id: str | None, session_id: str, datapoint: str, score: object
) -> list[WriteOp]:
    """What `evaluate()` leaves for one datapoint: a session and the function's span,
    carrying the row, its output and a metric."""
    metadata = {"datapoint_id": datapoint, **({"run_id": run_id} if run_id else {})}
    session: EventPatch = {"event_id": session_id, "session_id": session_id,
                           "event_type": "session", "start_time": NOW, "metadata": metadata,
                           "inputs": {"q": datapoint}}  # fmt: skip
    span: EventPatch = {"event_id": f"{session_id}-fn", "session_id": session_id,
                        "parent_id": session_id, "event_type": "chain", "event_name": "fn",
                        "start_time": NOW + 1, "metadata": metadata,
                        "inputs": {"dp": f'{{"ground_truth": "{datapoint}!"}}', "big": "x" * 100},
                        "outputs": {"result": f"{datapoint}."},
                        "metrics": {"accuracy": score}}  # fmt: skip
    grandchild: EventPatch = {"event_id": f"{session_id}-llm", "session_id": session_id,
                              "parent_id": f"{session_id}-fn", "event_type": "model",
                              "start_time": NOW + 2, "outputs": {"text": "not read"}}  # fmt: skip
    return [Upsert(project, session), Upsert(project, span), Upsert(project, grandchild)]


def _result(store: Store, project: str, run_id: str) -> results.RunResult:
    """A run's result as the API computes it: the run, its rows, the metric rules."""
    run = store.get_run(project, run_id)
    assert run is not None
    rows = store.run_rows(project, run_id)
    sessions = traces.read_sessions(rows)
    names = sorted({s.name for t in sessions for s in t.scores})
    metrics = store.list_definitions(project, "metric", names=names)
    thresholds = {}
    for metric in metrics:
        live = versions.deployed(metric.deployments).get(versions.DEPLOYED)
        content = next((v.content for v in metric.versions if v.change_id == live), None)
        if content is not None:
            thresholds[str(content["name"])] = threshold_of(content)
    rules = verdicts.rules_for(run.passing_ranges, thresholds)
    return results.compute_result(status=run.status, datapoint_ids=run.datapoint_ids,
                                  traces=sessions, rules=rules, function="average")  # fmt: skip


def test_a_runs_sessions_come_from_metadata_run_id_and_from_event_ids(
    store: Store, project: str, clock: Clock
) -> None:
    clock.write(store, PutRun(project, "run", {"datapoint_ids": ["d1", "d2", "d3"]}, create=True))
    clock.write(
        store,
        *_evaluated_session(project, "run", "s1", "d1", 1.0),
        *_evaluated_session(project, None, "s2", "d2", 0.0),  # named only by event_ids
        *_evaluated_session(project, "another run", "s9", "d9", 0.5),
    )
    clock.write(store, PutRun(project, "run", {"status": "completed", "event_ids": ["s2"]}))
    rows = store.run_rows(project, "run")
    assert {r["session_id"] for r in rows} == {"s1", "s2"}
    span = next(r for r in rows if r["event_id"] == "s1-fn")
    # Projected: the row of the dataset and the output are read, the rest is not.
    assert span["inputs"] == {"dp": '{"ground_truth": "d1!"}'}
    assert span["outputs"] == {"result": "d1."}
    assert span["metadata"] == {"datapoint_id": "d1"} and span["metrics"] == {"accuracy": 1.0}
    session = next(r for r in rows if r["event_id"] == "s1")
    assert session["inputs"] == {"q": "d1"}
    assert next(r for r in rows if r["event_id"] == "s1-llm")["outputs"] == {}

    clock.write(store, SaveVersion(project, "metric", "m", {"name": "accuracy",
                                                           "threshold": {"min": 0.5}},
                                   create=True, deploy=(versions.DEPLOYED,)))  # fmt: skip
    result = _result(store, project, "run")
    assert (result.passed, result.failed, result.missing) == (["d1"], ["d2"], ("d3",))
    (accuracy,) = result.metrics
    assert (accuracy.aggregate, accuracy.values) == (0.5, (1.0, 0.0))

    only_d1 = parse_condition(
        {"field": "metadata.datapoint_id", "operator": "is", "value": "d1", "type": "string"}, "f"
    )
    assert {r["session_id"] for r in store.run_rows(project, "run", [only_d1])} == {"s1"}
    assert store.run_rows(project, "no such run") == []

    # What a comparison reads: the same rows, without inputs, outputs and feedback.
    scores = store.run_rows(project, "run", scores_only=True)
    light = [{**r, "inputs": {}, "outputs": {}, "feedback": {}} for r in rows]
    assert sorted(scores, key=lambda r: r["event_id"]) == sorted(light, key=lambda r: r["event_id"])


def test_a_late_event_changes_the_next_result(store: Store, project: str, clock: Clock) -> None:
    clock.write(store, PutRun(project, "run", {"status": "completed"}, create=True))
    clock.write(store, *_evaluated_session(project, "run", "s1", "d1", 1.0))
    assert _result(store, project, "run").metrics[0].values == (1.0,)
    late = {"event_id": "s1-late", "session_id": "s1", "parent_id": "s1", "event_type": "tool",
            "event_name": "judge", "start_time": NOW + 5, "error": "judge failed",
            "metrics": {"accuracy": 0.0}}  # fmt: skip
    clock.write(store, Upsert(project, late))  # type: ignore[arg-type]  # test data
    result = _result(store, project, "run")
    assert [m.values for m in result.metrics] == [(1.0,), (0.0,)]
    assert result.failed == ["d1"]


def test_deleting_a_run_keeps_its_sessions_unless_asked(
    store: Store, project: str, clock: Clock
) -> None:
    for run_id in ("kept", "gone"):
        clock.write(
            store, PutRun(project, run_id, {"event_ids": [f"{run_id}-reported"]}, create=True)
        )
        clock.write(
            store,
            *_evaluated_session(project, run_id, f"{run_id}-s", "d", 1.0),
            *_evaluated_session(project, None, f"{run_id}-reported", "d", 1.0),
        )
    clock.write(store, DeleteRun(project, "kept"))
    clock.write(store, DeleteRun(project, "gone", delete_sessions=True))
    assert store.get_run(project, "kept") is None and store.get_run(project, "gone") is None
    assert store.get_event(project, "kept-s") is not None
    assert store.get_event(project, "kept-reported-fn") is not None
    for gone in ("gone-s", "gone-s-fn", "gone-reported", "gone-reported-llm"):
        assert store.get_event(project, gone) is None
    with pytest.raises(NotFound):
        store.write_batch([DeleteRun(project, "gone")], clock.now + 1000)


def test_retention_never_expires_the_sessions_of_a_live_run(
    store: Store, project: str, clock: Clock
) -> None:
    old = {"start_time": OLD}
    clock.write(store, PutRun(project, "run", {"event_ids": ["reported"]}, create=True))
    for run_id, session_id in (("run", "by-metadata"), (None, "reported"), (None, "plain")):
        ops = _evaluated_session(project, run_id, session_id, "d", 1.0)
        clock.write(store, *(Upsert(project, {**op.patch, **old}) for op in ops))  # type: ignore[union-attr, typeddict-item]  # test data
    assert store.has_expired(project, CUTOFF)
    clock.write(store, ExpireSessions(project, CUTOFF))
    assert store.get_event(project, "plain") is None
    assert store.get_event(project, "by-metadata-fn") is not None
    assert store.get_event(project, "reported") is not None
    assert not store.has_expired(project, CUTOFF)

    clock.write(store, DeleteRun(project, "run"))
    assert store.has_expired(project, CUTOFF)
    clock.write(store, ExpireSessions(project, CUTOFF))
    assert store.get_event(project, "by-metadata") is None
    assert store.get_event(project, "reported-fn") is None


def test_a_runs_result_is_read_in_the_same_few_queries_whatever_its_size(
    store: Store, project: str, clock: Clock
) -> None:
    for run_id, size in (("small", 3), ("large", 120)):
        clock.write(store, PutRun(project, run_id, {"event_ids": [f"{run_id}-0"]}, create=True))
        ops = [
            op
            for i in range(size)
            for op in _evaluated_session(project, run_id, f"{run_id}-{i}", f"d{i}", i % 2)
        ]
        clock.write(store, *ops)
        clock.write(
            store, PutRun(project, run_id, {"event_ids": [f"{run_id}-{i}" for i in range(size)]})
        )
    counts = {}
    for run_id in ("small", "large"):
        with count_statements(store) as statements:
            result = _result(store, project, run_id)
        counts[run_id] = len(statements)
        assert len(result.datapoints) == (3 if run_id == "small" else 120)
    assert counts["small"] == counts["large"] <= 8


# --- saved charts and the event schema ---


def test_saved_charts_are_created_updated_and_deleted(
    store: Store, project: str, clock: Clock
) -> None:
    created = clock.write(store, SaveChart(project, "c", {"name": "cost", "metric": "cost"},
                                           create=True))  # fmt: skip
    updated = clock.write(store, SaveChart(project, "c", {"name": "spend", "func": "sum"}))
    chart = store.get_chart(project, "c")
    assert chart is not None
    assert chart.definition == {"name": "spend", "metric": "cost", "func": "sum"}
    assert (chart.created_at_ms, chart.updated_at_ms) == (created, updated)
    assert store.list_charts(project) == [chart]
    assert store.get_chart(store.create_project("other").id, "c") is None
    clock.write(store, DeleteChart(project, "c"))
    assert store.list_charts(project) == []
    with pytest.raises(NotFound):
        store.write_batch([SaveChart(project, "c", {"name": "x"})], clock.now + 1000)


def test_the_schema_sample_reads_a_runs_events_or_the_latest(
    store: Store, project: str, clock: Clock
) -> None:
    clock.write(store, PutRun(project, "run", {}, create=True))
    clock.write(store, *_evaluated_session(project, "run", "s1", "d1", 1.0),
                *_evaluated_session(project, None, "s2", "d2", 1.0))  # fmt: skip
    of_run = store.schema_rows(project, run_id="run")
    assert len(of_run) == 3
    assert {r["event_type"] for r in of_run} == {"session", "chain", "model"}
    chain = next(r for r in of_run if r["event_type"] == "chain")
    assert chain["metrics"] == {"accuracy": 1.0} and chain["config"] == {}
    assert len(store.schema_rows(project)) == 6
    assert len(store.schema_rows(project, limit=2)) == 2
    assert store.schema_rows(project, start_ms=NOW + 3) == []

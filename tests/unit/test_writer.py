"""The batching writer over a real SQLite store: commit before answer, bounds, shutdown."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from hivekeeper.domain.errors import (
    EventTypeConflict,
    HivekeeperError,
    NotFound,
    Overloaded,
    Unavailable,
    ValidationFailed,
)
from hivekeeper.domain.evaluation.datapoints import DatapointContent
from hivekeeper.domain.evaluation.ops import (
    ChangeMembership,
    DatapointWrite,
    PutDatapoints,
    SaveDataset,
)
from hivekeeper.domain.types import EventPatch, Skipped, Upsert, WriteOp
from hivekeeper.ingest.writer import Writer, WriterState
from hivekeeper.store.sqlite.engine import SqliteStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    the_store = SqliteStore(f"sqlite:///{tmp_path / 'w.db'}")
    the_store.open()
    yield the_store
    the_store.close()


def _op(event_id: str, session_id: str = "s") -> Upsert:
    patch: EventPatch = {"event_id": event_id, "session_id": session_id, "event_type": "tool"}
    return Upsert("p", patch)


def test_submit_returns_after_commit(store: SqliteStore) -> None:
    writer = Writer(store)
    writer.start()

    async def go() -> None:
        await writer.submit([_op("a"), _op("b")])
        # A fresh read-only connection sees the rows: they are committed.
        assert store.get_event("p", "a") is not None
        assert store.get_event("p", "s")["num_events"] == 2  # type: ignore[index]

    asyncio.run(go())
    writer.close()


async def _until_taken(writer: Writer) -> None:
    """Wait until the writer has taken everything queued (it is then blocked)."""
    for _ in range(500):
        if writer.queued_ops == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the writer never took its work")


def test_full_queue_answers_overloaded_and_loses_nothing(store: SqliteStore) -> None:
    writer = Writer(store, max_queue_ops=4, max_batch_ops=1)
    writer.start()
    # Another connection holds the write lock, so the writer cannot commit and the
    # queue fills up, exactly as under overload.
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")

    async def go() -> None:
        first = asyncio.ensure_future(writer.submit([_op("e0")]))
        await asyncio.sleep(0)
        await _until_taken(writer)
        queued = [asyncio.ensure_future(writer.submit([_op(f"e{i}")])) for i in range(1, 5)]
        await asyncio.sleep(0)
        assert writer.queued_ops == 4
        with pytest.raises(Overloaded) as info:
            await writer.submit([_op("x1")])
        assert info.value.headers()["Retry-After"] == "1"
        blocker.execute("ROLLBACK")
        await asyncio.gather(first, *queued)

    asyncio.run(go())
    writer.close()
    blocker.close()
    assert all(store.get_event("p", f"e{i}") for i in range(5))
    assert store.get_event("p", "x1") is None


def test_close_commits_what_was_queued(store: SqliteStore) -> None:
    writer = Writer(store)
    writer.start()

    async def go() -> None:
        pending = [asyncio.ensure_future(writer.submit([_op(f"q{i}")])) for i in range(50)]
        await asyncio.sleep(0)
        await asyncio.get_running_loop().run_in_executor(None, writer.close)
        await asyncio.gather(*pending)
        with pytest.raises(Unavailable):
            await writer.submit([_op("late")])

    asyncio.run(go())
    assert writer.state is WriterState.CLOSED
    assert all(store.get_event("p", f"q{i}") for i in range(50))


def test_a_failing_batch_fails_alone(store: SqliteStore) -> None:
    writer = Writer(store)
    writer.start()
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    # A row without a project violates the schema: the database itself refuses it.
    broken = Upsert(None, {"event_id": "bad", "session_id": "s2", "event_type": "tool"})  # type: ignore[arg-type]

    async def go() -> list[BaseException | None]:
        warm = asyncio.ensure_future(writer.submit([_op("warm")]))
        await asyncio.sleep(0)
        await _until_taken(writer)  # the next three now queue up into one group
        futures = [
            asyncio.ensure_future(writer.submit([_op("good1")])),
            asyncio.ensure_future(writer.submit([broken])),
            asyncio.ensure_future(writer.submit([_op("good2")])),
        ]
        await asyncio.sleep(0)
        assert writer.queued_ops == 3
        blocker.execute("ROLLBACK")
        await warm
        return list(await asyncio.gather(*futures, return_exceptions=True))

    results = asyncio.run(go())
    writer.close()
    blocker.close()
    assert results[0] == [] and results[2] == []  # committed, with nothing to note
    assert isinstance(results[1], HivekeeperError)
    assert store.get_event("p", "good1") and store.get_event("p", "good2")


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        Writer(None, max_queue_ops=1, max_batch_ops=2)  # type: ignore[arg-type]


def test_each_commit_is_reported_and_a_failing_observer_loses_nothing(
    store: SqliteStore,
) -> None:
    reported: list[tuple[int, float]] = []

    def observe(ops: int, seconds: float) -> None:
        reported.append((ops, seconds))
        raise RuntimeError("a broken metrics hook")

    writer = Writer(store, on_commit=observe)
    writer.start()

    async def go() -> None:
        await writer.submit([_op("a"), _op("b")])
        await writer.submit([_op("c")])

    asyncio.run(go())
    writer.close()
    assert [ops for ops, _ in reported] == [2, 1]
    assert all(seconds >= 0 for _, seconds in reported)
    assert store.get_event("p", "c") is not None


def test_redaction_runs_on_the_writer_thread_and_a_failure_fails_its_request_alone(
    store: SqliteStore,
) -> None:
    """Redacting a large body must not block the event loop: the writer's thread does it,
    before the transaction, and what it returns is what is stored."""
    threads: set[str] = set()

    def redact(ops: Sequence[WriteOp]) -> Sequence[WriteOp]:
        threads.add(threading.current_thread().name)
        out: list[WriteOp] = []
        for op in ops:
            assert isinstance(op, Upsert)
            if op.patch["event_id"] == "poison":
                raise RuntimeError("a broken redaction rule")
            out.append(Upsert(op.project_id, {**op.patch, "event_name": "redacted"}))
        return out

    writer = Writer(store, redact=redact)
    writer.start()

    async def go() -> list[Any]:
        return list(
            await asyncio.gather(
                writer.submit([_op("r1")]),
                writer.submit([_op("poison")]),
                writer.submit([_op("r2")]),
                return_exceptions=True,
            )
        )

    results = asyncio.run(go())
    writer.close()
    assert threads == {"hivekeeper-writer"}
    assert results[0] == [] and results[2] == []
    assert isinstance(results[1], HivekeeperError)
    assert store.get_event("p", "r1")["event_name"] == "redacted"  # type: ignore[index]
    assert store.get_event("p", "poison") is None


def _grouped(writer: Writer, store: SqliteStore, requests: list[list[WriteOp]]) -> list[Any]:
    """Start `writer` and submit `requests` so that they queue up into one group
    behind a held write lock; their outcomes."""
    writer.start()
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")

    async def go() -> list[Any]:
        warm = asyncio.ensure_future(writer.submit([_op("warm")]))
        await asyncio.sleep(0)
        await _until_taken(writer)
        futures = [asyncio.ensure_future(writer.submit(ops)) for ops in requests]
        await asyncio.sleep(0)
        assert writer.queued_ops == sum(len(ops) for ops in requests)
        blocker.execute("ROLLBACK")
        await warm
        return list(await asyncio.gather(*futures, return_exceptions=True))

    try:
        return asyncio.run(go())
    finally:
        writer.close()
        blocker.close()


def test_a_type_conflict_fails_its_request_alone_and_the_rest_commit_together(
    store: SqliteStore,
) -> None:
    setup = Writer(store)
    setup.start()
    asyncio.run(setup.submit([_op("typed")]))  # a tool event
    setup.close()
    transactions: list[int] = []
    writer = Writer(store, on_commit=lambda ops, _: transactions.append(ops))
    retype = Upsert("p", {"event_id": "typed", "session_id": "s", "event_type": "model"})
    results = _grouped(writer, store, [[_op("good1")], [retype], [_op("good2"), _op("good3")]])
    assert results[0] == [] and results[2] == []
    assert isinstance(results[1], EventTypeConflict)
    assert results[1].status == 409
    # The warm-up, then the two good requests in one transaction (not one each).
    assert transactions == [1, 3]
    assert all(store.get_event("p", e) for e in ("good1", "good2", "good3"))
    assert store.get_event("p", "typed")["event_type"] == "tool"  # type: ignore[index]


def test_skipped_upserts_are_reported_to_their_own_request(store: SqliteStore) -> None:
    setup = Writer(store)
    setup.start()
    asyncio.run(setup.submit([_op("typed")]))
    setup.close()
    writer = Writer(store)
    span = Upsert(
        "p",
        {"event_id": "typed", "session_id": "s", "event_type": "chain"},
        on_type_conflict="keep_stored",
    )
    results = _grouped(writer, store, [[_op("good")], [_op("span-ok"), span]])
    assert results[0] == []
    [note] = results[1]
    assert isinstance(note, Skipped) and note.op is span
    assert (note.conflict.stored_type, note.conflict.sent_type) == ("tool", "chain")
    assert store.get_event("p", "span-ok") is not None
    assert store.get_event("p", "typed")["event_type"] == "tool"  # type: ignore[index]


def test_children_past_the_cap_fail_their_request_alone(store: SqliteStore) -> None:
    writer = Writer(store, max_children_ids=2)
    wide = Upsert(
        "p",
        {"event_id": "wide", "session_id": "s", "event_type": "chain", "children_ids": list("abc")},
    )
    results = _grouped(writer, store, [[_op("good")], [wide]])
    assert results[0] == []
    assert isinstance(results[1], ValidationFailed) and results[1].field == "children_ids"
    assert store.get_event("p", "good") is not None and store.get_event("p", "wide") is None


def _submit_all(writer: Writer, setup: list[WriteOp]) -> None:
    writer.start()
    asyncio.run(writer.submit(setup))
    writer.close()


def _dataset_ops(*datapoints: str) -> list[WriteOp]:
    return [
        SaveDataset("p", "d", name="d", create=True),
        PutDatapoints("p", tuple(DatapointWrite(d, DatapointContent(), True) for d in datapoints)),
    ]


def test_an_import_weighs_its_rows_and_commits_in_a_transaction_of_its_own(
    store: SqliteStore,
) -> None:
    _submit_all(Writer(store), _dataset_ops())
    transactions: list[int] = []
    writer = Writer(store, max_queue_ops=20, max_batch_ops=5,
                    on_commit=lambda ops, _: transactions.append(ops))  # fmt: skip
    writer.start()
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    rows = tuple(DatapointWrite(f"dp{i}", DatapointContent(), new=True) for i in range(12))

    async def go() -> None:
        warm = asyncio.ensure_future(writer.submit([_op("warm")]))
        await asyncio.sleep(0)
        await _until_taken(writer)
        heavy = asyncio.ensure_future(writer.submit([PutDatapoints("p", rows, ("d",))]))
        light = asyncio.ensure_future(writer.submit([_op("light")]))
        await asyncio.sleep(0)
        assert writer.queued_ops == 13
        more = tuple(DatapointWrite(f"more{i}", DatapointContent(), new=True) for i in range(10))
        with pytest.raises(Overloaded):
            await writer.submit([PutDatapoints("p", more)])
        blocker.execute("ROLLBACK")
        await asyncio.gather(warm, heavy, light)

    asyncio.run(go())
    writer.close()
    blocker.close()
    # The warm-up, the import alone (heavier than a batch), then the event behind it.
    assert transactions == [1, 1, 1]
    assert len(store.dataset_members("p", ["d"])["d"]) == 12


def test_a_refused_evaluation_op_fails_its_request_alone(store: SqliteStore) -> None:
    _submit_all(Writer(store), _dataset_ops("a"))
    transactions: list[int] = []
    writer = Writer(store, on_commit=lambda ops, _: transactions.append(ops))
    ghost = ChangeMembership("p", "d", add=("ghost",))
    fine = SaveDataset("p", "d2", create=True)
    results = _grouped(writer, store, [[_op("good")], [ghost], [fine]])
    assert results[0] == [] and results[2] == []
    assert isinstance(results[1], NotFound) and results[1].field == "datapoints"
    assert transactions == [1, 2]
    assert [d.id for d in store.list_datasets("p")] == ["d", "d2"]


def test_changes_in_one_transaction_are_versioned_in_the_order_they_were_queued(
    store: SqliteStore,
) -> None:
    _submit_all(Writer(store), _dataset_ops("a", "b"))
    # One clock reading for the whole group: only the writer's stamps order its changes.
    writer = Writer(store, clock=lambda: 1_800_000_000.0)
    steps = [("a",), ()] * 3
    requests: list[list[WriteOp]] = [
        [ChangeMembership("p", "d", add=add, remove=() if add else ("a",))] for add in steps
    ]
    results = _grouped(writer, store, requests)
    assert results == [[]] * 6
    history = store.dataset_histories("p", ["d"])["d"]
    assert [(c.added, c.removed) for c in history] == [(1, 0), (0, 1)] * 3
    assert [m.datapoint_id for m in store.dataset_members("p", ["d"])["d"]] == []

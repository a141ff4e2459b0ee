"""Session names keep their precedence on every store: an explicit name (a session
start, `honeyhive.session_name`, `langfuse.trace.name`) beats a derived one (a trace's
workflow, its root span) beats `unknown`, whichever part arrives first, in one batch
or across batches, before or after the session exists."""

from __future__ import annotations

import itertools

import pytest

from hivekeeper.domain.session_names import NAME_SOURCE_KEY
from hivekeeper.domain.types import EventPatch, MergeOp, Update, Upsert
from hivekeeper.store import Store

NOW = 1_800_000_000_000.0


def _start(project: str, name: str) -> Upsert:
    """A session start naming the session (explicit)."""
    patch: EventPatch = {"event_id": "s", "session_id": "s", "event_type": "session",
                         "event_name": name, "start_time": NOW}  # fmt: skip
    return Upsert(project, patch)


def _span(project: str) -> Upsert:
    """A span of the session, which creates it when nothing else has."""
    return Upsert(project, {"event_id": "e", "session_id": "s", "event_type": "model"})


def _derived(project: str, name: str, source: str) -> Update:
    return Update(project, {"event_id": "s", "event_name": name,
                            "metadata": {NAME_SOURCE_KEY: source}})  # fmt: skip


def _explicit(project: str, name: str) -> Update:
    return Update(project, {"event_id": "s", "event_name": name})


def _stored_name(store: Store, project: str) -> tuple[str | None, object]:
    row = store.get_event(project, "s")
    assert row is not None and row["event_type"] == "session"
    return row["event_name"], row["metadata"].get(NAME_SOURCE_KEY)


ORDERS = [pytest.param(order, id="-".join(order)) for order in itertools.permutations(
    ("explicit", "root", "workflow", "span"))]  # fmt: skip


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("batches", ["one-batch", "batch-each"])
def test_the_explicit_name_wins_in_any_order(
    store: Store, project: str, order: tuple[str, ...], batches: str
) -> None:
    parts: dict[str, MergeOp] = {
        "explicit": _explicit(project, "checkout"),
        "root": _derived(project, "POST /chat", "root_span"),
        "workflow": _derived(project, "answer_question", "traceloop.workflow.name"),
        "span": _span(project),
    }
    ops = [parts[name] for name in order]
    if batches == "one-batch":
        store.write_batch(ops, NOW)
    else:
        for op in ops:
            store.write_batch([op], NOW)
    assert _stored_name(store, project) == ("checkout", None)


@pytest.mark.parametrize("order", ["workflow-first", "root-first"])
def test_a_workflow_name_beats_a_root_span_name(store: Store, project: str, order: str) -> None:
    ops = [
        _derived(project, "POST /chat", "root_span"),
        _derived(project, "answer_question", "traceloop.workflow.name"),
    ]
    if order == "workflow-first":
        ops.reverse()
    for op in [_span(project), *ops]:
        store.write_batch([op], NOW)
    assert _stored_name(store, project) == ("answer_question", "traceloop.workflow.name")


def test_a_session_start_after_a_derived_name_replaces_it(store: Store, project: str) -> None:
    store.write_batch([_derived(project, "POST /chat", "root_span"), _span(project)], NOW)
    assert _stored_name(store, project) == ("POST /chat", "root_span")
    store.write_batch([_start(project, "checkout")], NOW)
    assert _stored_name(store, project) == ("checkout", None)
    store.write_batch([_derived(project, "POST /chat", "root_span")], NOW)
    assert _stored_name(store, project) == ("checkout", None)


def test_a_derived_name_before_the_session_start_loses_to_it(store: Store, project: str) -> None:
    store.write_batch([_derived(project, "POST /chat", "root_span")], NOW)  # pending
    store.write_batch([_start(project, "checkout")], NOW)
    assert _stored_name(store, project) == ("checkout", None)


def test_an_unnamed_session_takes_a_derived_name(store: Store, project: str) -> None:
    store.write_batch([_span(project)], NOW)
    assert _stored_name(store, project) == ("unknown", None)
    store.write_batch([_derived(project, "POST /chat", "root_span")], NOW)
    assert _stored_name(store, project) == ("POST /chat", "root_span")

"""What `write_batch` stores, on every store: the merge rule, session roll-ups, deletes,
retention and pending-row expiry, the write notes, type conflicts and the children cap.

Batches go straight to the Store protocol (the writer's call), and what they left is
read back through it, so each engine is held to the same outcome.
"""

from __future__ import annotations

import pytest

from hivekeeper.domain.errors import EventTypeConflict, ValidationFailed
from hivekeeper.domain.retention import DAY_MS
from hivekeeper.domain.types import (
    DeleteEvent,
    DeleteSession,
    EventPatch,
    Expired,
    ExpirePending,
    ExpireSessions,
    Skipped,
    StoredRow,
    Update,
    Upsert,
)
from hivekeeper.store import Store

NOW = 1_800_000_000_000.0
OLD = NOW - 10 * DAY_MS
CUTOFF = NOW - 5 * DAY_MS


def _session(session_id: str, start: float = NOW) -> EventPatch:
    return {"event_id": session_id, "session_id": session_id, "event_type": "session",
            "start_time": start}  # fmt: skip


def _event(event_id: str, session_id: str, event_type: str = "tool", **more: object) -> EventPatch:
    patch: EventPatch = {"event_id": event_id, "session_id": session_id, "event_type": event_type}
    patch.update(more)  # type: ignore[typeddict-item]  # test data
    return patch


def _row(store: Store, project: str, event_id: str) -> StoredRow:
    row = store.get_event(project, event_id)
    assert row is not None, f"{event_id} is not stored"
    return row


def _ids(store: Store, project: str) -> set[str]:
    return {r["event_id"] for r in store.scan_rows(None, 1000) if r["project_id"] == project}


def test_parts_of_an_event_merge_by_the_merge_rule(store: Store, project: str) -> None:
    store.write_batch(
        [Upsert(project, _event("e", "s", event_name="first", metadata={"a": 1, "b": 1},
                                children_ids=["c1"]))],
        NOW,
    )  # fmt: skip
    store.write_batch(
        [Upsert(project, _event("e", "s", event_name="second", metadata={"b": 2, "c": 3},
                                children_ids=["c2", "c1"]))],
        NOW,
    )  # fmt: skip
    row = _row(store, project, "e")
    assert row["event_name"] == "second"  # scalars replace
    assert row["metadata"] == {"a": 1, "b": 2, "c": 3}  # namespaces merge key by key
    assert row["children_ids"] == ["c1", "c2"]  # an ordered union


def test_a_repeated_batch_changes_nothing(store: Store, project: str) -> None:
    batch = [
        Upsert(project, _session("s")),
        Upsert(project, _event("m", "s", "model", metadata={"total_tokens": 7, "cost": 0.5})),
        Update(project, {"event_id": "m", "feedback": {"rating": 5}}),
    ]
    store.write_batch(batch, NOW)
    once = store.scan_rows(None, 100)
    store.write_batch(batch, NOW + 1000)
    assert store.scan_rows(None, 100) == once
    assert _row(store, project, "s")["num_events"] == 1


def test_a_retried_batch_with_new_events_counts_each_event_once(
    store: Store, project: str
) -> None:
    # Row stores insert first and read only on a clash: the clash must undo the
    # insert-first attempt whole, or the session would count the retried event twice.
    first = Upsert(project, _event("m1", "s", "model", metadata={"total_tokens": 10}))
    store.write_batch([first], NOW)
    retry = [
        Upsert(project, _event("m2", "s", "model", metadata={"total_tokens": 5})),
        first,
        Upsert(project, _event("t", "s", error="boom")),
    ]
    store.write_batch(retry, NOW + 1000)
    session = _row(store, project, "s")
    assert (session["num_events"], session["num_model_events"]) == (3, 2)
    assert (session["total_tokens"], session["error_count"]) == (15, 1)
    assert _ids(store, project) == {"s", "m1", "m2", "t"}


def test_session_rollups_follow_their_events_in_out_and_away(store: Store, project: str) -> None:
    store.write_batch(
        [
            Upsert(project, _session("s1")),
            Upsert(project, _event("m", "s1", "model", start_time=NOW + 10, duration=5.0,
                                   metadata={"prompt_tokens": 10, "completion_tokens": 5,
                                             "cost": 0.25})),
            Upsert(project, _event("t", "s1", error="boom", start_time=NOW + 20, duration=1.0)),
        ],
        NOW,
    )  # fmt: skip
    s1 = _row(store, project, "s1")
    assert (s1["num_events"], s1["num_model_events"], s1["error_count"]) == (2, 1, 1)
    assert (s1["prompt_tokens"], s1["completion_tokens"], s1["total_tokens"]) == (10, 5, 15)
    assert s1["cost"] == 0.25 and s1["end_time"] == NOW + 21

    # The model event moves to another session: an implicit one, which takes its share.
    store.write_batch([Update(project, {"event_id": "m", "session_id": "s2"})], NOW)
    s1, s2 = _row(store, project, "s1"), _row(store, project, "s2")
    assert (s1["num_events"], s1["num_model_events"], s1["total_tokens"]) == (1, 0, 0)
    assert s2["event_type"] == "session"
    assert (s2["num_events"], s2["total_tokens"], s2["cost"]) == (1, 15, 0.25)

    store.write_batch([DeleteEvent(project, "t")], NOW)
    s1 = _row(store, project, "s1")
    assert (s1["num_events"], s1["error_count"]) == (0, 0)
    assert store.get_event(project, "t") is None


def test_an_update_before_its_event_stays_pending_then_wins_over_it(
    store: Store, project: str
) -> None:
    store.write_batch([Update(project, {"event_id": "e", "event_name": "renamed",
                                        "metadata": {"score": 1}})], OLD)  # fmt: skip
    assert store.get_event(project, "e") is None
    pending = store.get_event(project, "e", include_pending=True)
    assert pending is not None
    assert (pending["event_type"], pending["pending_since"]) == (None, OLD)
    store.write_batch(
        [Upsert(project, _event("e", "s", event_name="original", metadata={"x": 2}))], NOW
    )
    row = _row(store, project, "e")
    assert (row["event_name"], row["metadata"]) == ("renamed", {"x": 2, "score": 1})
    assert row["pending_since"] is None
    assert _row(store, project, "s")["num_events"] == 1


def test_deleting_a_session_takes_its_events_and_pending_rows(store: Store, project: str) -> None:
    store.write_batch(
        [
            Upsert(project, _session("gone")),
            Upsert(project, _event("e1", "gone")),
            Upsert(project, _event("e2", "gone")),
            Update(project, {"event_id": "pending", "session_id": "gone"}),
            Upsert(project, _session("kept")),
            Upsert(project, _event("k1", "kept")),
            Upsert(project, _session("by-id")),
            Upsert(project, _event("b1", "by-id")),
        ],
        NOW,
    )
    store.write_batch([DeleteSession(project, "gone")], NOW)
    assert _ids(store, project) == {"kept", "k1", "by-id", "b1"}
    # An event id that is a session's removes the whole session; an unknown one nothing.
    store.write_batch([DeleteEvent(project, "by-id"), DeleteEvent(project, "nothing")], NOW)
    assert _ids(store, project) == {"kept", "k1"}
    assert _row(store, project, "kept")["num_events"] == 1


def test_retention_takes_old_sessions_and_orphans_only(store: Store, project: str) -> None:
    other = store.create_project("other").id
    store.write_batch(
        [
            Upsert(project, _session("old", OLD)),
            Upsert(project, _event("old-1", "old", start_time=OLD, duration=5.0)),
            Upsert(project, _session("alive", OLD)),
            Upsert(project, _event("alive-old", "alive", start_time=OLD, duration=5.0)),
            Upsert(project, _event("alive-new", "alive", start_time=NOW - DAY_MS, duration=5.0)),
            Upsert(project, _session("recent", NOW - DAY_MS)),
            Upsert(project, _event("temp", "temp", start_time=OLD, duration=5.0)),
            Upsert(other, _session("old", OLD)),
        ],
        NOW,
    )
    # An old event whose session row is gone.
    orphan = _row(store, project, "temp")
    store.write_batch([DeleteSession(project, "temp")], NOW)
    store.put_rows([{**orphan, "event_id": "orphan", "session_id": "gone"}])
    assert store.has_expired(project, CUTOFF)
    store.write_batch([ExpireSessions(project, CUTOFF)], NOW)
    assert _ids(store, project) == {"alive", "alive-old", "alive-new", "recent"}
    assert not store.has_expired(project, CUTOFF)
    assert _ids(store, other) == {"old"}  # another project is not touched
    alive = _row(store, project, "alive")
    assert alive["num_events"] == 2


def test_retention_checks_again_inside_the_batch(store: Store, project: str) -> None:
    store.write_batch([Upsert(project, _session("s", OLD))], NOW)
    assert store.has_expired(project, CUTOFF)
    # The session comes back to life between the check and the expiry.
    store.write_batch(
        [Upsert(project, _event("new", "s", start_time=NOW)), ExpireSessions(project, CUTOFF)],
        NOW,
    )
    assert _ids(store, project) == {"s", "new"}


def test_pending_rows_expire_and_the_batch_says_how_many(store: Store, project: str) -> None:
    store.write_batch([Update(project, {"event_id": "stale", "metadata": {"a": 1}})], OLD)
    store.write_batch([Update(project, {"event_id": "fresh", "metadata": {"a": 1}})], NOW)
    assert project in store.expired_pending_projects(CUTOFF)
    expire = ExpirePending(project, CUTOFF)
    assert store.write_batch([expire], NOW) == [Expired(expire, 1)]
    assert store.get_event(project, "stale", include_pending=True) is None
    assert store.get_event(project, "fresh", include_pending=True) is not None
    assert store.write_batch([expire], NOW) == [Expired(expire, 0)]


def test_a_type_conflict_refuses_the_whole_batch(store: Store, project: str) -> None:
    store.write_batch([Upsert(project, _event("e", "s"))], NOW)
    before = store.scan_rows(None, 100)
    retype = Upsert(project, _event("e", "s", "model"))
    with pytest.raises(EventTypeConflict) as raised:
        store.write_batch([Upsert(project, _event("new", "s")), retype], NOW)
    assert raised.value.culprit is retype
    assert store.scan_rows(None, 100) == before


def test_a_keep_stored_upsert_is_skipped_alone_and_noted_first(store: Store, project: str) -> None:
    store.write_batch([Upsert(project, _event("e", "s"))], NOW)
    span = Upsert(project, _event("e", "s", "chain"), on_type_conflict="keep_stored")
    expire = ExpirePending(project, CUTOFF)
    skipped, expired = store.write_batch(
        [expire, Upsert(project, _event("ok", "s")), span], NOW
    )
    assert isinstance(skipped, Skipped) and skipped.op is span
    assert (skipped.conflict.stored_type, skipped.conflict.sent_type) == ("tool", "chain")
    assert expired == Expired(expire, 0)
    assert _row(store, project, "e")["event_type"] == "tool"
    assert _row(store, project, "ok")["session_id"] == "s"


def test_children_ids_past_the_cap_refuse_the_batch(store: Store, project: str) -> None:
    wide = Upsert(project, _event("wide", "s", children_ids=["a", "b", "c"]))
    with pytest.raises(ValidationFailed) as raised:
        store.write_batch([Upsert(project, _event("ok", "s")), wide], NOW, max_children_ids=2)
    assert raised.value.field == "children_ids" and raised.value.culprit is wide
    assert store.get_event(project, "ok") is None and store.get_event(project, "wide") is None
    # Stored under a higher cap, it still takes writes that add no child.
    store.write_batch([wide], NOW, max_children_ids=3)
    store.write_batch(
        [Upsert(project, _event("wide", "s", children_ids=["b"], metadata={"x": 1}))],
        NOW,
        max_children_ids=2,
    )
    assert _row(store, project, "wide")["metadata"] == {"x": 1}

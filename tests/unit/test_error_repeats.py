"""The rule of errors that count once, on its own (pure functions, no store)."""

from __future__ import annotations

from hivekeeper.domain.error_repeats import repeated_event
from hivekeeper.domain.merge import empty_row
from hivekeeper.domain.types import StoredRow


def _row(event_id: str, parent: str, error: str | None, name: str | None = None) -> StoredRow:
    row = empty_row("p", event_id)
    row.update(event_type="tool", event_name=name or event_id, parent_id=parent, error=error)
    return row


def test_an_error_sibling_repeats_the_span_beside_it() -> None:
    span, sibling = _row("work", "s", "ValueError: x"), _row("e", "s", "x", "work_error")
    assert repeated_event(sibling, [span, sibling], []) == "work"
    # Beside a span that did not fail, or under another parent's name, it counts.
    assert repeated_event(sibling, [_row("other", "s", "boom", "other")], []) is None
    assert repeated_event(_row("e", "s", "x", "_error"), [span], []) is None


def test_a_parent_with_a_childs_very_error_repeats_it() -> None:
    parent, child = _row("outer", "s", "ValueError: x"), _row("inner", "outer", "ValueError: x")
    assert repeated_event(parent, [], [child]) == "inner"
    assert repeated_event(child, [parent], []) is None  # the origin counts
    assert repeated_event(parent, [], [_row("inner", "outer", "KeyError: y")]) is None


def test_events_without_an_error_and_sessions_never_repeat() -> None:
    assert repeated_event(_row("a", "s", None), [], [_row("b", "a", None)]) is None
    session = _row("s", "", "boom")
    session["event_type"] = "session"
    assert repeated_event(session, [], [_row("a", "s", "boom")]) is None

"""Pure shaping code of the UI: the outline's order, chat messages, chart scales."""

from __future__ import annotations

import pytest

from hivekeeper.domain.types import OutlineRow
from hivekeeper.ui import formats
from hivekeeper.ui.columns import value_at
from hivekeeper.ui.detail import event_detail
from hivekeeper.ui.sessions import flatten
from hivekeeper.ui.svg import Series, line_chart, nice_ceiling


def _row(event_id: str, parent: str | None, start: float) -> OutlineRow:
    return OutlineRow(
        event_id=event_id,
        parent_id=parent,
        event_type="session" if parent is None else "tool",
        event_name=event_id,
        start_time=start,
        end_time=start + 10,
        duration=10,
        error=None,
        model=None,
        total_tokens=None,
        cost=None,
    )


def test_outline_is_depth_first_and_keeps_orphans_and_cycles() -> None:
    rows = [
        _row("s", None, 0),
        _row("a", "s", 1),
        _row("orphan", "missing", 2),
        _row("a1", "a", 3),
        _row("x", "y", 4),  # x and y name each other: a cycle no walk from s reaches
        _row("y", "x", 5),
    ]
    outline = flatten(rows, "s")
    order = [(r.event["event_id"], r.depth) for r in outline.rows]
    assert order[:4] == [("s", 0), ("a", 1), ("a1", 2), ("orphan", 1)]
    assert {event_id for event_id, _ in order} == {"s", "a", "orphan", "a1", "x", "y"}
    assert len(order) == 6
    assert outline.rows[0].has_children
    assert all(outline.rows[r.parent].depth == r.depth - 1 for r in outline.rows[1:])
    assert (outline.t0, outline.t1) == (0, 15)


def test_a_deep_chain_does_not_recurse() -> None:
    rows = [_row("s", None, 0)] + [
        _row(f"e{i}", "s" if i == 0 else f"e{i - 1}", i) for i in range(5000)
    ]
    outline = flatten(rows, "s")
    assert outline.rows[-1].depth == 5000


def test_missing_session_row_gives_an_empty_outline() -> None:
    assert flatten([_row("a", "s", 0)], "s").rows == []


def test_messages_in_every_shape_ingest_produces() -> None:
    detail = event_detail(
        {
            "event_type": "model",
            "inputs": {
                "chat_history": [
                    {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                    {"role": "tool", "tool_call_id": "c1", "content": "rain"},
                    "bare string",
                ]
            },
            "outputs": {
                "choices": [
                    {"role": "assistant", "content": "A"},
                    {"role": "assistant", "content": "B", "finish_reason": "length"},
                ]
            },
            "config": {"model": "m", "hyperparameters": {"temperature": 0}},
            "metadata": {
                "total_tokens": 3,
                "http": {"method": "GET"},
                "otel": {"unmapped_attributes": ["http.method"]},
            },
        }
    )
    first, tool, bare = detail.messages
    assert not first.text and first.content == [{"type": "text", "text": "hi"}]
    assert tool.role == "tool" and tool.extra == {"tool_call_id": "c1"}
    assert bare.text and bare.content == "bare string"
    assert [a.content for a in detail.answers] == ["A", "B"]
    assert detail.model == {"model": "m", "temperature": 0}
    assert detail.usage == {"total_tokens": 3}
    assert detail.unmapped == [("http.method", "GET")]


def test_value_at_walks_objects_and_arrays() -> None:
    event = {"inputs": {"chat_history": [{"content": "x"}]}}
    assert value_at(event, "inputs.chat_history.0.content") == "x"
    assert value_at(event, "inputs.chat_history.5.content") is None
    assert value_at(event, "inputs.nope") is None


def test_chart_scale_and_escaping() -> None:
    assert [nice_ceiling(v) for v in (0, 0.7, 3, 42, 1000)] == [1.0, 1.0, 5.0, 50.0, 1000.0]
    svg = line_chart(
        [0.0, 3_600_000.0],
        [Series("<b>x</b>", [1.0, None])],
        label="t",
        fmt=str,
    )
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;: 1.0" in svg
    assert "no data" in line_chart([], [], label="t", fmt=str)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "$0"), (1234.5, "$1,234.50"), (0.0123, "$0.0123"), (9.5e-05, "$0.000095"), (None, "")],
)
def test_costs_read_as_prices_not_exponents(value: float | None, shown: str) -> None:
    assert formats.cost(value) == shown

"""The compare page's word-level diff and its trend lines: whole words marked, text
given back exactly, long texts aligned on their head only, markup left to the template."""

from __future__ import annotations

from hivekeeper.ui.svg import sparkline
from hivekeeper.ui.word_diff import MAX_TOKENS, Segment, as_text, word_diff


def test_changed_words_are_marked_whole_on_each_side() -> None:
    diff = word_diff("ships on Monday morning.", "ships on Friday morning!")
    assert diff.old == (
        Segment("same", "ships on "),
        Segment("remove", "Monday "),
        Segment("same", "morning"),
        Segment("remove", "."),
    )
    assert diff.new == (
        Segment("same", "ships on "),
        Segment("add", "Friday "),
        Segment("same", "morning"),
        Segment("add", "!"),
    )
    # One reading order: what was dropped before what was added.
    assert [s.kind for s in diff.segments] == ["same", "remove", "add", "same", "remove", "add"]


def test_each_side_joins_back_to_its_text() -> None:
    old, new = "a  b\n\tc d", "a b c  e\n"
    diff = word_diff(old, new)
    assert "".join(s.text for s in diff.old) == old
    assert "".join(s.text for s in diff.new) == new


def test_past_the_token_limit_the_rest_is_kept_unaligned() -> None:
    old = " ".join(f"w{i}" for i in range(MAX_TOKENS + 5))
    new = old.replace("w3 ", "x3 ")
    diff = word_diff(old, new)
    assert diff.old_tail == "w1000 w1001 w1002 w1003 w1004"
    assert "".join(s.text for s in diff.old) + diff.old_tail == old
    assert Segment("remove", "w3 ") in diff.old


def test_values_are_compared_as_text() -> None:
    assert as_text(None) == ""
    assert as_text({"answer": "only this"}) == "only this"
    assert as_text({"a": 1, "b": [2]}) == '{\n  "a": 1,\n  "b": [\n    2\n  ]\n}'


def test_a_trend_escapes_run_names_and_marks_the_last_point() -> None:
    svg = sparkline(
        [0.5, None, 0.7],
        labels=["<script>x</script>", "gap", "latest"],
        label='pass "rate"',
        fmt=lambda v: f"{v:.1f}",
    )
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt;: 0.5" in svg
    assert 'aria-label="pass &#34;rate&#34;"' in svg
    assert svg.count('class="hit"') == 2 and 'class="dot last s0"' in svg

"""Word-level differences between two texts, as runs of kept, added and removed words.

The compare page shows two runs' outputs side by side, and each against its ground
truth. Text is cut into words and punctuation marks, each with the white space after
it, and `difflib.SequenceMatcher` aligns the two token lists; a changed word is marked
whole, never letter by letter. Values that are not text (an output object) are compared as
their indented JSON, so a changed field reads as a changed line.

Pure and bounded: past `MAX_TOKENS` tokens on a side only the first `MAX_TOKENS` are
aligned and the rest is kept apart, unmarked (`Diff.old_tail`, `Diff.new_tail`), so a
page of long outputs costs a bounded time.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

import orjson

SegmentKind = Literal["same", "add", "remove"]
# A side past this many tokens is aligned on its head only. SequenceMatcher's time grows
# with the product of the lengths when many tokens repeat: two 1,500-word texts that
# differ every 15th word took ~0.1 s on the 2-core machine, 1,000 words ~15 ms.
MAX_TOKENS = 1_000
# Trailing white space rides on its word: a separate space token would match
# everywhere and make the alignment quadratic.
_TOKEN = re.compile(r"\w+\s*|[^\w\s]\s*|\s+")


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text that both sides share (`same`), or only the new side (`add`), or
    only the old side (`remove`)."""

    kind: SegmentKind
    text: str


@dataclass(frozen=True, slots=True)
class Diff:
    """An alignment of `old` to `new`: each side's text as shared and own segments
    (`old`: `same` and `remove`; `new`: `same` and `add`), both in one reading order
    (`segments`: shared text as the new side has it, what it dropped before what it
    added), and each side's text past `MAX_TOKENS` tokens, which was not aligned."""

    old: tuple[Segment, ...]
    new: tuple[Segment, ...]
    segments: tuple[Segment, ...]
    old_tail: str = ""
    new_tail: str = ""


def as_text(value: object) -> str:
    """The text a value is compared as: a string itself, an object holding one string
    that string (`{"answer": "…"}`), anything else its indented JSON; None is empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (only,) = value.values()
        if isinstance(only, str):
            return only
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=repr).decode()


def tokens(text: str) -> list[str]:
    """`text` cut into words and punctuation marks, each with the white space after it
    (and any leading white space alone); joined, the tokens give `text` back."""
    return _TOKEN.findall(text)


def word_diff(old: str, new: str) -> Diff:
    """How `new` differs from `old`, word by word. Words match whatever white space
    follows them; each side shows its own."""
    a, b = tokens(old), tokens(new)
    a_head, b_head = a[:MAX_TOKENS], b[:MAX_TOKENS]
    old_side: list[Segment] = []
    new_side: list[Segment] = []
    both: list[Segment] = []
    # autojunk (past 200 tokens, those making over 1% of `new` start no match) keeps
    # texts of a few repeated words from the quadratic case; matches still grow over them.
    matcher = difflib.SequenceMatcher(
        None, [t.rstrip() for t in a_head], [t.rstrip() for t in b_head]
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            _append(old_side, "same", a_head[i1:i2])
            _append(new_side, "same", b_head[j1:j2])
            _append(both, "same", b_head[j1:j2])
            continue
        _append(old_side, "remove", a_head[i1:i2])
        _append(new_side, "add", b_head[j1:j2])
        _append(both, "remove", a_head[i1:i2])
        _append(both, "add", b_head[j1:j2])
    return Diff(
        tuple(old_side),
        tuple(new_side),
        tuple(both),
        "".join(a[MAX_TOKENS:]),
        "".join(b[MAX_TOKENS:]),
    )


def _append(segments: list[Segment], kind: SegmentKind, words: list[str]) -> None:
    """Add `words` as one segment, joined to the previous one when of the same kind."""
    if not words:
        return
    text = "".join(words)
    if segments and segments[-1].kind == kind:
        segments[-1] = Segment(kind, segments[-1].text + text)
    else:
        segments.append(Segment(kind, text))

"""A line diff of two texts, for showing what changed between two versions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

Change = Literal["same", "added", "removed"]


@dataclass(frozen=True, slots=True)
class DiffLine:
    change: Change
    text: str
    old: int | None
    """Line number in the old text (None for an added line)."""
    new: int | None
    """Line number in the new text (None for a removed line)."""


def line_diff(old: str, new: str) -> list[DiffLine]:
    """Every line of both texts in order, each marked same, removed or added."""
    a, b = old.splitlines(), new.splitlines()
    out: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out += [DiffLine("same", a[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2)]
            continue
        out += [DiffLine("removed", a[i], i + 1, None) for i in range(i1, i2)]
        out += [DiffLine("added", b[j], None, j + 1) for j in range(j1, j2)]
    return out

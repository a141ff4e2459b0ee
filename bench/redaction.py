"""Redaction's cost per event and per KB of text, and the pattern that stalled a server.

Times `Redactor.redact_patch`, what the writer runs on every write of a project with
rules (RE2), on the REST bench's events (~2 KB as JSON, ~1.3 KB of text in a dozen
strings) with a rule that starts with literal text, one that starts with `\\b`, and
the REST bench's three rules (`--redaction-rules 3`); then the cost per KB of one
1 MiB string (the longest a body may carry by default); then `(a+)+$` on runs of
`a` that end in another character. Each is timed with Python's `re` too, the engine
redaction used before, as the baseline from the same run: the ratio is RE2 / re.
None of the rules match the text, as with most strings a server sees. Medians of
alternating rounds.

    python bench/redaction.py [--events 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable, Sequence

from rest_batch import PAYLOAD, REDACTION_RULES, make_batches

from hivekeeper.domain.events import parse_event
from hivekeeper.domain.redaction import DEFAULT_REPLACEMENT, RedactionRule, Redactor
from hivekeeper.domain.types import EventPatch

LITERAL_START, CLASS_START = REDACTION_RULES[0], r"\b\d{16}\b"
EVIL = r"(a+)+$"


class PythonReRedactor(Redactor):
    """The former engine: Python's backtracking `re`, on `str`, as redaction ran it."""

    __slots__ = ()

    def __init__(self, rules: Sequence[RedactionRule]) -> None:
        self._rules = tuple(
            (re.compile(r.pattern), r.replacement.replace("\\", "\\\\")) for r in rules
        )

    def redact_text(self, text: str) -> str:
        for pattern, replacement in self._rules:
            if pattern.search(text) is not None:
                text = pattern.sub(replacement, text)
        return text


ENGINES: dict[str, Callable[[Sequence[RedactionRule]], Redactor]] = {
    "RE2": Redactor,
    "re": PythonReRedactor,
}


def rules(*patterns: str) -> list[RedactionRule]:
    return [
        RedactionRule(i, "p", "bench", pattern, DEFAULT_REPLACEMENT, 0.0)
        for i, pattern in enumerate(patterns)
    ]


def row(label: str, times: dict[str, float], digits: int) -> str:
    re2_time, re_time = times["RE2"], times["re"]
    return (
        f"  {label:<48} RE2 {re2_time:7.{digits}f}   re {re_time:7.{digits}f}   "
        f"ratio {re2_time / re_time:.2f}"
    )


def seconds(fn: Callable[[], object], rounds: int) -> float:
    """The median wall time of `fn()` over `rounds` calls."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def per_event(
    patches: list[EventPatch], patterns: tuple[str, ...], rounds: int
) -> dict[str, float]:
    """µs per event of `redact_patch` with `patterns`, per engine."""
    out = {}
    for name, engine in ENGINES.items():
        redactor = engine(rules(*patterns))
        total = seconds(lambda r=redactor: [r.redact_patch(p) for p in patches], rounds)
        out[name] = total / len(patches) * 1e6
    return out


def per_kb(text: str, pattern: str, rounds: int) -> dict[str, float]:
    """µs per KB of `text` for one rule, per engine."""
    out = {}
    for name, engine in ENGINES.items():
        redactor = engine(rules(pattern))
        total = seconds(lambda r=redactor: r.redact_text(text), rounds)
        out[name] = total / (len(text) / 1024) * 1e6
    return out


def evil(length: int, engine: str) -> float:
    """Seconds for one `(a+)+$` scan of `length` times `a` and a `!`."""
    redactor = ENGINES[engine](rules(EVIL))
    text = "a" * length + "!"
    return seconds(lambda: redactor.redact_text(text), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    patches = [parse_event(e) for batch in make_batches(args.events) for e in batch]
    print(f"{len(patches)} events of the REST bench (~2 KB as JSON); µs per event")
    for label, patterns in [
        (f"1 rule, literal start {LITERAL_START}", (LITERAL_START,)),
        (f"1 rule, class start {CLASS_START}", (CLASS_START,)),
        ("3 rules of bench/rest_batch.py", REDACTION_RULES),
    ]:
        print(row(label, per_event(patches, patterns, args.rounds), 1))

    text = (PAYLOAD * (1 + (1 << 20) // len(PAYLOAD)))[: 1 << 20]
    print("one 1 MiB string; µs per KB")
    for pattern in (LITERAL_START, CLASS_START):
        print(row(pattern, per_kb(text, pattern, args.rounds), 2))

    print(f"{EVIL} on n times 'a' then '!'; seconds for one string")
    for n in (16, 18, 20, 22):
        print(f"  n = {n:>9,}   re  {evil(n, 're'):10.4f}   RE2 {evil(n, 'RE2'):10.6f}")
    for n in (28, 1_000_000):
        print(f"  n = {n:>9,}   re  {'(not run)':>10}   RE2 {evil(n, 'RE2'):10.6f}")


if __name__ == "__main__":
    main()

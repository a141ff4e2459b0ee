"""Exceptions as stack traces a person can read: the exceptions an event carries (OTel
`exception` span events in `metadata.exceptions`, HoneyHive's `metadata.error_type`, a
traceback inside `error`), each split into its frames."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Python: `  File "app.py", line 12, in handler` then the source line.
_PYTHON_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<fn>.+))?$')
# JavaScript, Java, .NET: `    at handler (app.js:12:5)`, `at com.x.Y.run(Y.java:12)`.
_AT_FRAME = re.compile(
    r"^\s*at (?:(?P<fn>[^\s(]+(?: \[as [^\]]+\])?) ?\()?"
    r"(?P<file>[^()\s]+?):(?P<line>\d+)(?::\d+)?\)?$"
)
_CARETS = re.compile(r"^\s*[\^~]+\s*$")
_TRACEBACK_HEAD = "Traceback (most recent call last):"


@dataclass(frozen=True, slots=True)
class Frame:
    file: str
    line: int | None
    function: str
    code: str


@dataclass(frozen=True, slots=True)
class StackTrace:
    """One exception: its type and message, its frames (outermost first, as Python
    prints them), and the text it was read from."""

    type: str
    message: str
    frames: tuple[Frame, ...]
    text: str


def event_traces(event: Mapping[str, Any]) -> list[StackTrace]:
    """The stack traces of a rendered event: each exception of `metadata.exceptions`
    once (the honeyhive tracer records one exception twice, from two places: the one
    with more frames is kept), else a traceback written into `error`; none for an
    event without either."""
    metadata = event.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    found = metadata.get("exceptions")
    traces: list[StackTrace] = []
    if isinstance(found, list):
        for raw in found:
            if not isinstance(raw, Mapping):
                continue
            trace = _from_exception(raw)
            same = next((i for i, t in enumerate(traces) if _same(t, trace)), None)
            if same is None:
                traces.append(trace)
            elif len(trace.frames) > len(traces[same].frames):
                traces[same] = trace
    error = event.get("error")
    if not traces and isinstance(error, str) and _TRACEBACK_HEAD in error:
        traces.append(parse(error, str(metadata.get("error_type") or "")))
    return traces


def parse(text: str, type_: str = "", message: str = "") -> StackTrace:
    """The frames of a Python or `at …` style stack trace; the last line that is no
    frame gives the type and message when they are not known."""
    frames: list[Frame] = []
    tail = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        python = _PYTHON_FRAME.match(line)
        at = None if python else _AT_FRAME.match(line)
        if python:
            code = ""
            if i + 1 < len(lines) and not _PYTHON_FRAME.match(lines[i + 1]):
                following = lines[i + 1]
                if following.startswith((" ", "\t")) and not _CARETS.match(following):
                    code = following.strip()
                    i += 1
            frames.append(_frame(python, code))
        elif at:
            frames.append(_frame(at, ""))
        elif line.strip() and not _CARETS.match(line) and line.strip() != _TRACEBACK_HEAD:
            tail = line.strip()
        i += 1
    if tail and not (type_ and message):
        head, _, rest = tail.partition(": ")
        if not type_:
            type_, message = (head, rest) if rest else (tail, message)
        elif not message:
            message = rest if head == type_ else tail
    return StackTrace(type_, message, tuple(frames), text)


def _same(a: StackTrace, b: StackTrace) -> bool:
    return (a.type, a.message) == (b.type, b.message)


def _from_exception(raw: Mapping[str, Any]) -> StackTrace:
    type_ = str(raw.get("type") or "")
    message = str(raw.get("message") or "")
    stack = raw.get("stacktrace")
    if isinstance(stack, str) and stack.strip():
        return parse(stack, type_, message)
    return StackTrace(type_, message, (), "")


def _frame(match: re.Match[str], code: str) -> Frame:
    line = match.group("line")
    return Frame(
        file=match.group("file"),
        line=int(line) if line else None,
        function=(match.group("fn") or "").strip(),
        code=code,
    )

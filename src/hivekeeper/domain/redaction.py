"""Redaction rules: regular expressions replaced in every string an event carries. Pure.

Rules belong to a project and run before anything is stored, on each write
operation's patch: `event_name`, `source`, `error` and every string inside the JSON
objects (`inputs`, `outputs`, `config`, `metadata`, `metrics`, `feedback`,
`user_properties`, unknown extra keys), at any depth. Identifiers (`event_id`,
`session_id`, `parent_id`, `children_ids`) and `event_type` are left alone: they are
how parts of one event find each other. The evaluation plane's payloads are redacted
alike: a datapoint's content (but `linked_event`, an id) and a run's patch (but its
ids and status). Object keys are not rewritten either (two
keys could collapse into one). A replacement is literal text, not a regex template.

Patterns run on RE2 (`google-re2`), whose matching time is linear in the text
whatever the pattern: with a backtracking engine (Python's `re`), one project's
`(a+)+$` and a few dozen characters held the whole server for minutes. RE2 has no
backreferences or lookaround; a pattern using them is refused when it is added.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, cast

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation.datapoints import DatapointContent
from hivekeeper.domain.evaluation.ops import PutDatapoints, PutRun
from hivekeeper.domain.evaluation.runs import RunPatch
from hivekeeper.domain.types import EventPatch, Update, Upsert, WriteOp

DEFAULT_REPLACEMENT = "[REDACTED]"
MAX_PATTERN_CHARS = 1000
_UNTOUCHED = frozenset({"event_id", "session_id", "parent_id", "children_ids", "event_type"})
_RUN_UNTOUCHED = frozenset({"run_id", "dataset_id", "event_ids", "datapoint_ids", "status"})
# Up to this length a string is first scanned once for all of a project's rules: each
# RE2 call costs ~1-2 us whatever the text, and most strings are short and match
# nothing. Past it the rules scan one by one, each with its own literal-prefix
# search, which a set's DFA lacks (~0.4 against ~3.4 us per KB, bench/redaction.py).
_ONE_SCAN_MAX_BYTES = 1024
_UNSUPPORTED = (
    "backreferences, lookahead, lookbehind, atomic groups, possessive quantifiers, "
    "conditionals and the x flag are not supported, and \\Z is written \\z"
)
# RE2 reads `{,n}` as literal text where Python reads "0 to n times": a rule written
# for Python would silently stop matching, so it is refused instead.
_OPEN_LOWER_BOUND = re.compile(r"(?<!\\)\{,\d")




class Pattern(Protocol):
    """What redaction uses of a compiled RE2 pattern (`re2._Regexp`)."""

    def search(self, text: bytes) -> object | None: ...

    def fullmatch(self, text: str) -> object | None: ...

    def sub(self, repl: Callable[[object], bytes], text: bytes) -> bytes: ...


class _PatternSet(Protocol):
    """A `re2.Set` of patterns: which of them occur in a text, in one scan."""

    def Match(self, text: bytes) -> list[int] | None: ...  # RE2's name for it


def _options() -> object:
    options = re2.Options()
    options.log_errors = False  # RE2 would also print each refused pattern to stderr
    return options


_OPTIONS = _options()


@dataclass(frozen=True, slots=True)
class RedactionRule:
    """One stored rule of a project."""

    id: int
    project_id: str
    project_name: str
    pattern: str
    replacement: str
    created_at: float


def compile_pattern(pattern: str) -> Pattern:
    """The pattern compiled by RE2; ValidationFailed (naming `pattern`, in one line) if it
    is empty, too long, not a valid regular expression, uses what RE2 cannot run, or
    matches the empty string (it would insert the replacement between every character)."""
    if not pattern or len(pattern) > MAX_PATTERN_CHARS:
        raise ValidationFailed(
            f"a redaction pattern must be 1-{MAX_PATTERN_CHARS} characters", field="pattern"
        )
    try:
        compiled: Pattern = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        raise ValidationFailed(_refusal(pattern, exc), field="pattern") from None
    if _OPEN_LOWER_BOUND.search(pattern):
        raise ValidationFailed(
            f"{pattern!r}: write {{0,n}} for up to n repetitions; RE2, the linear-time "
            "engine redaction runs on, reads {,n} as literal text",
            field="pattern",
        )
    if compiled.fullmatch("") is not None:
        raise ValidationFailed(
            f"the pattern {pattern!r} matches the empty string; it would redact everything",
            field="pattern",
        )
    return compiled


def _refusal(pattern: str, exc: Exception) -> str:
    """Why RE2 refused `pattern`: not a regular expression at all, or one it cannot run."""
    reason = exc.args[0] if exc.args else exc
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    try:
        re.compile(pattern)
    except re.error as python_exc:
        return f"not a valid regular expression: {python_exc} in {pattern!r}"
    return (
        f"RE2, the linear-time engine redaction runs on, cannot run {pattern!r} "
        f"({reason}): {_UNSUPPORTED}"
    )


class Redactor:
    """A project's rules, compiled once, applied in the order they were added."""

    __slots__ = ("_any", "_rules")

    def __init__(self, rules: Sequence[RedactionRule]) -> None:
        self._rules = tuple((compile_pattern(r.pattern), _literal(r.replacement)) for r in rules)
        any_rule = re2.Set.SearchSet(_OPTIONS)
        for rule in rules:
            any_rule.Add(rule.pattern)
        any_rule.Compile()
        self._any: _PatternSet = any_rule

    def redact_text(self, text: str) -> str:
        """`text` with every rule's matches replaced; `text` itself if nothing matched."""
        # Matched as UTF-8 bytes, encoded once for all rules: RE2 works on bytes, and
        # its `str` path would encode again for every call and map each match's byte
        # offsets back to characters. `surrogatepass` keeps a lone surrogate intact.
        data = text.encode("utf-8", "surrogatepass")
        first = 0
        if len(data) <= _ONE_SCAN_MAX_BYTES:
            hits = self._any.Match(data)
            if hits is None:
                return text
            first = min(hits)  # the rules before it do not match
        changed = False
        # From `first` on, each rule sees the previous one's output: rules apply in order.
        for pattern, replacement in self._rules[first:]:
            if pattern.search(data) is not None:
                data = pattern.sub(replacement, data)
                changed = True
        return data.decode("utf-8", "surrogatepass") if changed else text

    def redact_patch(self, patch: EventPatch) -> EventPatch:
        """`patch` with every redactable string redacted: a copy if anything matched,
        else `patch` itself. Neither `patch` nor anything in it is modified."""
        return cast(EventPatch, self._redact_fields(patch, _UNTOUCHED))

    def redact_run(self, patch: RunPatch) -> RunPatch:
        """A run patch redacted as `redact_patch` does an event's (ids and status kept)."""
        return cast(RunPatch, self._redact_fields(patch, _RUN_UNTOUCHED))

    def redact_content(self, content: DatapointContent) -> DatapointContent:
        """A datapoint's content with every string redacted but `linked_event` (an id):
        a copy if anything matched, else `content` itself."""
        fields = {
            "inputs": content.inputs,
            "history": content.history,
            "ground_truth": content.ground_truth,
            "metadata": content.metadata,
            "extra": content.extra,
        }
        redacted = self._redact_fields(fields, frozenset())
        return content if redacted is fields else replace(content, **redacted)

    def _redact_fields(self, fields: Mapping[str, Any], untouched: frozenset[str]) -> Any:
        out: dict[str, Any] | None = None
        for key, value in fields.items():
            if key in untouched:
                continue
            redacted = self._redact_value(value)
            if redacted is not value:
                if out is None:
                    out = dict(fields)
                out[key] = redacted
        return fields if out is None else out

    def _redact_value(self, value: Any) -> Any:
        """`value` redacted; the very same object when nothing in it matched, so a
        clean event costs a walk and no copies."""
        kind = type(value)
        if kind is str:
            return self.redact_text(value)
        if kind is dict:
            changed: dict[str, Any] | None = None
            for k, v in value.items():
                redacted = self._redact_value(v)
                if redacted is not v:
                    if changed is None:
                        changed = dict(value)
                    changed[k] = redacted
            return value if changed is None else changed
        if kind is list:
            items = [self._redact_value(v) for v in value]
            if any(new is not old for new, old in zip(items, value, strict=True)):
                return items
            return value
        return value


def _literal(replacement: str) -> Callable[[object], bytes]:
    """A `sub` callback for literal text: a template string would expand `\\1`."""
    encoded = replacement.encode("utf-8", "surrogatepass")
    return lambda _match: encoded


def redact_ops(ops: Sequence[WriteOp], redactors: Mapping[str, Redactor]) -> Sequence[WriteOp]:
    """`ops` with the patches of projects that have rules redacted; `ops` itself (no
    copy, no per-operation work) when no project has any."""
    if not redactors:
        return ops
    out: list[WriteOp] = []
    for op in ops:
        redactor = redactors.get(op.project_id)
        if redactor is not None:
            op = _redacted(op, redactor)
        out.append(op)
    return out


def _redacted(op: WriteOp, redactor: Redactor) -> WriteOp:
    """`op` with its payloads redacted; `op` itself when nothing matched."""
    if isinstance(op, Upsert | Update):
        patch = redactor.redact_patch(op.patch)
        return op if patch is op.patch else replace(op, patch=patch)
    if isinstance(op, PutRun):
        run = redactor.redact_run(op.patch)
        return op if run is op.patch else replace(op, patch=run)
    if isinstance(op, PutDatapoints):
        writes = []
        for write in op.datapoints:
            content = redactor.redact_content(write.content)
            writes.append(write if content is write.content else replace(write, content=content))
        if any(new is not old for new, old in zip(writes, op.datapoints, strict=True)):
            return replace(op, datapoints=tuple(writes))
    return op

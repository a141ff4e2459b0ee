"""Redaction rules: regular expressions replaced in every string an event carries. Pure.

Rules belong to a project and run before anything is stored, on each write
operation's patch: `event_name`, `source`, `error` and every string inside the JSON
objects (`inputs`, `outputs`, `config`, `metadata`, `metrics`, `feedback`,
`user_properties`, unknown extra keys), at any depth. Identifiers (`event_id`,
`session_id`, `parent_id`, `children_ids`) and `event_type` are left alone: they are
how parts of one event find each other. Object keys are not rewritten either (two
keys could collapse into one). A replacement is literal text, not a regex template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.events import EventPatch
from hivekeeper.domain.merge import Update, Upsert, WriteOp

DEFAULT_REPLACEMENT = "[REDACTED]"
MAX_PATTERN_CHARS = 1000
_UNTOUCHED = frozenset({"event_id", "session_id", "parent_id", "children_ids", "event_type"})


@dataclass(frozen=True, slots=True)
class RedactionRule:
    """One stored rule of a project."""

    id: int
    project_id: str
    project_name: str
    pattern: str
    replacement: str
    created_at: float


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled pattern; ValidationFailed (naming `pattern`) if it is empty, too long,
    not a valid Python regular expression, or matches the empty string (it would
    insert the replacement between every character)."""
    if not pattern or len(pattern) > MAX_PATTERN_CHARS:
        raise ValidationFailed(
            f"a redaction pattern must be 1-{MAX_PATTERN_CHARS} characters", field="pattern"
        )
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValidationFailed(
            f"not a valid regular expression: {exc} in {pattern!r}", field="pattern"
        ) from None
    if compiled.fullmatch(""):
        raise ValidationFailed(
            f"the pattern {pattern!r} matches the empty string; it would redact everything",
            field="pattern",
        )
    return compiled


class Redactor:
    """A project's rules, compiled once, applied in the order they were added."""

    __slots__ = ("_rules",)

    def __init__(self, rules: Sequence[RedactionRule]) -> None:
        # `\` is the only special character of a `sub` template: escape it so the
        # replacement stays literal and `sub` takes its fast path for plain strings.
        self._rules = tuple(
            (compile_pattern(r.pattern), r.replacement.replace("\\", "\\\\")) for r in rules
        )

    def redact_text(self, text: str) -> str:
        for pattern, replacement in self._rules:
            # `search` first: most strings match nothing, and a miss costs a scan
            # without `sub`'s call and template overhead (~1 us per string).
            if pattern.search(text) is not None:
                text = pattern.sub(replacement, text)
        return text

    def redact_patch(self, patch: EventPatch) -> EventPatch:
        """`patch` with every redactable string redacted: a copy if anything matched,
        else `patch` itself. Neither `patch` nor anything in it is modified."""
        out: dict[str, Any] | None = None
        for key, value in patch.items():
            if key in _UNTOUCHED:
                continue
            redacted = self._redact_value(value)
            if redacted is not value:
                if out is None:
                    out = dict(patch)
                out[key] = redacted
        return patch if out is None else cast(EventPatch, out)

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


def redact_ops(ops: Sequence[WriteOp], redactors: Mapping[str, Redactor]) -> Sequence[WriteOp]:
    """`ops` with the patches of projects that have rules redacted; `ops` itself (no
    copy, no per-operation work) when no project has any."""
    if not redactors:
        return ops
    out: list[WriteOp] = []
    for op in ops:
        redactor = redactors.get(op.project_id)
        if redactor is not None and isinstance(op, Upsert | Update):
            patch = redactor.redact_patch(op.patch)
            if patch is not op.patch:
                op = replace(op, patch=patch)
        out.append(op)
    return out

"""Redaction rules: which strings they reach, what they leave alone, bad patterns."""

from __future__ import annotations

import pytest

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.events import EventPatch
from hivekeeper.domain.merge import DeleteSession, Update, Upsert, WriteOp
from hivekeeper.domain.redaction import (
    DEFAULT_REPLACEMENT,
    RedactionRule,
    Redactor,
    compile_pattern,
    redact_ops,
)

SECRET = "sk-ABCDEFGHIJKLMNOPQRSTUV"


def _rule(pattern: str, replacement: str = DEFAULT_REPLACEMENT, rule_id: int = 1) -> RedactionRule:
    return RedactionRule(rule_id, "p1", "alpha", pattern, replacement, 0.0)


def _patch() -> EventPatch:
    return {
        "event_id": "sk-ABCDEFGHIJKLMNOPQRSTUV-id",
        "session_id": "s1",
        "event_type": "model",
        "event_name": f"call {SECRET}",
        "error": f"401 for key {SECRET}",
        "inputs": {"chat": [{"role": "user", "content": f"my key is {SECRET}"}], "n": 3},
        "config": {"headers": {"authorization": f"Bearer {SECRET}"}},
        "metadata": {"nested": [[SECRET]], "flag": True, "none": None},
        "extra": {"custom": SECRET},
        "children_ids": [SECRET],
        "start_time": 1.0,
    }


def test_every_string_is_redacted_but_ids_and_types_stay() -> None:
    out = Redactor([_rule(r"sk-[A-Za-z0-9]{20,}")]).redact_patch(_patch())
    assert out["event_name"] == "call [REDACTED]"
    assert out["error"] == "401 for key [REDACTED]"
    assert out["inputs"] == {"chat": [{"role": "user", "content": "my key is [REDACTED]"}], "n": 3}
    assert out["config"] == {"headers": {"authorization": "Bearer [REDACTED]"}}
    assert out["metadata"] == {"nested": [["[REDACTED]"]], "flag": True, "none": None}
    assert out["extra"] == {"custom": "[REDACTED]"}
    assert out["event_id"] == _patch()["event_id"]
    assert out["children_ids"] == [SECRET]
    assert out["event_type"] == "model" and out["start_time"] == 1.0


def test_rules_apply_in_order_and_replacements_are_literal() -> None:
    redactor = Redactor([_rule(r"\d{4}-\d{4}", r"<card \1>"), _rule("card", "CARD", 2)])
    assert redactor.redact_text("pay 1234-5678 now") == r"pay <CARD \1> now"


def test_no_rules_means_the_very_same_ops() -> None:
    ops: list[WriteOp] = [Upsert("p1", _patch())]
    assert redact_ops(ops, {}) is ops


def test_only_projects_with_rules_and_only_patches_change() -> None:
    redactors = {"p1": Redactor([_rule("sk-[A-Z]+")])}
    ops: list[WriteOp] = [
        Upsert("p1", _patch()),
        Update("p1", {"event_id": "e", "outputs": {"k": SECRET}}),
        Upsert("p2", _patch()),
        DeleteSession("p1", "s1"),
    ]
    out = redact_ops(ops, redactors)
    assert isinstance(out[0], Upsert) and out[0].patch["error"] == "401 for key [REDACTED]"
    assert isinstance(out[1], Update) and out[1].patch["outputs"] == {"k": "[REDACTED]"}
    assert out[2] is ops[2] and out[3] is ops[3]
    assert ops[0].patch["error"] == f"401 for key {SECRET}"  # the input is not modified


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(unclosed", "not a valid regular expression"),
        ("[z-a]", "not a valid regular expression"),
        ("", "1-1000 characters"),
        ("x" * 1001, "1-1000 characters"),
        ("a*", "matches the empty string"),
    ],
)
def test_bad_patterns_are_refused(pattern: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        compile_pattern(pattern)

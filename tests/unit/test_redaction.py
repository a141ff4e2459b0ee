"""Redaction rules: which strings they reach, what they leave alone, bad patterns, and
how the server loads stored ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation.datapoints import DatapointContent
from hivekeeper.domain.evaluation.ops import DatapointWrite, PutDatapoints, PutRun
from hivekeeper.domain.evaluation.runs import RunPatch
from hivekeeper.domain.redaction import (
    DEFAULT_REPLACEMENT,
    RedactionRule,
    Redactor,
    compile_pattern,
    redact_ops,
)
from hivekeeper.domain.types import DeleteSession, EventPatch, Update, Upsert, WriteOp
from hivekeeper.ingest.redaction import RedactionRules, check_rules
from hivekeeper.store.sqlite.engine import SqliteStore

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


def test_a_nested_quantifier_runs_in_linear_time() -> None:
    # Python's backtracking engine takes ~3^(n/2) steps for `(a+)+$` on a run of `a`
    # ending in another character: 28 of them stalled a server for 23 s. 100,000 here.
    redactor = Redactor([_rule(r"(a+)+$")])
    assert redactor.redact_text("a" * 100_000 + "!") == "a" * 100_000 + "!"
    assert redactor.redact_text("x" + "a" * 100_000) == "x[REDACTED]"


@pytest.mark.parametrize(
    ("pattern", "feature"),
    [
        (r"(\w+) \1", r"\1"),
        (r"(?P<w>\w+) (?P=w)", "(?P"),
        (r"(?<=key=)\w+", "(?<="),
        (r"(?<!x)secret", "(?<!"),
        (r"sk-(?=\w{20})", "(?="),
        (r"token(?!s)", "(?!"),
    ],
)
def test_patterns_a_linear_time_engine_cannot_run_are_refused(pattern: str, feature: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        compile_pattern(pattern)
    message = info.value.message
    assert "linear-time" in message and feature in message and "\n" not in message
    assert info.value.field == "pattern"


def test_matching_is_by_characters_whatever_the_text() -> None:
    redactor = Redactor([_rule(r"k[éè]y=\S+", "k=<x>"), _rule(r"\d{4}", "#")])
    assert redactor.redact_text("ünïcödé kéy=值值 1234 and kèy=a") == "ünïcödé k=<x> # and k=<x>"
    lone = "bad \ud800 surrogate 1234"  # survives; only the digits change
    assert redactor.redact_text(lone) == "bad \ud800 surrogate #"
    assert Redactor([_rule(r"a\\b", "x\\y")]).redact_text(r"1 a\b 2") == r"1 x\y 2"


def test_a_stored_rule_that_cannot_compile_is_never_skipped_quietly(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'r.db'}")
    store.open()
    store.bootstrap()
    project_id = store.list_projects()[0].id
    good = store.add_redaction("default", "sk-[A-Z]+", DEFAULT_REPLACEMENT)
    rules = RedactionRules(store)
    rules.load()
    patch: EventPatch = {"event_id": "e", "event_name": f"key {SECRET}"}

    def applied() -> object:
        (op,) = rules.apply([Upsert(project_id, patch)])
        assert isinstance(op, Upsert)
        return op.patch["event_name"]

    assert applied() == "key [REDACTED]"
    with sqlite3.connect(store.path) as conn:  # as an older hivekeeper could have stored it
        (bad_id,) = conn.execute(
            "INSERT INTO redaction_rules (project_id, pattern, replacement, created_at) "
            "VALUES (?, '(?<=key )sk', 'x', 0) RETURNING id",
            (project_id,),
        ).fetchone()
    with pytest.raises(ValidationFailed) as info:
        rules.load()
    assert f"redaction rule {bad_id} of project default" in info.value.message
    assert f"hivekeeper projects remove-redaction {bad_id}" in info.value.message
    assert applied() == "key [REDACTED]"  # a running server keeps the rules it had
    with pytest.raises(ValidationFailed):
        check_rules(store.list_redactions())  # what `serve` checks before it starts

    store.remove_redaction(bad_id)
    store.remove_redaction(good.id)
    rules.load()
    assert applied() == f"key {SECRET}"
    store.close()


@pytest.mark.parametrize("padding", [0, 5000], ids=["short", "long"])
def test_each_rule_sees_the_previous_ones_output_in_short_and_long_strings(padding: int) -> None:
    """Short strings are first scanned once for all rules, long ones rule by rule: both
    apply every rule in order, each to what the rules before it left."""
    pad = "." * padding
    redactor = Redactor(
        [
            _rule("never-there", "x", 1),
            _rule(r"tok_\w+", "<t>", 2),
            _rule("<t>", "<token>", 3),  # matches only what rule 2 wrote
            _rule(r"\d{3}", "#", 4),
        ]
    )
    assert redactor.redact_text(f"{pad}a tok_abc and 12345{pad}") == f"{pad}a <token> and #45{pad}"
    clean = f"{pad}nothing to see{pad}"
    assert redactor.redact_text(clean) is clean


def test_datapoint_content_and_run_patches_are_redacted_but_their_ids() -> None:
    redactors = {"p1": Redactor([_rule("sk-[A-Z]+")])}
    content = DatapointContent(
        inputs={"q": f"key {SECRET}"},
        history=[{"role": "user", "content": SECRET}],
        ground_truth=SECRET,
        metadata={"m": [SECRET]},
        linked_event=SECRET,
        extra={"x": SECRET},
    )
    clean = DatapointWrite("d2", DatapointContent(inputs={"q": "nothing"}), new=True)
    run: RunPatch = {"run_id": SECRET, "name": f"run {SECRET}", "metadata": {"k": SECRET},
                     "event_ids": [SECRET], "dataset_id": SECRET}  # fmt: skip
    ops: list[WriteOp] = [
        PutDatapoints("p1", (DatapointWrite(SECRET, content, new=True), clean)),
        PutRun("p1", SECRET, run, create=True),
        PutDatapoints("p2", (DatapointWrite("d", content, new=True),)),
    ]
    points, run_op, other = redact_ops(ops, redactors)
    assert isinstance(points, PutDatapoints) and isinstance(run_op, PutRun)
    written, untouched = points.datapoints
    assert written.datapoint_id == SECRET and untouched is clean
    assert written.content == DatapointContent(
        inputs={"q": "key [REDACTED]"},
        history=[{"role": "user", "content": "[REDACTED]"}],
        ground_truth="[REDACTED]",
        metadata={"m": ["[REDACTED]"]},
        linked_event=SECRET,
        extra={"x": "[REDACTED]"},
    )
    assert run_op.patch == {"run_id": SECRET, "name": "run [REDACTED]",
                            "metadata": {"k": "[REDACTED]"}, "event_ids": [SECRET],
                            "dataset_id": SECRET}  # fmt: skip
    assert other is ops[2]

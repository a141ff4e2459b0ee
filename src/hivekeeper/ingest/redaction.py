"""The server's copy of every project's redaction rules, applied by the writer's thread.

Rules live in the database, where the CLI changes them on a live server. The server
reads them at start and again every `refresh_s` (one query over a tiny table), so a
change takes effect within that time without a restart. Until the first read at start
has finished the server takes no requests, so no write escapes the rules.

A stored rule that cannot be compiled (one stored by a hivekeeper whose regex engine
took it) must never be skipped quietly, or its project's data would be stored
unredacted: at start it stops the server (`check_rules`), naming the rule and the
command that removes it; on a refresh the rules already loaded stay in force.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.redaction import RedactionRule, Redactor, compile_pattern, redact_ops
from hivekeeper.domain.types import WriteOp
from hivekeeper.ingest.periodic import Mirror
from hivekeeper.store import Store

logger = logging.getLogger(__name__)

REFRESH_S = 2.0
"""How soon a rule added or removed with the CLI applies to a running server."""


def check_rules(rules: Sequence[RedactionRule]) -> dict[str, Redactor]:
    """Each project's compiled rules, by project id. ValidationFailed, naming the first
    rule that cannot be compiled and the command that removes it, if any cannot."""
    by_project: dict[str, list[RedactionRule]] = {}
    for rule in rules:
        try:
            compile_pattern(rule.pattern)
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"redaction rule {rule.id} of project {rule.project_name}: {exc.message}; "
                "the server does not start with a rule it cannot apply: remove it with "
                f"`hivekeeper projects remove-redaction {rule.id}` (then add a pattern RE2 "
                "takes, if one is needed)",
                field="redaction_rules",
            ) from None
        by_project.setdefault(rule.project_id, []).append(rule)
    return {project_id: Redactor(rules) for project_id, rules in by_project.items()}


class RedactionRules(Mirror):
    """Compiled rules per project id; `apply()` redacts a request's operations."""

    def __init__(self, store: Store, *, refresh_s: float = REFRESH_S) -> None:
        self._store = store
        self._redactors: dict[str, Redactor] = {}
        self._loaded: tuple[RedactionRule, ...] = ()
        self._refused: tuple[RedactionRule, ...] | None = None
        super().__init__("redaction-rules", refresh_s)

    def load(self) -> None:
        """Read the rules now. Raises the store's error if it cannot, ValidationFailed
        (the rules in force unchanged) if a rule cannot be compiled."""
        rules = tuple(self._store.list_redactions())
        if rules == self._loaded or rules == self._refused:
            return
        try:
            redactors = check_rules(rules)
        except ValidationFailed:
            self._refused = rules  # reported once, not at every refresh
            raise
        self._redactors = redactors  # one assignment: readers see old or new, never half
        self._loaded = rules
        logger.info("redaction rules loaded: %d rules in %d projects", len(rules), len(redactors))

    def apply(self, ops: Sequence[WriteOp]) -> Sequence[WriteOp]:
        """`ops` redacted by their projects' rules; `ops` itself when no project has any."""
        return redact_ops(ops, self._redactors)

    def refresh_failed(self, exc: Exception) -> None:
        if isinstance(exc, ValidationFailed):
            logger.error("new redaction rules not applied; the previous ones stay: %s", exc)
        else:
            super().refresh_failed(exc)

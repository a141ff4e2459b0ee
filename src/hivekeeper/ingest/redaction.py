"""The server's copy of every project's redaction rules, applied to writes before queueing.

Rules live in the database, where the CLI changes them on a live server. The server
reads them at start and again every `refresh_s` (one query over a tiny table), so a
change takes effect within that time without a restart. Until the first read at start
has finished the server takes no requests, so no write escapes the rules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.domain.merge import WriteOp
from hivekeeper.domain.redaction import RedactionRule, Redactor, redact_ops
from hivekeeper.ingest.periodic import Periodic
from hivekeeper.store import Store

logger = logging.getLogger(__name__)

REFRESH_S = 2.0
"""How soon a rule added or removed with the CLI applies to a running server."""


class RedactionRules:
    """Compiled rules per project id; `apply()` redacts a request's operations."""

    def __init__(self, store: Store, *, refresh_s: float = REFRESH_S) -> None:
        self._store = store
        self._redactors: dict[str, Redactor] = {}
        self._loaded: tuple[RedactionRule, ...] = ()
        self._refresher = Periodic("redaction-rules", self._refresh, refresh_s, run_at_start=False)

    def load(self) -> None:
        """Read the rules now. Raises the store's error if it cannot."""
        rules = tuple(self._store.list_redactions())
        if rules == self._loaded:
            return
        by_project: dict[str, list[RedactionRule]] = {}
        for rule in rules:
            by_project.setdefault(rule.project_id, []).append(rule)
        redactors: dict[str, Redactor] = {}
        for project_id, project_rules in by_project.items():
            try:
                redactors[project_id] = Redactor(project_rules)
            except HivekeeperError as exc:
                # Only the CLI adds rules and it compiles them first; a rule this
                # Python cannot compile (written by another version) is skipped loudly.
                logger.error("redaction rules of project %s not applied: %s", project_id, exc)
        self._redactors = redactors  # one assignment: readers see old or new, never half
        self._loaded = rules
        logger.info("redaction rules loaded: %d rules in %d projects", len(rules), len(redactors))

    def apply(self, ops: Sequence[WriteOp]) -> Sequence[WriteOp]:
        """`ops` redacted by their projects' rules; `ops` itself when no project has any."""
        return redact_ops(ops, self._redactors)

    async def start(self) -> None:
        """Load the rules, then keep them fresh on a task of the running loop."""
        self.load()
        self._refresher.start()

    async def close(self) -> None:
        """Stop refreshing; idempotent."""
        await self._refresher.close()

    async def _refresh(self) -> None:
        try:
            await asyncio.to_thread(self.load)
        except Exception:
            # Keep the rules we have; the next refresh tries again.
            logger.exception("could not re-read redaction rules; keeping the current ones")

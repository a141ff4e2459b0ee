"""The retention rule: which sessions, and which pending updates, are old enough to
delete. Pure; no I/O.

A project keeps its sessions `retention_days` days after their *last activity*: the
later of the session row's start and end. Session roll-ups stretch the session's end
over every event written into it, so this covers the newest event without reading
events. Whole sessions go, never half of one; an event with no session row is judged
by its own times. A pending update (its event never came) is kept
`pending_expiry_hours` after it was first written, whatever its project's retention.
"""

from __future__ import annotations

from hivekeeper.domain.errors import ValidationFailed

DAY_MS = 86_400_000.0
HOUR_MS = 3_600_000.0
KEEP_FOREVER = 0
"""A retention of 0 days keeps data forever."""

_FOREVER_WORDS = frozenset({"none", "forever", "off"})
_DEFAULT_WORD = "default"


def effective_retention_days(project_days: int | None, default_days: int) -> int:
    """A project's own setting, or the server default when it has none (0: forever)."""
    return default_days if project_days is None else project_days


def retention_cutoff_ms(now_ms: float, days: int) -> float | None:
    """Data last active strictly before this instant (Unix ms) is expired; None: keep all."""
    if days <= KEEP_FOREVER:
        return None
    return now_ms - days * DAY_MS


def pending_cutoff_ms(now_ms: float, hours: float) -> float | None:
    """Pending updates (whose event never came) first written strictly before this
    instant (Unix ms) are expired; None: keep them forever (`hours` 0)."""
    if hours <= 0:
        return None
    return now_ms - hours * HOUR_MS


def last_activity_ms(start_time: float | None, end_time: float | None) -> float | None:
    """When a session (or an event without one) was last active: the later of its start
    and end; None without a start time (a pending update that never met its event)."""
    if start_time is None:
        return None
    return start_time if end_time is None else max(start_time, end_time)


def is_expired(start_time: float | None, end_time: float | None, cutoff_ms: float | None) -> bool:
    """The rule every store implements in its own query language.

    A row without a start time is never expired: nothing says how old it is.
    """
    if cutoff_ms is None:
        return False
    last = last_activity_ms(start_time, end_time)
    return last is not None and last < cutoff_ms


def parse_retention(text: str) -> int | None:
    """A retention as the CLI takes it: whole days, `0`/`none` (forever) or `default`.

    Returns the days (0 = forever) or None for "use the server default". Raises
    ValidationFailed for anything else.
    """
    word = text.strip().lower()
    if word in _FOREVER_WORDS:
        return KEEP_FOREVER
    if word == _DEFAULT_WORD:
        return None
    try:
        days = int(word)
    except ValueError:
        days = -1
    if days < 0 or days > 1_000_000:
        raise ValidationFailed(
            f"retention must be a whole number of days, 'none' or 'default', not {text!r}",
            field="days",
        )
    return days


def describe_retention(project_days: int | None) -> str:
    """How a project's own retention setting reads in a listing."""
    if project_days is None:
        return "server default"
    return "forever" if project_days == KEEP_FOREVER else f"{project_days} days"

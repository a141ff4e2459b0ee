"""Session names by precedence: explicit beats derived beats `unknown`, in any arrival order.

A session's name comes from several places. An *explicit* name is one a client chose:
a session start's `session_name`, a span's `honeyhive.session_name` or Langfuse's
`langfuse.trace.name`. A *derived* name is one hivekeeper guessed for a trace that
named none: its `traceloop.workflow.name`, else its root span's name. `unknown` is
what a session without either shows.

Parts of a trace arrive in any order, so the merge rule (`merge.merge_fields`) asks
`name_precedence` before it sets a name: a derived name never replaces an explicit
one, and of two derived names the better-ranked source wins. A derived name is marked
by `metadata.session_name_source` (which source gave it), so the rank survives in the
stored row on every engine; an explicit name removes the mark. A name without the
mark is explicit, except the placeholder `unknown` (and no name at all), which
anything replaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

NAME_SOURCE_KEY: Final = "session_name_source"
"""The `metadata` key naming where a derived session name came from."""
UNNAMED: Final = "unknown"
"""The name of a session nothing named (`merge.new_row`'s default)."""
DERIVED_RANKS: Final[Mapping[str, int]] = {
    "root_span": 1,
    "traceloop.workflow.name": 2,
}
"""Sources of derived names, by rank (higher wins); an unknown source ranks lowest."""
_EXPLICIT: Final = 10


def name_rank(name: Any, metadata: Any) -> int:
    """How strong the name `name` is, given the `metadata` stored or sent with it:
    0 for none (or `unknown`), a derived source's rank, or above every derived rank
    for an explicit name."""
    if name is None or name == UNNAMED:
        return 0
    source = metadata.get(NAME_SOURCE_KEY) if type(metadata) is dict else None
    if source is None:
        return _EXPLICIT
    return DERIVED_RANKS.get(source, 1) if type(source) is str else 1


def name_precedence(
    base: Mapping[str, Any], patch: Mapping[str, Any]
) -> tuple[Mapping[str, Any], bool]:
    """The patch to merge into `base` so that names keep their precedence, and whether
    the merged `metadata` must lose its derived-name mark (an explicit name won).

    A patch whose name ranks below the stored one loses its `event_name` and its mark;
    anything else is returned as it is. Pure: neither argument is modified.
    """
    name = patch.get("event_name")
    if name is None:
        return patch, False
    sent_meta = patch.get("metadata")
    stored_meta = base.get("metadata")
    sent_marked = type(sent_meta) is dict and NAME_SOURCE_KEY in sent_meta
    stored_marked = type(stored_meta) is dict and NAME_SOURCE_KEY in stored_meta
    if not sent_marked and not stored_marked:
        return patch, False  # the common case: explicit over explicit, later wins
    sent = name_rank(name, sent_meta)
    if sent < name_rank(base.get("event_name"), stored_meta):
        kept = {k: v for k, v in patch.items() if k != "event_name"}
        if sent_marked and sent_meta is not None:
            kept["metadata"] = {k: v for k, v in sent_meta.items() if k != NAME_SOURCE_KEY}
        return kept, False
    return patch, not sent_marked and stored_marked

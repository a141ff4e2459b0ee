"""What the spans of one export say about their sessions: a name, the user, grouping.

A trace from a library that knows nothing of HoneyHive names no session, so its session
would be `unknown` from source `unknown`. Each span may say something about its
session instead:

- an explicit name (`honeyhive.session_name`, Langfuse's `langfuse.trace.name`);
- a derived one: the trace's `traceloop.workflow.name`, else its root span's name
  (not for spans of a HoneyHive session, which its start names), marked by
  `metadata.session_name_source` so the merge rule keeps explicit names
  above it whatever the arrival order (`domain.session_names`);
- the user (`user_properties.user_id`, which the conventions take from `user.id`,
  `traceloop.association.properties.user_id`, …);
- Traceloop's other association properties (besides the session id, user id,
  project, source and parent the mapping reads), as `metadata.association_properties`.

`SessionUpdates` gathers them per session and answers one `Update` per session,
placed before the spans' upserts: it names a session a start created, and otherwise
waits (pending) until the first span creates the session.
"""

from __future__ import annotations

from typing import Any

from hivekeeper.domain.session_names import DERIVED_RANKS, NAME_SOURCE_KEY
from hivekeeper.domain.types import EventPatch, JsonObject, Update
from hivekeeper.ingest.spans import Span

WORKFLOW_KEY = "traceloop.workflow.name"
# Association properties the span mapping already reads as the span's identity.
_IDENTITY_PROPERTIES = frozenset({"session_id", "project", "source", "parent_id"})
_ROOT = "root_span"
# A HoneyHive session is named by its start (or `honeyhive.session_name`), never by
# its spans: when the start failed, the session stays `unknown`, as the SDK expects.
_HONEYHIVE_SESSION_KEYS = frozenset({"honeyhive.session_id", "honeyhive_session_id"})


class _Session:
    __slots__ = ("association", "derived", "explicit", "user")

    def __init__(self) -> None:
        self.explicit: str | None = None
        self.derived: tuple[int, str, str] | None = None  # (rank, name, source)
        self.user: JsonObject = {}
        self.association: JsonObject = {}


class SessionUpdates:
    """The session updates of one export, gathered span by span."""

    __slots__ = ("_sessions",)

    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}

    def add(self, span: Span, patch: EventPatch, explicit_name: str | None) -> None:
        """Note what `span` (mapped to `patch`, its session final) says of its session."""
        session = self._sessions.get(patch["session_id"])
        if session is None:
            session = self._sessions[patch["session_id"]] = _Session()
        if explicit_name is not None and session.explicit is None:
            session.explicit = explicit_name
        derived = None
        if _HONEYHIVE_SESSION_KEYS.isdisjoint(span.attributes):
            derived = _derived_name(span, patch)
        if derived is not None and (session.derived is None or derived[0] > session.derived[0]):
            session.derived = derived
        user_id = patch.get("user_properties", {}).get("user_id")
        if user_id is not None:
            session.user.setdefault("user_id", user_id)
        # The mapping kept the properties it did not read, rebuilt, in `metadata`:
        # read there rather than scanning every attribute of every span again.
        properties = _at(patch.get("metadata"), ("traceloop", "association", "properties"))
        if type(properties) is dict:
            for name, value in properties.items():
                if name not in _IDENTITY_PROPERTIES:
                    session.association.setdefault(name, value)

    def ops(self, project_id: str) -> list[Update]:
        """One `Update` per session something was said about, in first-seen order."""
        ops = []
        for session_id, session in self._sessions.items():
            patch: EventPatch = {"event_id": session_id}
            metadata: JsonObject = {}
            if session.explicit is not None:
                patch["event_name"] = session.explicit
            elif session.derived is not None:
                patch["event_name"] = session.derived[1]
                metadata[NAME_SOURCE_KEY] = session.derived[2]
            if session.association:
                metadata["association_properties"] = session.association
            if metadata:
                patch["metadata"] = metadata
            if session.user:
                patch["user_properties"] = session.user
            if len(patch) > 1:
                ops.append(Update(project_id, patch))
        return ops


def _at(tree: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if type(tree) is not dict:
            return None
        tree = tree.get(key)
    return tree


def _derived_name(span: Span, patch: EventPatch) -> tuple[int, str, str] | None:
    """The name `span` suggests for its session: its trace's workflow, else its own
    name when it is the trace's root."""
    workflow: Any = span.attributes.get(WORKFLOW_KEY)
    if type(workflow) is str and workflow:
        return DERIVED_RANKS[WORKFLOW_KEY], workflow, WORKFLOW_KEY
    name = patch.get("event_name")
    if not span.parent_span_id and name:
        return DERIVED_RANKS[_ROOT], name, _ROOT
    return None

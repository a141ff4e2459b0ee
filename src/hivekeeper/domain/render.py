"""Stored rows → the event objects the HoneyHive API answers, and session trees."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hivekeeper.domain.merge import rollup_metadata
from hivekeeper.domain.tenancy import Project
from hivekeeper.domain.types import JsonObject, StoredRow


def render_event(row: StoredRow, project: Project, children_ids: Sequence[str] = ()) -> JsonObject:
    """The full event as clients read it. Sessions carry their roll-ups in `metadata`
    (a value the client set itself under the same key wins over the aggregate)."""
    metadata = row["metadata"]
    if row["event_type"] == "session":
        metadata = {**rollup_metadata(row), **metadata}
    stored_children = row["children_ids"]
    children = list(stored_children)
    if children_ids:
        seen = set(children)
        children.extend(c for c in children_ids if c not in seen)
    event: JsonObject = {
        "event_id": row["event_id"],
        "session_id": row["session_id"],
        "org_id": project.org_id,
        "workspace_id": project.workspace_id,
        "project_id": project.id,
        "parent_id": row["parent_id"],
        "children_ids": children,
        "event_type": row["event_type"],
        "event_name": row["event_name"],
        "config": row["config"],
        "inputs": row["inputs"],
        "outputs": row["outputs"],
        "error": row["error"],
        "source": row["source"],
        "duration": row["duration"],
        "user_properties": row["user_properties"],
        "metrics": row["metrics"],
        "feedback": row["feedback"],
        "metadata": metadata,
        "start_time": row["start_time"],
        "end_time": row["end_time"],
    }
    for key, value in row["extra"].items():
        event.setdefault(key, value)
    return event


def render_sent_session(sent: JsonObject, session_id: str, project: Project) -> JsonObject:
    """What an ingest-only key's session start answers: the session object it sent,
    with the ids the HoneyHive SDK requires (all strings). Nothing stored is read, so
    a key that may not read learns nothing by starting a session with a known id."""
    return {
        **sent,
        "event_id": session_id,
        "session_id": session_id,
        "org_id": project.org_id,
        "workspace_id": project.workspace_id,
        "project_id": project.id,
    }


def render_tree(rows: Iterable[StoredRow], session_id: str, project: Project) -> JsonObject | None:
    """The session event with every event of its session nested under `children`.

    Events whose parent is not (yet) stored hang off the session root, so a tree
    whose parent span is still in flight shows every event that did arrive.
    """
    by_parent: dict[str | None, list[StoredRow]] = {}
    root: StoredRow | None = None
    ids: set[str] = set()
    for row in rows:
        if row["event_id"] == session_id:
            root = row
        else:
            by_parent.setdefault(row["parent_id"], []).append(row)
            ids.add(row["event_id"])
    if root is None:
        return None
    for parent in [p for p in by_parent if p != session_id and p not in ids]:
        by_parent.setdefault(session_id, []).extend(by_parent.pop(parent))
    nodes: dict[str, JsonObject] = {}
    for row in [root, *(r for kids in by_parent.values() for r in kids)]:
        kids = by_parent.get(row["event_id"], [])
        node = render_event(row, project, [k["event_id"] for k in kids])
        node["children"] = kids
        nodes[row["event_id"]] = node
    for node in nodes.values():
        node["children"] = [nodes[k["event_id"]] for k in node["children"]]
    return nodes[session_id]

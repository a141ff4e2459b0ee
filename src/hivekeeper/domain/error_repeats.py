"""Errors that count once: which erroring events only repeat an error counted elsewhere.

One exception raised through nested traced functions reaches the store several times:
the HoneyHive SDK's `@trace` marks each span it passes through as failed and adds a
`<fn>_error` span beside it. A session's `error_count` counts that exception once.
An event's error *repeats* another event's when

- the event is named `<name>_error` and a sibling (same parent) named `<name>` has an
  error: the SDK's error span beside the span that failed; or
- one of its children has the very same error: the exception propagating up.

A repeating event stays stored with its error, and is marked: `metadata.error_repeats`
holds the id of the event it repeats. Marks are kept at write time, by
`domain.merge.apply_ops` over the rows the store loads through `ErrorFamily`, so every
engine counts the same. Pure code: the loading is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Protocol

from hivekeeper.domain.types import Key, StoredRow

REPEATS_KEY = "error_repeats"
"""The `metadata` key marking a repeated error: the id of the event repeated."""

_SIBLING_SUFFIX = "_error"


class ErrorFamily(Protocol):
    """What the store reads for the rule: the erroring children of some events."""

    def load(self, keys: Collection[Key]) -> dict[Key, StoredRow]:
        """The stored rows of those keys that exist (as the batch has left them)."""

    def erring_children(self, project_id: str, parent_ids: Collection[str]) -> list[StoredRow]:
        """The visible events whose `parent_id` is one of `parent_ids` and whose
        `error` is not null."""


def repeated_event(
    event: StoredRow, siblings: Iterable[StoredRow], children: Iterable[StoredRow]
) -> str | None:
    """The id of the event whose error `event`'s error repeats, or None when it counts.

    `siblings` are the erroring events with `event`'s parent, `children` those with
    `event` as parent (either may include `event` itself, which is ignored)."""
    error = event["error"]
    if error is None or event["event_type"] in (None, "session"):
        return None
    name = event["event_name"] or ""
    if name.endswith(_SIBLING_SUFFIX) and len(name) > len(_SIBLING_SUFFIX):
        base = name[: -len(_SIBLING_SUFFIX)]
        for sibling in siblings:
            if sibling["event_name"] == base and sibling["event_id"] != event["event_id"]:
                return sibling["event_id"]
    for child in children:
        if child["error"] == error and child["event_id"] != event["event_id"]:
            return child["event_id"]
    return None


def counts_error(row: StoredRow) -> bool:
    """Whether the row adds one to its session's `error_count`."""
    return row["error"] is not None and REPEATS_KEY not in row["metadata"]


def error_shape(row: StoredRow | None) -> tuple[object, ...] | None:
    """What the rule reads of a row: a change here means its marks must be checked."""
    if row is None:
        return None
    return (row["event_type"], row["event_name"], row["parent_id"], row["error"])


def neighbours(row: StoredRow, siblings_named: Callable[[Key, str], list[Key]]) -> set[Key]:
    """Whose marks a change to `row` may change: itself, its parent, and its
    `<name>_error` siblings (`siblings_named((project_id, parent_id), name)`)."""
    project_id = row["project_id"]
    found = {(project_id, row["event_id"])}
    if row["parent_id"]:
        found.add((project_id, row["parent_id"]))
    parent = (project_id, row["parent_id"] or "")
    found.update(siblings_named(parent, f"{row['event_name']}{_SIBLING_SUFFIX}"))
    return found

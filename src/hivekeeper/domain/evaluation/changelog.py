"""Dataset versions as a log of changes: what each change did, and a version rebuilt from it.

A dataset is never copied per version. Each change to its membership, or to one of
its datapoints, appends one `DatasetChange` holding only the datapoints it touched
(`added`, `removed`, `edited`, each naming the datapoint revision then in force), so a
100,000-datapoint dataset edited once costs one item. Version *n* is the membership
obtained by replaying the first *n* changes (`materialize`).

Changes are ordered by `(at_ms, change_id)` (`VersionKey`), never by a stored counter:
a version number is the change's rank in that order (`version_numbers`), so an engine
with several writers (ClickHouse) appends changes without reading the log first. A run
records the key of the change it used, which stays exact whatever is appended later.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from hivekeeper.domain.charts import iso_time
from hivekeeper.domain.types import JsonObject

VersionKey = tuple[float, str]
"""`(at_ms, change_id)`: the total order of a dataset's changes."""

ChangeKind = Literal["added", "removed", "edited"]


@dataclass(frozen=True, slots=True)
class ChangeItem:
    """One datapoint touched by one change.

    `revision` is the change id of the datapoint revision in force after the change
    (None for `removed`); `ordinal` orders the items of one change (the row order of
    an import), so a version lists datapoints in the order they were added.
    """

    key: VersionKey
    ordinal: int
    datapoint_id: str
    kind: ChangeKind
    revision: str | None

    def __post_init__(self) -> None:
        if (self.revision is None) != (self.kind == "removed"):
            raise ValueError("an added or edited item names a revision; a removed one none")


@dataclass(frozen=True, slots=True)
class Member:
    """A datapoint in a version, with the revision of its content that version shows."""

    datapoint_id: str
    revision: str


@dataclass(frozen=True, slots=True)
class ChangeSummary:
    """What one change did, for a dataset's version history."""

    key: VersionKey
    key_id: str | None
    added: int
    removed: int
    edited: int


def membership_items(
    key: VersionKey,
    current: Iterable[str],
    wanted: Sequence[str],
    revisions: dict[str, str],
) -> list[ChangeItem]:
    """The items that turn membership `current` into `wanted` (a full replacement, as
    `PUT /v1/datasets` with `datapoints` asks): additions in `wanted`'s order, then
    removals. `revisions` gives each added datapoint's current revision. Empty when
    nothing changes, in which case no version is made."""
    have = set(current)
    want = dict.fromkeys(wanted)
    added = [d for d in want if d not in have]
    removed = sorted(d for d in have if d not in want)
    return [
        *(ChangeItem(key, i, d, "added", revisions[d]) for i, d in enumerate(added)),
        *(ChangeItem(key, len(added) + i, d, "removed", None) for i, d in enumerate(removed)),
    ]


def addition_items(
    key: VersionKey, current: Iterable[str], added: Sequence[str], revisions: dict[str, str]
) -> list[ChangeItem]:
    """Items adding `added` (in order) to a dataset; members already in it are skipped."""
    have = set(current)
    fresh = [d for d in dict.fromkeys(added) if d not in have]
    return [ChangeItem(key, i, d, "added", revisions[d]) for i, d in enumerate(fresh)]


def removal_items(
    key: VersionKey, current: Iterable[str], removed: Sequence[str], first_ordinal: int = 0
) -> list[ChangeItem]:
    """Items removing `removed` (in order) from a dataset, numbered from
    `first_ordinal` (after the additions of the same change); non-members are skipped."""
    have = set(current)
    gone = [d for d in dict.fromkeys(removed) if d in have]
    return [ChangeItem(key, first_ordinal + i, d, "removed", None) for i, d in enumerate(gone)]


def materialize(items: Iterable[ChangeItem], at: VersionKey | None = None) -> list[Member]:
    """The members of the version made by the change `at` (the latest when None): the
    items up to it replayed in order. A datapoint keeps its place when edited (or added
    again while a member: a retried or concurrent addition changes nothing), and moves to
    the end when removed and added again. Items may come in any order."""
    return [Member(datapoint_id, revision) for datapoint_id, (_, revision) in places(items, at)]


def places(
    items: Iterable[ChangeItem], at: VersionKey | None = None
) -> list[tuple[str, tuple[tuple[VersionKey, int], str]]]:
    """`materialize`'s members, each with its place: the key and ordinal of the item
    that added it (what the row stores keep in `dataset_members`), and its revision."""
    members: dict[str, tuple[tuple[VersionKey, int], str]] = {}
    for item in sorted(items, key=lambda i: (i.key, i.ordinal)):
        if at is not None and item.key > at:
            break
        dp = item.datapoint_id
        if item.kind == "removed":
            members.pop(dp, None)
        elif dp in members:
            members[dp] = (members[dp][0], cast(str, item.revision))
        elif item.kind == "added":
            members[dp] = ((item.key, item.ordinal), cast(str, item.revision))
    return sorted(members.items(), key=lambda entry: entry[1][0])


def version_numbers(keys: Iterable[VersionKey]) -> dict[VersionKey, int]:
    """Each change's version number: its rank (from 1) in `(at_ms, change_id)` order."""
    return {key: n for n, key in enumerate(sorted(set(keys)), start=1)}


def version_at(keys: Iterable[VersionKey], at_ms: float) -> VersionKey | None:
    """The dataset version in force at `at_ms`: its latest change made at or before
    then (None before its first). A run uses the version in force when it was created,
    so engines derive it from the run's creation time and never read on the write path."""
    before = [key for key in keys if key[0] <= at_ms]
    return max(before) if before else None


def render_history(changes: Iterable[ChangeSummary]) -> list[JsonObject]:
    """A dataset's version history, oldest first: `{version, change_id, created_at,
    key_id, added, removed, edited}` per change."""
    ordered = sorted(changes, key=lambda c: c.key)
    return [
        {
            "version": n,
            "change_id": change.key[1],
            "created_at": iso_time(change.key[0]),
            "key_id": change.key_id,
            "added": change.added,
            "removed": change.removed,
            "edited": change.edited,
        }
        for n, change in enumerate(ordered, start=1)
    ]

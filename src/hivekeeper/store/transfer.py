"""Copy everything one store holds into another, of any engine: `hivekeeper copy`.

Rows move in `(project_id, event_id)` order, a batch per target transaction, so after
an interruption the target holds an exact prefix of the source and the next run
resumes after the target's last key. Rows go across as stored (pending rows and
session roll-ups included), never re-merged, so the copy is the same data, not a
replay of it. The counts per project are compared at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.types import Key
from hivekeeper.store.protocol import TransferStore


@dataclass(frozen=True, slots=True)
class CopyReport:
    copied: int
    resumed_after: Key | None
    source_counts: dict[str, int]
    target_counts: dict[str, int]

    @property
    def verified(self) -> bool:
        return self.source_counts == self.target_counts


def copy_store(
    source: TransferStore,
    target: TransferStore,
    *,
    batch_size: int = 5000,
    from_start: bool = False,
    progress: Callable[[int], None] = lambda copied: None,
) -> CopyReport:
    """Copy tenancy and rows from `source` into `target` (both open) and count both.

    The target must be empty or hold an earlier copy of the same source: a project
    the source does not have means it is somebody else's database, so nothing is
    written. `from_start` re-copies every row (rows already there are replaced), for
    a source that changed behind an interrupted copy.
    """
    dump = source.export_tenancy()
    ours = {row["id"] for row in dump.projects}
    foreign = sorted(
        str(row["name"]) for row in target.export_tenancy().projects if row["id"] not in ours
    )
    if foreign:
        raise ValidationFailed(
            f"the target already holds other projects ({', '.join(foreign)}); copy into an "
            "empty database (one `hivekeeper serve` never started on)",
            field="to",
        )
    target.import_tenancy(dump)
    resumed_after = None if from_start else target.last_key()
    after, copied = resumed_after, 0
    while rows := source.scan_rows(after, batch_size):
        target.put_rows(rows)
        copied += len(rows)
        after = (rows[-1]["project_id"], rows[-1]["event_id"])
        progress(copied)
    return CopyReport(
        copied=copied,
        resumed_after=resumed_after,
        source_counts=source.count_rows(),
        target_counts=target.count_rows(),
    )

"""Copy everything one store holds into another, of any engine: `hivekeeper copy`.

Rows move in `(project_id, event_id)` order, a batch per target transaction, so after
an interruption the target holds an exact prefix of the source and the next run
resumes after the target's last key. Rows go across as stored (pending rows and
session roll-ups included), never re-merged, so the copy is the same data, not a
replay of it. The evaluation plane (datasets, datapoints, prompts, metrics, runs,
charts) follows, project by project, in the row stores' tables
(`evaluation_tables`): each engine exports its own records in that shape and imports
it as its own rows, keeping ids, version keys and history. It is small beside the
events, so every run copies it whole; a row replaces the one of the same key, so a
re-run writes nothing twice. The counts per project are compared at the end: rows,
and the records of every evaluation table, each store read through its export.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.types import Key
from hivekeeper.store.protocol import TransferStore

RecordCounts = dict[str, dict[str, int]]
"""Project id → evaluation table → records (tables without any left out)."""


@dataclass(frozen=True, slots=True)
class CopyReport:
    copied: int
    resumed_after: Key | None
    source_counts: dict[str, int]
    target_counts: dict[str, int]
    source_records: RecordCounts
    target_records: RecordCounts

    @property
    def verified(self) -> bool:
        return (
            self.source_counts == self.target_counts
            and self.source_records == self.target_records
        )

    @property
    def records(self) -> int:
        """Evaluation records on the target."""
        return sum(sum(tables.values()) for tables in self.target_records.values())


def copy_store(
    source: TransferStore,
    target: TransferStore,
    *,
    batch_size: int = 5000,
    from_start: bool = False,
    progress: Callable[[int], None] = lambda copied: None,
) -> CopyReport:
    """Copy tenancy, rows and the evaluation plane from `source` into `target` (both
    open) and count both.

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
    projects = sorted(str(project_id) for project_id in ours)
    source_records: RecordCounts = {}
    for project_id in projects:
        for table, batch in source.export_evaluation(project_id, batch_size):
            target.import_evaluation(table, batch)
            _count(source_records, project_id, table, len(batch))
    target_records: RecordCounts = {}
    for project_id in projects:
        for table, batch in target.export_evaluation(project_id, batch_size):
            _count(target_records, project_id, table, len(batch))
    return CopyReport(
        copied=copied,
        resumed_after=resumed_after,
        source_counts=source.count_rows(),
        target_counts=target.count_rows(),
        source_records=source_records,
        target_records=target_records,
    )


def _count(counts: RecordCounts, project_id: str, table: str, records: int) -> None:
    tables = counts.setdefault(project_id, {})
    tables[table] = tables.get(table, 0) + records

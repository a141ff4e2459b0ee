"""Pure domain code: events, the merge rule, the filter language, errors. No I/O."""

from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.domain.events import EventPatch, EventType
from hivekeeper.domain.merge import StoredRow, WriteOp, merge_fields

__all__ = ["EventPatch", "EventType", "HivekeeperError", "StoredRow", "WriteOp", "merge_fields"]

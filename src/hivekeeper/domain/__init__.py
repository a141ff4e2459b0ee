"""Pure domain code: events, the merge rule, the filter language, errors. No I/O."""

from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.domain.merge import merge_fields
from hivekeeper.domain.types import EventPatch, EventType, StoredRow, WriteOp

__all__ = ["EventPatch", "EventType", "HivekeeperError", "StoredRow", "WriteOp", "merge_fields"]

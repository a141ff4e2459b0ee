"""The decoded OTLP log record both wire encodings produce and the log mapping reads.

As with spans (`spans.py`), protobuf and JSON differ only on the wire: past the decoder
ids are lowercase hex (None when absent), times integer nanoseconds (0 when unknown),
the body and attribute values JSON values, attribute keys exactly as sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hivekeeper.ingest.spans import Attributes


@dataclass(slots=True)
class LogRecord:
    """One log record with the resource and instrumentation scope it was sent under."""

    index: int
    """Its position in the request (0-based, over every resource and scope): the order
    of records with the same time."""
    trace_id: str | None
    """32 lowercase hex digits; None for a record outside any trace."""
    span_id: str | None
    """16 lowercase hex digits; None for a record outside any span."""
    time_unix_nano: int
    observed_time_unix_nano: int
    severity_number: int = 0
    severity_text: str = ""
    event_name: str = ""
    """The `event_name` field, or the older `event.name` attribute."""
    body: Any = None
    attributes: Attributes = field(default_factory=dict)
    flags: int = 0
    dropped_attributes_count: int = 0
    scope_name: str = ""
    scope_version: str = ""
    resource: Attributes = field(default_factory=dict)

    @property
    def time_ns(self) -> int:
        """When it happened: its time, else when it was observed (0 when neither is known)."""
        return self.time_unix_nano or self.observed_time_unix_nano

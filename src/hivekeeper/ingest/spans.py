"""The decoded OTLP span both wire encodings produce and the span → event mapping reads.

Protobuf and the several JSON flavours differ only on the wire; past the decoder every
span looks the same: ids as lowercase hex, times as integer nanoseconds, attribute
values already turned into JSON values (spec §7.1: string, int, float, bool, list,
dict; bytes as base64 text), keys exactly as sent (still flattened).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

Attributes = dict[str, Any]

SPAN_KIND_NAMES = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
"""OTLP SpanKind names (without `SPAN_KIND_`), indexed by their wire number."""


class StatusCode(IntEnum):
    UNSET = 0
    OK = 1
    ERROR = 2


@dataclass(slots=True)
class SpanEvent:
    """A timestamped annotation on a span (an `exception`, a GenAI message …)."""

    name: str
    time_unix_nano: int
    attributes: Attributes = field(default_factory=dict)


@dataclass(slots=True)
class Span:
    """One span with the resource and instrumentation scope it was sent under."""

    trace_id: str
    """32 lowercase hex digits."""
    span_id: str
    """16 lowercase hex digits."""
    parent_span_id: str | None
    """16 lowercase hex digits; None for a root span."""
    name: str
    kind: int
    start_unix_nano: int
    end_unix_nano: int
    attributes: Attributes = field(default_factory=dict)
    events: list[SpanEvent] = field(default_factory=list)
    status_code: StatusCode = StatusCode.UNSET
    status_message: str = ""
    scope_name: str = ""
    scope_version: str = ""
    resource: Attributes = field(default_factory=dict)

"""Small OTLP/JSON trace exports with known ids, for tests that count what was stored."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import orjson

from hivekeeper.ingest.span_mapping import span_event_id

_START_NS = time.time_ns() - 60_000_000_000


@dataclass
class JsonTrace:
    """One trace of `spans` spans in one HoneyHive session; span i has `inputs.n = i`."""

    spans: int
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    bad_spans: int = 0
    """Extra spans with a malformed span id, which the server rejects alone."""

    def event_ids(self) -> list[str]:
        """The ids of the events the good spans become."""
        return [span_event_id(self.trace_id, self._span_id(i)) for i in range(self.spans)]

    def body(self) -> bytes:
        spans = [self._span(i, self._span_id(i)) for i in range(self.spans)]
        spans += [self._span(self.spans + i, "not-hex") for i in range(self.bad_spans)]
        scope_spans = [{"scope": {"name": "honeyhive.0"}, "spans": spans}]
        return orjson.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": scope_spans}]})

    @staticmethod
    def _span_id(i: int) -> str:
        return f"{i + 1:016x}"

    def _span(self, i: int, span_id: str) -> dict[str, object]:
        attributes = {
            "honeyhive.session_id": self.session_id,
            "honeyhive_event_type": "tool",
            "honeyhive_event_name": f"span-{i}",
            "honeyhive_inputs.n": str(i),
        }
        return {
            "traceId": self.trace_id,
            "spanId": span_id,
            "name": f"span-{i}",
            "kind": "SPAN_KIND_INTERNAL",
            "startTimeUnixNano": str(_START_NS + i * 1_000_000),
            "endTimeUnixNano": str(_START_NS + (i + 10) * 1_000_000),
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
        }

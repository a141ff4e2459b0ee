"""What the writer remembers of recent traces between exports: the session each named,
and which of its spans have children.

Spans of one trace come in several exports, and not every span carries what its trace
says: Langfuse sets `session.id` on the span where the application called
`update_current_trace`, OpenInference on spans opened inside `using_session`, and a
parent span (ending last) is exported after its children. The mapping
(`span_mapping.spans_to_ops`) reads this memory, so a span without a session
attribute joins the session another span of its trace named, and a parent span without
convention attributes is a `chain` even when its children came in an earlier export.

Memory only, bounded (least recently seen traces are forgotten first): after a
restart, or once a trace is forgotten, a span that carries no session attribute and
whose export holds no span naming one lands in its trace's own session
(`trace_session_id`), as if nothing had been named.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

DEFAULT_MAX_TRACES: Final = 100_000
"""Traces remembered. An entry is a session id and a few span ids (~300 bytes), so
the memory stays under ~30 MB however many traces a server sees; a trace's spans
normally arrive within seconds of each other, far inside this window."""
_MAX_PARENTS_PER_TRACE: Final = 1_000


class _Trace:
    __slots__ = ("parents", "requests", "session_id")

    def __init__(self) -> None:
        self.session_id: str | None = None
        self.parents: set[str] = set()
        self.requests: dict[str, str] = {}


class TraceSessions:
    """A bounded, thread-safe memory of recent traces, keyed by project and trace id."""

    def __init__(self, max_traces: int = DEFAULT_MAX_TRACES) -> None:
        if max_traces < 1:
            raise ValueError("max_traces must be at least 1")
        self._max_traces = max_traces
        self._traces: OrderedDict[tuple[str, str], _Trace] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._traces)

    def session_of(self, project_id: str, trace_id: str) -> str | None:
        """The session a span of this trace named, if one did and it is remembered."""
        with self._lock:
            trace = self._traces.get((project_id, trace_id))
            return trace.session_id if trace is not None else None

    def has_children(self, project_id: str, trace_id: str, span_id: str) -> bool:
        """Whether a remembered span of this trace named `span_id` as its parent."""
        with self._lock:
            trace = self._traces.get((project_id, trace_id))
            return trace is not None and span_id in trace.parents

    def request_of(self, project_id: str, trace_id: str, key: str) -> str | None:
        """The span id last remembered under `key` for this trace (`remember_request`)."""
        with self._lock:
            trace = self._traces.get((project_id, trace_id))
            return trace.requests.get(key) if trace is not None else None

    def remember_request(self, project_id: str, trace_id: str, key: str, span_id: str) -> None:
        """Note the span a later span of the trace may complete (Logfire's streamed
        request, which its streaming log span finishes), under `key`."""
        with self._lock:
            trace = self._traces.get((project_id, trace_id))
            if trace is not None and (
                key in trace.requests or len(trace.requests) < _MAX_PARENTS_PER_TRACE
            ):
                trace.requests[key] = span_id

    def remember(
        self, project_id: str, trace_id: str, session_id: str | None, parents: set[str]
    ) -> None:
        """Note a trace's named session (None: keep what is known) and parent span ids."""
        key = (project_id, trace_id)
        with self._lock:
            trace = self._traces.get(key)
            if trace is None:
                trace = self._traces[key] = _Trace()
                if len(self._traces) > self._max_traces:
                    self._traces.popitem(last=False)
            else:
                self._traces.move_to_end(key)
            if session_id is not None:
                trace.session_id = session_id
            room = _MAX_PARENTS_PER_TRACE - len(trace.parents)
            if parents and room > 0:
                trace.parents.update(list(parents)[:room])

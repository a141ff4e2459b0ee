"""Decoded OTLP spans → event write operations (spec §7), pure and deterministic.

One `Upsert` per span, keyed by an id derived from trace and span id, so a retried or
duplicated export merges into the same event and a child can name its parent before
the parent arrives. This module reads identity, type, name, times and errors, and the
HoneyHive namespaces; `conventions` (and `messages`, for chat history and outputs) maps
OpenInference, GenAI and Traceloop attributes after it; `attributes` rebuilds flattened
values.

Nothing a span carries is dropped: an attribute no rule maps is kept in `metadata`
under its own key, rebuilt (`http.method` → `metadata["http"]["method"]`), and listed
in `metadata["otel"]["unmapped_attributes"]`. A mapped value always wins its place;
an attribute that would replace one lands in `metadata["otel"]["shadowed"]` under the
dotted path it wanted. `metadata["otel"]` also holds the span's own identity (trace,
span and parent span ids, kind, scope, status, resource) for correlation with other
OpenTelemetry tools.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from hashlib import sha1
from typing import Any

from hivekeeper.domain.events import MAX_TIME_MS
from hivekeeper.domain.types import EventPatch, EventType, MergeOp, Upsert
from hivekeeper.ingest.attributes import (
    EventFields,
    JsonTree,
    Pairs,
    finish,
    insert,
    insert_bare,
    merge_missing,
    rebuild_object,
    split_key,
)
from hivekeeper.ingest.conventions import (
    CONVENTION_KEYS,
    FAMILIES,
    apply_conventions,
    fill_totals,
    infer_event_type,
)
from hivekeeper.ingest.langfuse import FAMILY as LANGFUSE
from hivekeeper.ingest.langfuse import map_langfuse
from hivekeeper.ingest.logfire import apply_logfire, fold_streams
from hivekeeper.ingest.session_updates import SessionUpdates
from hivekeeper.ingest.span_kinds import http_client_name, is_http_client, mark_http_client
from hivekeeper.ingest.spans import SPAN_KIND_NAMES, Attributes, Span, SpanEvent, StatusCode
from hivekeeper.ingest.trace_sessions import TraceSessions

ID_NAMESPACE = uuid.UUID("fdd01780-562d-421b-a230-d66706ff4259")
"""UUIDv5 namespace of every id hivekeeper derives from OTLP trace and span ids.

Fixed forever: changing it would give a re-sent span a second event.
"""
_NAMESPACE_BYTES = ID_NAMESPACE.bytes
# UUID variant bits (RFC 4122: 10xx) applied to the 17th hex digit.
_VARIANT_DIGIT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}

_SESSION_KEYS = (
    "honeyhive.session_id",
    "honeyhive_session_id",
    "traceloop.association.properties.session_id",
    "session.id",
    "gen_ai.conversation.id",
)
_SOURCE_KEYS = ("honeyhive.source", "honeyhive_source", "traceloop.association.properties.source")
# Where a span from a library that sets no source says where it runs: its deployment
# environment, else the service's name (resource attributes; Langfuse's on the span).
_ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")
_LANGFUSE_ENVIRONMENT = "langfuse.environment"
_PARENT_KEYS = ("honeyhive.parent_id", "traceloop.association.properties.parent_id")
_TYPE_KEYS = ("honeyhive_event_type", "honeyhive.event_type")
_NAME_KEYS = ("honeyhive_event_name", "honeyhive.event_name")
_EXPERIMENT_KEYS = {
    f"honeyhive.{name}": name
    for name in ("experiment_id", "experiment_name", "experiment_variant", "experiment_group")
}
_METADATA_KEYS = {
    **_EXPERIMENT_KEYS,
    "honeyhive_error_type": "error_type",
    "honeyhive_duration_ms": "duration_ms",
}
# Bookkeeping the spec says to consume: the project comes from the API key, not a hint.
_CONSUMED_KEYS = (
    "honeyhive.project",
    "honeyhive_project",
    "traceloop.association.properties.project",
    "honeyhive.tracer_version",
    "honeyhive.session_auto_create",
)
_HONEYHIVE_KEYS = frozenset(
    {
        *_SESSION_KEYS,
        *_SOURCE_KEYS,
        *_PARENT_KEYS,
        *_TYPE_KEYS,
        *_NAME_KEYS,
        *_METADATA_KEYS,
        *_CONSUMED_KEYS,
        "honeyhive_event_id",
        "honeyhive_error",
        "honeyhive_user_id",
        "honeyhive.session_name",
        "honeyhive.config",
    }
)
_EXACT_KEYS = dict.fromkeys(CONVENTION_KEYS, False) | dict.fromkeys(_HONEYHIVE_KEYS, True)
"""Exact keys → whether the HoneyHive rules here (True) or the conventions read them."""
_BUCKETS = {
    "honeyhive_inputs": "inputs",
    "honeyhive_outputs": "outputs",
    "honeyhive_config": "config",
    "honeyhive_metadata": "metadata",
    "honeyhive_metrics": "metrics",
    "honeyhive_feedback": "feedback",
    "honeyhive_user_properties": "user_properties",
}
# `session` is no span's type: the session event comes from its own routes (§7.2).
_SPAN_TYPES: dict[str, EventType] = {t: t for t in ("model", "tool", "chain")}
_MAX_TIME_NS = int(MAX_TIME_MS) * 1_000_000
_MAX_ID_CHARS = 256  # what the REST routes accept, so every route takes the same ids
STATUS_ERROR_TEXT = "STATUS_CODE_ERROR"
"""`error` of a span whose status is ERROR with no message and no exception event."""


def span_event_id(trace_id: str, span_id: str) -> str:
    """The event id of a span without `honeyhive_event_id`: UUIDv5 of trace and span id.

    Equals `str(uuid.uuid5(ID_NAMESPACE, trace_id + span_id))` (ids lowercase hex).
    """
    return namespaced_id(trace_id + span_id)


def trace_session_id(trace_id: str) -> str:
    """The session of a span that names none (foreign senders): UUIDv5 of the trace id."""
    return namespaced_id(trace_id)


def namespaced_id(name: str) -> str:
    """`str(uuid.uuid5(ID_NAMESPACE, name))`: every id hivekeeper derives from OTLP ids."""
    # uuid.uuid5 builds a UUID object and formats it; this is the same value at a
    # quarter of the cost (0.9 µs against 3.5), and it runs up to three times per span.
    digest = sha1(_NAMESPACE_BYTES + name.encode()).hexdigest()
    return (
        f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-"
        f"{_VARIANT_DIGIT[digest[16]]}{digest[17:20]}-{digest[20:32]}"
    )


def spans_to_ops(
    project_id: str,
    spans: Sequence[Span],
    *,
    source_header: str | None = None,
    traces: TraceSessions | None = None,
) -> list[MergeOp]:
    """The write operations that store `spans` as events of `project_id` (spec §7).

    One `Upsert` per span, in order, each `keep_stored` (see `otlp.reject_skipped`).
    Before them, one `Update` per session its spans say something about
    (`session_updates`: a name, explicit or derived, the user, grouping): it names a
    session a `/session/start` created, and otherwise stays pending until the first
    span creates the session, so real start and end times are never replaced.
    A span that names no session joins the one another span of its trace names, in
    `spans` or remembered by `traces` (which learns from `spans`), else its trace's
    own (`trace_session_id`). A child of a span renamed by `honeyhive_event_id` names
    the new id when both are in `spans`. `source_header` (`X-Source`) is the source
    of spans that carry none. Deterministic for the same spans and memory. Never
    raises for a decoded span.
    """
    batch = _Batch(project_id, spans, source_header, traces)
    mapped: list[tuple[Span, EventPatch, str | None]] = []
    renamed: dict[str, str] = {}
    for span in spans:
        patch, session_name, derived_id = _span_patch(span, batch)
        mapped.append((span, patch, session_name))
        if derived_id is not None:
            renamed[derived_id] = patch["event_id"]
    if renamed:
        # A span renamed by `honeyhive_event_id` keeps its children when they come in
        # the same export (the usual case: a batch holds a trace's spans together).
        for _, patch, _ in mapped:
            parent = patch.get("parent_id")
            if parent in renamed:
                patch["parent_id"] = renamed[parent]
    _join_named_sessions(mapped, batch)
    folds = fold_streams(
        [(span, patch) for span, patch, _ in mapped], project_id, batch.traces, batch.event_id
    )
    sessions = SessionUpdates()
    for span, patch, session_name in mapped:
        sessions.add(span, patch, session_name)
    ops: list[MergeOp] = [*sessions.ops(project_id)]
    # A span naming a stored event of another type is skipped alone, not the export.
    ops.extend(Upsert(project_id, patch, on_type_conflict="keep_stored") for _, patch, _ in mapped)
    ops.extend(folds)
    return ops


def _join_named_sessions(mapped: list[tuple[Span, EventPatch, str | None]], batch: _Batch) -> None:
    """Move spans left in their trace's own session to the session another span of
    the trace named (in this export, else remembered), and teach the memory."""
    named: dict[str, str] = {}
    for span, patch, _ in mapped:
        if patch["session_id"] != batch.trace_session(span.trace_id):
            named.setdefault(span.trace_id, patch["session_id"])
    traces = batch.traces
    for span, patch, _ in mapped:
        own = batch.trace_session(span.trace_id)
        if patch["session_id"] != own:
            continue
        target = named.get(span.trace_id)
        if target is None and traces is not None:
            target = traces.session_of(batch.project_id, span.trace_id)
        if target is not None:
            patch["session_id"] = target
            if patch.get("parent_id") == own:
                patch["parent_id"] = target
    if traces is not None:
        for trace_id, parents in batch.parents.items():
            traces.remember(batch.project_id, trace_id, named.get(trace_id), parents)


class _Batch:
    """What the spans of one `spans_to_ops` call share: the header, the memory of
    traces, which spans have children, and memos of the ids and resources that many
    of them repeat (siblings name the same parent)."""

    __slots__ = (
        "ids",
        "parents",
        "project_id",
        "resources",
        "sessions",
        "source_header",
        "traces",
    )

    def __init__(
        self,
        project_id: str,
        spans: Sequence[Span],
        source_header: str | None,
        traces: TraceSessions | None,
    ) -> None:
        self.project_id = project_id
        self.source_header = source_header
        self.traces = traces
        self.ids: dict[str, str] = {}
        self.sessions: dict[str, str] = {}
        self.resources: dict[int, tuple[Attributes, JsonTree]] = {}
        self.parents: dict[str, set[str]] = {}
        for span in spans:
            parents = self.parents.get(span.trace_id)
            if parents is None:
                parents = self.parents[span.trace_id] = set()
            if span.parent_span_id:
                parents.add(span.parent_span_id)

    def has_children(self, span: Span) -> bool:
        """Whether a span of this export, or one remembered, names `span` as parent."""
        if span.span_id in self.parents.get(span.trace_id, ()):
            return True
        traces = self.traces
        return traces is not None and traces.has_children(
            self.project_id, span.trace_id, span.span_id
        )

    def trace_session(self, trace_id: str) -> str:
        """`trace_session_id`, computed once per trace of the batch."""
        session_id = self.sessions.get(trace_id)
        if session_id is None:
            session_id = self.sessions[trace_id] = trace_session_id(trace_id)
        return session_id

    def event_id(self, trace_id: str, span_id: str) -> str:
        """`span_event_id`, computed once per span id of the batch."""
        name = trace_id + span_id
        event_id = self.ids.get(name)
        if event_id is None:
            event_id = self.ids[name] = namespaced_id(name)
        return event_id

    def resource(self, resource: Attributes) -> JsonTree | None:
        """The resource attributes rebuilt, once per resource object of the batch."""
        if not resource:
            return None
        cached = self.resources.get(id(resource))
        if cached is not None and cached[0] is resource:
            return cached[1]
        tree = rebuild_object(resource.items())
        self.resources[id(resource)] = (resource, tree)
        return tree


def _span_patch(span: Span, batch: _Batch) -> tuple[EventPatch, str | None, str | None]:
    """The event patch of one span, the session name it carries, if any, and the id
    the span would have had if `honeyhive_event_id` did not rename it.

    The steps run in this order because each may leave a value it refuses in
    `fields.unmapped`, and the last steps keep whatever is there in `metadata`.
    """
    fields = EventFields()
    unmapped = fields.unmapped
    found, convention, families = _sort_attributes(span.attributes, fields)
    patch, derived_id = _identify(span, found, unmapped, batch)
    session_name = _first_text(found, ("honeyhive.session_name",), unmapped)
    _add_name_and_source(span, found, unmapped, batch, patch)
    _add_times(span, patch)
    _add_honeyhive_values(found, fields)
    apply_logfire(span, fields, patch)
    mark_http_client(span, fields)
    exceptions, others = _split_events(span.events)
    langfuse = families.pop(LANGFUSE, None)
    if convention or families or others:
        others = apply_conventions(convention, families, others, fields)
    if langfuse is not None:
        trace_name = map_langfuse(langfuse, fields, patch)
        session_name = session_name or trace_name
    fill_totals(fields.metadata)
    _add_error(span, found, exceptions, fields, patch)
    if unmapped:
        merge_missing(
            fields.metadata, rebuild_object(unmapped.items()), fields.shadowed, "metadata."
        )
    _add_otel(span, batch.resource(span.resource), others, fields)
    _add_namespaces(fields, patch)
    return patch, session_name, derived_id


def _sort_attributes(
    attributes: Attributes, fields: EventFields
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Pairs]]:
    """One pass over a span's attributes: flattened namespace keys go into `fields`, and
    what is left is returned by who reads it: (exact HoneyHive keys, exact convention
    keys, convention families' pairs). Keys no rule reads go to `fields.unmapped`.

    Exact keys are looked up first (most of a typical span), then the first segment
    decides. No regular expressions, no copies of values.
    """
    metadata, unmapped = fields.metadata, fields.unmapped
    found: dict[str, Any] = {}
    convention: dict[str, Any] = {}
    families: dict[str, Pairs] = {}
    touched: dict[int, JsonTree] = {}  # objects that got flattened keys, to `finish`
    for key, value in attributes.items():
        is_honeyhive = _EXACT_KEYS.get(key)
        if is_honeyhive is not None:
            (found if is_honeyhive else convention)[key] = value
            continue
        head, _, rest = key.partition(".")
        bucket = _BUCKETS.get(head)
        if bucket is not None:
            target = getattr(fields, bucket)
            if rest:
                insert(target, split_key(rest), value)
            else:
                insert_bare(target, value)
            touched[id(target)] = target
            continue
        seconds = FAMILIES.get(head)
        if seconds is not None:
            second, _, suffix = rest.partition(".")
            family = seconds.get(second)
            if family is not None and suffix:
                families.setdefault(family, []).append((suffix, value))
                continue
        elif head.startswith("honeyhive"):
            if head == "honeyhive_span_config":  # an echo of honeyhive_config.*: skipped
                continue
            target = _add_honeyhive_extra(head, rest, value, fields)
            if target is not None:
                touched[id(target)] = target
                continue
        elif head == LANGFUSE and rest:
            families.setdefault(LANGFUSE, []).append((rest, value))
            continue
        elif head == "baggage" and rest:
            insert(metadata, ["baggage", *split_key(rest)], value)
            touched[id(metadata)] = metadata
            continue
        unmapped[key] = value
    for target in touched.values():
        finish(target)
    return found, convention, families


def _identify(
    span: Span, found: dict[str, Any], unmapped: dict[str, Any], batch: _Batch
) -> tuple[EventPatch, str | None]:
    """The patch's identity (event, session and parent id, event type), and the id the
    span would have had if `honeyhive_event_id` did not rename it."""
    trace_id = span.trace_id
    session_id = _first_id(found, _SESSION_KEYS, unmapped) or batch.trace_session(trace_id)
    event_id = _first_id(found, ("honeyhive_event_id",), unmapped)
    derived_id = None
    if event_id is None:
        event_id = batch.event_id(trace_id, span.span_id)
    elif event_id == session_id:
        # A span never becomes its session's event: its type and times would replace
        # the session's own. The id it asked for stays visible in metadata.
        unmapped["honeyhive_event_id"] = event_id
        event_id = batch.event_id(trace_id, span.span_id)
    else:
        derived_id = batch.event_id(trace_id, span.span_id)
    if span.parent_span_id:
        parent_id = batch.event_id(trace_id, span.parent_span_id)
    else:
        parent_id = _first_id(found, _PARENT_KEYS, unmapped) or session_id
    if parent_id == event_id:
        parent_id = session_id
    patch: EventPatch = {
        "event_id": event_id,
        "session_id": session_id,
        "parent_id": parent_id,
        "event_type": _event_type(span, found, unmapped, batch),
    }
    return patch, derived_id


def _add_name_and_source(
    span: Span, found: dict[str, Any], unmapped: dict[str, Any], batch: _Batch, patch: EventPatch
) -> None:
    """`event_name` (the SDK's, else an HTTP client call's method and URL, else the
    span's) and `source` (the span's, its resource's, the `X-Source` header, the
    deployment environment, else the service's name), when there is one."""
    name = _first_text(found, _NAME_KEYS, unmapped) or http_client_name(span) or span.name
    if name:
        patch["event_name"] = name
    source = (
        _first_text(found, _SOURCE_KEYS, unmapped)
        or _text(span.resource.get("honeyhive.source"))
        or batch.source_header
        or _environment(span)
    )
    if source:
        patch["source"] = source


def _environment(span: Span) -> str | None:
    """Where a span runs, by OpenTelemetry's resource conventions (or Langfuse's)."""
    resource = span.resource
    for key in _ENVIRONMENT_KEYS:
        value = _text(resource.get(key)) or _text(span.attributes.get(key))
        if value:
            return value
    return _text(span.attributes.get(_LANGFUSE_ENVIRONMENT)) or _text(
        resource.get("service.name")
    )


def _split_events(events: Iterable[SpanEvent]) -> tuple[list[SpanEvent], list[SpanEvent]]:
    """A span's events: (its `exception` events, the others)."""
    exceptions: list[SpanEvent] = []
    others: list[SpanEvent] = []
    for event in events:
        (exceptions if event.name == "exception" else others).append(event)
    return exceptions, others


def _add_error(
    span: Span,
    found: dict[str, Any],
    exceptions: list[SpanEvent],
    fields: EventFields,
    patch: EventPatch,
) -> None:
    """`error`, and each exception event in `metadata.exceptions`."""
    patch["error"] = _error(span, found, exceptions)
    if exceptions:
        fields.put(fields.metadata, "metadata", "exceptions", [_exception(e) for e in exceptions])


def _add_namespaces(fields: EventFields, patch: EventPatch) -> None:
    """The patch's JSON namespaces, as the steps before have filled them."""
    patch["config"] = fields.config
    patch["inputs"] = fields.inputs
    patch["outputs"] = fields.outputs
    patch["metadata"] = fields.metadata
    patch["metrics"] = fields.metrics
    patch["feedback"] = fields.feedback
    patch["user_properties"] = fields.user_properties


def _add_honeyhive_extra(head: str, rest: str, value: Any, fields: EventFields) -> JsonTree | None:
    """Other HoneyHive keys (§7.6): returns the object the value went into, if any."""
    if head == "honeyhive":
        second, _, suffix = rest.partition(".")
        if not suffix:
            return None
        if second == "config":
            insert(fields.config, split_key(suffix), value)
            return fields.config
        if second == "experiment_metadata":
            insert(fields.metadata, ["experiment_metadata", *split_key(suffix)], value)
            return fields.metadata
        return None
    if not head.startswith("honeyhive_") or len(head) == len("honeyhive_"):
        return None
    path = [head[len("honeyhive_") :]]
    if rest:
        path.extend(split_key(rest))
    insert(fields.metadata, path, value)
    return fields.metadata


def _add_honeyhive_values(found: dict[str, Any], fields: EventFields) -> None:
    metadata = fields.metadata
    for key, name in _METADATA_KEYS.items():
        value = found.get(key)
        if value is not None:
            fields.put(metadata, "metadata", name, value)
    user_id = found.get("honeyhive_user_id")
    if user_id is not None:
        fields.put(fields.user_properties, "user_properties", "user_id", user_id)
    config = found.get("honeyhive.config")
    if config is not None:
        fields.merge_object(fields.config, "config", config, "value")


def _identifier(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if 0 < len(text) <= _MAX_ID_CHARS and text.isprintable():
        return text
    return None


def _text(value: Any) -> str | None:
    return value if type(value) is str and value else None


def _first_id(found: dict[str, Any], keys: tuple[str, ...], unmapped: dict[str, Any]) -> str | None:
    """The first valid id among `keys`; invalid or disagreeing values stay unmapped."""
    return _first_valid(found, keys, unmapped, _identifier)


def _first_text(
    found: dict[str, Any], keys: tuple[str, ...], unmapped: dict[str, Any]
) -> str | None:
    """The first non-empty string among `keys`; others or disagreeing ones stay unmapped."""
    return _first_valid(found, keys, unmapped, _text)


def _first_valid(
    found: dict[str, Any],
    keys: tuple[str, ...],
    unmapped: dict[str, Any],
    valid: Callable[[Any], str | None],
) -> str | None:
    """The first value among `keys` that `valid` accepts, as `valid` returns it; values
    it refuses, or that disagree with the first, stay unmapped."""
    chosen = None
    for key in keys:
        value = found.get(key)
        if value is None:
            continue
        text = valid(value)
        if text is None or (chosen is not None and text != chosen):
            unmapped[key] = value
        elif chosen is None:
            chosen = text
    return chosen


def _event_type(
    span: Span, found: dict[str, Any], unmapped: dict[str, Any], batch: _Batch
) -> EventType:
    """Spec §7.4: the SDK's stamp for its decorator spans; else what attributes imply;
    else a `chain` for a span with children or an HTTP client call, a `tool` for a
    leaf of the application's own."""
    stamped: EventType | None = None
    for key in _TYPE_KEYS:
        value = found.get(key)
        if value is None:
            continue
        valid = _SPAN_TYPES.get(value.lower()) if type(value) is str else None
        if valid is not None and stamped in (None, valid):
            stamped = valid
        else:
            unmapped[key] = value
    from_sdk = (
        span.scope_name.startswith("honeyhive.")
        or "honeyhive_event_name" in found
        or "honeyhive.event_name" in found
    )
    if stamped is not None and from_sdk:
        return stamped
    inferred = infer_event_type(span.attributes) or stamped
    if inferred is not None:
        return inferred
    return "chain" if is_http_client(span) or batch.has_children(span) else "tool"


def _add_times(span: Span, patch: EventPatch) -> None:
    """Milliseconds with their fractions; a missing or impossible end is the start."""
    start, end = span.start_unix_nano, span.end_unix_nano
    start_ok, end_ok = 0 < start <= _MAX_TIME_NS, 0 < end <= _MAX_TIME_NS
    if not (start_ok or end_ok):
        return  # the server's clock decides (merge.new_row)
    if not start_ok:
        start = end
    elif not end_ok or end < start:
        end = start
    patch["start_time"] = start / 1e6
    patch["end_time"] = end / 1e6
    patch["duration"] = (end - start) / 1e6


def _error(span: Span, found: dict[str, Any], exceptions: list[SpanEvent]) -> str | None:
    """Spec §7.5: `honeyhive_error`, else an ERROR status, else the last exception."""
    error = found.get("honeyhive_error")
    if error is not None and error != "":
        return error if type(error) is str else str(error)
    if span.status_code == StatusCode.ERROR and span.status_message:
        return span.status_message
    if exceptions:
        attributes = exceptions[-1].attributes
        kind, message = attributes.get("exception.type"), attributes.get("exception.message")
        if kind and message:
            return f"{kind}: {message}"
        if kind or message:
            return str(kind or message)
    if span.status_code == StatusCode.ERROR:
        return STATUS_ERROR_TEXT
    return None


def _exception(event: SpanEvent) -> JsonTree:
    """An `exception` span event as `{type, message, stacktrace, escaped, time}`."""
    out: JsonTree = {}
    for key, value in event.attributes.items():
        out[key[len("exception.") :] if key.startswith("exception.") else key] = value
    out["time"] = event.time_unix_nano / 1e6
    return out


def _add_otel(
    span: Span, resource: JsonTree | None, events: list[SpanEvent], fields: EventFields
) -> None:
    """`metadata.otel`: the span's OpenTelemetry identity and what no rule mapped."""
    kind = span.kind
    otel: JsonTree = {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "kind": SPAN_KIND_NAMES[kind] if 0 <= kind < len(SPAN_KIND_NAMES) else kind,
    }
    if span.parent_span_id:
        otel["parent_span_id"] = span.parent_span_id
    if span.scope_name:
        scope = {"name": span.scope_name}
        if span.scope_version:
            scope["version"] = span.scope_version
        otel["scope"] = scope
    if span.status_code != StatusCode.UNSET:
        status = {"code": span.status_code.name}
        if span.status_message:
            status["message"] = span.status_message
        otel["status"] = status
    if resource is not None:
        otel["resource"] = resource
    if fields.unmapped:
        otel["unmapped_attributes"] = sorted(fields.unmapped)
    if events:
        otel["events"] = [_span_event(event) for event in events]
    if fields.shadowed:
        otel["shadowed"] = fields.shadowed
    existing = fields.metadata.get("otel")
    if existing is not None:
        # A user's own `metadata.otel` keeps its other keys; ours win a clash.
        otel = {**(existing if type(existing) is dict else {"value": existing}), **otel}
    fields.metadata["otel"] = otel


def _span_event(event: SpanEvent) -> JsonTree:
    out: JsonTree = {"name": event.name, "time": event.time_unix_nano / 1e6}
    if event.attributes:
        out["attributes"] = rebuild_object(event.attributes.items())
    return out

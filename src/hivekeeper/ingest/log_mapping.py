"""Decoded OTLP log records → event write operations, pure and deterministic.

Two kinds of records:

- **GenAI records naming a span** (`gen_ai.user.message` … `gen_ai.choice`,
  `gen_ai.client.inference.operation.details`, `gen_ai.evaluation.result`) belong to
  that span's event: each becomes a slot of it (`domain.log_slots`), in an `Update` of
  the event id the span maps to. The update waits (pending) when the span has not come
  yet, so messages attach whichever arrives first, and the merge step rebuilds
  `inputs.chat_history` and the output message from every slot. An evaluation result
  also sets `metrics.<its name>` to its score.
- **Every other record** is an event of its own, a `chain` named by its event name
  (else `log`): a child of its span's event in the trace's session, or, outside any
  trace, in an implicit session per `service.name` and UTC day. Its body is
  `outputs.body`; severity, times and flags are `metadata.log`; its attributes
  `metadata.attributes`; trace, span, scope and resource `metadata.otel`.

Nothing a record carries is dropped: a slot keeps what its messages do not say (the
record's attributes, severity, its body when it held no message). Ids derive from the
record's content, so a re-sent export lands on the same slots and events.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from hashlib import sha1
from typing import Any

import orjson

from hivekeeper.domain.log_slots import SLOTS_KEY, slot_key
from hivekeeper.domain.types import EventPatch, JsonObject, MergeOp, Update, Upsert
from hivekeeper.ingest.attributes import rebuild_object
from hivekeeper.ingest.log_records import LogRecord
from hivekeeper.ingest.messages import DETAILS_MESSAGE_KEYS, MESSAGE_EVENTS, record_messages
from hivekeeper.ingest.span_mapping import namespaced_id, span_event_id, trace_session_id
from hivekeeper.ingest.trace_sessions import TraceSessions

EVALUATION_EVENT = "gen_ai.evaluation.result"
ATTACHED_EVENTS = MESSAGE_EVENTS | {EVALUATION_EVENT}
"""Names of the records kept on their span's event rather than as events of their own."""
LOG_EVENT_NAME = "log"
"""`event_name` of a record without an event name."""
UNKNOWN_SERVICE = "unknown_service"
"""The service of a record whose resource names none (what the OTel SDKs default to)."""
_DIGEST_CHARS = 16


def logs_to_ops(
    project_id: str,
    records: Iterable[LogRecord],
    *,
    now_ms: float,
    source_header: str | None = None,
    traces: TraceSessions | None = None,
) -> list[MergeOp]:
    """The write operations that store `records` for `project_id`.

    In order: an `Update` naming each implicit per-service session, one `Update` per
    span event that GenAI records attach to, then one `Upsert` (`keep_stored`) per
    other record. `now_ms` dates the implicit session of a record that carries no
    time at all; `source_header` (`X-Source`) is the source of records whose resource
    names none. A record of a trace goes to the session a span of it named when
    `traces` (the writer's memory) knows one. Deterministic for the same records,
    day and memory. Never raises for a decoded record.
    """
    sessions: dict[str, str] = {}
    attached: dict[str, EventPatch] = {}
    events: list[EventPatch] = []
    for record in records:
        digest = _digest(record)
        if record.span_id and record.trace_id and record.event_name in ATTACHED_EVENTS:
            event_id = span_event_id(record.trace_id, record.span_id)
            patch = attached.get(event_id)
            if patch is None:
                patch = attached[event_id] = {"event_id": event_id, "metadata": {SLOTS_KEY: {}}}
            key = slot_key(record.time_ns, record.index, digest[:_DIGEST_CHARS])
            patch["metadata"][SLOTS_KEY][key] = _slot(record)
            if record.event_name == EVALUATION_EVENT:
                _add_score(record, patch)
        else:
            session_id = None
            if record.trace_id and traces is not None:
                session_id = traces.session_of(project_id, record.trace_id)
            events.append(_event(record, digest, sessions, now_ms, source_header, session_id))
    ops: list[MergeOp] = [
        Update(project_id, {"event_id": session_id, "event_name": name})
        for session_id, name in sessions.items()
    ]
    ops.extend(Update(project_id, patch) for patch in attached.values())
    ops.extend(Upsert(project_id, patch, on_type_conflict="keep_stored") for patch in events)
    return ops


def _digest(record: LogRecord) -> str:
    """A hex digest of what the record says: its identity on re-sent exports."""
    content = (
        record.trace_id,
        record.span_id,
        record.time_unix_nano,
        record.observed_time_unix_nano,
        record.severity_number,
        record.severity_text,
        record.event_name,
        record.body,
        record.attributes,
        record.flags,
        record.scope_name,
        record.resource.get("service.name"),
    )
    return sha1(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _slot(record: LogRecord) -> JsonObject:
    """A GenAI record as its slot: its messages, and whatever else it carries."""
    inputs, outputs = record_messages(record.event_name, record.body, record.attributes)
    slot: JsonObject = {"event_name": record.event_name, "time": record.time_ns / 1e6}
    if inputs:
        slot["inputs"] = inputs
    if outputs:
        if len(outputs) == 1 and "index" in outputs[0]:
            choice = dict(outputs[0])  # a copy: it may be an attribute's own object
            slot["choice_index"] = choice.pop("index")
            outputs = [choice]
        slot["outputs"] = outputs
    if not inputs and not outputs and record.body is not None:
        slot["body"] = record.body
    attributes = record.attributes
    if inputs or outputs:
        attributes = {k: v for k, v in attributes.items() if k not in DETAILS_MESSAGE_KEYS}
    if attributes:
        slot["attributes"] = rebuild_object(attributes.items())
    slot.update(_log_details(record))
    if record.scope_name:
        slot["scope"] = record.scope_name
    return slot


def _add_score(record: LogRecord, patch: EventPatch) -> None:
    """`metrics.<evaluation name>`: the score's value, else its label."""
    attributes = record.attributes
    name = attributes.get("gen_ai.evaluation.name")
    value = attributes.get("gen_ai.evaluation.score.value")
    if value is None or type(value) is bool:
        value = attributes.get("gen_ai.evaluation.score.label")
    if value is not None:
        metric = name if type(name) is str and name else "evaluation"
        patch.setdefault("metrics", {})[metric] = value


def _event(
    record: LogRecord,
    digest: str,
    sessions: dict[str, str],
    now_ms: float,
    source_header: str | None,
    named_session: str | None,
) -> EventPatch:
    """The event of a record that is not attached to a span's event; `named_session`
    is the session a span of its trace named, if known."""
    trace_id, span_id = record.trace_id, record.span_id
    if trace_id is not None:
        session_id = named_session or trace_session_id(trace_id)
    else:
        service = record.resource.get("service.name")
        service = service if type(service) is str and service else UNKNOWN_SERVICE
        millis = record.time_ns / 1e6 or now_ms
        day = datetime.datetime.fromtimestamp(millis / 1000, datetime.UTC).date().isoformat()
        session_id = namespaced_id(f"logs:{service}:{day}")
        sessions[session_id] = f"{service} logs {day}"
    parent_id = span_event_id(trace_id, span_id) if trace_id and span_id else session_id
    patch: EventPatch = {
        "event_id": namespaced_id(f"log:{digest}"),
        "session_id": session_id,
        "parent_id": parent_id,
        "event_type": "chain",
        "event_name": record.event_name or LOG_EVENT_NAME,
        "metadata": {"log": _log_details(record), "otel": _otel(record)},
    }
    if record.time_ns:
        patch["start_time"] = patch["end_time"] = record.time_ns / 1e6
        patch["duration"] = 0.0
    source = record.resource.get("honeyhive.source")
    source = source if type(source) is str and source else source_header
    if source:
        patch["source"] = source
    if record.body is not None:
        patch["outputs"] = {"body": record.body}
    if record.attributes:
        patch["metadata"]["attributes"] = rebuild_object(record.attributes.items())
    return patch


def _log_details(record: LogRecord) -> JsonObject:
    """Severity, times and flags, those that are set."""
    details: dict[str, Any] = {}
    if record.severity_number:
        details["severity_number"] = record.severity_number
    if record.severity_text:
        details["severity_text"] = record.severity_text
    if record.event_name:
        details["event_name"] = record.event_name
    if record.time_unix_nano:
        details["time"] = record.time_unix_nano / 1e6
    if record.observed_time_unix_nano:
        details["observed_time"] = record.observed_time_unix_nano / 1e6
    if record.flags:
        details["flags"] = record.flags
    if record.dropped_attributes_count:
        details["dropped_attributes_count"] = record.dropped_attributes_count
    return details


def _otel(record: LogRecord) -> JsonObject:
    """The record's OpenTelemetry identity, as spans keep theirs in `metadata.otel`."""
    otel: JsonObject = {}
    if record.trace_id:
        otel["trace_id"] = record.trace_id
    if record.span_id:
        otel["span_id"] = record.span_id
    if record.scope_name:
        scope = {"name": record.scope_name}
        if record.scope_version:
            scope["version"] = record.scope_version
        otel["scope"] = scope
    if record.resource:
        otel["resource"] = rebuild_object(record.resource.items())
    return otel

"""Logfire's span attributes: the rendered message as the event's name, tags as tags.

Logfire names a span by its message *template* (`Chat Completion with
{request_data[model]!r}`) and sends the rendered text as `logfire.msg`; the event is
named by the rendered text unless the span carries a HoneyHive name. `logfire.tags`
are the event's `metadata.tags`. The template and Logfire's other attributes
(`logfire.msg_template`, `logfire.span_type`, `logfire.json_schema`, …) stay in
`metadata.logfire` like any attribute no rule maps.

A streamed OpenAI completion is two Logfire spans: the request span (no output), and
a zero-length `log` span, its sibling, written when the stream ends, holding the
output and usage. `fold_streams` completes the request's event with them, so one
streamed completion is one model event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from hashlib import sha1
from typing import Final

import orjson

from hivekeeper.domain.types import EventPatch, Update
from hivekeeper.ingest.attributes import EventFields
from hivekeeper.ingest.spans import Span
from hivekeeper.ingest.trace_sessions import TraceSessions

MESSAGE_KEY: Final = "logfire.msg"
TEMPLATE_KEY: Final = "logfire.msg_template"
TAGS_KEY: Final = "logfire.tags"


def apply_logfire(span: Span, fields: EventFields, patch: EventPatch) -> None:
    """Name `patch` by `logfire.msg` (when the span's own name is its template) and set
    `metadata.tags` from `logfire.tags`; both attributes are consumed."""
    unmapped = fields.unmapped
    if MESSAGE_KEY not in unmapped and TAGS_KEY not in unmapped:
        return
    message = unmapped.get(MESSAGE_KEY)
    if type(message) is str and message and patch.get("event_name") == span.name:
        patch["event_name"] = message
        del unmapped[MESSAGE_KEY]
    tags = unmapped.pop(TAGS_KEY, None)
    if tags is not None:
        fields.put(fields.metadata, "metadata", "tags", tags)


STREAM_TEMPLATE_PREFIX: Final = "streaming response from "
"""How the template of Logfire's streaming log span starts."""
_SPAN_TYPE_KEY: Final = "logfire.span_type"
_REQUEST_KEY: Final = "request_data"
# What the streaming log span says that its request span lacks.
_FOLDED_METADATA = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "response_id",
    "finish_reasons",
    "finish_reason",
    "system_fingerprint",
)


def _stream_key(span: Span) -> str | None:
    """The key under which a Logfire request span and the streaming log span that
    finishes it meet: their common parent and request; None for other spans."""
    attributes = span.attributes
    kind = attributes.get(_SPAN_TYPE_KEY)
    request = attributes.get(_REQUEST_KEY)
    if kind is None or request is None:
        return None
    if kind == "log" and not str(attributes.get(TEMPLATE_KEY, "")).startswith(
        STREAM_TEMPLATE_PREFIX
    ):
        return None
    digest = sha1(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return f"{span.parent_span_id or ''}:{digest}"


def _is_stream_log(span: Span) -> bool:
    """Whether `span`, which has a `_stream_key`, is the streaming log span (rather
    than a request span)."""
    return span.attributes.get(_SPAN_TYPE_KEY) == "log"


def _fold_stream(log: EventPatch, request_event_id: str) -> EventPatch:
    """The update that completes a streamed request's event with what its streaming
    log span (`log`, mapped) says: the output, the response model, the usage (the
    stream's duration stays on the log span's event, `metadata.duration`).

    `log` itself becomes a `chain` (it stays in the tree, holding the record as sent)
    so that one streamed completion is one model event.
    """
    log["event_type"] = "chain"
    metadata = log.get("metadata", {})
    update: EventPatch = {"event_id": request_event_id}
    if log.get("outputs"):
        update["outputs"] = log["outputs"]
    model = log.get("config", {}).get("model")
    if model is not None:
        update["config"] = {"model": model}
    folded = {k: metadata[k] for k in _FOLDED_METADATA if k in metadata}
    folded["streaming_response"] = {
        "event_id": log["event_id"],
        "event_name": log.get("event_name"),
    }
    update["metadata"] = folded
    metadata["streamed_request"] = request_event_id
    return update


def fold_streams(
    mapped: Sequence[tuple[Span, EventPatch]],
    project_id: str,
    traces: TraceSessions | None,
    event_id: Callable[[str, str], str],
) -> list[Update]:
    """The updates completing Logfire's streamed requests among `mapped` (spans and
    their patches) with their streaming log spans (`_fold_stream`), the request in the
    same export or remembered by `traces`. `event_id(trace_id, span_id)` is a span's
    event id."""
    requests: dict[tuple[str, str], str] = {}
    updates = []
    for span, patch in mapped:
        key = _stream_key(span)
        if key is None:
            continue
        trace_id = span.trace_id
        if not _is_stream_log(span):
            requests[(trace_id, key)] = span.span_id
            if traces is not None:
                traces.remember_request(project_id, trace_id, key, span.span_id)
            continue
        request = requests.get((trace_id, key))
        if request is None and traces is not None:
            request = traces.request_of(project_id, trace_id, key)
        if request is not None:
            updates.append(Update(project_id, _fold_stream(patch, event_id(trace_id, request))))
    return updates

"""Logfire's span attributes: the rendered message as the event's name, tags as tags.

Logfire names a span by its message *template* (`Chat Completion with
{request_data[model]!r}`) and sends the rendered text as `logfire.msg`; the event is
named by the rendered text unless the span carries a HoneyHive name. `logfire.tags`
are the event's `metadata.tags`. The template and Logfire's other attributes
(`logfire.msg_template`, `logfire.span_type`, `logfire.json_schema`, …) stay in
`metadata.logfire` like any attribute no rule maps.
"""

from __future__ import annotations

from typing import Final

from hivekeeper.domain.types import EventPatch
from hivekeeper.ingest.attributes import EventFields
from hivekeeper.ingest.spans import Span

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

"""HoneyHive request bodies → write operations (pure: ids assigned, nothing stored).

Covers the envelopes of every write route: `{"session": obj | JSON string}`,
`{"event": obj | JSON string}`, bare objects, batches with their single-session
flags, and the legacy model-event shape of `/events/model`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.events import new_id, parse_event, parse_session, require_object
from hivekeeper.domain.limits import JsonLimits, check_json
from hivekeeper.domain.types import EventPatch, JsonObject, Upsert

# Batches are all-or-nothing; a bound (setting max_batch_events) keeps one request from
# monopolising the writer.
DEFAULT_MAX_BATCH_EVENTS = 10_000
_DEFAULT_JSON_LIMITS = JsonLimits()
_SINGLE_SESSION_FLAGS = ("is_single_session", "single_session")
_SESSION_PROPERTY_KEYS = ("session_properties", "session")


@dataclass(frozen=True, slots=True)
class PlannedWrite:
    """The operations for one request and the ids to answer with."""

    ops: list[Upsert]
    event_ids: list[str]
    session_id: str | None


def unwrap(body: object, key: str, limits: JsonLimits = _DEFAULT_JSON_LIMITS) -> object:
    """`{key: obj}`, `{key: "<json>"}` or a bare object → the object.

    JSON text is held to `limits` as a body is; raises ValidationFailed naming `key`.
    """
    if isinstance(body, dict) and key in body:
        inner = body[key]
        if isinstance(inner, str):
            try:
                parsed = orjson.loads(inner)
            except orjson.JSONDecodeError:
                raise ValidationFailed(f"{key} is a string but not valid JSON", field=key) from None
            # Its strings are shorter than the text itself, which was already checked.
            check_json(parsed, limits, key, strings=False)
            return parsed
        return inner
    return body


def plan_session(project_id: str, raw: object, where: str = "session") -> tuple[Upsert, str]:
    """A session start: the upsert and the session id."""
    patch = parse_session(raw, where=where)
    return Upsert(project_id, patch), patch["session_id"]


def plan_event(project_id: str, raw: object, where: str = "event") -> PlannedWrite:
    """One event; `event_type: session` starts (or merges into) a session."""
    obj = require_object(raw, where)
    if isinstance(obj.get("event_type"), str) and obj["event_type"].lower() == "session":
        op, session_id = plan_session(project_id, obj, where)
        return PlannedWrite([op], [session_id], session_id)
    patch = _with_ids(parse_event(obj, where=where), None)
    return PlannedWrite([Upsert(project_id, patch)], [patch["event_id"]], patch["session_id"])


def plan_batch(
    project_id: str,
    body: object,
    *,
    events_key: str = "events",
    model_events: bool = False,
    max_events: int = DEFAULT_MAX_BATCH_EVENTS,
) -> PlannedWrite:
    """A batch: validated whole before anything is written (all-or-nothing).

    Raises ValidationFailed naming the field, e.g. when it holds more than `max_events`.
    """
    obj = require_object(body, "body")
    raw_events = obj.get(events_key)
    if not isinstance(raw_events, list) or not raw_events:
        raise ValidationFailed(f"{events_key} must be a non-empty array", field=events_key)
    if len(raw_events) > max_events:
        raise ValidationFailed(
            f"{events_key} holds {len(raw_events)} events; at most {max_events} per batch "
            "(setting max_batch_events)",
            field=events_key,
        )
    single = any(_flag(obj.get(k), k) for k in _SINGLE_SESSION_FLAGS)
    properties = next((obj[k] for k in _SESSION_PROPERTY_KEYS if obj.get(k) is not None), None)
    parse = parse_model_event if model_events else parse_event
    patches = [parse(raw, where=f"{events_key}[{i}]") for i, raw in enumerate(raw_events)]
    ops: list[Upsert] = []
    session_id: str | None = None
    if single:
        session_patch: JsonObject = dict(require_object(properties or {}, "session_properties"))
        session_id = next(
            (p["session_id"] for p in patches if "session_id" in p),
            session_patch.get("session_id") or new_id(),
        )
        session_patch["session_id"] = session_id
        if properties is not None:
            session_op, _ = plan_session(project_id, session_patch, "session_properties")
            ops.append(session_op)
    for patch in patches:
        ops.append(Upsert(project_id, _with_ids(patch, session_id)))
    event_ids = [op.patch["event_id"] for op in ops[len(ops) - len(patches) :]]
    return PlannedWrite(ops, event_ids, session_id)


def parse_model_event(raw: object, *, where: str = "model_event") -> EventPatch:
    """The legacy `/events/model` shape (top-level model, messages, usage …) → a model event."""
    obj = dict(require_object(raw, where))
    config = dict(_object_or_empty(obj.pop("config", None), f"{where}.config"))
    inputs = dict(_object_or_empty(obj.pop("inputs", None), f"{where}.inputs"))
    metadata = dict(_object_or_empty(obj.pop("metadata", None), f"{where}.metadata"))
    for key in (
        "model",
        "provider",
        "hyperparameters",
        "template",
        "tools",
        "tool_choice",
        "response_format",
    ):
        if obj.get(key) is not None:
            config[key] = obj.pop(key)
    if obj.get("messages") is not None:
        inputs["chat_history"] = obj.pop("messages")
    template_inputs = obj.pop("template_inputs", None)
    if isinstance(template_inputs, dict):
        inputs.update(template_inputs)
    response = obj.pop("response", None)
    if response is not None and "outputs" not in obj:
        obj["outputs"] = response if isinstance(response, dict) else {"content": response}
    usage = obj.pop("usage", None)
    if isinstance(usage, dict):
        metadata.update({k: v for k, v in usage.items() if v is not None})
    if obj.get("cost") is not None:
        metadata["cost"] = obj.pop("cost")
    obj.setdefault("event_type", "model")
    obj.update(config=config, inputs=inputs, metadata=metadata)
    return parse_event(obj, where=where)


def _with_ids(patch: EventPatch, session_id: str | None) -> EventPatch:
    if session_id is not None:
        patch["session_id"] = session_id
    if "event_id" not in patch:
        patch["event_id"] = new_id()
    if "session_id" not in patch:
        patch["session_id"] = new_id()
    return patch


def _flag(value: Any, field: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    raise ValidationFailed(f"{field} must be a boolean", field=field)


def _object_or_empty(value: object, where: str) -> Mapping[str, Any]:
    return {} if value is None else require_object(value, where)

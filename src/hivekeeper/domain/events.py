"""Wire objects → validated event patches, and stored rows → the event the API answers.

A *patch* holds only the fields a client actually sent; defaults are applied when a
row is first created (see `merge.py`), so a repeated session start that omits a field
never overwrites what an earlier one set.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from hivekeeper.domain.errors import ValidationFailed, quoted
from hivekeeper.domain.types import EVENT_TYPES, EventPatch, EventType, JsonObject

OBJECT_FIELDS = (
    "config",
    "inputs",
    "outputs",
    "metadata",
    "metrics",
    "feedback",
    "user_properties",
)
ID_FIELDS = ("event_id", "session_id", "parent_id")
TIME_FIELDS = ("start_time", "end_time", "duration")
# Keys a client may send that are request envelope, not event data.
_ENVELOPE_KEYS = frozenset({"project", "project_id", "org_id", "workspace_id", "tenant"})
_MAX_ID_CHARS = 256
# The last millisecond of year 9999: later times cannot be shown as dates anywhere.
MAX_TIME_MS = 253_402_300_799_999.0


def new_id() -> str:
    """A fresh lowercase UUIDv4 string, the id shape HoneyHive clients expect."""
    return str(uuid.uuid4())


def parse_event(raw: object, *, where: str = "event") -> EventPatch:
    """Validate a client event object into a patch; `event_type` is required.

    Raises ValidationFailed naming the field (`where.field`) at fault.
    """
    obj = require_object(raw, where)
    patch = _parse_common(obj, where)
    if "event_type" not in patch:
        raise ValidationFailed(
            f"{where}.event_type is required (one of {', '.join(sorted(EVENT_TYPES))})",
            field=f"{where}.event_type",
        )
    return patch


def parse_session(raw: object, *, where: str = "session") -> EventPatch:
    """Validate a client session object into a session patch (`event_id == session_id`)."""
    obj = require_object(raw, where)
    name = obj.get("session_name")
    patch = _parse_common(obj, where, skip=("session_name", "event_type"))
    if name is not None:
        patch["event_name"] = _string(name, f"{where}.session_name")
    session_id = patch.get("session_id") or patch.get("event_id") or new_id()
    patch["session_id"] = patch["event_id"] = session_id
    patch["event_type"] = "session"
    patch["parent_id"] = None
    return patch


def parse_update(raw: object, *, where: str = "body", event_id: str | None = None) -> EventPatch:
    """Validate a `PUT /events` body: any event fields plus the target `event_id`."""
    obj = require_object(raw, where)
    patch = _parse_common(obj, where)
    if event_id is not None:
        patch["event_id"] = parse_id(event_id, "event_id")
    if "event_id" not in patch:
        raise ValidationFailed(f"{where}.event_id is required", field=f"{where}.event_id")
    return patch


def require_object(raw: object, where: str) -> JsonObject:
    """Return `raw` if it is a JSON object, else raise naming `where`."""
    if not isinstance(raw, dict):
        raise ValidationFailed(f"{where} must be a JSON object, got {json_type(raw)}", field=where)
    return raw


def _parse_common(obj: JsonObject, where: str, skip: tuple[str, ...] = ()) -> EventPatch:
    # This runs for every event ingested: plain type checks inline for the common
    # fields, a validator for the rest, and a field path built only on error.
    out: dict[str, Any] = {}
    extra: JsonObject = {}
    for key, value in obj.items():
        if key in skip:
            continue
        if key in _OBJECT_KEYS:
            if value is None:
                continue
            if type(value) is not dict:
                raise _wrong_type(value, f"{where}.{key}", "a JSON object")
            out[key] = value
        elif key in _STRING_KEYS:
            if value is None:
                continue
            if type(value) is not str:
                raise _wrong_type(value, f"{where}.{key}", "a string")
            out[key] = value
        elif (validate := _VALIDATORS.get(key)) is not None:
            if value is not None:
                out[key] = validate(value, f"{where}.{key}")
            elif key in _NULLABLE:
                out[key] = None
        elif key not in _ENVELOPE_KEYS:
            extra[key] = value
    if extra:
        out["extra"] = extra
    return cast(EventPatch, out)


def parse_id(value: object, path: str) -> str:
    """A client-given id: a string of 1-256 printable characters, surrounding spaces
    stripped. Raises ValidationFailed naming `path`."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{path} must be a string id, got {json_type(value)}", field=path)
    value = value.strip()
    if not value or len(value) > _MAX_ID_CHARS or not value.isprintable():
        raise ValidationFailed(f"{path} must be 1-{_MAX_ID_CHARS} printable characters", field=path)
    return value


def _id_list(value: object, path: str) -> list[str]:
    if not isinstance(value, list):
        raise ValidationFailed(f"{path} must be an array of ids", field=path)
    return [parse_id(item, f"{path}[{i}]") for i, item in enumerate(value)]


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise _wrong_type(value, path, "a string")
    return value


def _error(value: object, path: str) -> str:
    if isinstance(value, str):
        return value
    raise _wrong_type(value, path, "a string or null")


def _wrong_type(value: object, path: str, expected: str) -> ValidationFailed:
    return ValidationFailed(f"{path} must be {expected}, got {json_type(value)}", field=path)


def _event_type(value: object, path: str) -> EventType:
    if isinstance(value, str) and value.lower() in EVENT_TYPES:
        return cast(EventType, value.lower())
    raise ValidationFailed(
        f"{path} must be one of {', '.join(sorted(EVENT_TYPES))}, got {value!r}", field=path
    )


def parse_time_ms(value: object, path: str) -> float:
    """Epoch milliseconds from a number, a numeric string or an ISO-8601 string."""
    if isinstance(value, bool):
        raise ValidationFailed(f"{path} must be a number of milliseconds", field=path)
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            try:
                stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValidationFailed(
                    f"{path} must be epoch milliseconds or an ISO-8601 time, got {quoted(value)}",
                    field=path,
                ) from None
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=UTC)
            number = stamp.timestamp() * 1000.0
    else:
        raise ValidationFailed(
            f"{path} must be a number of milliseconds, got {json_type(value)}", field=path
        )
    if not 0 <= number <= MAX_TIME_MS:
        raise ValidationFailed(
            f"{path} must be epoch milliseconds between 0 and {MAX_TIME_MS:.0f} (year 9999)",
            field=path,
        )
    return number


_OBJECT_KEYS = frozenset(OBJECT_FIELDS)
_STRING_KEYS = frozenset({"event_name", "source"})
_NULLABLE = frozenset({"parent_id", "error"})
_VALIDATORS: dict[str, Callable[[object, str], Any]] = {
    **dict.fromkeys(ID_FIELDS, parse_id),
    **dict.fromkeys(TIME_FIELDS, parse_time_ms),
    "event_type": _event_type,
    "error": _error,
    "children_ids": _id_list,
}


def json_type(value: object) -> str:
    """The JSON name of a value's type (`null`, `boolean`, `number`, `string`, `array`,
    `object`), for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"

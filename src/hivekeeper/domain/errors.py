"""The error tree every layer raises; the API renders each one as `{message, errorCode}`.

HivekeeperError                 500 INTERNAL_ERROR
├── BadRequest                  400 BAD_REQUEST
│   ├── InvalidJson             400 INVALID_JSON
│   └── ValidationFailed        400 VALIDATION_ERROR   (names the field at fault)
├── Unauthorized                401 UNAUTHORIZED
├── Forbidden                   403 FORBIDDEN
├── NotFound                    404 NOT_FOUND
├── Conflict                    409 CONFLICT           (the stored state refuses the write)
├── EventTypeConflict           409 EVENT_TYPE_CONFLICT (another type than the stored one)
├── PayloadTooLarge             413 PAYLOAD_TOO_LARGE
├── Overloaded                  429 OVERLOADED         (carries Retry-After)
├── TooManyReads                429 TOO_MANY_READS     (its project's reads all taken; Retry-After)
├── AuthThrottled               429 AUTH_THROTTLED     (too many bad keys; Retry-After)
├── NotImplementedYet           501 NOT_IMPLEMENTED    (a HoneyHive route hivekeeper lacks)
└── Unavailable                 503 UNAVAILABLE        (shutting down, store closed)
"""

from __future__ import annotations

from typing import ClassVar


class HivekeeperError(Exception):
    """Base error; `status` and `error_code` are what the API answers."""

    status: ClassVar[int] = 500
    error_code: ClassVar[str] = "INTERNAL_ERROR"
    culprit: object | None = None
    """The write operation at fault, when the store found one: the writer then fails
    only the request that sent it and commits the rest of its transaction."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def body(self) -> dict[str, str]:
        """The JSON error body: `message`, `errorCode` and, when known, `field`."""
        out = {"message": self.message, "errorCode": self.error_code}
        if self.field is not None:
            out["field"] = self.field
        return out

    def headers(self) -> dict[str, str]:
        """Extra response headers for this error (none by default)."""
        return {}


class BadRequest(HivekeeperError):
    status = 400
    error_code = "BAD_REQUEST"


class InvalidJson(BadRequest):
    error_code = "INVALID_JSON"


class ValidationFailed(BadRequest):
    error_code = "VALIDATION_ERROR"


class Unauthorized(HivekeeperError):
    status = 401
    error_code = "UNAUTHORIZED"


class Forbidden(HivekeeperError):
    status = 403
    error_code = "FORBIDDEN"


class NotFound(HivekeeperError):
    status = 404
    error_code = "NOT_FOUND"


class Conflict(HivekeeperError):
    """A write the stored state refuses as it stands: an id already taken, a dataset
    that runs still use. Nothing of the request is written."""

    status = 409
    error_code = "CONFLICT"


class EventTypeConflict(HivekeeperError):
    """An event's type is set once; a write naming another type is refused whole."""

    status = 409
    error_code = "EVENT_TYPE_CONFLICT"

    def __init__(self, event_id: str, stored_type: str, sent_type: str) -> None:
        super().__init__(
            f"event {event_id} is a {stored_type} event; this write names it a {sent_type} "
            "event, and an event's type never changes once set",
            field="event_type",
        )
        self.event_id = event_id
        self.stored_type = stored_type
        self.sent_type = sent_type


class PayloadTooLarge(HivekeeperError):
    status = 413
    error_code = "PAYLOAD_TOO_LARGE"


class NotImplementedYet(HivekeeperError):
    """A request for a part of the HoneyHive API hivekeeper does not serve yet."""

    status = 501
    error_code = "NOT_IMPLEMENTED"


class _RetryLater(HivekeeperError):
    """An error the client should retry after `retry_after_s` seconds."""

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class Overloaded(_RetryLater):
    status = 429
    error_code = "OVERLOADED"


class TooManyReads(_RetryLater):
    status = 429
    error_code = "TOO_MANY_READS"


class AuthThrottled(_RetryLater):
    status = 429
    error_code = "AUTH_THROTTLED"


class Unavailable(_RetryLater):
    status = 503
    error_code = "UNAVAILABLE"


# A message quotes what it refuses so the client sees its mistake, but a value can be
# megabytes long (a 5000-digit page number, a string as long as max_string_chars).
_MAX_QUOTED_CHARS = 40


def quoted(value: object) -> str:
    """`repr(value)` for an error message, its middle cut out past 40 characters."""
    text = repr(value)
    if len(text) <= _MAX_QUOTED_CHARS:
        return text
    half = _MAX_QUOTED_CHARS // 2
    return f"{text[:half]}…{text[-half:]} ({len(text)} characters)"

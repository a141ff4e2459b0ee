"""A decoded OTLP export request: its items, what was rejected, and the shared rules.

Both decoders of each signal (`otlp_protobuf`, `otlp_json` for traces; `otlp_logs` and
`otlp_metrics` hold both of theirs) fill one `Decoded…`, enforce one `OtlpLimits`, and
walk items (`add_spans`, `check_item_count`) and array values (`decode_array`) through
the same functions, each decoding only its own wire type. Problems come in two sizes:

- request-level (wrong JSON shape, a limit exceeded): the decoder raises `ShapeError`,
  the whole request is refused with a 400 naming the field, and nothing is stored;
- item-level (a span's missing or malformed ids or start time, a log record's
  malformed ids): only that item is rejected and counted; the others are stored and
  the answer reports a partial success.

Field paths use the OTLP/JSON (lowerCamelCase) names for either encoding, e.g.
`resourceSpans[0].scopeSpans[1].spans[3].attributes[2].value`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from hivekeeper.ingest.log_records import LogRecord
from hivekeeper.ingest.spans import SPAN_KIND_NAMES, Span, StatusCode

# A span or an array element as one encoding holds it (a JSON value, a protobuf message).
_Wire = TypeVar("_Wire")

MAX_PROBLEMS_REPORTED = 5
"""Problems quoted in a partial-success message; the count covers all of them."""

SPAN_KINDS: dict[str, int] = {f"SPAN_KIND_{name}": n for n, name in enumerate(SPAN_KIND_NAMES)}
STATUS_CODES: dict[str, StatusCode] = {f"STATUS_CODE_{code.name}": code for code in StatusCode}
# Indexed by the wire integer: a plain tuple lookup, not an IntEnum call per span.
STATUS_BY_NUMBER = tuple(StatusCode)
MAX_UINT64 = (1 << 64) - 1
MIN_INT64 = -(1 << 63)
MAX_INT64 = (1 << 63) - 1
ZERO_TRACE_ID = bytes(16)
ZERO_SPAN_ID = bytes(8)
"""All-zero ids are invalid in OTLP: a span holding one is rejected."""


@dataclass(frozen=True, slots=True)
class OtlpLimits:
    """Bounds on one export request (settings `otlp_max_*`); past any of them, a 400."""

    max_spans: int = 100_000
    """Most spans, log records or metric data points in one request."""
    max_attributes: int = 4096
    max_events_per_span: int = 4096
    max_value_depth: int = 32
    max_string_chars: int = 1 << 20
    """Longest attribute key or string value, span or event name, status message."""


@dataclass(slots=True)
class Decoded:
    """What one export request was refused item by item: the count and first reasons.

    An item is a span, a log record or a metric data point (`ITEM` names it in the
    partial-success message).
    """

    ITEM: ClassVar[str] = "item"
    rejected: int = 0
    """Items dropped for an item-level defect."""
    problems: list[str] = field(default_factory=list)
    """The first `MAX_PROBLEMS_REPORTED` rejections and warnings, `path: reason`."""
    problem_count: int = 0

    def reject(self, path: str, reason: str) -> None:
        """Count one rejected item and remember why."""
        self.rejected += 1
        self._note(path, reason)

    def warn(self, path: str, reason: str) -> None:
        """Remember something that was stored but corrected."""
        self._note(path, reason)

    def message(self) -> str:
        """The partial-success `error_message`; empty when nothing went wrong."""
        if not self.problem_count:
            return ""
        item = self.ITEM
        head = f"{self.rejected} {item}(s) rejected" if self.rejected else f"all {item}s accepted"
        more = self.problem_count - len(self.problems)
        tail = f"; and {more} more" if more else ""
        return f"{head}: " + "; ".join(self.problems) + tail

    def _note(self, path: str, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_REPORTED:
            self.problems.append(f"{path}: {reason}")


@dataclass(slots=True)
class DecodedTraces(Decoded):
    """The accepted spans of one trace export request, and what was rejected."""

    ITEM: ClassVar[str] = "span"
    spans: list[Span] = field(default_factory=list)


@dataclass(slots=True)
class DecodedLogs(Decoded):
    """The accepted log records of one logs export request, and what was rejected."""

    ITEM: ClassVar[str] = "log record"
    records: list[LogRecord] = field(default_factory=list)
    skipped: int = 0
    """Records of `records` the store did not write (counted in `rejected` too)."""


@dataclass(slots=True)
class DecodedMetrics(Decoded):
    """The data points of one metrics export request, counted by metric name."""

    ITEM: ClassVar[str] = "data point"
    points: dict[str, int] = field(default_factory=dict)
    """Data points per metric name, in the order the names first came; every one of
    them is rejected (`otlp_metrics` says why)."""

    def message(self) -> str:
        """The partial-success message: how many points of which metrics, and why."""
        if not self.rejected:
            return ""
        names = list(self.points.items())
        shown = names[:MAX_PROBLEMS_REPORTED]
        quoted = ", ".join(f"{name or '(unnamed)'}: {count}" for name, count in shown)
        more = f", and {len(names) - len(shown)} more metrics" if len(names) > len(shown) else ""
        return (
            f"{self.rejected} data point(s) not stored ({quoted}{more}): hivekeeper keeps no "
            "OTLP metrics. Token usage and durations come from spans (gen_ai.usage.*, span "
            "times): chart them with GET /v1/events/chart"
        )


class ShapeError(Exception):
    """A request-level defect; `path` grows outward as the error leaves each level."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason

    def within(self, outer: str) -> ShapeError:
        """The same error seen from the enclosing level (`outer` is e.g. `spans[3]`)."""
        self.path = f"{outer}.{self.path}" if self.path else outer
        return self


def add_spans(
    decoded: DecodedTraces,
    spans: Sequence[_Wire],
    decode_span: Callable[[_Wire], Span | str],
    limits: OtlpLimits,
    path: str,
) -> None:
    """Decode the `spans` of one ScopeSpans (at `path`, e.g. `resourceSpans[0].scopeSpans[1]`)
    into `decoded`, with `decode_span` returning a span or why that one span is rejected.

    Raises ShapeError when the request now holds more than `max_spans` spans, or for
    a request-level defect of a span (its path then names the span).
    """
    # Every span so far was either accepted or rejected: no running count is needed.
    total = len(decoded.spans) + decoded.rejected + len(spans)
    check_item_count(decoded, total, limits, "resourceSpans")
    accepted = decoded.spans
    for k, raw in enumerate(spans):
        try:
            span = decode_span(raw)
        except ShapeError as exc:
            raise exc.within(f"{path}.spans[{k}]") from None
        if isinstance(span, str):
            decoded.reject(f"{path}.spans[{k}]", span)
            continue
        if span.end_unix_nano < span.start_unix_nano:
            # No usable end time: stored as ending when it starts, with a warning.
            span.end_unix_nano = span.start_unix_nano
            decoded.warn(
                f"{path}.spans[{k}]",
                "endTimeUnixNano is missing or before startTimeUnixNano; set to start",
            )
        accepted.append(span)


def check_item_count(decoded: Decoded, total: int, limits: OtlpLimits, path: str) -> None:
    """Raise ShapeError (at `path`) when a request holds `total` items, past `max_spans`."""
    if total > limits.max_spans:
        raise ShapeError(
            path,
            f"too many {decoded.ITEM}s ({total} or more; the limit is {limits.max_spans}, "
            "setting otlp_max_spans_per_request)",
        )


def decode_array(
    items: Iterable[_Wire], decode_item: Callable[[_Wire], Any], path: str
) -> list[Any]:
    """The values of an array AnyValue, each decoded by `decode_item`.

    Unset elements stay as null: dropping them would shift the positions of the rest.
    A ShapeError from an element names it (`path[i]`).
    """
    out = []
    for i, item in enumerate(items):
        try:
            out.append(decode_item(item))
        except ShapeError as exc:
            raise exc.within(f"{path}[{i}]") from None
    return out


def finite_or_text(value: float) -> float | str:
    """A double as a JSON value: non-finite ones become "NaN", "Infinity", "-Infinity".

    The HoneyHive SDK itself sends non-finite doubles as those strings, and JSON has
    no number for them.
    """
    if math.isfinite(value):
        return value
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def check_span_text(name: str, message: str, limits: OtlpLimits) -> None:
    """Raise ShapeError when a span's name or status message is past `max_string_chars`."""
    max_chars = limits.max_string_chars
    if len(name) > max_chars:
        raise too_long("name", len(name), max_chars)
    if len(message) > max_chars:
        raise too_long("status.message", len(message), max_chars)


def too_many(name: str, count: int, limit: int, setting: str) -> ShapeError:
    """The error for the list `name` past one of the `OtlpLimits`."""
    return ShapeError(name, f"too many entries ({count}; the limit is {limit}, setting {setting})")


def too_long(path: str, chars: int, limit: int) -> ShapeError:
    """The error for a string at `path` longer than `max_string_chars`."""
    return ShapeError(
        path,
        f"a string of {chars} characters is longer than {limit} (setting max_string_chars)",
    )


def too_deep(limit: int) -> ShapeError:
    """The error for an attribute value nested past `max_value_depth`."""
    return ShapeError(
        "",
        f"arrays/key-value lists nest deeper than {limit} levels (setting otlp_max_value_depth)",
    )

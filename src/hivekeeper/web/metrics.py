"""Prometheus metrics: what the server counts (`api.health` serves them at `/metrics`).

Labels are route templates, methods, status codes and error codes only: never a raw
path, a project id, an API key or anything from a payload. So `/metrics` holds no
tenant data and, like `/health`, needs no key.

Each app owns its registry rather than prometheus_client's process-global one, so
several apps in one process (the tests) keep their counts apart. The writer stays
free of this library: it reports commits through a plain callback
(`Metrics.observe_commit`) and its queue depth is read only when scraped.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from starlette.requests import HTTPConnection
from starlette.types import Scope

_UNMATCHED = "unmatched"
"""The route label of a request no route matched: raw paths would let clients mint series."""

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_REJECTION = "hivekeeper.rejection"
"""Scope key under which an error handler notes the errorCode it answered."""

# The reason of a rejection no error handler noted, named like the errorCode we answer.
_REJECTED_STATUSES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    409: "conflict",
    413: "payload_too_large",
    429: "overloaded",
    503: "unavailable",
}

# Seconds. A request is mostly one commit (about a millisecond) plus decoding; the top
# buckets catch 20 MB bodies and a writer stalled behind SQLite's busy timeout (10 s).
_REQUEST_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_COMMIT_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
# Operations per transaction, up to past the default max_batch_ops (5000).
_BATCH_BUCKETS_OPS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


class Metrics:
    """Every metric the server exposes, in a registry of its own. Thread-safe."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._requests = Counter(
            "hivekeeper_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ("route", "method", "status"),
            registry=registry,
        )
        self._request_seconds = Histogram(
            "hivekeeper_http_request_duration_seconds",
            "Time from receiving a request to finishing its answer, by route template.",
            ("route", "method"),
            buckets=_REQUEST_BUCKETS_S,
            registry=registry,
        )
        self._rejected = Counter(
            "hivekeeper_http_rejected_requests",
            "Requests refused (400, 401, 403, 409, 413, 429, 503), by reason: the errorCode "
            "answered, in lower case (overloaded, unavailable, payload_too_large, ...).",
            ("reason",),
            registry=registry,
        )
        self._events = Counter(
            "hivekeeper_ingested_events",
            "Events acknowledged (after commit) by the REST event routes.",
            registry=registry,
        )
        self._spans = Counter(
            "hivekeeper_otlp_spans",
            "OTLP spans by outcome: accepted (acknowledged after commit) or rejected "
            "alone and counted in partialSuccess.",
            ("outcome",),
            registry=registry,
        )
        self._accepted_spans = self._spans.labels(outcome="accepted")
        self._rejected_spans = self._spans.labels(outcome="rejected")
        self._otlp_items: dict[str, Counter] = {
            "logs": Counter(
                "hivekeeper_otlp_log_records",
                "OTLP log records by outcome: accepted (acknowledged after commit) or "
                "rejected alone and counted in partialSuccess.",
                ("outcome",),
                registry=registry,
            ),
            "metrics": Counter(
                "hivekeeper_otlp_data_points",
                "OTLP metric data points by outcome: all rejected (hivekeeper keeps no "
                "OTLP metrics) and counted in partialSuccess.",
                ("outcome",),
                registry=registry,
            ),
        }
        self._grpc_requests = Counter(
            "hivekeeper_grpc_requests",
            "OTLP/gRPC calls answered, by service (traces, logs, metrics) and status code.",
            ("service", "code"),
            registry=registry,
        )
        self._expired_pending = Counter(
            "hivekeeper_pending_updates_expired",
            "Acknowledged updates discarded by the retention job because their event never "
            "came within pending_expiry_hours.",
            registry=registry,
        )
        self._queued_ops = Gauge(
            "hivekeeper_writer_queued_ops",
            "Writes waiting for a transaction, by weight (a row written counts one).",
            registry=registry,
        )
        self._queue_limit_ops = Gauge(
            "hivekeeper_writer_queue_limit_ops",
            "Writes the queue may hold, by weight, before answering 429 (max_queue_ops).",
            registry=registry,
        )
        self._batch_ops = Histogram(
            "hivekeeper_writer_batch_ops",
            "Event writes committed per transaction.",
            buckets=_BATCH_BUCKETS_OPS,
            registry=registry,
        )
        self._commit_seconds = Histogram(
            "hivekeeper_writer_commit_duration_seconds",
            "Time to write and commit one transaction.",
            buckets=_COMMIT_BUCKETS_S,
            registry=registry,
        )
        self._reads_in_progress = Gauge(
            "hivekeeper_reads_in_progress",
            "Requests holding a read slot of their project (reads, UI pages, exports "
            "while they stream), all projects together.",
            registry=registry,
        )
        self._body_bytes = Gauge(
            "hivekeeper_request_body_bytes_in_flight",
            "Bytes of request bodies held (decompressed) until their requests are answered.",
            registry=registry,
        )
        self._body_limit_bytes = Gauge(
            "hivekeeper_request_body_limit_bytes",
            "Bytes of request bodies the server may hold before answering 429 "
            "(max_inflight_body_bytes).",
            registry=registry,
        )
        # labels() takes a lock and builds a key on every call; requests reuse children.
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def watch_queue(self, queued_ops: Callable[[], int], limit_ops: int) -> None:
        """Read the writer's queue depth at each scrape (nothing on the write path)."""
        self._queued_ops.set_function(queued_ops)
        self._queue_limit_ops.set(limit_ops)

    def watch_admission(
        self, reads_in_progress: Callable[[], int], body_bytes: Callable[[], int], limit_bytes: int
    ) -> None:
        """Read the held read slots and body bytes at each scrape."""
        self._reads_in_progress.set_function(reads_in_progress)
        self._body_bytes.set_function(body_bytes)
        self._body_limit_bytes.set(limit_bytes)

    def observe_commit(self, ops: int, seconds: float) -> None:
        """The writer's commit observer: one committed transaction of `ops` writes."""
        self._batch_ops.observe(ops)
        self._commit_seconds.observe(seconds)

    def count_events(self, count: int) -> None:
        """`count` events acknowledged by a REST route."""
        self._events.inc(count)

    def count_spans(self, *, accepted: int, rejected: int) -> None:
        """One acknowledged OTLP export: spans stored, and spans rejected alone."""
        self._accepted_spans.inc(accepted)
        self._rejected_spans.inc(rejected)

    def count_otlp(self, signal: str, *, accepted: int, rejected: int) -> None:
        """One acknowledged OTLP export of `signal` (traces, logs or metrics): items
        stored, and items rejected alone."""
        if signal == "traces":
            self.count_spans(accepted=accepted, rejected=rejected)
            return
        counter = self._otlp_items[signal]
        counter.labels(outcome="accepted").inc(accepted)
        counter.labels(outcome="rejected").inc(rejected)

    def count_grpc(self, service: str, code: str) -> None:
        """One answered OTLP/gRPC call; `code` is its status code's name."""
        self._grpc_requests.labels(service=service, code=code).inc()

    def count_expired_pending(self, rows: int) -> None:
        """`rows` pending updates discarded by the retention job."""
        self._expired_pending.inc(rows)

    def observe_request(self, scope: Scope, status: int, seconds: float) -> None:
        """One answered HTTP request (an observer of `ObserveRequests`)."""
        route = getattr(scope.get("route"), "path", _UNMATCHED)
        method = scope["method"] if scope["method"] in _METHODS else "other"
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self._requests.labels(route=route, method=method, status=str(status)),
                self._request_seconds.labels(route=route, method=method),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if status in _REJECTED_STATUSES:
            reason = scope.get(_REJECTION) or _REJECTED_STATUSES[status]
            self._rejected.labels(reason=reason).inc()

    def render(self, accept: str) -> tuple[bytes, str]:
        """The exposition (OpenMetrics if `accept` asks for it, else Prometheus text)
        and its content type."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type


def note_rejection(request: HTTPConnection, error_code: str) -> None:
    """Record which error a request was refused with, for the `reason` label."""
    request.scope[_REJECTION] = error_code.lower()

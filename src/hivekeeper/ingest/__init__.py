"""Ingestion: OTLP decoding, span → event mapping, and the batching writer for every write.

- `writer`: the `Writer` that owns the write connection and commits batches of ops;
- `redaction` and `retention`: each project's redaction rules, applied to ops on the
  writer's thread before they are stored, and the job that expires old sessions
  through the writer;
- `otlp` (with `otlp_protobuf`, `otlp_json`, `otlp_logs`, `otlp_metrics` and their
  shared `otlp_batch`): an OTLP export request's signal and encoding, its decoding
  into `Span`s (`spans`) or `LogRecord`s (`log_records`) or counted metric points,
  and the answers;
- `rest_writes`: HoneyHive REST bodies (sessions, events, batches, legacy model
  events) → the write operations the writer takes;
- `prices`: each project's price table, refreshed from the store, which the writer
  prices model events with; `recompute`: stored events priced again;
- `langfuse_scores`: Langfuse scores → updates of the events they score;
- `span_mapping` (with `conventions`, `langfuse`, `messages` and `attributes`): decoded spans → the
  event write operations the writer takes; `log_mapping`: decoded log records → the
  same (GenAI messages as slots of their span's event, other records as events).

Code outside this package uses what is exported here.
"""

from hivekeeper.ingest.langfuse_scores import Score, ScoreError, parse_score, score_update
from hivekeeper.ingest.otlp import (
    LOGS,
    MEDIA_TYPES,
    METRICS,
    SIGNALS,
    TRACES,
    Encoding,
    Signal,
    SignalName,
    accepted_items,
    declared_encoding,
    decode_traces,
    encode_answer,
    encode_retry_info,
    encode_retry_status,
    encode_status,
    export_ops,
    grpc_code,
    is_otlp_metrics,
    reject_skipped,
    settle_export,
    sniff_encoding,
)
from hivekeeper.ingest.otlp_batch import Decoded, DecodedTraces, OtlpLimits
from hivekeeper.ingest.prices import ProjectPrices
from hivekeeper.ingest.recompute import Recomputed, recompute_costs
from hivekeeper.ingest.redaction import RedactionRules, check_rules
from hivekeeper.ingest.rest_writes import (
    PlannedWrite,
    plan_batch,
    plan_event,
    plan_session,
    unwrap,
)
from hivekeeper.ingest.retention import RetentionJob
from hivekeeper.ingest.span_mapping import span_event_id, spans_to_ops, trace_session_id
from hivekeeper.ingest.spans import Span, SpanEvent, StatusCode
from hivekeeper.ingest.trace_sessions import TraceSessions
from hivekeeper.ingest.writer import Writer, WriterState

__all__ = [
    "LOGS",
    "MEDIA_TYPES",
    "METRICS",
    "SIGNALS",
    "TRACES",
    "Decoded",
    "DecodedTraces",
    "Encoding",
    "OtlpLimits",
    "PlannedWrite",
    "ProjectPrices",
    "Recomputed",
    "RedactionRules",
    "RetentionJob",
    "Score",
    "ScoreError",
    "Signal",
    "SignalName",
    "Span",
    "SpanEvent",
    "StatusCode",
    "TraceSessions",
    "Writer",
    "WriterState",
    "accepted_items",
    "check_rules",
    "declared_encoding",
    "decode_traces",
    "encode_answer",
    "encode_retry_info",
    "encode_retry_status",
    "encode_status",
    "export_ops",
    "grpc_code",
    "is_otlp_metrics",
    "parse_score",
    "plan_batch",
    "plan_event",
    "plan_session",
    "recompute_costs",
    "reject_skipped",
    "score_update",
    "settle_export",
    "sniff_encoding",
    "span_event_id",
    "spans_to_ops",
    "trace_session_id",
    "unwrap",
]

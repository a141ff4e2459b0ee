"""One OTLP export, whatever its signal and transport: decode, map, commit, count.

OTLP/HTTP (`api.otlp`) and OTLP/gRPC (`api.otlp_grpc`) differ only in how a request
arrives and how its answer and errors are written; both hand the body here, so every
export goes through the same limits, mapping and writer.
"""

from __future__ import annotations

from hivekeeper.config import Settings
from hivekeeper.domain.types import MergeOp
from hivekeeper.ingest import (
    Decoded,
    Encoding,
    OtlpLimits,
    Signal,
    TraceSessions,
    accepted_items,
    export_ops,
    settle_export,
)
from hivekeeper.web import AppContext

# Bodies up to this size are decoded and mapped on the event loop: ~15 ms of work at
# most, less than a thread hop costs in GIL hand-offs. Larger ones (up to
# max_body_bytes, hundreds of milliseconds for 20 MB) go to a worker thread, so they
# cannot stall every other connection meanwhile.
_INLINE_DECODE_BYTES = 1 << 20


def otlp_limits(settings: Settings) -> OtlpLimits:
    """The decoder limits a server runs with."""
    return OtlpLimits(
        max_spans=settings.otlp_max_spans_per_request,
        max_attributes=settings.otlp_max_attributes,
        max_events_per_span=settings.otlp_max_events_per_span,
        max_value_depth=settings.otlp_max_value_depth,
        max_string_chars=settings.max_string_chars,
    )


async def store_export(
    ctx: AppContext,
    signal: Signal,
    body: bytes,
    encoding: Encoding,
    project_id: str,
    source_header: str | None,
) -> Decoded:
    """Decode `body`, store what it holds for `project_id`, and return the decoded
    export with its rejections (for the answer's partial success). Returns only after
    the commit.

    Raises the decoder's BadRequest/ValidationFailed (nothing stored), or the writer's
    Overloaded/Unavailable.
    """
    args = (signal, body, encoding, otlp_limits(ctx.settings), project_id, source_header)
    if len(body) <= _INLINE_DECODE_BYTES:
        decoded, ops = _decode_and_map(ctx.now_ms(), ctx.writer.traces, *args)
    else:
        decoded, ops = await ctx.decode(_decode_and_map, ctx.now_ms(), ctx.writer.traces, *args)
    notes = await ctx.writer.submit(ops)
    settle_export(decoded, ops, notes)
    ctx.metrics.count_otlp(signal.name, accepted=accepted_items(decoded), rejected=decoded.rejected)
    return decoded


def _decode_and_map(
    now_ms: float,
    traces: TraceSessions,
    signal: Signal,
    body: bytes,
    encoding: Encoding,
    limits: OtlpLimits,
    project_id: str,
    source_header: str | None,
) -> tuple[Decoded, list[MergeOp]]:
    decoded = signal.decode(body, encoding, limits)
    ops = export_ops(
        decoded, project_id, now_ms=now_ms, source_header=source_header, traces=traces
    )
    return decoded, ops

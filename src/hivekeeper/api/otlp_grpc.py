"""OTLP/gRPC: the trace, logs and metrics services on their own port (`--grpc-port`).

Java, Go and .NET SDKs and collectors export over gRPC by default. The server runs on
the app's event loop (grpc.aio), started and stopped by the app's lifespan, and hands
each request's bytes to the same export path as OTLP/HTTP (`otlp_export`): the same
keys (`authorization: Bearer <key>` metadata), limits, mapping and writer. Requests
are registered without a deserializer, so the protobuf decoder of the HTTP path reads
them, and answers are its serialized `Export…ServiceResponse`.

Status codes follow what OTLP/gRPC exporters retry on: INVALID_ARGUMENT (a malformed
request, not retried), UNAUTHENTICATED and PERMISSION_DENIED, RESOURCE_EXHAUSTED
(write queue or request bytes full, too many failed keys) and UNAVAILABLE (shutting
down), the last two with a `google.rpc.RetryInfo` saying when to retry: in
`grpc-status-details-bin`, where the Go and Java exporters and the collector read it,
and in `google.rpc.retryinfo-bin`, where the Python exporter does. A message larger
than `--max-body-bytes` is refused by gRPC itself (RESOURCE_EXHAUSTED).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import grpc

from hivekeeper.api.auth import bearer_principal, telemetry_writer
from hivekeeper.api.otlp_export import store_export
from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.ingest import (
    LOGS,
    METRICS,
    TRACES,
    Signal,
    encode_answer,
    encode_retry_info,
    encode_retry_status,
    grpc_code,
)
from hivekeeper.web import AppContext, BodyTicket, address_group

logger = logging.getLogger(__name__)

SERVICES: dict[str, Signal] = {
    "opentelemetry.proto.collector.trace.v1.TraceService": TRACES,
    "opentelemetry.proto.collector.logs.v1.LogsService": LOGS,
    "opentelemetry.proto.collector.metrics.v1.MetricsService": METRICS,
}
"""The OTLP services served, each with its one method `Export`."""
_STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}
_INTERNAL_ERROR = HivekeeperError("the export failed; nothing from this request was stored")

Handler = Callable[[bytes, grpc.aio.ServicerContext[bytes, bytes]], Awaitable[bytes]]


class OtlpGrpcServer:
    """The OTLP/gRPC receiver of one app, listening on `host:port` while started."""

    def __init__(self, ctx: AppContext, *, host: str, port: int, reuse_port: bool) -> None:
        self._ctx = ctx
        self._address = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        self._reuse_port = reuse_port
        self._server: grpc.aio.Server | None = None

    async def start(self) -> int:
        """Listen and serve; returns the bound port. Must run on the app's event loop.

        Raises OSError naming the address when it cannot be bound.
        """
        settings = self._ctx.settings
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", settings.max_body_bytes),
                # With `--workers N` every process listens on the port and the kernel
                # spreads connections; alone, a port in use must be an error.
                ("grpc.so_reuseport", int(self._reuse_port)),
            ],
            maximum_concurrent_rpcs=settings.max_connections,
        )
        server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    service, {"Export": grpc.unary_unary_rpc_method_handler(self._handler(signal))}
                )
                for service, signal in SERVICES.items()
            ]
        )
        try:
            port = server.add_insecure_port(self._address)
        except RuntimeError as exc:
            raise OSError(
                f"cannot listen for OTLP/gRPC on {self._address} ({exc}); choose another "
                "--grpc-port, or 0 to turn the gRPC receiver off"
            ) from None
        await server.start()
        self._server = server
        logger.info(
            "OTLP/gRPC receiver listening on %s", self._address.rsplit(":", 1)[0] + f":{port}"
        )
        return port

    async def stop(self, grace_s: float) -> None:
        """Refuse new calls, let those in flight finish (for at most `grace_s`), stop.
        Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop(grace_s)

    def _handler(self, signal: Signal) -> Handler:
        ctx = self._ctx
        service = signal.name

        async def export(request: bytes, call: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
            metadata = {key: value for key, value in call.invocation_metadata() or ()}
            ticket = BodyTicket(ctx.body_budget)
            try:
                principal = telemetry_writer(
                    await bearer_principal(
                        ctx, _text(metadata.get("authorization")), lambda: _peer_group(call.peer())
                    )
                )
                ticket.take(len(request))
                decoded = await store_export(
                    ctx,
                    signal,
                    request,
                    "protobuf",
                    principal.project.id,
                    _text(metadata.get("x-source")) or None,
                )
            except HivekeeperError as exc:
                await _abort(ctx, service, call, exc)
            except Exception:
                logger.exception("an OTLP/gRPC %s export failed", service)
                await _abort(ctx, service, call, _INTERNAL_ERROR)
            finally:
                ticket.give_back()
            ctx.metrics.count_grpc(service, "OK")
            return encode_answer("protobuf", decoded)

        return export


async def _abort(
    ctx: AppContext,
    service: str,
    call: grpc.aio.ServicerContext[bytes, bytes],
    exc: HivekeeperError,
) -> None:
    """End the call with the status answering `exc` (raises, as `abort` does)."""
    code = _STATUS_CODES[grpc_code(exc.status)]
    ctx.metrics.count_grpc(service, code.name)
    trailing: tuple[tuple[str, bytes], ...] = ()
    retry_after_s = getattr(exc, "retry_after_s", None)
    if retry_after_s is not None:
        trailing = (
            (
                "grpc-status-details-bin",
                encode_retry_status(code.value[0], exc.message, retry_after_s),
            ),
            ("google.rpc.retryinfo-bin", encode_retry_info(retry_after_s)),
        )
    await call.abort(code, exc.message, trailing_metadata=trailing)


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _peer_group(peer: str) -> str:
    """The throttling client of a gRPC peer (`ipv4:1.2.3.4:5678`, `ipv6:[::1]:5678`)."""
    kind, _, rest = peer.partition(":")
    if kind not in ("ipv4", "ipv6"):
        return peer or "unknown"
    host = rest.rsplit(":", 1)[0].strip("[]")
    return address_group(host)

"""Four OpenAI calls under one LLM instrumentation, exported to hivekeeper as the library's
users configure it: a chat, a streamed chat with usage, a two-turn tool call, an error.

Run by `tests/e2e/test_emitters.py` in its own interpreter (every instrumentation
patches `openai` globally), in the library's own virtual environment where its pins
need one. `EMITTER` names the library; `SCENARIO_SERVER_URL`, `SCENARIO_API_KEY`,
`SCENARIO_GRPC_URL` and `SCENARIO_LLM_URL` say where to send. Each call runs under a
root span of its own (one trace each) carrying the user, so each is a session. An
in-memory exporter beside the library's own lists every span it finished, so the test
can check that each one was stored. The last stdout line is one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

EMITTER = os.environ["EMITTER"]
SERVER = os.environ["SCENARIO_SERVER_URL"]
KEY = os.environ["SCENARIO_API_KEY"]
USER = "user-7"
SERVICE = f"emitter-{EMITTER}"
LOG_RECORDS: list[Any] = []
"""Log records the library emitted (when it logs through our provider), as exported."""


def _stock_providers(*, grpc: bool = False, logs: bool = False) -> Callable[[], None]:
    """The OpenTelemetry SDK with the stock OTLP exporters (HTTP, or gRPC for spans)."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": SERVICE, "deployment.environment.name": "ci"})
    provider = TracerProvider(resource=resource)
    if grpc:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter: Any = OTLPSpanExporter(
            endpoint=os.environ["SCENARIO_GRPC_URL"],
            insecure=True,
            headers=(("authorization", f"Bearer {KEY}"),),
        )
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        exporter = HttpSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    closers: list[Callable[[], Any]] = [provider.shutdown]
    if logs:
        from opentelemetry._logs import set_logger_provider
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        logger_provider = LoggerProvider(resource=resource)
        logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
        set_logger_provider(logger_provider)
        closers.insert(0, logger_provider.shutdown)
    return lambda: [close() for close in closers] and None


def _setup() -> Callable[[], None]:
    """Instrument `openai` as the library's documentation says; returns the flush."""
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = SERVER
    os.environ["OTEL_EXPORTER_OTLP_HEADERS"] = f"Authorization=Bearer%20{KEY}"
    if EMITTER in ("genai-logs", "genai-spans", "grpc"):
        if EMITTER == "genai-logs":
            os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
        else:
            os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
            os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
        flush = _stock_providers(grpc=EMITTER == "grpc", logs=EMITTER == "genai-logs")
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
        return flush
    if EMITTER == "openinference":
        flush = _stock_providers()
        from openinference.instrumentation.openai import OpenAIInstrumentor as OIInstrumentor

        OIInstrumentor().instrument()
        return flush
    if EMITTER == "traceloop":
        from traceloop.sdk import Traceloop

        Traceloop.init(
            app_name=SERVICE,
            api_endpoint=SERVER,
            headers={"Authorization": f"Bearer {KEY}"},
            resource_attributes={"deployment.environment.name": "ci"},
            telemetry_enabled=False,
        )
        return _shutdown_global
    if EMITTER == "openlit":
        import openlit

        openlit.init(
            otlp_endpoint=SERVER,
            otlp_headers=f"Authorization=Bearer%20{KEY}",
            application_name=SERVICE,
            environment="ci",
        )
        return _shutdown_global
    if EMITTER == "logfire":
        import logfire

        logfire.configure(
            send_to_logfire=False,
            service_name=SERVICE,
            environment="ci",
            console=False,
        )
        logfire.instrument_openai()
        return logfire.force_flush
    raise SystemExit(f"unknown EMITTER {EMITTER}")


def _shutdown_global() -> None:
    from opentelemetry import trace
    from opentelemetry._logs import get_logger_provider

    provider: Any = trace.get_tracer_provider()
    provider.force_flush()
    logger_provider: Any = get_logger_provider()
    if hasattr(logger_provider, "force_flush"):
        logger_provider.force_flush()


def _record() -> Any:
    """In-memory exporters on the global providers: the spans the library finished
    (returned) and the log records it emitted (`LOG_RECORDS`)."""
    from opentelemetry import trace
    from opentelemetry._logs import get_logger_provider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider: Any = trace.get_tracer_provider()
    provider = getattr(provider, "provider", provider)  # logfire wraps the SDK's
    provider.add_span_processor(SimpleSpanProcessor(memory))
    logger_provider: Any = get_logger_provider()
    if hasattr(logger_provider, "add_log_record_processor"):
        logs = InMemoryLogRecordExporter()
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
        LOG_RECORDS.append(logs)
    return memory


def main() -> None:
    flush = _setup()
    memory = _record()
    import openai
    from opentelemetry import trace

    client = openai.OpenAI(api_key="sk-test", base_url=os.environ["SCENARIO_LLM_URL"],
                           max_retries=0)  # fmt: skip
    tracer = trace.get_tracer("scenario")
    system = {"role": "system", "content": "You are terse."}
    user = {"role": "user", "content": "Weather in Paris?"}
    tools = [{"type": "function", "function": {
        "name": "lookup_weather", "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]  # fmt: skip
    traces: dict[str, str] = {}
    replies: dict[str, Any] = {}

    def turn(name: str, work: Callable[[], Any]) -> None:
        with tracer.start_as_current_span(f"{name} turn", attributes={"user.id": USER}) as root:
            replies[name] = work()
        traces[name] = f"{root.get_span_context().trace_id:032x}"

    turn("chat", lambda: client.chat.completions.create(
        model="gpt-4o-mini", messages=[system, user]).choices[0].message.content)  # fmt: skip

    def stream() -> str:
        chunks = client.chat.completions.create(
            model="gpt-4o-mini", messages=[system, user], stream=True,
            stream_options={"include_usage": True})  # fmt: skip
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    turn("stream", stream)

    def tool_call() -> str | None:
        first = client.chat.completions.create(model="gpt-4o-mini", messages=[system, user],
                                               tools=tools)  # fmt: skip
        call = first.choices[0].message.tool_calls[0]
        second = client.chat.completions.create(
            model="gpt-4o-mini", tools=tools,
            messages=[system, user, first.choices[0].message.model_dump(exclude_none=True),
                      {"role": "tool", "tool_call_id": call.id, "content": "sunny"}])  # fmt: skip
        return second.choices[0].message.content

    turn("tool", tool_call)

    def error() -> str:
        try:
            client.chat.completions.create(model="no-such-model", messages=[user])
        except openai.BadRequestError as exc:
            return type(exc).__name__
        return "no error"

    turn("error", error)
    flush()
    spans = [
        {
            "trace_id": f"{s.context.trace_id:032x}",
            "span_id": f"{s.context.span_id:016x}",
            "parent_span_id": f"{s.parent.span_id:016x}" if s.parent else None,
            "name": s.name,
        }
        for s in memory.get_finished_spans()
    ]
    records = [
        {
            "trace_id": f"{r.log_record.trace_id:032x}",
            "span_id": f"{r.log_record.span_id:016x}",
            "event_name": getattr(r.log_record, "event_name", None),
        }
        for memory in LOG_RECORDS
        for r in memory.get_finished_logs()
    ]
    sys.stdout.flush()
    print(json.dumps({"traces": traces, "replies": replies, "spans": spans, "logs": records}))


if __name__ == "__main__":
    main()

"""A two-turn tool-calling chat instrumented by the official GenAI instrumentation
(`opentelemetry-instrumentation-openai-v2`), its content captured as log records, with
traces, logs and metrics exported by the stock OTLP/HTTP exporters.

Run by `tests/e2e/test_genai_logs.py` in its own interpreter (the instrumentor patches
`openai` globally). The exporters find the server as users configure them, through
`OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_EXPORTER_OTLP_HEADERS`; the test sets those and
the instrumentation's own variables. The last stdout line is a JSON object naming the
trace.
"""

from __future__ import annotations

import json
import os

os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = os.environ["SCENARIO_SERVER_URL"]
os.environ["OTEL_EXPORTER_OTLP_HEADERS"] = (
    f"Authorization=Bearer%20{os.environ['SCENARIO_API_KEY']}"
)

from openai import OpenAI
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

resource = Resource.create({"service.name": "genai-logs"})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
meter_provider = MeterProvider(
    resource=resource,
    metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter(), 60_000)],
)
OpenAIInstrumentor().instrument(
    tracer_provider=tracer_provider, logger_provider=logger_provider, meter_provider=meter_provider
)

TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "lookup_weather", "arguments": '{"city": "Paris"}'},
}
client = OpenAI(api_key="sk-test", base_url=os.environ["SCENARIO_LLM_URL"], max_retries=0)
with tracer_provider.get_tracer("scenario").start_as_current_span("agent") as agent:
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    )
tracer_provider.shutdown()
logger_provider.shutdown()
meter_provider.shutdown()
trace_id = f"{agent.get_span_context().trace_id:032x}"
print(json.dumps({"trace_id": trace_id, "reply": completion.choices[0].message.content}))

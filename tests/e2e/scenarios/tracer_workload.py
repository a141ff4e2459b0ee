"""A small application traced with honeyhive 1.7.0; run by `tests/e2e/test_otlp_tracer.py`.

It runs in its own interpreter because the tracer installs global OpenTelemetry state.
`SCENARIO_SERVER_URL` / `SCENARIO_API_KEY` say where to send; `WORKLOAD_DISABLE_BATCH=1`
exports each span as it ends; the wire format comes from the tracer's own variables
(`HH_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`).
The last stdout line is a JSON object naming the sessions it created.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from typing import Any

from _tracer import init_tracer
from honeyhive import enrich_span, flush, trace
from opentelemetry import context as otel_context

tracer = init_tracer("workload", disable_batch=os.environ.get("WORKLOAD_DISABLE_BATCH") == "1")


@trace(event_type="tool", event_name="lookup")
def lookup(query: str, options: dict[str, Any]) -> dict[str, Any]:
    enrich_span(metadata={"db": "kv", "nested": {"a": 1, "b": [1, 2]}}, metrics={"hits": 3})
    return {"rows": ["r1", "r2"], "count": 2}


@trace(event_type="model", event_name="llm_call", span_config={"model": "gpt-e2e"})
def call_llm(prompt: str) -> str:
    enrich_span(
        inputs={"chat_history": [{"role": "user", "content": prompt}]},
        outputs={"role": "assistant", "content": "hello"},
        config={"provider": "fake-llm", "temperature": 0.2},
        metadata={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0.0012},
        metrics={"relevance": 0.75},
        feedback={"rating": 5},
        user_properties={"user_id": "u-1"},
    )
    return "hello"


@trace
def plain_helper(x: int, y: int = 3) -> int:
    return x * y


@trace(event_type="chain", event_name="pipeline", metadata={"version": "1"})
def pipeline(question: str) -> dict[str, Any]:
    lookup(question, {"k": 2})
    answer = call_llm(f"Q: {question}")
    return {"answer": answer, "product": plain_helper(2)}


@trace(event_type="tool", event_name="async_fetch")
async def async_fetch(url: str) -> str:
    await asyncio.sleep(0)
    return f"body of {url}"


@trace(event_type="model", event_name="async_summarise")
async def async_summarise(text: str) -> str:
    await asyncio.sleep(0)
    enrich_span(
        metadata={"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10, "cost": 0.0003}
    )
    return text[:7]


@trace(event_type="chain", event_name="async_agent")
async def async_agent(url: str) -> str:
    return await async_summarise(await async_fetch(url))


@trace(event_type="tool", event_name="will_fail")
def will_fail(n: int) -> None:
    raise ValueError(f"boom {n}")


@trace(event_type="chain", event_name="handle_request")
def handle_request(req: str) -> str:
    enrich_span(metadata={"req": req})
    return f"handled {req}"


session_id = tracer.session_id
pipeline("what is up?")
asyncio.run(async_agent("http://docs.invalid/a"))
with contextlib.suppress(ValueError):
    will_fail(7)
tracer.enrich_session(
    metadata={"stage": "done"},
    metrics={"session_score": 0.9},
    feedback={"thumbs": "up"},
    user_properties={"user_id": "u-1"},
    config={"app_version": "1.2.3"},
    outputs={"final": "done"},
    inputs={"first_question": "what is up?"},
)
flush(tracer)

# One session per request, as a web server does: baggage scopes it to this context.
request_sessions = []
for n in (1, 2):
    token = otel_context.attach(otel_context.get_current())
    request_sessions.append(
        tracer.create_session(
            session_name=f"request-{n}", inputs={"path": f"/chat/{n}"}, metadata={"n": n}
        )
    )
    handle_request(f"r{n}")
    tracer.enrich_session(outputs={"status_code": 200})
    otel_context.detach(token)

tracer.force_flush()
tracer.shutdown()
print(json.dumps({"session_id": session_id, "request_sessions": request_sessions}))

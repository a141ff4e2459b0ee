"""A Langfuse-instrumented request: a trace with nested spans, a generation with usage
and cost, a tool, an error, and scores, sent by the stock Langfuse SDK.

Run by `tests/e2e/test_langfuse.py` in its own interpreter (the SDK installs a global
tracer provider). The SDK is configured only through `LANGFUSE_BASE_URL`,
`LANGFUSE_PUBLIC_KEY` and `LANGFUSE_SECRET_KEY`, which the test sets. The last stdout
line is a JSON object naming the trace and its observations; with `SCENARIO_AUTH_ONLY`
set, only the auth check runs and the object says how it ended.
"""

from __future__ import annotations

import json
import os
import sys

from langfuse import get_client, propagate_attributes

langfuse = get_client()
if os.environ.get("SCENARIO_AUTH_ONLY"):
    try:
        print(json.dumps({"authorized": langfuse.auth_check()}))
    except Exception as exc:  # what the SDK raises for a refused key
        print(json.dumps({"authorized": False, "error": type(exc).__name__}))
    sys.exit(0)
authorized = langfuse.auth_check()

with langfuse.start_as_current_observation(name="answer-question", input={"q": "2+2?"}) as root:
    with propagate_attributes(
        user_id="user-7",
        trace_name="qa-request",
        tags=["beta", "math"],
        metadata={"tier": "gold"},
    ):
        with root.start_as_current_observation(name="retrieve", as_type="retriever") as retrieve:
            retrieve.update(output={"documents": ["2+2=4"]})
        with root.start_as_current_observation(
            name="llm-call",
            as_type="generation",
            model="gpt-4o-mini-2024-07-18",
            model_parameters={"temperature": 0.2, "max_tokens": 50},
            input=[{"role": "user", "content": "2+2?"}],
        ) as generation:
            generation.update(
                output={"role": "assistant", "content": "4"},
                usage_details={"input": 800, "input_cached_tokens": 200, "output": 50},
                metadata={"attempt": 1},
            )
            generation.score(name="correct", value=1, data_type="BOOLEAN", comment="exact")
        with root.start_as_current_observation(
            name="priced-call",
            as_type="generation",
            model="gpt-4o-mini",
            usage_details={"input": 10, "output": 5},
            cost_details={"input": 0.01, "output": 0.02},
        ):
            pass
        with root.start_as_current_observation(name="calculator", as_type="tool") as tool:
            tool.update(input={"expression": "2+2"}, output=4)
        with root.start_as_current_observation(name="broken-step") as broken:
            broken.update(level="ERROR", status_message="the step failed")
    root.update(output={"a": "4"})
    root.score_trace(name="helpfulness", value=0.9)
    trace_id = root.trace_id
    ids = {"root": root.id, "generation": generation.id, "tool": tool.id}

langfuse.flush()
langfuse.shutdown()
print(json.dumps({"authorized": authorized, "trace_id": trace_id, "ids": ids}))

"""An OpenAI call instrumented by OpenInference on the honeyhive tracer's provider.

Run by `tests/e2e/test_otlp_tracer.py` in its own interpreter (the tracer installs
global OpenTelemetry state). `SCENARIO_LLM_URL` is the fake OpenAI server's base URL.
The last stdout line is a JSON object naming the session.
"""

from __future__ import annotations

import json
import os

from _tracer import init_tracer
from honeyhive import trace
from openai import OpenAI
from openinference.instrumentation.openai import OpenAIInstrumentor

tracer = init_tracer("instrumented")
OpenAIInstrumentor().instrument(tracer_provider=tracer.provider)


@trace(event_type="chain", event_name="agent_turn")
def turn(question: str) -> str | None:
    client = OpenAI(api_key="sk-test", base_url=os.environ["SCENARIO_LLM_URL"], max_retries=0)
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        temperature=0.1,
        max_tokens=50,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": question},
        ],
    )
    return completion.choices[0].message.content


reply = turn("Say hello")
tracer.force_flush()
tracer.shutdown()
print(json.dumps({"session_id": tracer.session_id, "reply": reply}))

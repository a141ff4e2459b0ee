"""Span → event mapping cost per span, for spans shaped like the OTLP load generator's.

Builds decoded `Span` objects the way `shared/bench/otlp_load.py` fills its requests
(an agent root with chain steps, LLM and tool leaves; OpenInference and GenAI
attributes next to HoneyHive ones; 0.5-4 KB of text; ~5 % failing spans with an
exception event), then times `spans_to_ops` over batches of 100, as the OTLP route
calls it. No decoding and no database: this is the mapping alone. Prints the median
of several rounds in µs per span, overall and per kind of span.

    python bench/span_mapping.py [--spans 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid

from hivekeeper.ingest.span_mapping import spans_to_ops
from hivekeeper.ingest.spans import Span, SpanEvent, StatusCode

BATCH = 100
MODELS = [
    ("gpt-4o", "openai"),
    ("gpt-4o-mini", "openai"),
    ("claude-3-5-sonnet-20241022", "anthropic"),
    ("gemini-1.5-pro", "google"),
]
TOOLS = [
    ("search_docs", "Full-text search over the product knowledge base."),
    ("get_order_status", "Look up an order by id and return its shipping status."),
    ("sql_query", "Run a read-only SQL query against the analytics warehouse."),
]
WORDS = [
    *("the", "a", "of", "to", "and", "in", "for", "model", "agent", "tool", "user", "order"),
    *("shipping", "refund", "invoice", "account", "query", "result", "answer", "question"),
    *("context", "document", "retrieval", "token", "prompt", "completion", "please", "thanks"),
    *("could", "would", "check", "confirm", "explain", "summary", "details", "step", "next"),
]
RESOURCE = {
    "service.name": "bench-llm-agent",
    "service.version": "1.0.0",
    "telemetry.sdk.language": "python",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.version": "1.27.0",
    "openinference.project.name": "bench",
    "honeyhive.project": "bench",
    "honeyhive.source": "benchmark",
}
SCOPE = ("openinference.instrumentation.bench", "0.1.0")


class SpanFactory:
    """Spans with the load generator's attribute names, sizes and proportions."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.corpus = " ".join(self.rng.choice(WORDS) for _ in range(200_000))

    def text(self, lo: int = 512, hi: int = 4096, mode: int = 1200) -> str:
        size = int(self.rng.triangular(lo, hi, mode))
        offset = self.rng.randrange(0, len(self.corpus) - size)
        return self.corpus[offset : offset + size]

    def session(self, spans_per_session: int, start_ns: int) -> list[Span]:
        rng = self.rng
        session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        trace_id = f"{rng.getrandbits(128):032x}"
        root_id = f"{rng.getrandbits(64):016x}"
        spans = []
        for _ in range(spans_per_session - 1):
            kind = "llm" if rng.random() < 0.62 else "tool"
            spans.append(self.leaf(kind, session_id, trace_id, root_id, start_ns))
        root = self.chain(session_id, trace_id, root_id, start_ns)
        return [*spans, root]

    def honeyhive(self, session_id: str, event_type: str, name: str) -> dict[str, object]:
        return {
            "honeyhive.session_id": session_id,
            "honeyhive.project": "bench",
            "honeyhive.source": "benchmark",
            "honeyhive_event_type": event_type,
            "honeyhive_event_name": name,
        }

    def leaf(self, kind: str, session_id: str, trace_id: str, parent: str, start: int) -> Span:
        rng = self.rng
        if kind == "llm":
            model, provider = rng.choice(MODELS)
            name = f"{provider}.chat.completions"
            attributes = self.llm_attributes(model, provider) | self.honeyhive(
                session_id, "model", name
            )
        else:
            name, description = rng.choice(TOOLS)
            attributes = {
                "openinference.span.kind": "TOOL",
                "tool.name": name,
                "tool.description": description,
                "tool.parameters": json.dumps({"type": "object", "properties": {}}),
                "input.value": json.dumps({"query": self.text(40, 400, 100), "limit": 5}),
                "input.mime_type": "application/json",
                "output.value": self.text(512, 4096, 1500),
                "output.mime_type": "text/plain",
            } | self.honeyhive(session_id, "tool", name)
        span = Span(
            trace_id=trace_id,
            span_id=f"{rng.getrandbits(64):016x}",
            parent_span_id=parent,
            name=name,
            kind=1,
            start_unix_nano=start,
            end_unix_nano=start + rng.randint(5, 4500) * 1_000_000,
            attributes=attributes,
            scope_name=SCOPE[0],
            scope_version=SCOPE[1],
            resource=RESOURCE,
        )
        if rng.random() < 0.05:
            span.status_code = StatusCode.ERROR
            span.status_message = "TimeoutError: tool call exceeded 30s deadline"
            span.events.append(
                SpanEvent(
                    "exception",
                    span.end_unix_nano - 1000,
                    {
                        "exception.type": "TimeoutError",
                        "exception.message": "tool call exceeded 30s deadline",
                        "exception.stacktrace": "Traceback (most recent call last):\n"
                        + self.text(200, 400, 300),
                        "exception.escaped": False,
                    },
                )
            )
        return span

    def llm_attributes(self, model: str, provider: str) -> dict[str, object]:
        rng = self.rng
        messages = [("system", self.text(150, 600, 300))]
        turns = rng.choice([1, 1, 1, 3])
        messages += [("user" if i % 2 == 0 else "assistant", self.text()) for i in range(turns)]
        output = self.text(512, 4096, 900)
        prompt_tokens, completion_tokens = rng.randint(100, 1200), rng.randint(100, 1000)
        temperature = rng.choice([0.0, 0.2, 0.7, 1.0])
        attributes: dict[str, object] = {
            "openinference.span.kind": "LLM",
            "llm.model_name": model,
            "llm.provider": provider,
            "llm.system": provider,
            "llm.invocation_parameters": json.dumps(
                {"temperature": temperature, "max_tokens": 1024}
            ),
            "input.value": json.dumps(
                {"model": model, "messages": [{"role": r, "content": c} for r, c in messages]}
            ),
            "input.mime_type": "application/json",
        }
        for i, (role, content) in enumerate(messages):
            attributes[f"llm.input_messages.{i}.message.role"] = role
            attributes[f"llm.input_messages.{i}.message.content"] = content
        attributes |= {
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": output,
            "output.value": output,
            "output.mime_type": "text/plain",
            "llm.token_count.prompt": prompt_tokens,
            "llm.token_count.completion": completion_tokens,
            "llm.token_count.total": prompt_tokens + completion_tokens,
            "gen_ai.system": provider,
            "gen_ai.request.model": model,
            "gen_ai.request.temperature": temperature,
            "gen_ai.usage.input_tokens": prompt_tokens,
            "gen_ai.usage.output_tokens": completion_tokens,
        }
        return attributes

    def chain(self, session_id: str, trace_id: str, span_id: str, start: int) -> Span:
        rng = self.rng
        attributes = {
            "openinference.span.kind": "AGENT",
            "input.value": self.text(512, 2048, 700),
            "input.mime_type": "text/plain",
            "output.value": self.text(512, 4096, 1000),
            "output.mime_type": "text/plain",
            "session.id": session_id,
            "user.id": f"user-{rng.randint(1, 500):04d}",
            "metadata": json.dumps({"env": "bench", "app_version": "1.2.3"}),
        } | self.honeyhive(session_id, "chain", "support_agent.run")
        return Span(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=None,
            name="support_agent.run",
            kind=2,
            start_unix_nano=start,
            end_unix_nano=start + 9_000_000_000,
            attributes=attributes,
            scope_name=SCOPE[0],
            scope_version=SCOPE[1],
            resource=RESOURCE,
        )


def time_per_span_us(spans: list[Span], rounds: int) -> float:
    """Median over `rounds` of the mapping time per span, in microseconds."""
    batches = [spans[i : i + BATCH] for i in range(0, len(spans), BATCH)]
    results = []
    for _ in range(rounds):
        started = time.perf_counter()
        for batch in batches:
            spans_to_ops("bench-project", batch)
        results.append((time.perf_counter() - started) / len(spans) * 1e6)
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000, help="spans to map per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds; the median is shown")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    factory = SpanFactory(args.seed)
    spans: list[Span] = []
    start = 1_795_700_000_000_000_000
    while len(spans) < args.spans:
        spans.extend(factory.session(10, start + len(spans) * 1_000_000))
    spans = spans[: args.spans]
    kinds = {
        "llm": [s for s in spans if s.attributes.get("openinference.span.kind") == "LLM"],
        "tool": [s for s in spans if s.attributes.get("openinference.span.kind") == "TOOL"],
        "agent": [s for s in spans if s.attributes.get("openinference.span.kind") == "AGENT"],
    }
    mean_bytes = sum(
        sum(len(v) for v in s.attributes.values() if isinstance(v, str)) for s in spans
    ) / len(spans)
    print(
        f"{len(spans)} spans, {statistics.mean(len(s.attributes) for s in spans):.1f} "
        f"attributes and {mean_bytes / 1024:.1f} KB of text each on average"
    )
    print(f"all spans: {time_per_span_us(spans, args.rounds):7.1f} µs/span")
    for kind, subset in kinds.items():
        print(f"{kind:>9}: {time_per_span_us(subset, args.rounds):7.1f} µs/span ({len(subset)})")


if __name__ == "__main__":
    main()

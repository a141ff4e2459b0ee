"""The demo data set, as the requests HoneyHive clients would send for it.

Sessions are built as REST bodies (session starts, event batches, `PUT /events`
updates) so that loading them runs the same planning as the API: roll-ups, implicit
sessions and merges come out exactly as for real traffic. Everything is a pure
function of the seed and `now_ms`; ids depend on the seed alone, so loading twice
upserts the same rows instead of adding new ones.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from hivekeeper.demo import text

JsonObject = dict[str, Any]
WriteKind = Literal["session", "batch", "update"]

PROJECTS = ("support-bot", "rag-search", "agent-lab")
SEED = 20_260_601
BIG_SESSION_EVENTS = 10_000
DAY_MS = 86_400_000.0
# Clients send batches of this size (the HoneyHive SDK flushes every few hundred spans).
_BATCH_EVENTS = 500
_NAMESPACE = uuid.UUID("9b7f6a52-3c1e-4e0b-8f5d-2a6c4d1e7b90")
# (sessions, share of them with errors) per project: enough rows that the dashboard
# and lists have shape, few enough that `hivekeeper demo` takes seconds.
_SESSIONS = {"support-bot": 240, "rag-search": 180, "agent-lab": 60}
_SOURCES = (("production", 0.7), ("staging", 0.2), ("dev", 0.1))
# USD per million tokens (input, output), as providers list them.
_PRICES = {
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "claude-3-5-sonnet-20241022": (3.0, 15.0),
    "claude-3-5-haiku-20241022": (0.8, 4.0),
    "text-embedding-3-small": (0.02, 0.0),
}
_PROVIDERS = {
    "gpt-4o": "openai",
    "gpt-4o-mini": "openai",
    "claude-3-5-sonnet-20241022": "anthropic",
    "claude-3-5-haiku-20241022": "anthropic",
    "text-embedding-3-small": "openai",
}
_CHAT_MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022")
_COUNTRIES = ("US", "US", "US", "CA", "GB", "DE", "FR", "IN", "BR", "JP")
_PLANS = ("free", "free", "pro", "pro", "team", "enterprise")


@dataclass(frozen=True, slots=True)
class DemoWrite:
    """One request a client would send to `project`: a session start (`POST
    /v1/sessions`), an event batch (`POST /events/batch`) or an update (`PUT /events`)."""

    project: str
    kind: WriteKind
    body: JsonObject


def event_id(project: str, session_no: int, event_no: int) -> str:
    """The deterministic id of a demo event; event 0 is the session itself."""
    return str(uuid.uuid5(_NAMESPACE, f"{project}/{session_no}/{event_no}"))


def token_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """What a call to `model` costs in USD, at its list prices."""
    price_in, price_out = _PRICES[model]
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1e6


def big_session_id() -> str:
    """The id of the 10,000-event agent run (in project agent-lab)."""
    return event_id("agent-lab", _SESSIONS["agent-lab"], 0)


@dataclass
class _Session:
    """Builds one session's events in time order, nesting chains on a stack."""

    project: str
    number: int
    source: str
    t: float
    rng: random.Random
    events: list[JsonObject] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    count: int = 0

    @property
    def session_id(self) -> str:
        return event_id(self.project, self.number, 0)

    def _event(self, event_type: str, name: str, duration: float, **fields: Any) -> JsonObject:
        self.count += 1
        start = self.t
        self.t += duration
        event: JsonObject = {
            "event_id": event_id(self.project, self.number, self.count),
            "session_id": self.session_id,
            "parent_id": self.stack[-1] if self.stack else self.session_id,
            "event_type": event_type,
            "event_name": name,
            "source": self.source,
            "start_time": round(start, 3),
            "end_time": round(self.t, 3),
            "duration": round(duration, 3),
            **{k: v for k, v in fields.items() if v is not None},
        }
        self.events.append(event)
        self.t += self.rng.uniform(2, 40)
        return event

    @contextlib.contextmanager
    def chain(self, name: str, inputs: JsonObject, **fields: Any) -> Iterator[JsonObject]:
        """A chain whose duration covers what is created inside the block."""
        event = self._event("chain", name, 0.0, inputs=inputs, **fields)
        self.t = event["start_time"] + self.rng.uniform(1, 5)
        self.stack.append(event["event_id"])
        try:
            yield event
        finally:
            self.stack.pop()
            self.t += self.rng.uniform(1, 10)
            event["end_time"] = round(self.t, 3)
            event["duration"] = round(self.t - event["start_time"], 3)

    def model(
        self,
        name: str,
        model: str,
        messages: list[JsonObject],
        answer: str,
        *,
        temperature: float = 0.2,
        tool_calls: list[JsonObject] | None = None,
        tools: list[JsonObject] | None = None,
        error: str | None = None,
        template: str | None = None,
    ) -> JsonObject:
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages) // 4 + 12
        completion_tokens = 0 if error else len(answer) // 4 + 8 + 20 * len(tool_calls or ())
        cost = token_cost(model, prompt_tokens, completion_tokens)
        # Latency grows with output length, as it does for a real model.
        duration = 250 + completion_tokens * self.rng.uniform(8, 25) + self.rng.uniform(0, 400)
        outputs: JsonObject | None = None
        if not error:
            outputs = {"role": "assistant", "content": answer}
            if tool_calls:
                outputs["tool_calls"] = tool_calls
        config: JsonObject = {
            "model": model,
            "provider": _PROVIDERS[model],
            "temperature": temperature,
            "max_tokens": 1024,
        }
        if tools:
            config["tools"] = tools
        if template:
            config["template"] = template
        return self._event(
            "model",
            name,
            duration if not error else self.rng.uniform(80, 2000),
            config=config,
            inputs={"chat_history": messages},
            outputs=outputs,
            error=error,
            metadata={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "cost": round(cost, 8),
                "model": model,
                "finish_reason": "tool_calls" if tool_calls else ("error" if error else "stop"),
            },
        )

    def tool(
        self,
        name: str,
        inputs: JsonObject,
        outputs: JsonObject | None,
        duration: float,
        *,
        error: str | None = None,
        metadata: JsonObject | None = None,
        config: JsonObject | None = None,
    ) -> JsonObject:
        return self._event(
            "tool",
            name,
            duration,
            inputs=inputs,
            outputs=None if error else outputs,
            error=error,
            metadata=metadata,
            config=config,
        )


class _Builder:
    """Draws every session of the data set from one seeded random source."""

    def __init__(self, now_ms: float, seed: int) -> None:
        self.now_ms = now_ms
        self.rng = random.Random(seed)
        # Times draw from their own source: how many draws a time takes depends on
        # `now_ms`, and must not shift the ids and shapes drawn after it.
        self.clock = random.Random(seed + 1)
        self.writes: list[DemoWrite] = []

    # --- shared shapes ---
    def start_time(self) -> float:
        """A time in the last 7 days: busier on working hours, growing towards today."""
        r = self.clock
        while True:
            age = r.uniform(0.002, 7.0) * DAY_MS
            hour = ((self.now_ms - age) / 3_600_000) % 24
            daily = 0.35 + 0.65 * math.exp(-(((hour - 15) / 4.5) ** 2))
            growth = 1.0 - 0.08 * age / DAY_MS
            if r.random() < daily * growth:
                return self.now_ms - age

    def source(self) -> str:
        x, acc = self.rng.random(), 0.0
        for name, share in _SOURCES:
            acc += share
            if x < acc:
                return name
        return _SOURCES[0][0]

    def user(self) -> JsonObject:
        n = self.rng.randint(1, 400)
        return {
            "user_id": f"user-{n:04d}",
            "email": f"customer{n}@example.com",
            "plan": self.rng.choice(_PLANS),
            "country": self.rng.choice(_COUNTRIES),
        }

    def emit(self, project: str, session: _Session, start: JsonObject, end: JsonObject) -> None:
        """The requests of one finished session: start, batches, closing update."""
        # The SDK stamps a session's start; without it the write time would be used.
        opened = {"session_id": session.session_id, "start_time": session.events[0]["start_time"]}
        self.writes.append(DemoWrite(project, "session", {"session": {**opened, **start}}))
        for i in range(0, len(session.events), _BATCH_EVENTS):
            batch = session.events[i : i + _BATCH_EVENTS]
            self.writes.append(DemoWrite(project, "batch", {"events": batch}))
        self.writes.append(DemoWrite(project, "update", {"event_id": session.session_id, **end}))

    def feedback(self, project: str, target: str, rating: int, comment: str | None) -> None:
        body: JsonObject = {"rating": rating, "thumbs_up": rating >= 4}
        if comment:
            body["comment"] = comment
        self.writes.append(DemoWrite(project, "update", {"event_id": target, "feedback": body}))

    # --- support-bot: chat with tool calls ---
    def support_session(self, number: int) -> None:
        r, project = self.rng, "support-bot"
        s = _Session(project, number, self.source(), self.start_time(), r)
        order = f"{r.randint(10_000_000, 99_999_999)}"
        model = r.choice(("gpt-4o", "gpt-4o-mini", "gpt-4o-mini"))
        question = r.choice(text.SUPPORT_QUESTIONS).format(order=order)
        history: list[JsonObject] = [
            {"role": "system", "content": text.SUPPORT_SYSTEM},
            {"role": "user", "content": question},
        ]
        failing = r.random() < 0.12
        last_model: JsonObject | None = None
        for turn in range(r.choice((1, 1, 2, 2, 3))):
            with s.chain("chat_turn", {"turn": turn + 1, "user_message": history[-1]["content"]}):
                if r.random() < 0.6:
                    call = {
                        "id": f"call_{uuid.UUID(int=r.getrandbits(128)).hex[:24]}",
                        "type": "function",
                        "function": {
                            "name": "get_order_status",
                            "arguments": f'{{"order_id": "{order}"}}',
                        },
                    }
                    s.model(
                        "chat_completion",
                        model,
                        list(history),
                        "",
                        tool_calls=[call],
                        tools=[{"type": "function", "function": {"name": "get_order_status"}}],
                    )
                    tool_error = text.ERRORS["timeout"] if failing and turn == 0 else None
                    status = {
                        "order_id": order,
                        "status": r.choice(("in_transit", "delivered", "processing")),
                        "carrier": "UPS",
                        "eta": "Thursday",
                    }
                    s.tool(
                        "get_order_status",
                        {"order_id": order},
                        status,
                        r.uniform(40, 900),
                        error=tool_error,
                        metadata={
                            "service": "orders-api",
                            "http_status": 504 if tool_error else 200,
                        },
                    )
                    history.append({"role": "assistant", "content": "", "tool_calls": [call]})
                    history.append(
                        {
                            "role": "tool",
                            "tool_call_id": call["id"],
                            "content": tool_error or json.dumps(status),
                        }
                    )
                answer = r.choice(text.SUPPORT_ANSWERS).format(
                    order=order, day="Tuesday", amount=f"{r.uniform(20, 240):.2f}"
                )
                model_error = text.ERRORS["rate_limit"] if failing and r.random() < 0.4 else None
                last_model = s.model(
                    "chat_completion",
                    model,
                    list(history),
                    answer,
                    temperature=0.3,
                    error=model_error,
                )
                history.append({"role": "assistant", "content": answer})
                history.append({"role": "user", "content": r.choice(text.SUPPORT_FOLLOW_UPS)})
        start = {
            "session_name": "support-chat",
            "source": s.source,
            "user_properties": self.user(),
            "inputs": {"question": question},
            "metadata": {
                "channel": r.choice(("web", "ios", "android", "email")),
                "app_version": f"2.{r.randint(3, 9)}.{r.randint(0, 12)}",
            },
        }
        end: JsonObject = {"outputs": {"final_answer": history[-2]["content"]}}
        if failing:
            end["metadata"] = {"escalated": True}
        self.emit(project, s, start, end)
        if r.random() < 0.35:
            rating = r.choice((1, 2, 3, 4, 5, 5, 5)) if not failing else r.choice((1, 2))
            comments = text.SUPPORT_PRAISE if rating >= 4 else text.SUPPORT_COMPLAINTS
            self.feedback(project, s.session_id, rating, r.choice((None, *comments)))
        if last_model is not None and r.random() < 0.15:
            self.feedback(
                project,
                last_model["event_id"],
                r.choice((2, 4, 5)),
                "answer was accurate" if r.random() < 0.5 else None,
            )

    # --- rag-search: retriever + model ---
    def rag_session(self, number: int) -> None:
        r, project = self.rng, "rag-search"
        s = _Session(project, number, self.source(), self.start_time(), r)
        questions = r.sample(text.RAG_QUESTIONS, r.choice((1, 1, 1, 2, 3)))
        failing = r.random() < 0.1
        model = r.choice(("claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022", "gpt-4o"))
        answer = ""
        for qi, question in enumerate(questions):
            with s.chain("rag_pipeline", {"query": question}, metadata={"top_k": 4}) as chain:
                s.tool(
                    "embed_query",
                    {"text": question},
                    {"dimensions": 1536},
                    r.uniform(30, 160),
                    config={"model": "text-embedding-3-small", "provider": "openai"},
                    metadata={"total_tokens": len(question) // 4},
                )
                docs = r.sample(text.RAG_DOCS, 4)
                hits: list[JsonObject] = [
                    {
                        "id": d[0],
                        "title": d[1],
                        "text": d[2],
                        "score": round(r.uniform(0.55, 0.93), 3),
                    }
                    for d in docs
                ]
                hits.sort(key=lambda h: -h["score"])
                retrieval_error = text.ERRORS["timeout"] if failing and qi == 0 else None
                s.tool(
                    "vector_search",
                    {"query": question, "top_k": 4, "index": "kb-prod-v3"},
                    {"documents": hits},
                    r.uniform(20, 300),
                    error=retrieval_error,
                    metadata={"retriever": "pgvector", "num_results": len(hits)},
                )
                context = "\n".join(
                    f"[{i + 1}] {h['title']}: {h['text']}" for i, h in enumerate(hits)
                )
                messages = [
                    {"role": "system", "content": text.RAG_SYSTEM},
                    {"role": "user", "content": f"Context:\n{context}\n\nQuestion: {question}"},
                ]
                answer = f"{hits[0]['text']} [1]"
                model_error = text.ERRORS["overloaded"] if failing and r.random() < 0.5 else None
                s.model(
                    "generate_answer",
                    model,
                    messages,
                    answer,
                    temperature=0.0,
                    error=model_error,
                    template="rag-answer-v7",
                )
                chain["outputs"] = {"answer": answer, "citations": [hits[0]["id"]]}
                chain["metrics"] = {
                    "context_relevance": round(r.uniform(0.4, 1.0), 2),
                    "groundedness": round(r.uniform(0.5, 1.0), 2),
                }
        start = {
            "session_name": "rag-query",
            "source": s.source,
            "user_properties": self.user(),
            "inputs": {"query": questions[0]},
            "config": {"index": "kb-prod-v3", "model": model},
        }
        self.emit(
            project,
            s,
            start,
            {"outputs": {"answer": answer}, "metrics": {"answer_length": len(answer)}},
        )
        if r.random() < 0.4:
            rating = r.choice((1, 3, 4, 5, 5))
            good = ("cited the right doc", "helpful")
            comments = good if rating >= 4 else ("outdated answer", "missed the point")
            self.feedback(project, s.session_id, rating, r.choice((None, *comments)))

    # --- agent-lab: agent loops with nested chains and tools ---
    def agent_step(self, s: _Session, task: str, step: int, model: str, nested: bool) -> str | None:
        """One plan → act → observe step; returns an error string if it failed."""
        r = self.rng
        name, description = r.choice(text.AGENT_TOOLS)
        thought = r.choice(text.AGENT_THOUGHTS)
        with s.chain(f"step_{step}", {"task": task, "step": step}):
            call = {
                "id": f"call_{step}_{r.randint(1000, 9999)}",
                "type": "function",
                "function": {"name": name, "arguments": f'{{"query": "{task[:48]}"}}'},
            }
            s.model(
                "plan_next_action",
                model,
                [
                    {
                        "role": "system",
                        "content": f"You are a research agent. Tools: {name}: {description}",
                    },
                    {"role": "user", "content": task},
                ],
                thought,
                tool_calls=[call],
                temperature=0.7,
            )
            error = text.ERRORS["sql"] if name == "sql_query" and r.random() < 0.15 else None
            s.tool(
                name,
                {"query": task[:60], "step": step},
                {"observation": r.choice(text.AGENT_OBSERVATIONS)},
                r.uniform(50, 1500),
                error=error,
            )
            if nested and r.random() < 0.3:
                with s.chain("sub_agent.literature_review", {"question": task}):
                    for _ in range(r.randint(1, 2)):
                        s.tool(
                            "web_search",
                            {"q": task[:40]},
                            {"results": [r.choice(text.AGENT_OBSERVATIONS)]},
                            r.uniform(200, 900),
                        )
                    s.model(
                        "summarize_findings",
                        "claude-3-5-haiku-20241022",
                        [
                            {
                                "role": "user",
                                "content": "Summarise: " + r.choice(text.AGENT_OBSERVATIONS),
                            }
                        ],
                        r.choice(text.AGENT_OBSERVATIONS),
                        temperature=0.0,
                    )
        return error

    def agent_session(self, number: int) -> None:
        r, project = self.rng, "agent-lab"
        s = _Session(project, number, self.source(), self.start_time(), r)
        task = r.choice(text.AGENT_TASKS)
        model = r.choice(("gpt-4o", "claude-3-5-sonnet-20241022"))
        gives_up = r.random() < 0.15
        errors = []
        with s.chain("agent.run", {"task": task}, config={"max_steps": 12, "model": model}) as run:
            for step in range(1, (12 if gives_up else r.randint(2, 6)) + 1):
                errors.append(self.agent_step(s, task, step, model, nested=True))
            if gives_up:
                run["error"] = text.ERRORS["max_steps"]
            else:
                run["outputs"] = {"final_answer": r.choice(text.AGENT_OBSERVATIONS)}
        start = {
            "session_name": "research-agent",
            "source": s.source,
            "user_properties": {
                "user_id": f"researcher-{r.randint(1, 12):02d}",
                "team": "ml-platform",
            },
            "inputs": {"task": task},
            "metadata": {"agent_version": "0.9.3"},
        }
        end: JsonObject = {"outputs": run.get("outputs") or {}, "metrics": {"steps": len(errors)}}
        if gives_up:
            end["error"] = text.ERRORS["max_steps"]
        self.emit(project, s, start, end)
        if r.random() < 0.3:
            self.feedback(
                project,
                s.session_id,
                r.choice((2, 3, 4, 5)),
                "too many steps" if gives_up else None,
            )

    def big_session(self, number: int) -> None:
        """One deep agent run of exactly BIG_SESSION_EVENTS events, ended a day ago."""
        r, project = self.rng, "agent-lab"
        start_ms = self.now_ms - 1.6 * DAY_MS
        s = _Session(project, number, "production", start_ms, r)
        task = "Audit every service in the monorepo for outdated dependencies and open fix PRs."
        model = "gpt-4o"
        # Largest step: chain + plan + tool + (sub-chain + 2 tools + model); then the
        # root chain, the final report chain and its sections fill the rest exactly.
        largest_step = 7
        with s.chain(
            "deep_research.run", {"task": task}, config={"max_steps": 5000, "model": model}
        ):
            step = 0
            while BIG_SESSION_EVENTS - s.count > largest_step + 2:
                step += 1
                self.agent_step(s, task, step, model, nested=True)
            with s.chain("final_report", {"steps": step}):
                section = 0
                while s.count < BIG_SESSION_EVENTS:
                    section += 1
                    s.model(
                        "write_section",
                        model,
                        [{"role": "user", "content": f"Write section {section} of the report."}],
                        r.choice(text.AGENT_OBSERVATIONS),
                    )
        start = {
            "session_name": "deep-research-agent",
            "source": "production",
            "user_properties": {"user_id": "researcher-01", "team": "ml-platform"},
            "inputs": {"task": task},
            "metadata": {"agent_version": "1.0.0-rc1"},
        }
        self.emit(
            project,
            s,
            start,
            {"outputs": {"final_answer": "Opened 37 pull requests."}, "metrics": {"steps": step}},
        )
        self.feedback(project, s.session_id, 5, "Impressive, but slow: almost two hours")


def demo_writes(now_ms: float, seed: int = SEED) -> list[DemoWrite]:
    """Every request of the demo data set, in the order a client would send them.

    Pure and deterministic: the same `seed` gives the same ids and payloads; times
    fall within the 7 days before `now_ms`.
    """
    builder = _Builder(now_ms, seed)
    for number in range(_SESSIONS["support-bot"]):
        builder.support_session(number)
    for number in range(_SESSIONS["rag-search"]):
        builder.rag_session(number)
    for number in range(_SESSIONS["agent-lab"]):
        builder.agent_session(number)
    builder.big_session(_SESSIONS["agent-lab"])
    return builder.writes

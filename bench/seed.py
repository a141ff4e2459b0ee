"""Seed any store with many realistic events, fast, for the benchmarks that read them.

Writes sessions of ~10 events (a root chain, model, tool and chain events, 1-3 KB of
payload each, `metadata.model` among a few models, varied names, times over the 7
days before now) straight into `Store.write_batch`, in large batches: the planner and
roll-ups are the server's own, only HTTP is skipped. Deterministic for a given seed.

    python bench/seed.py --database-url sqlite:////tmp/big.db --events 1000000

Importable: `seed_events(store, project_id, events)` returns a `Seeded` summary.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from hivekeeper.domain.types import EventPatch, Upsert  # noqa: E402
from hivekeeper.store import Store, open_store  # noqa: E402

MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022")
MODEL_NAMES = ("chat_completion", "plan_next_action", "generate_answer", "summarize", "classify")
TOOL_NAMES = ("search_docs", "vector_search", "sql_query", "web_search", "get_order_status")
CHAIN_NAMES = ("rag_pipeline", "agent_step", "retrieve_context", "rerank", "reflect")
SESSION_NAMES = ("support-chat", "rag-query", "research-agent", "triage", "sql-assistant")
SOURCES = ("production", "production", "production", "staging", "dev")
EVENTS_PER_SESSION = 10
DAY_MS = 86_400_000.0
_CORPUS_WORDS = (
    "the order shipping refund customer model agent tool query result answer context "
    "document retrieval vector index search rank score token prompt completion latency "
    "error retry timeout policy update delivery package warehouse please thanks could "
    "summary details step first next because however data table column revenue week "
    "product feature release version issue ticket status pending resolved email date"
)
_WORDS = _CORPUS_WORDS.split()


@dataclass
class Seeded:
    """What `seed_events` wrote: counts, time, and a few ids the benches query."""

    sessions: int = 0
    events: int = 0
    seconds: float = 0.0
    session_ids: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class _Text:
    """Slices of one pseudo-English corpus: realistic sizes at almost no cost."""

    def __init__(self, rng: random.Random) -> None:
        self.corpus = " ".join(rng.choice(_WORDS) for _ in range(60_000))
        self.rng = rng

    def __call__(self, size: int) -> str:
        start = self.rng.randrange(0, len(self.corpus) - size)
        return self.corpus[start : start + size]


def _ids(rng: random.Random) -> Iterator[str]:
    while True:
        yield str(uuid.UUID(int=rng.getrandbits(128), version=4))


def session_ops(
    project_id: str, rng: random.Random, text: _Text, ids: Iterator[str], now_ms: float, size: int
) -> list[Upsert]:
    """One session row and its `size` events (a root chain, then model/tool/chain)."""
    session_id = next(ids)
    t = now_ms - rng.uniform(0.01, 7.0) * DAY_MS
    source = rng.choice(SOURCES)
    ops = [
        Upsert(
            project_id,
            {
                "event_id": session_id,
                "session_id": session_id,
                "event_type": "session",
                "event_name": rng.choice(SESSION_NAMES),
                "source": source,
                "start_time": t,
                "inputs": {"query": text(rng.randint(80, 300))},
                "user_properties": {"user_id": f"user-{rng.randint(1, 5000):05d}"},
                "metadata": {"app_version": f"2.{rng.randint(0, 9)}"},
            },
        )
    ]
    root = next(ids)
    events: list[EventPatch] = [
        {
            "event_id": root,
            "session_id": session_id,
            "parent_id": session_id,
            "event_type": "chain",
            "event_name": "agent.run",
            "inputs": {"task": text(rng.randint(400, 1200))},
            "outputs": {"answer": text(rng.randint(400, 1200))},
        }
    ]
    for _ in range(size - 1):
        kind = rng.random()
        event: EventPatch
        if kind < 0.5:
            model = rng.choice(MODELS)
            prompt, completion = rng.randint(200, 3000), rng.randint(20, 600)
            event = {
                "event_type": "model",
                "event_name": rng.choice(MODEL_NAMES),
                "config": {"model": model, "temperature": rng.choice((0.0, 0.2, 0.7))},
                "inputs": {
                    "chat_history": [
                        {"role": "system", "content": text(rng.randint(200, 500))},
                        {"role": "user", "content": text(rng.randint(200, 1200))},
                    ]
                },
                "outputs": {"role": "assistant", "content": text(rng.randint(100, 900))},
                "metadata": {
                    "model": model,
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                    "cost": round((prompt * 2.5 + completion * 10) / 1e6, 8),
                },
            }
        elif kind < 0.85:
            event = {
                "event_type": "tool",
                "event_name": rng.choice(TOOL_NAMES),
                "inputs": {"query": text(rng.randint(50, 300)), "top_k": 5},
                "outputs": {"result": text(rng.randint(600, 2200))},
            }
        else:
            event = {
                "event_type": "chain",
                "event_name": rng.choice(CHAIN_NAMES),
                "inputs": {"step": text(rng.randint(300, 900))},
                "outputs": {"result": text(rng.randint(300, 1200))},
            }
        event["event_id"] = next(ids)
        event["session_id"] = session_id
        event["parent_id"] = root
        if rng.random() < 0.03:
            event["error"] = rng.choice(("TimeoutError: deadline exceeded", "RateLimitError: 429"))
        events.append(event)
    # Events run one after another; the root chain spans them all.
    t0 = t
    for event in events[1:]:
        duration = rng.uniform(300, 4000) if event["event_type"] == "model" else rng.uniform(5, 800)
        event["start_time"], event["end_time"], event["duration"] = t, t + duration, duration
        event["source"] = source
        t += duration + rng.uniform(1, 30)
    events[0].update(start_time=t0, end_time=t, duration=t - t0, source=source)
    ops.extend(Upsert(project_id, e) for e in events)
    return ops


def seed_events(
    store: Store,
    project_id: str,
    events: int,
    *,
    seed: int = 1,
    now_ms: float | None = None,
    batch_ops: int = 20_000,
    per_session: int = EVENTS_PER_SESSION,
    progress: bool = False,
) -> Seeded:
    """Write ~`events` events (whole sessions of `per_session`) into `project_id`.

    Every `batch_ops` operations go to `store.write_batch` as one transaction. Keeps
    the first 100 session ids in the result, for benches that open sessions.
    """
    # String seeds: an integer seed would replay the load generator's own stream
    # (it uses random.Random(1) too), and its session ids would collide with ours.
    rng = random.Random(f"hivekeeper-seed:{seed}")
    text, ids = _Text(random.Random(f"hivekeeper-text:{seed}")), _ids(rng)
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    done = Seeded()
    started = time.perf_counter()
    pending: list[Upsert] = []
    while done.events < events:
        ops = session_ops(project_id, rng, text, ids, now_ms, per_session)
        if len(done.session_ids) < 100:
            done.session_ids.append(ops[0].patch["event_id"])
        pending.extend(ops)
        done.sessions += 1
        done.events += len(ops) - 1
        if len(pending) >= batch_ops:
            store.write_batch(pending, time.time() * 1000)
            pending = []
            if progress:
                elapsed = time.perf_counter() - started
                print(
                    f"\r  {done.events:,} events, {done.events / elapsed:,.0f}/s",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
    if pending:
        store.write_batch(pending, time.time() * 1000)
    if progress:
        print(file=sys.stderr)
    done.seconds = time.perf_counter() - started
    return done


def ensure_project(store: Store, name: str) -> str:
    """The id of project `name`, created if missing."""
    for project in store.list_projects():
        if project.name == name:
            return project.id
    return store.create_project(name).id


def main(argv: list[str] | None = None) -> Any:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--project", default="bench")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-ops", type=int, default=20_000)
    args = parser.parse_args(argv)
    store = open_store(args.database_url)
    store.open()
    try:
        project_id = ensure_project(store, args.project)
        seeded = seed_events(
            store, project_id, args.events, seed=args.seed, batch_ops=args.batch_ops, progress=True
        )
    finally:
        store.close()
    print(
        f"seeded {seeded.events:,} events in {seeded.sessions:,} sessions into project "
        f"{args.project} in {seeded.seconds:.1f} s: {seeded.rate:,.0f} events/s"
    )
    return seeded


if __name__ == "__main__":
    main()

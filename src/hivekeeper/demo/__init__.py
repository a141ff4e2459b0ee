"""The demo data set: load it into any store, and mint keys to browse it.

`hivekeeper demo` and `hivekeeper serve --demo` use this. The requests of
`dataset.demo_writes` are planned by the same functions the REST routes call and
written through the writer with each project's redaction rules, so roll-ups, merges
and redaction are those of real traffic. The experiments of `experiments` (a dataset,
prompts, evaluators, three runs and their sessions) follow, step by step, each
through a writer whose clock reads the step's date.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from hivekeeper.demo import experiments
from hivekeeper.demo.dataset import (
    BIG_SESSION_EVENTS,
    PROJECTS,
    SEED,
    DemoWrite,
    big_session_id,
    demo_writes,
)
from hivekeeper.demo.experiments import Step, experiment_steps
from hivekeeper.domain.evaluation.ops import PutRun, SaveVersion
from hivekeeper.domain.events import parse_update
from hivekeeper.domain.types import Update, Upsert, WriteOp
from hivekeeper.ingest import RedactionRules, Writer, plan_batch, plan_session, unwrap
from hivekeeper.store import Store

__all__ = [
    "BIG_SESSION_EVENTS",
    "PROJECTS",
    "SEED",
    "DemoLoad",
    "big_session_id",
    "create_demo_keys",
    "demo_ops",
    "demo_writes",
    "experiments",
    "load_demo",
]

# Operations per transaction: large enough to amortise the commit, small enough that
# a server reading the same database never waits long behind one.
DEFAULT_BATCH_OPS = 2_000


@dataclass(frozen=True, slots=True)
class DemoLoad:
    """What `load_demo` did: `written` is False when the data set was already there,
    `experiment_steps` how many steps of the experiments it wrote (none when they were)."""

    written: bool
    project_ids: dict[str, str]
    sessions: int
    events: int
    seconds: float
    experiment_steps: int = 0


def demo_ops(writes: Sequence[DemoWrite], project_ids: dict[str, str]) -> Iterator[WriteOp]:
    """The write operations the API would plan for these requests.

    Raises ValidationFailed as the API would, should a request be malformed.
    """
    for write in writes:
        project_id = project_ids[write.project]
        if write.kind == "session":
            op, _ = plan_session(project_id, unwrap(write.body, "session"))
            yield op
        elif write.kind == "batch":
            yield from plan_batch(project_id, write.body).ops
        else:
            yield Update(project_id, parse_update(write.body))


def load_demo(
    store: Store,
    *,
    now_ms: float | None = None,
    force: bool = False,
    batch_ops: int = DEFAULT_BATCH_OPS,
) -> DemoLoad:
    """Create the demo projects (if missing) and write the demo data set into `store`.

    Idempotent: ids are deterministic, so writing again merges into the same rows. The
    events count as loaded when their last event exists (batches commit in order), and
    are then not written again unless `force`. Each step of the experiments is one
    transaction, written unless its first record exists (never twice: a step creates
    records); so a load cut short is completed by the next. Times are the 7 days (the
    experiments 8) before `now_ms`. Raises ValidationFailed if a project has a
    redaction rule that cannot be compiled.
    """
    started = time.perf_counter()
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    project_ids = _ensure_projects(store)
    writes = demo_writes(now_ms)
    ops = list(demo_ops(writes, project_ids))
    sessions = sum(1 for w in writes if w.kind == "session")
    events = sum(len(w.body["events"]) for w in writes if w.kind == "batch")
    last = next(op for op in reversed(ops) if isinstance(op, Upsert))
    there = not force and store.get_event(last.project_id, last.patch["event_id"]) is not None
    if not there:
        asyncio.run(_write(store, ops, batch_ops))
    steps = experiment_steps(project_ids[experiments.PROJECT], now_ms)
    missing = [step for step in steps if not _step_written(store, step)]
    if missing:
        asyncio.run(_write_steps(store, missing, project_ids))
    seconds = time.perf_counter() - started
    written = not there or bool(missing)
    return DemoLoad(written, project_ids, sessions, events, seconds, len(missing))


def create_demo_keys(store: Store) -> list[tuple[str, str]]:
    """A new full-access key per demo project: `(project name, secret)`, shown once."""
    return [(name, store.create_key(name, "full")[1]) for name in PROJECTS]


async def _write(store: Store, ops: Sequence[WriteOp], batch_ops: int) -> None:
    """`ops` through a writer of their own, as the server writes: each project's
    redaction rules applied, `batch_ops` a transaction, each committed before the next
    is queued (so the last event exists only once all the rest does)."""
    rules = RedactionRules(store)
    rules.load()
    writer = Writer(store, max_queue_ops=batch_ops, max_batch_ops=batch_ops, redact=rules.apply)
    writer.start()
    try:
        for i in range(0, len(ops), batch_ops):
            await writer.submit(ops[i : i + batch_ops])
    finally:
        writer.close()


async def _write_steps(
    store: Store, steps: Sequence[Step], project_ids: dict[str, str]
) -> None:
    """Each step as one request through a writer whose clock reads the step's date, so
    its versions and runs are dated then; redaction rules apply as in `_write`."""
    rules = RedactionRules(store)
    rules.load()
    at_ms = [steps[0].at_ms]
    writer = Writer(store, clock=lambda: at_ms[0] / 1000, redact=rules.apply)
    writer.start()
    try:
        for step in steps:
            at_ms[0] = step.at_ms
            ops: list[WriteOp] = []
            for item in step.items:
                ops.extend(demo_ops([item], project_ids) if isinstance(item, DemoWrite) else [item])
            await writer.submit(ops)
    finally:
        writer.close()


def _step_written(store: Store, step: Step) -> bool:
    """Whether a step's transaction committed: its first record (a run it creates, or
    a version it saves) exists."""
    first = step.items[0]
    if isinstance(first, PutRun):
        return store.get_run(first.project_id, first.run_id) is not None
    if isinstance(first, SaveVersion):
        found = store.list_definitions(
            first.project_id, first.kind, definition_id=first.definition_id
        )
        return any(v.change_id == first.change_id for d in found for v in d.versions)
    raise TypeError(f"a step cannot start with {type(first).__name__}")


def _ensure_projects(store: Store) -> dict[str, str]:
    existing = {p.name: p.id for p in store.list_projects()}
    for name in PROJECTS:
        if name not in existing:
            existing[name] = store.create_project(name).id
    return {name: existing[name] for name in PROJECTS}

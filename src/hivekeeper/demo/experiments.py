"""The demo's experiments, in project support-bot: a golden-set dataset in four
versions, two prompts with versions deployed to dev, staging and prod, four
evaluators, and three runs of the support assistant over the dataset, each better
than the one before on some metrics and worse on others.

Each record is what a client would send (the HoneyHive SDK's `evaluate()` for the
runs and their sessions), read by the domain's own parsers, the REST routes' first
step, into writer operations. They come in `Step`s dated over the 8 days before
`now_ms`; the loader writes each step through a writer whose clock reads the step's
time, so versions and runs are dated as if made then. Pure and deterministic: ids and
scores depend on the seed alone.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from hivekeeper.demo import text
from hivekeeper.demo.dataset import DAY_MS, SEED, DemoWrite, JsonObject, token_cost
from hivekeeper.domain.evaluation import configurations, datapoints, datasets, evaluators, runs
from hivekeeper.domain.evaluation.ops import (
    ChangeMembership,
    DatapointWrite,
    Deploy,
    PutDatapoints,
    PutRun,
    SaveDataset,
    SaveVersion,
)
from hivekeeper.domain.evaluation.versions import DEPLOYED
from hivekeeper.domain.types import WriteOp

PROJECT = "support-bot"
DATASET_NAME = "support-golden-set"
_NAMESPACE = uuid.UUID("5d0c6f0e-8a44-4f55-9a2b-3c1f7e2d9b61")
_FUNCTION = "support_agent"
_FIRST_VERSION = 20  # golden-set rows in the dataset's first version; the rest come with v2
_WORDS_AT_MOST = 35  # response_length passes at or below this many words


@dataclass(frozen=True, slots=True)
class Step:
    """Writes made at `at_ms`, in order: evaluation operations and client requests."""

    at_ms: float
    items: tuple[WriteOp | DemoWrite, ...]


@dataclass(frozen=True, slots=True)
class _Run:
    number: int
    name: str
    model: str
    prompt_version: int
    style: Literal["terse", "warm", "concise"]
    wrong: float  # chance an answer gets a fact wrong
    hallucinates: float  # chance it adds a claim the policy does not make
    errors: tuple[int, ...]  # golden-set rows whose call fails
    branch: str
    commit_message: str


_RUNS = (
    _Run(1, "baseline: gpt-4o-mini, prompt v1", "gpt-4o-mini", 1, "terse", 0.3, 0.05, (),
         "main", "Support agent: first golden-set baseline"),
    _Run(2, "warmer prompt: gpt-4o-mini, prompt v2", "gpt-4o-mini", 2, "warm", 0.12, 0.1, (),
         "prompt/warm-tone", "Prompt v2: thank the customer and offer more help"),
    _Run(3, "claude-3-5-haiku, prompt v3", "claude-3-5-haiku-20241022", 3, "concise", 0.06,
         0.3, (14,), "model/haiku", "Switch the support agent to Claude 3.5 Haiku"),
)  # fmt: skip
_METRICS: tuple[JsonObject, ...] = (
    {"name": "correctness", "type": "LLM", "return_type": "float",
     "criteria": "Rate 0-1 how well the answer agrees with the reference answer.",
     "description": "Agreement with the golden set's reference answer",
     "needs_ground_truth": True, "model_provider": "openai", "model_name": "gpt-4o",
     "threshold": {"min": 0.6}},
    {"name": "groundedness", "type": "LLM", "return_type": "boolean",
     "criteria": "Does the answer state only what the support policy says?",
     "threshold": {"pass_when": True}, "model_provider": "openai", "model_name": "gpt-4o"},
    {"name": "response_length", "type": "PYTHON", "return_type": "float",
     "criteria": "def response_length(outputs, inputs):\n    return len(outputs['answer'].split())",
     "description": "Words in the answer: shorter is better",
     "threshold": {"max": _WORDS_AT_MOST}},
    {"name": "tone", "type": "LLM", "return_type": "categorical",
     "criteria": "Classify the tone of the answer: friendly, neutral or curt.",
     "categories": [{"category": "friendly", "score": 1}, {"category": "neutral", "score": 0.5},
                    {"category": "curt", "score": 0}],
     "threshold": {"passing_categories": ["friendly", "neutral"]}},
)  # fmt: skip


def _id(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def _change(name: str) -> str:
    """A deterministic change id (the writer orders versions by it after their time)."""
    return uuid.uuid5(_NAMESPACE, f"change/{name}").hex


def dataset_id() -> str:
    return _id("dataset/support-golden-set")


def datapoint_id(index: int) -> str:
    return _id(f"datapoint/{index}")


def run_id(number: int) -> str:
    return _id(f"run/{number}")


def last_run_id() -> str:
    """The run written last: once it exists, every experiment record does."""
    return run_id(_RUNS[-1].number)


def prompt_id(name: str) -> str:
    return _id(f"prompt/{name}")


def metric_id(name: str) -> str:
    return _id(f"metric/{name}")


def experiment_steps(project_id: str, now_ms: float, seed: int = SEED) -> list[Step]:
    """Every experiment record of the demo, as steps in time order. Raises
    ValidationFailed as the API would, should a body be malformed."""
    golden = _golden()
    v1 = list(range(_FIRST_VERSION))
    v2 = list(range(len(golden)))
    v4 = [i for i in v2 if i != text.GOLDEN_REMOVED]
    edited = dict(golden)
    for index, answer in text.GOLDEN_EDITS:
        edited[index] = _row(index, answer)
    day = DAY_MS
    return [
        Step(
            now_ms - 8 * day,
            (
                *(_metric(project_id, m) for m in _METRICS),
                _prompt(project_id, "support-answer", 1, ("prod", "staging", "dev")),
                _prompt(project_id, "triage-classifier", 1, ("prod", "staging", "dev")),
                _dataset(project_id),
                _datapoints(project_id, [golden[i] for i in v1], new=True),
            ),
        ),
        Step(now_ms - 6 * day, _run(project_id, _RUNS[0], golden, v1, now_ms - 6 * day, seed)),
        Step(
            now_ms - 5 * day,
            (
                _prompt(project_id, "support-answer", 2, ("staging", "dev")),
                _metric_update(project_id, "correctness", {"threshold": {"min": 0.7}}),
                _datapoints(project_id, [golden[i] for i in v2 if i not in v1], new=True),
            ),
        ),
        Step(
            now_ms - 3 * day,
            (
                *_run(project_id, _RUNS[1], golden, v2, now_ms - 3 * day, seed),
                Deploy(
                    project_id,
                    "configuration",
                    prompt_id("support-answer"),
                    "prod",
                    _change("prompt/support-answer/2"),
                    _change("deploy/support-answer/2"),
                ),
            ),
        ),
        Step(
            now_ms - 2 * day,
            (
                _prompt(project_id, "support-answer", 3, ("dev",)),
                _prompt(project_id, "triage-classifier", 2, ("dev",)),
                _datapoints(project_id, [edited[i] for i, _ in text.GOLDEN_EDITS], new=False),
                ChangeMembership(
                    project_id,
                    dataset_id(),
                    remove=(datapoint_id(text.GOLDEN_REMOVED),),
                    change_id=_change("dataset/remove"),
                ),
            ),
        ),
        Step(now_ms - 1 * day, _run(project_id, _RUNS[2], edited, v4, now_ms - 1 * day, seed)),
    ]


# --- the definitions and the dataset ----------------------------------------------


def _metric(project_id: str, body: JsonObject) -> SaveVersion:
    name = str(body["name"])
    return SaveVersion(
        project_id,
        "metric",
        metric_id(name),
        evaluators.parse_metric(body),
        create=True,
        message="first version",
        deploy=(DEPLOYED,),
        change_id=_change(f"metric/{name}/1"),
    )


def _metric_update(project_id: str, name: str, change: JsonObject) -> SaveVersion:
    """A metric's second version, deployed (as the legacy `PUT /v1/metrics` does)."""
    first = next(m for m in _METRICS if m["name"] == name)
    content = {**evaluators.parse_metric(first), **evaluators.parse_metric_update(change)}
    return SaveVersion(
        project_id,
        "metric",
        metric_id(name),
        content,
        message="stricter threshold",
        deploy=(DEPLOYED,),
        change_id=_change(f"metric/{name}/2"),
    )


_PROMPTS: dict[str, tuple[JsonObject, ...]] = {
    "support-answer": tuple(
        {"name": "support-answer", "provider": provider, "tags": ["support"],
         "parameters": {"call_type": "chat", "model": model,
                        "hyperparameters": {"temperature": temperature, "max_tokens": 300},
                        "template": [{"role": "system", "content": system},
                                     {"role": "user", "content": "{{question}}"}]}}
        for provider, model, temperature, system in (
            ("openai", "gpt-4o-mini", 0.2, text.SUPPORT_PROMPTS[0]),
            ("openai", "gpt-4o-mini", 0.4, text.SUPPORT_PROMPTS[1]),
            ("anthropic", "claude-3-5-haiku-20241022", 0.2, text.SUPPORT_PROMPTS[2]),
        )
    ),
    "triage-classifier": tuple(
        {"name": "triage-classifier", "provider": "openai", "tags": ["routing"],
         "parameters": {"call_type": "chat", "model": model,
                        "responseFormat": {"type": "json_object"},
                        "hyperparameters": {"temperature": 0.0},
                        "template": [{"role": "system", "content":
                                      "Classify the message as order, refund, shipping or "
                                      "other. Answer {\"topic\": …}."},
                                     {"role": "user", "content": "{{message}}"}]}}
        for model in ("gpt-4o-mini", "gpt-4o")
    ),
}  # fmt: skip


def _prompt(project_id: str, name: str, version: int, envs: Sequence[str]) -> SaveVersion:
    """Version `version` of a prompt, deployed to `envs`: a create, then updates, each
    version the previous one with the update's fields replaced."""
    bodies = _PROMPTS[name]
    content = configurations.next_content(None, configurations.parse_create(bodies[0]))
    for body in bodies[1:version]:
        content = configurations.next_content(content, configurations.parse_update(body))
    return SaveVersion(
        project_id,
        "configuration",
        prompt_id(name),
        content,
        create=version == 1,
        message=f"v{version}",
        deploy=tuple(envs),
        change_id=_change(f"prompt/{name}/{version}"),
    )


def _dataset(project_id: str) -> SaveDataset:
    request = datasets.parse_dataset(
        {
            "name": DATASET_NAME,
            "description": "Reference answers to the questions customers ask most",
        }
    )
    return SaveDataset(
        project_id,
        dataset_id(),
        name=request.name,
        description=request.description,
        create=True,
        change_id=_change("dataset/create"),
    )


def _golden() -> dict[int, JsonObject]:
    return {i: _row(i, answer) for i, (_, answer, _) in enumerate(text.GOLDEN_SET)}


def _row(index: int, answer: str) -> JsonObject:
    question, _, topic = text.GOLDEN_SET[index]
    return {
        "id": datapoint_id(index),
        "inputs": {"question": question},
        "ground_truth": {"answer": answer},
        "metadata": {"topic": topic},
    }


def _datapoints(project_id: str, rows: Sequence[JsonObject], *, new: bool) -> PutDatapoints:
    """New rows added to the dataset (one version), or edits of rows it holds."""
    writes = tuple(
        DatapointWrite(
            str(row["id"]),
            datapoints.apply_patch(
                None,
                datapoints.parse_datapoint({k: v for k, v in row.items() if k != "id"}),
            ),
            new=new,
        )
        for row in rows
    )
    return PutDatapoints(
        project_id,
        writes,
        dataset_ids=(dataset_id(),) if new else (),
        change_id=_change(f"datapoints/{'+'.join(str(r['id']) for r in rows)}"),
    )


# --- a run, as evaluate() sends it ------------------------------------------------


def _run(
    project_id: str,
    plan: _Run,
    rows: dict[int, JsonObject],
    indexes: Sequence[int],
    start_ms: float,
    seed: int,
) -> tuple[WriteOp | DemoWrite, ...]:
    """The run's create, each datapoint's session (start, spans, outputs update) and
    the run's completion with its session ids."""
    the_run = run_id(plan.number)
    commit = uuid.uuid5(_NAMESPACE, f"commit/{plan.number}").hex[:40]
    create = runs.parse_run_create(
        {
            "run_id": the_run,
            "name": plan.name,
            "status": "running",
            "dataset_id": dataset_id(),
            "metadata": {
                "git": {
                    "branch": plan.branch,
                    "commit_hash": commit,
                    "commit_hash_short": commit[:7],
                    "commit_message": plan.commit_message,
                    "author_name": "Dana Demo",
                    "is_dirty": False,
                }
            },
            "configuration": {
                "function": _FUNCTION,
                "evaluators": [m["name"] for m in _METRICS],
                "max_workers": 4,
                "aggregate_function": "average",
                "model": plan.model,
                "prompt": {"id": prompt_id("support-answer"), "version": plan.prompt_version},
            },
            "datapoint_ids": [datapoint_id(i) for i in indexes],
        }
    )
    items: list[WriteOp | DemoWrite] = [PutRun(project_id, the_run, create, create=True)]
    sessions = []
    for n, index in enumerate(indexes):
        rng = random.Random(f"{seed}/experiments/{plan.number}/{index}")
        session, writes = _session(plan, rows[index], start_ms + n * 7_000, rng)
        sessions.append(session)
        items.extend(writes)
    done = runs.parse_run_update({"status": "completed", "event_ids": sessions})
    items.append(PutRun(project_id, the_run, done))
    return tuple(items)


@dataclass(frozen=True, slots=True)
class _Answer:
    text: str
    correctness: float
    explanation: str
    grounded: bool
    tone: str


def _session(
    plan: _Run, row: JsonObject, start_ms: float, rng: random.Random
) -> tuple[str, list[DemoWrite]]:
    dp = str(row["id"])
    session = _id(f"session/{plan.number}/{dp}")
    question = str(row["inputs"]["question"])
    reference = str(row["ground_truth"]["answer"])
    metadata = {"run_id": run_id(plan.number), "dataset_id": dataset_id(), "datapoint_id": dp}
    start = {
        "session_id": session,
        "session_name": plan.name,
        "source": "evaluation",
        "inputs": row["inputs"],
        "metadata": metadata,
        "start_time": start_ms,
    }
    failed = any(dp == datapoint_id(i) for i in plan.errors)
    answer = _answer(plan, reference, rng)
    latency = rng.uniform(600, 2400) + 12 * len(answer.text.split())
    span: JsonObject = {
        "event_id": _id(f"span/{plan.number}/{dp}"),
        "parent_id": session,
        "session_id": session,
        "event_type": "chain",
        "event_name": _FUNCTION,
        "start_time": start_ms + 5,
        "end_time": start_ms + 5 + latency,
        "inputs": {"dp": json.dumps(row)},
        "metadata": metadata,
    }
    model = _model_event(plan, question, answer.text, span, rng, failed=failed)
    events = [span, model]
    if failed:
        span["error"] = text.ERRORS["overloaded"]
        events.append(
            {
                "event_id": _id(f"error/{plan.number}/{dp}"),
                "session_id": session,
                "parent_id": session,
                "event_type": "tool",
                "event_name": f"{_FUNCTION}_error",
                "start_time": span["end_time"],
                "end_time": span["end_time"],
                "error": text.ERRORS["overloaded"],
                "metadata": metadata,
            }
        )
    else:
        span["outputs"] = {"result": answer.text}
        span["metrics"] = {
            "correctness": round(answer.correctness, 3),
            "correctness_explanation": answer.explanation,
            "groundedness": answer.grounded,
            "response_length": len(answer.text.split()),
            "tone": answer.tone,
        }
    writes = [
        DemoWrite(PROJECT, "session", {"session": start}),
        DemoWrite(PROJECT, "batch", {"events": events}),
    ]
    if not failed:
        update = {"event_id": session, "outputs": {"answer": answer.text},
                  "feedback": {"ground_truth": row["ground_truth"]}}  # fmt: skip
        writes.append(DemoWrite(PROJECT, "update", update))
    return session, writes


def _model_event(
    plan: _Run,
    question: str,
    answer: str,
    span: JsonObject,
    rng: random.Random,
    *,
    failed: bool,
) -> JsonObject:
    prompt = len(text.SUPPORT_PROMPTS[plan.prompt_version - 1] + question) // 4 + 12
    completion = 0 if failed else len(answer) // 4 + 4
    event: JsonObject = {
        "event_id": _id(f"model/{span['event_id']}"),
        "session_id": span["session_id"],
        "parent_id": span["event_id"],
        "event_type": "model",
        "event_name": "anthropic.messages" if "claude" in plan.model else "openai.chat",
        "start_time": span["start_time"] + rng.uniform(5, 40),
        "end_time": span["end_time"] - rng.uniform(5, 40),
        "config": {
            "model": plan.model,
            "provider": "anthropic" if "claude" in plan.model else "openai",
            "temperature": 0.2,
        },
        "inputs": {
            "chat_history": [
                {"role": "system", "content": text.SUPPORT_PROMPTS[plan.prompt_version - 1]},
                {"role": "user", "content": question},
            ]
        },
        "metadata": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "cost": round(token_cost(plan.model, prompt, completion), 8),
        },
    }
    if failed:
        event["error"] = text.ERRORS["overloaded"]
    else:
        event["outputs"] = {"role": "assistant", "content": answer}
    return event


_NUMBER = re.compile(r"\d+")


def _answer(plan: _Run, reference: str, rng: random.Random) -> _Answer:
    """What the run's model answered, and how the evaluators scored it."""
    said, explanation = reference, "Agrees with the reference."
    correctness = rng.uniform(0.82, 1.0)
    if rng.random() < plan.wrong:
        said, explanation = _mistake(reference, rng)
        correctness = rng.uniform(0.2, 0.45)
    if plan.style == "terse":
        first = re.split(r"(?<=[.;])\s", said, maxsplit=1)
        if len(first) > 1:
            said = first[0].rstrip(";.") + "."
            correctness = min(correctness, rng.uniform(0.5, 0.68))
            explanation = "Leaves out part of the reference answer."
    elif plan.style == "warm":
        said = f"Thanks for reaching out! {said} Is there anything else I can help you with today?"
    grounded = rng.random() >= plan.hallucinates
    if not grounded:
        said += rng.choice(text.HALLUCINATIONS)
        explanation += " Adds a promise the policy does not make."
    tone = {
        "terse": "curt" if rng.random() < 0.4 else "neutral",
        "warm": "friendly",
        "concise": "friendly" if rng.random() < 0.5 else "neutral",
    }[plan.style]
    return _Answer(said, correctness, explanation, grounded, tone)


def _mistake(reference: str, rng: random.Random) -> tuple[str, str]:
    """The reference with one fact wrong: a number changed, else yes for no."""
    numbers = _NUMBER.findall(reference)
    if numbers:
        right = rng.choice(numbers)
        wrong = str(int(right) + rng.choice((1, 2, 5, 10)))
        return reference.replace(right, wrong, 1), f"Says {wrong} where the reference says {right}."
    if reference.startswith("Yes"):
        return "No" + reference[3:], "Answers no where the reference answers yes."
    if reference.startswith("No"):
        return "Yes" + reference[2:], "Answers yes where the reference answers no."
    return f"{reference} You need the original receipt.", "Adds a rule the policy does not have."

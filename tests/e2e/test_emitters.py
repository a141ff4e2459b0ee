"""Every OpenTelemetry LLM instrumentation lands complete: the real libraries, a real
server, a fake OpenAI server, four calls each (a chat, a streamed chat with usage, a
two-turn tool call, an error).

Each library patches `openai` globally, so each runs in its own interpreter
(`scenarios/emitters.py`). Traceloop and openlit pin OpenTelemetry's contrib packages
below the official GenAI instrumentation's, so each runs in a virtual environment of
its own, built by uv from `emitters/<library>.txt` (exact pins, installed without
resolving) under `.venv-emitters/<library>` and kept until the pins change; the others
are test dependencies. For each library: every span it finished is stored; each call is a session
named by its root span, with its user and source; the model events carry their type,
model, messages in and out, tokens and tool calls, and hang in one tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hivekeeper.ingest.span_mapping import span_event_id, trace_session_id
from tests.support.fake_llm import ERROR_MESSAGE, REPLY, fake_openai
from tests.support.reads import session_tree, walk
from tests.support.scenario import run_scenario
from tests.support.server import LiveServer, free_port, run_server
from tests.support.wire import recording_proxy

ROOT = Path(__file__).resolve().parents[2]
PINS = Path(__file__).resolve().parent / "emitters"
VENVS = ROOT / ".venv-emitters"
EMITTERS = ["genai-logs", "genai-spans", "grpc", "openinference", "traceloop", "openlit", "logfire"]


def emitter_python(emitter: str) -> str:
    """The interpreter to run `emitter` with: ours, or its own venv's (built when its
    pins changed since it was last built)."""
    pins = PINS / f"{emitter}.txt"
    if not pins.exists():
        return sys.executable
    venv = VENVS / emitter
    stamp = venv / "pins.txt"
    python = venv / "bin" / "python"
    wanted = pins.read_text()
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        # uv builds one in ~15 s from a cold cache (pip: ~90 s with a warm one).
        uv = [sys.executable, "-m", "uv", "--quiet"]
        subprocess.run([*uv, "venv", "--python", sys.executable, str(venv)], check=True)
        install = ["pip", "install", "--no-deps", "--python", str(python), "-r", str(pins)]
        subprocess.run([*uv, *install], check=True)
        stamp.write_text(wanted)
    return str(python)


@pytest.fixture
def emitter_server(tmp_path: Path) -> Any:
    with run_server(tmp_path, "sqlite", grpc_port=free_port()) as live:
        yield live


def _run(server: LiveServer, emitter: str) -> tuple[dict[str, Any], list[Any]]:
    python = emitter_python(emitter)
    with fake_openai() as llm, recording_proxy(server.url) as proxy:
        run = run_scenario(
            "emitters",
            server_url=proxy.url,
            api_key=server.key,
            python=python,
            timeout_s=180,
            env={
                "EMITTER": emitter,
                "SCENARIO_LLM_URL": llm.base_url,
                "SCENARIO_GRPC_URL": f"127.0.0.1:{server.settings.grpc_port}",
            },
        )
    failed = [(e.path, e.status, e.answer[:200]) for e in proxy.exchanges if e.status != 200]
    return run.result, failed


def _events(tree: dict[str, Any]) -> list[dict[str, Any]]:
    return [child for _, child in walk(tree)]


def _models(tree: dict[str, Any]) -> list[dict[str, Any]]:
    models = [e for e in _events(tree) if e["event_type"] == "model"]
    return sorted(models, key=lambda e: e["start_time"])


def _history(event: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(m.get("role"), m.get("content")) for m in event["inputs"]["chat_history"]]


@pytest.mark.parametrize("emitter", EMITTERS)
def test_every_emitter_lands_complete(emitter_server: LiveServer, emitter: str) -> None:
    result, failed = _run(emitter_server, emitter)
    assert failed == []
    assert result["replies"] == {
        "chat": REPLY, "stream": REPLY, "tool": REPLY, "error": "BadRequestError"
    }  # fmt: skip
    with emitter_server.client() as api:
        trees = {
            name: session_tree(api, trace_session_id(trace_id))
            for name, trace_id in result["traces"].items()
        }

    # Every span the library finished is stored, in its trace's session tree.
    stored = {e["event_id"] for tree in trees.values() for e in _events(tree)}
    finished = {span_event_id(s["trace_id"], s["span_id"]) for s in result["spans"]}
    assert finished - stored == set()
    # Every log record naming a span is one slot of that span's event.
    slots = [
        slot
        for tree in trees.values()
        for event in _events(tree)
        for slot in event["metadata"].get("otel_log_records", {}).values()
    ]
    assert len(slots) == len([r for r in result["logs"] if r["span_id"] != "0" * 16])

    for name, tree in trees.items():
        # The session: named by its root span, with its user and environment.
        assert (tree["event_name"], tree["source"]) == (f"{name} turn", "ci"), name
        assert tree["user_properties"]["user_id"] == "user-7"
        (root,) = tree["children"]
        assert (root["event_name"], root["event_type"]) == (f"{name} turn", "chain")
        # One tree: every event hangs under the root span.
        assert {e["session_id"] for e in _events(tree)} == {tree["event_id"]}
        assert all(e["event_type"] in ("model", "chain") for e in _events(tree)), name

    (chat,) = _models(trees["chat"])
    assert chat["config"]["model"].startswith("gpt-4o-mini")
    assert _history(chat)[-2:] == [("system", "You are terse."), ("user", "Weather in Paris?")]
    assert chat["outputs"]["content"] == REPLY
    assert (chat["metadata"]["prompt_tokens"], chat["metadata"]["completion_tokens"]) == (12, 6)

    # Costed from the shipped price table, unless the library sent a cost of its own.
    for name, event in (("chat", chat), ("stream", _models(trees["stream"])[0])):
        meta = event["metadata"]
        assert meta["cost_source"] in ("computed", "given"), meta
        if meta["cost_source"] == "computed":
            assert meta["cost"] == pytest.approx((12 * 0.15 + 6 * 0.60) / 1_000_000)
        assert trees[name]["metadata"]["cost"] == pytest.approx(meta["cost"])

    (stream,) = _models(trees["stream"])
    assert stream["outputs"]["content"] == REPLY
    assert (stream["metadata"]["prompt_tokens"], stream["metadata"]["completion_tokens"]) == (12, 6)
    assert _history(stream)[-1] == ("user", "Weather in Paris?")

    first, second = _models(trees["tool"])
    (call,) = first["outputs"]["tool_calls"]
    assert call["function"]["name"] == "lookup_weather"
    arguments = call["function"]["arguments"]  # JSON text, or an object as GenAI sends it
    assert (json.loads(arguments) if isinstance(arguments, str) else arguments) == {
        "city": "Paris"
    }
    assert _history(second)[-1] == ("tool", "sunny")
    assert second["outputs"]["content"] == REPLY

    (error,) = _models(trees["error"])
    assert ERROR_MESSAGE in error["error"]
    assert error["config"]["model"] == "no-such-model"

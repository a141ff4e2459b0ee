"""Runs a client script from `tests/e2e/scenarios/` in its own interpreter.

The honeyhive tracer installs global OpenTelemetry state (a tracer provider, context
propagators) that cannot be undone in-process, so each run gets a fresh interpreter,
as an application would. The script learns where to send from `SCENARIO_SERVER_URL`
and `SCENARIO_API_KEY`; its last stdout line is one JSON object (log lines come first).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCENARIOS = Path(__file__).resolve().parent.parent / "e2e" / "scenarios"
# Variables the SDKs read on their own; a developer's shell must not change a run.
_CLIENT_ENV = re.compile(r"^(HH_|HONEYHIVE_|OTEL_|TRACELOOP_|OPENAI_|OPENINFERENCE_|LANGFUSE_)")
# A warning or error from the honeyhive logger (JSON lines on stdout), from Python
# logging (the OpenTelemetry exporter, on stderr), or an export failure in any words.
# Clients log failed exports and failed session calls instead of raising.
_PROBLEM = re.compile(
    r'"level": "(WARNING|ERROR|CRITICAL)"|^(WARNING|ERROR|CRITICAL):|'
    r"export failed|failed to export|encountered while exporting",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ScenarioRun:
    result: dict[str, Any]
    stdout: str
    stderr: str

    def logged_problems(self) -> list[str]:
        """Warnings and errors the client logged, failed exports among them."""
        lines = [*self.stdout.splitlines(), *self.stderr.splitlines()]
        return [line for line in lines if _PROBLEM.search(line)]


def run_scenario(
    name: str,
    *,
    server_url: str,
    api_key: str,
    env: dict[str, str] | None = None,
    timeout_s: float = 60,
) -> ScenarioRun:
    """Run `scenarios/<name>.py` to completion; fail the test if it exits non-zero."""
    script = SCENARIOS / f"{name}.py"
    return run_script(script, server_url=server_url, api_key=api_key, env=env, timeout_s=timeout_s)


def run_script(
    script: Path,
    *,
    server_url: str,
    api_key: str,
    env: dict[str, str] | None = None,
    timeout_s: float = 60,
) -> ScenarioRun:
    """Run the client script at `script` as `run_scenario` runs a scenario."""
    name = script.stem
    environ = {k: v for k, v in os.environ.items() if not _CLIENT_ENV.match(k)}
    environ.update(SCENARIO_SERVER_URL=server_url, SCENARIO_API_KEY=api_key, PYTHONUNBUFFERED="1")
    environ.update(env or {})
    proc = subprocess.run(
        [sys.executable, str(script)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stderr}"
    lines = proc.stdout.strip().splitlines()
    assert lines, f"{name} printed nothing:\n{proc.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    return ScenarioRun(result=result, stdout=proc.stdout, stderr=proc.stderr)

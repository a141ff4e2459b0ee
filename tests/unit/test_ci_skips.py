"""In CI (`CI` set) a skipped test is a failed one, however it skips: while it runs, or
with its whole module at collection (a module-level `pytest.importorskip`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = {
    "while-running": """
import pytest


def test_needs_a_tool() -> None:
    pytest.skip("no such tool here")
""",
    "at-collection": """
import pytest

pytest.importorskip("hivekeeper_no_such_module")


def test_needs_a_module() -> None:
    pass
""",
}


@pytest.mark.parametrize("source", MODULES.values(), ids=MODULES.keys())
def test_a_skip_fails_in_ci_and_only_there(tmp_path: Path, source: str) -> None:
    module = tmp_path / "test_skipping.py"
    module.write_text(source)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")

    local = _pytest(tmp_path, module, ci=False)
    # With no test left to run, pytest exits 5: not a failure either.
    assert local.returncode in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    assert "1 skipped" in local.stdout, local.stdout

    in_ci = _pytest(tmp_path, module, ci=True)
    assert in_ci.returncode not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    assert "skipped in CI" in in_ci.stdout, in_ci.stdout


def _pytest(root: Path, module: Path, *, ci: bool) -> subprocess.CompletedProcess[str]:
    """pytest on `module` alone, with this suite's conftest as its only plugin."""
    env = {name: value for name, value in os.environ.items() if name != "CI"}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # hypothesis and others: slow, not needed
    if ci:
        env["CI"] = "true"
    plugins = ["-p", "tests.conftest", "-p", "no:cacheprovider"]
    config = ["-c", str(root / "pytest.ini"), "--rootdir", str(root)]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, *config, "-rA", str(module)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

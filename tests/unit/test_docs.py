"""Every setting is documented in the README, with its flag, variable and default."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from hivekeeper.config import Settings, env_var

README = (Path(__file__).parents[2] / "README.md").read_text()


@pytest.mark.parametrize("setting", dataclasses.fields(Settings), ids=lambda f: f.name)
def test_setting_is_in_the_readme_table(setting: dataclasses.Field[object]) -> None:
    flag = "--" + setting.name.replace("_", "-")
    rows = [line for line in README.splitlines() if line.startswith(f"| `{flag}` |")]
    assert rows, f"README lacks a row for {flag}"
    assert f"`{env_var(setting.name)}`" in rows[0]
    assert setting.metadata["help"]


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (Path(__file__).parents[2] / ".ci" / "run").read_text()
    assert "bash scripts/test" in README
    assert "bash scripts/test" in ci


def test_the_test_command_never_installs_into_the_quick_start_environment() -> None:
    """`bash scripts/test` re-installs hivekeeper; into the quick start's `.venv` that
    would replace the files of a server running from it."""
    script = (Path(__file__).parents[2] / "scripts" / "test").read_text()
    quick_start = re.search(r"python3 -m venv (\S+) && (\S+)/bin/pip install \. ", README)
    assert quick_start is not None and quick_start[1] == quick_start[2]
    test_env = re.search(r"^VENV=(\S+)$", script, re.MULTILINE)
    assert test_env is not None and test_env[1] != quick_start[1]
    assert f"`{test_env[1]}`" in README  # where the README says the suite installs
    commands = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not any(re.search(rf"{re.escape(quick_start[1])}(?![\w-])", c) for c in commands)

"""Every setting is documented in the README, with its flag, variable and default."""

from __future__ import annotations

import dataclasses
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

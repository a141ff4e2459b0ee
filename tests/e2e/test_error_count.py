"""The real honeyhive tracer: one exception through two nested `@trace` functions counts
once in its session's error count, in the API and the sessions list."""

from __future__ import annotations

from pathlib import Path

from tests.support.reads import by_name, session_tree
from tests.support.scenario import run_scenario
from tests.support.server import run_server


def test_one_exception_through_nested_traced_functions_counts_once(
    tmp_path: Path, module_store: str
) -> None:
    with run_server(tmp_path, module_store) as live, live.client() as api:
        run = run_scenario("nested_exception", server_url=live.url, api_key=live.key)
        session_id = run.result["session_id"]
        events = by_name(session_tree(api, session_id))
        # Every span is stored with its error: the spans and the SDK's `<fn>_error` spans.
        assert {name: e["error"] for name, e in events.items()} == {
            "outer": "ValueError: boom 3",
            "inner": "ValueError: boom 3",
            "inner_error": "boom 3",
            "outer_error": "boom 3",
        }
        # The tracer has flushed, and every export was answered after its commit.
        assert session_tree(api, session_id)["metadata"]["error_count"] == 1

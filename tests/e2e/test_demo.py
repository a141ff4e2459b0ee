"""The demo data set: its shapes as stored, idempotent loading, and `serve --demo`."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hivekeeper.demo import (
    BIG_SESSION_EVENTS,
    PROJECTS,
    big_session_id,
    demo_writes,
    experiments,
    load_demo,
)
from hivekeeper.domain.evaluation.results import ResultQuery
from hivekeeper.domain.evaluation.runs import RunListQuery
from hivekeeper.domain.filters import parse_export_body
from hivekeeper.store import Store, open_store
from hivekeeper.web import run_reads
from tests.support.databases import fresh_database_url
from tests.support.process import serve_process

DAY_MS = 86_400_000
_DEMO_KEY_LINE = re.compile(r"^\s+(support-bot|rag-search|agent-lab)\s+(hh_\S+)$", re.MULTILINE)


@pytest.fixture
def store(tmp_path: Path, store_kind: str) -> Iterator[Store]:
    the_store = open_store(fresh_database_url(store_kind, tmp_path))
    the_store.open()
    try:
        yield the_store
    finally:
        the_store.close()


def _rows(store: Store, project_id: str, *filters: dict[str, Any], limit: int = 7500) -> Any:
    query = parse_export_body({"filters": list(filters), "limit": limit}, now_ms=time.time() * 1000)
    return store.query_events(project_id, query)


def _is(field: str, value: str) -> dict[str, Any]:
    return {"field": field, "operator": "is", "value": value, "type": "string"}


TRAFFIC = {"field": "source", "operator": "is not", "value": "evaluation", "type": "string"}
"""The demo's traffic, not the sessions of its experiment runs."""


def _exists(field: str) -> dict[str, Any]:
    return {"field": field, "operator": "exists", "value": "", "type": "string"}


def test_demo_data_set_is_stored_with_every_shape(store: Store) -> None:
    now = time.time() * 1000
    loaded = load_demo(store, now_ms=now)
    assert loaded.written and set(loaded.project_ids) == set(PROJECTS)
    planned = demo_writes(now)
    sessions_per_project = {
        p: sum(w.project == p and w.kind == "session" for w in planned) for p in PROJECTS
    }
    stored_events = 0
    for name, project_id in loaded.project_ids.items():
        sessions, total = _rows(store, project_id, _is("event_type", "session"), TRAFFIC)
        assert total == sessions_per_project[name] >= 50
        assert {s["source"] for s in sessions} == {"production", "staging", "dev"}
        assert all(now - 7 * DAY_MS <= s["start_time"] <= s["end_time"] <= now for s in sessions)
        assert all(s["user_properties"].get("user_id") for s in sessions)
        assert any(s["error_count"] > 0 for s in sessions), f"{name} has no failed session"
        assert any(s["feedback"].get("rating") for s in sessions), f"{name} has no feedback"
        stored_events += sum(s["num_events"] for s in sessions)
        for event_type in ("model", "tool", "chain"):
            _, count = _rows(store, project_id, _is("event_type", event_type), limit=1)
            assert count, f"{name} has no {event_type} event"
        errors, _ = _rows(store, project_id, _exists("error"), limit=5)
        assert errors and all(isinstance(e["error"], str) and e["error"] for e in errors)
    assert stored_events == loaded.events

    support = loaded.project_ids["support-bot"]
    models, _ = _rows(store, support, _is("event_type", "model"))
    assert all(m["config"]["model"] and m["config"]["provider"] for m in models)
    assert all("temperature" in m["config"] for m in models)
    assert all(m["inputs"]["chat_history"][0]["role"] == "system" for m in models)
    roles = {msg["role"] for m in models for msg in m["inputs"]["chat_history"]}
    assert roles == {"system", "user", "assistant", "tool"}
    assert any(m["outputs"].get("tool_calls") for m in models)
    assert all(m["metadata"]["total_tokens"] > 0 and m["metadata"]["cost"] > 0 for m in models)
    rag_tools, _ = _rows(
        store, loaded.project_ids["rag-search"], _is("event_name", "vector_search")
    )
    assert any(t["outputs"].get("documents") for t in rag_tools)


def test_a_projects_redaction_rules_apply_to_the_demo_data(store: Store) -> None:
    store.create_project("support-bot")
    store.add_redaction("support-bot", r"customer\d+@example\.com", "[email]")
    loaded = load_demo(store)
    support, _ = _rows(
        store, loaded.project_ids["support-bot"], _is("event_type", "session"), TRAFFIC
    )
    assert support and all(s["user_properties"]["email"] == "[email]" for s in support)
    # The rule is the project's own: another project's data is stored as sent.
    rag, _ = _rows(store, loaded.project_ids["rag-search"], _is("event_type", "session"))
    assert rag and all(s["user_properties"]["email"].endswith("@example.com") for s in rag)


def test_the_deep_agent_run_holds_ten_thousand_events(store: Store) -> None:
    agent_lab = load_demo(store).project_ids["agent-lab"]
    session = store.get_event(agent_lab, big_session_id())
    assert session is not None and session["event_name"] == "deep-research-agent"
    assert session["num_events"] == BIG_SESSION_EVENTS
    events = store.session_events(agent_lab, big_session_id())
    assert len(events) == BIG_SESSION_EVENTS + 1
    assert session["num_model_events"] == sum(e["event_type"] == "model" for e in events)
    by_id = {e["event_id"]: e for e in events}
    depth = 0
    for event in events:
        level, parent = 0, event["parent_id"]
        while parent is not None:
            level, parent = level + 1, by_id[parent]["parent_id"]
        depth = max(depth, level)
    assert depth >= 4, "the agent run should nest chains several levels deep"


def test_ids_and_shapes_do_not_depend_on_the_time() -> None:
    def shape(now: float) -> list[tuple[str, str, str]]:
        return [
            (w.project, w.kind, e["event_id"] + e["event_type"] + e["event_name"])
            for w in demo_writes(now)
            for e in (w.body["events"] if w.kind == "batch" else [])
        ]

    now = time.time() * 1000
    assert shape(now) == shape(now - 3.3 * DAY_MS)


def test_loading_twice_changes_nothing(store: Store) -> None:
    now = time.time() * 1000
    first = load_demo(store, now_ms=now)

    def snapshot() -> list[tuple[Any, ...]]:
        out = []
        for project_id in first.project_ids.values():
            sessions, total = _rows(store, project_id, _is("event_type", "session"))
            _, events = _rows(store, project_id, limit=1)
            out.append((total, events))
            out += sorted(
                (
                    s["event_id"],
                    s["num_events"],
                    s["error_count"],
                    s["feedback_count"],
                    round(s["cost"], 6),
                    s["total_tokens"],
                    s["start_time"],
                    s["end_time"],
                )
                for s in sessions
            )
        return out

    before = snapshot()
    again = load_demo(store, now_ms=now)
    assert not again.written and again.project_ids == first.project_ids
    assert snapshot() == before
    forced = load_demo(store, now_ms=now, force=True)
    assert forced.written
    assert snapshot() == before
    assert [p.name for p in store.list_projects()].count("agent-lab") == 1


def test_serve_demo_prints_keys_that_read_the_demo(tmp_path: Path) -> None:
    with serve_process(tmp_path, timeout_s=90, demo=True) as served:
        log = (tmp_path / "server.log").read_text()
        keys = dict(_DEMO_KEY_LINE.findall(log))
        assert set(keys) == set(PROJECTS)
        assert f"Browse it at {served.url}/" in log
        served.key = keys["agent-lab"]
        with served.client() as client:
            tree = client.get(f"/v1/sessions/{big_session_id()}")
            assert tree.status_code == 200
            assert tree.json()["metadata"]["num_events"] == BIG_SESSION_EVENTS
        served.key = keys["support-bot"]
        with served.client() as client:
            page = client.post(
                "/v1/events/export",
                json={"filters": [_is("event_type", "session"), TRAFFIC], "limit": 5},
            ).json()
            assert page["totalEvents"] > 0
            assert {e["event_name"] for e in page["events"]} == {"support-chat"}
            assert client.get(f"/v1/sessions/{big_session_id()}").status_code == 404


def test_the_demo_experiments_improve_some_metrics_and_regress_others(store: Store) -> None:
    """Three runs over the stored golden set, each compared with the one before it
    (as the compare page and `compare-with` compare them): some metrics got better on
    more datapoints than they got worse, others the other way round."""
    loaded = load_demo(store)
    project = next(p for p in store.list_projects() if p.name == experiments.PROJECT)
    (dataset,) = store.list_datasets(project.id, dataset_id=experiments.dataset_id())
    assert dataset.name == experiments.DATASET_NAME
    assert len(store.dataset_histories(project.id, [dataset.id])[dataset.id]) >= 3
    listed = store.list_runs(project.id, RunListQuery(dataset_id=dataset.id))
    assert [r.run_id for r in listed.runs] == [experiments.run_id(n) for n in (3, 2, 1)]
    for new, old in ((2, 1), (3, 2)):
        body = run_reads.compare(
            store,
            project,
            experiments.run_id(new),
            experiments.run_id(old),
            ResultQuery("average", ()),
        )
        counts = {
            m["metric_name"]: (m["improved_count"], m["degraded_count"]) for m in body["metrics"]
        }
        assert any(up > down for up, down in counts.values()), (new, counts)
        assert any(down > up for up, down in counts.values()), (new, counts)
    assert loaded.experiment_steps and not load_demo(store).experiment_steps
    assert store.list_runs(project.id, RunListQuery()).total == 3

"""`hivekeeper copy` between stores, as a user runs it: the copy serves the same answers.

Data goes into the source through the REST API of a real server; after the copy a
server on the target must give byte-identical session trees and exports for the same
key, which proves projects, keys, rows, roll-ups and pending updates all came across;
and byte-identical evaluation reads (datasets at every version and their history,
datapoints, prompts per environment, metrics and their versions, runs and their
results, saved charts), which proves the evaluation plane came across with its ids,
version keys, history and deployments.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from hivekeeper.store import Store, open_store
from hivekeeper.store.transfer import copy_store
from tests.support.databases import fresh_database_url
from tests.support.experiment_runs import seed_run
from tests.support.process import run_cli, serve_process
from tests.support.server import run_app, run_server

PAIRS = [
    pytest.param(source, target, id=f"{source}-to-{target}")
    for source, target in [
        ("sqlite", "postgres"),
        ("postgres", "chdb"),
        ("chdb", "sqlite"),
        ("sqlite", "sqlite"),
    ]
]


def _write(api: httpx.Client) -> list[str]:
    """Sessions with nested events, feedback, an error, and an update still pending."""
    sessions = []
    for s in range(3):
        sid = str(uuid.uuid4())
        sessions.append(sid)
        assert api.post("/v1/sessions", json={"session": {"session_id": sid}}).status_code == 200
        chain = str(uuid.uuid4())
        events: list[dict[str, Any]] = [
            {"event_id": chain, "session_id": sid, "event_type": "chain", "event_name": "plan"},
            *(
                {
                    "session_id": sid,
                    "parent_id": chain,
                    "event_type": "model",
                    "event_name": f"step {i}",
                    "config": {"model": "gpt-4o"},
                    "metadata": {"total_tokens": 10 * i, "cost": 0.001 * i},
                    "error": "timeout" if i == s else None,
                }
                for i in range(4)
            ),
        ]
        assert api.post("/events/batch", json={"events": events}).status_code == 200
        feedback = {"event_id": chain, "feedback": {"rating": s}}
        assert api.put("/events", json=feedback).status_code == 200
    pending = {"event_id": str(uuid.uuid4()), "metadata": {"late": True}}
    assert api.put("/events", json=pending).status_code == 200
    return sessions


def _made(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, (answer.request.method, answer.request.url, answer.text)
    return answer.json()


def _write_evaluation(api: httpx.Client) -> list[str]:
    """Datasets with several versions, edited, removed and deleted datapoints, a deleted
    dataset a run used, a prompt deployed to two environments, a metric with versions
    and a redeployment, runs with sessions and datapoints, saved charts; the GET paths
    whose answers must survive a copy."""
    rows = [{"q": f"{i}+{i}?", "a": str(2 * i), "topic": "math"} for i in range(5)]
    mapping = {"inputs": ["q"], "ground_truth": ["a"], "history": []}
    qa = _made(api.post("/v1/datasets", json={"name": "qa", "description": "sums"}))
    qa_id = qa["result"]["insertedId"]
    added = _made(
        api.post(f"/v1/datasets/{qa_id}/datapoints", json={"data": rows[:3], "mapping": mapping})
    )
    points = added["datapoint_ids"]
    # version 2: more rows; 3: an edit; 4: a removal; 5: a new linked datapoint; 6: a deletion
    more = _made(
        api.post(f"/v1/datasets/{qa_id}/datapoints", json={"data": rows[3:], "mapping": mapping})
    )
    points += more["datapoint_ids"]
    _made(
        api.put(
            f"/v1/datapoints/{points[0]}", json={"inputs": {"q": "edited"}, "metadata": {"n": 1}}
        )
    )
    _made(api.delete(f"/v1/datasets/{qa_id}/datapoints/{points[1]}"))
    linked = _made(
        api.post("/v1/datapoints", json={"inputs": {"q": "alone"}, "linked_datasets": [qa_id]})
    )
    points += linked["result"]["insertedIds"]
    _made(api.delete(f"/v1/datapoints/{points[2]}"))
    _made(api.put(f"/v1/datasets/{qa_id}", json={"name": "qa2"}))

    old = _made(api.post("/v1/datasets", json={"name": "old"}))["result"]["insertedId"]
    _made(api.post(f"/v1/datasets/{old}/datapoints", json={"data": rows[:2], "mapping": mapping}))
    seed_run(api, "on-old", {points[3]: {"accuracy": 0.4}}, dataset_id=old)
    _made(api.delete(f"/v1/datasets/{old}", params={"force": "true"}))
    # Scores in the order PostgreSQL's JSONB keeps keys (shorter first): a result lists an
    # event's metrics in its key order.
    scores = {p: {"ok": i % 2 == 0, "accuracy": 0.2 * i} for i, p in enumerate(points[3:])}
    ranges = {"accuracy": {"min": 0.3}}
    seed_run(api, "on-qa", scores, dataset_id=qa_id, metadata={"git": "abc"}, passing_ranges=ranges)
    seed_run(
        api, "offline", {"EXT-1": {"accuracy": 1.0}, "EXT-2": {"accuracy": 0.0}}, status="running"
    )
    _made(api.put("/v1/runs/offline", json={"metadata": {"worker": 2}, "datapoint_ids": ["EXT-3"]}))

    prompt = {
        "name": "greeter",
        "provider": "openai",
        "parameters": {
            "call_type": "chat",
            "model": "gpt-4o",
            "template": [{"role": "system", "content": "Hi {{name}}."}],
        },
        "env": ["dev"],
    }
    config_id = _made(api.post("/v1/configurations", json=prompt))["insertedId"]
    _made(
        api.put(
            f"/v1/configurations/{config_id}",
            json={"name": "greeter", "env": ["prod"], "tags": ["v2"]},
        )
    )
    _made(api.put(f"/v1/configurations/{config_id}", json={"name": "greeter", "tags": ["v3"]}))

    metric = {
        "name": "accuracy",
        "type": "PYTHON",
        "criteria": "def f(outputs): return 1.0",
        "return_type": "float",
        "threshold": {"min": 0.5},
    }
    metric_id = _made(api.post("/v1/metrics", json=metric))["metric_id"]
    body = {"message": "stricter", "content": {**metric, "threshold": {"min": 0.9}}}
    _made(api.post(f"/v1/metrics/{metric_id}/versions", json=body))
    _made(api.put(f"/v1/metrics/{metric_id}", json={"threshold": {"min": 0.1}}))
    _made(api.post(f"/v1/metrics/{metric_id}/versions/v2/deploy"))

    chart = {
        "name": "cost",
        "metric": "metadata.cost",
        "func": "p95",
        "groupBy": "config.model",
        "bucketing": "day",
    }
    chart_id = _made(api.post("/v1/charts", json=chart))["data"]["id"]
    _made(api.put(f"/v1/charts/{chart_id}", json={"func": "max"}))
    _made(api.post("/v1/charts", json={**chart, "name": "errors"}))
    # Deleted records leave nothing behind on any engine.
    gone = _made(api.post("/v1/charts", json={**chart, "name": "gone"}))["data"]["id"]
    _made(api.delete(f"/v1/charts/{gone}"))
    gone = _made(api.post("/v1/metrics", json={**metric, "name": "gone"}))["metric_id"]
    _made(api.delete(f"/v1/metrics/{gone}"))
    gone = _made(api.post("/v1/configurations", json={**prompt, "name": "gone"}))["insertedId"]
    _made(api.delete(f"/v1/configurations/{gone}"))
    _made(api.post("/v1/runs", json={"run_id": "gone", "datapoint_ids": ["EXT-9"]}))
    _made(api.delete("/v1/runs/gone"))

    versions = len(
        _made(api.get("/v1/datasets", params={"dataset_id": qa_id}))["datasets"][0]["versions"]
    )
    assert versions == 6
    reads = [
        "/v1/datasets",
        f"/v1/datasets?dataset_id={qa_id}&include_datapoints=true",
        *(
            f"/v1/datasets?dataset_id={qa_id}&version={n}&include_datapoints=true"
            for n in range(1, versions + 1)
        ),
        "/v1/datapoints",
        f"/v1/datapoints?dataset_id={qa_id}",
        *(f"/v1/datapoints/{p}" for p in points),
        "/v1/configurations",
        "/v1/configurations?env=dev",
        "/v1/configurations?env=prod",
        "/v1/metrics",
        f"/v1/metrics/{metric_id}/versions",
        "/v1/runs",
        *(f"/v1/runs/{r}" for r in ("on-old", "on-qa", "offline")),
        *(f"/v1/runs/{r}/result" for r in ("on-old", "on-qa", "offline")),
        "/v1/charts",
        f"/v1/charts/{chart_id}",
    ]
    return reads


def _evaluation_answers(api: httpx.Client, reads: list[str]) -> list[tuple[str, int, bytes]]:
    return [(path, (answer := api.get(path)).status_code, answer.content) for path in reads]


def _answers(api: httpx.Client, sessions: list[str]) -> list[Any]:
    export = api.post("/v1/events/export", json={"limit": 7500}).json()
    return [export, *(api.get(f"/v1/sessions/{sid}").json() for sid in sessions)]


def _url(kind: str, directory: Path) -> str:
    """A fresh database for server and CLI processes. A chdb directory is opened by one
    process at a time, so chdb gets its own, not this test process's shared one."""
    directory.mkdir()
    if kind == "chdb":
        return f"chdb://{directory / 'chdb'}"
    return fresh_database_url(kind, directory)


@pytest.mark.parametrize(("source_kind", "target_kind"), PAIRS)
def test_copy_serves_the_same_answers(tmp_path: Path, source_kind: str, target_kind: str) -> None:
    source_url = _url(source_kind, tmp_path / "source")
    target_url = _url(target_kind, tmp_path / "target")
    with serve_process(tmp_path / "source", database_url=source_url) as served:
        key = served.key
        with served.client() as api:
            sessions = _write(api)
            reads = _write_evaluation(api)
            before = _answers(api, sessions)
            evaluation = _evaluation_answers(api, reads)

    copied = run_cli("copy", "--from", source_url, "--to", target_url, "--batch-size", "7")
    assert copied.returncode == 0, copied.stderr
    # 19 rows and each run's sessions; datasets 2, datapoints 8 with 10 revisions, 7
    # dataset changes of 11 items, 4 current members, 2 definitions with 6 versions and
    # 5 deployments, 3 runs with 6 sessions and 7 datapoints, 2 charts.
    assert "verified 31 rows in 1 projects and 73 evaluation records" in copied.stdout

    with (
        serve_process(tmp_path / "target", key=key, database_url=target_url) as served,
        served.client() as api,
    ):
        assert _answers(api, sessions) == before
        for (path, status, body), answer in zip(
            evaluation, _evaluation_answers(api, reads), strict=True
        ):
            if target_kind == "postgres":
                # JSONB keeps an object's keys in its own order, as for any write to it.
                assert (answer[1], orjson.loads(answer[2])) == (status, orjson.loads(body)), path
            else:
                assert answer == (path, status, body), path
        # The copy is a live database: new writes merge with the copied rows.
        late = {"session_id": sessions[0], "event_type": "tool", "event_name": "late"}
        answer = api.post("/events/batch", json={"events": [late]})
        assert answer.status_code == 200, answer.text
        tree = api.get(f"/v1/sessions/{sessions[0]}").json()
        assert tree["metadata"]["num_events"] == before[1]["metadata"]["num_events"] + 1


class _Interrupted(Exception):
    pass


def test_an_interrupted_copy_resumes_and_verifies(tmp_path: Path) -> None:
    (tmp_path / "source").mkdir()
    with run_server(tmp_path / "source", "sqlite") as live, live.client() as api:
        _write(api)
        source_url = live.settings.database_url
    target_url = f"sqlite:///{tmp_path / 'target.db'}"

    def stop_after_two_batches(copied: int) -> None:
        if copied >= 10:
            raise _Interrupted

    source, target = open_store(source_url), open_store(target_url)
    source.open()
    target.open()
    with pytest.raises(_Interrupted):
        copy_store(source, target, batch_size=5, progress=stop_after_two_batches)
    assert sum(target.count_rows().values()) == 10
    source.close()
    target.close()

    resumed = run_cli("copy", "--from", source_url, "--to", target_url, "--batch-size", "5")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after" in resumed.stdout
    assert "copied 9 rows; verified 19 rows in 1 projects" in resumed.stdout


def test_copy_refuses_a_target_with_other_projects(tmp_path: Path) -> None:
    urls = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        with run_server(tmp_path / name, "sqlite") as live:
            urls.append(live.settings.database_url)
    refused = run_cli("copy", "--from", urls[0], "--to", urls[1])
    assert refused.returncode == 1
    assert "already holds other projects (default)" in refused.stderr
    target = open_store(urls[1])
    target.open()
    assert len(target.export_tenancy().projects) == 1, "nothing was imported"
    target.close()


class _StopsAfter:
    """A target store whose copy is interrupted after `imports` evaluation imports."""

    def __init__(self, store: Store, imports: int) -> None:
        self._store = store
        self._left = imports

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def import_evaluation(self, table: str, rows: Any) -> None:
        if self._left == 0:
            raise _Interrupted
        self._left -= 1
        self._store.import_evaluation(table, rows)


@pytest.mark.parametrize("target_kind", ["sqlite", "chdb"])
def test_a_copy_interrupted_in_the_evaluation_plane_resumes_to_the_same(
    tmp_path: Path, target_kind: str
) -> None:
    with run_app(tmp_path, "sqlite") as live, live.client() as api:
        reads = _write_evaluation(api)
        before = _evaluation_answers(api, reads)
        source_url, key = live.settings.database_url, live.key
    target_url = fresh_database_url(target_kind, tmp_path / "target")
    (tmp_path / "target").mkdir()

    source, target = open_store(source_url), open_store(target_url)
    source.open()
    target.open()
    with pytest.raises(_Interrupted):
        copy_store(source, _StopsAfter(target, 5), batch_size=3)  # type: ignore[arg-type]
    (project,) = (row["id"] for row in target.export_tenancy().projects)
    held = sum(len(rows) for _, rows in target.export_evaluation(str(project), 1000))
    assert 0 < held < 73
    resumed = copy_store(source, target, batch_size=3)
    again = copy_store(source, target, batch_size=3)  # a re-run writes nothing twice
    source.close()
    target.close()
    assert resumed.verified and resumed.resumed_after is not None and resumed.records == 73
    assert again.verified and again.target_records == resumed.target_records

    with (
        run_app(tmp_path / "target", target_kind, key=key, database_url=target_url) as live,
        live.client() as api,
    ):
        assert _evaluation_answers(api, reads) == before


def test_a_record_deleted_from_the_source_since_an_earlier_copy_fails_the_check(
    tmp_path: Path,
) -> None:
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    chart = {"name": "cost", "metric": "metadata.cost", "func": "p95", "bucketing": "day"}
    with run_app(tmp_path, "sqlite") as live, live.client() as api:
        chart_id = _made(api.post("/v1/charts", json=chart))["data"]["id"]
        copy = ("copy", "--from", live.settings.database_url, "--to", target_url)
        first = run_cli(*copy)
        assert first.returncode == 0, first.stderr
        assert "and 1 evaluation records" in first.stdout
        _made(api.delete(f"/v1/charts/{chart_id}"))
        again = run_cli(*copy)
    assert again.returncode == 1
    assert "evaluation records differ" in again.stderr
    assert "copy into an empty database" in again.stderr

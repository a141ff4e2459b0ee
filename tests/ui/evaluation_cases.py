"""Isolation cases of the datasets, prompts and evaluators pages (merged into
tests/ui/test_isolation.py's CASES), and project A's evaluation records they name.

A's records carry the isolation markers in their names and content, so any answer to
B that leaks them fails; `intact` then checks that none of B's attempts changed them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from tests.ui.client import csrf_of, signed_in
from tests.ui.conftest import Seeded

Case = Callable[[httpx.Client, Seeded], list[httpx.Response]]


@dataclass(frozen=True)
class EvaluationIds:
    """Project A's dataset (one datapoint), staged import, prompt and evaluator."""

    dataset_id: str
    datapoint_id: str
    import_id: str
    prompt_id: str
    evaluator_id: str


_MADE: dict[str, EvaluationIds] = {}


def evaluation_of(a: Seeded) -> EvaluationIds:
    """A's evaluation records, made once per server through A's own pages."""
    if a.url not in _MADE:
        _MADE[a.url] = _make(a)
    return _MADE[a.url]


def _make(a: Seeded) -> EvaluationIds:
    pid = a.project_id
    with signed_in(a.url, a.key) as client:
        token = csrf_of(client.get(f"/p/{pid}/datasets").text)
        created = client.post(
            f"/p/{pid}/datasets", data={"csrf": token, "name": "checkout-flow dataset"}
        )
        dataset_id = created.headers["location"].rsplit("/", 1)[1]
        base = f"/p/{pid}/datasets/{dataset_id}"
        staged = []
        for _ in range(2):  # one to commit, one left staged
            answer = client.post(
                f"{base}/import",
                data={"csrf": token},
                files={"file": ("a.csv", b"question,answer\nWhere is my parcel?,checkout-flow\n")},
            )
            staged.append(answer.headers["location"])
            while 'data-state="validating"' in client.get(staged[-1]).text:
                time.sleep(0.05)
        client.post(staged[0], data={"csrf": token})
        (datapoint,) = a.server.store.list_datapoints(pid, dataset_id=dataset_id, limit=10)
        prompt = client.post(
            f"/p/{pid}/prompts",
            data={"csrf": token, "name": "checkout-flow prompt", "provider": "openai",
                  "model": "gpt-4o-mini", "call_type": "chat", "template": "SMTPError"},
        )  # fmt: skip
        evaluator = client.post(
            f"/p/{pid}/evaluators",
            data={"csrf": token, "name": "checkout-flow evaluator", "type": "PYTHON",
                  "return_type": "float", "criteria": "SMTPError"},
        )  # fmt: skip
    return EvaluationIds(
        dataset_id=dataset_id,
        datapoint_id=datapoint.id,
        import_id=staged[1].rsplit("/", 1)[1],
        prompt_id=prompt.headers["location"].rsplit("/", 1)[1],
        evaluator_id=evaluator.headers["location"].rsplit("/", 1)[1],
    )


def intact(a: Seeded) -> None:
    """A's records read back as they were made."""
    ids = evaluation_of(a)
    store, pid = a.server.store, a.project_id
    (dataset,) = store.list_datasets(pid, dataset_id=ids.dataset_id)
    assert dataset.name == "checkout-flow dataset"
    members = store.dataset_members(pid, [ids.dataset_id])[ids.dataset_id]
    assert [m.datapoint_id for m in members] == [ids.datapoint_id]
    (point,) = store.get_datapoints(pid, [ids.datapoint_id])
    assert point.content.inputs == {"question": "Where is my parcel?"}
    for kind, definition_id in (("configuration", ids.prompt_id), ("metric", ids.evaluator_id)):
        (definition,) = store.list_definitions(pid, kind, definition_id=definition_id)  # type: ignore[arg-type]  # a literal of DefinitionKind
        assert len(definition.versions) == 1
        assert len(definition.deployments) == (1 if kind == "metric" else 0)
    assert a.server.store.list_datasets(pid, name="from B") == []


def _path(template: str, a: Seeded, pid: str) -> str:
    ids = evaluation_of(a)
    return template.format(
        pid=pid,
        ds=ids.dataset_id,
        dp=ids.datapoint_id,
        imp=ids.import_id,
        pr=ids.prompt_id,
        ev=ids.evaluator_id,
        eid=a.events["model"],
        sid=a.sessions["checkout"],
    )


def foreign_get(template: str) -> Case:
    """B's browser on A's project id, then on B's own project naming A's ids: not
    found, nothing of A."""

    def call(client: httpx.Client, a: Seeded) -> list[httpx.Response]:
        return [client.get(_path(template, a, pid)) for pid in (a.project_id, a.second_project_id)]

    return call


def listing(template: str) -> Case:
    """B's own page: nothing of A."""

    def call(client: httpx.Client, a: Seeded) -> list[httpx.Response]:
        return [client.get(_path(template, a, a.second_project_id))]

    return call


# A form B could fill in: every field a page of this kind posts, named "from B".
_FIELDS = {
    "name": "from B",
    "new_name": "from B",
    "dataset": "",
    "inputs": '{"q": "from B"}',
    "provider": "openai",
    "model": "m",
    "call_type": "chat",
    "type": "PYTHON",
    "criteria": "from B",
    "return_type": "float",
    "env": "prod",
    "version": "1",
    "force": "1",
    "query": "from=sessions",
}


def foreign_post(template: str) -> Case:
    """B posts with its own valid token to A's project, and to B's project naming A's
    ids: not found (or, on B's own records, acting inside B only)."""

    def call(client: httpx.Client, a: Seeded) -> list[httpx.Response]:
        token = csrf_of(client.get(f"/p/{a.second_project_id}/datasets").text)
        answers = []
        for pid in (a.project_id, a.second_project_id):
            path = _path(template, a, pid)
            if path.endswith("/import"):
                answers.append(
                    client.post(path, data={"csrf": token}, files={"file": ("b.csv", b"q\nx\n")})
                )
            else:
                kind = {"type": "LLM"} if "/prompts" in path else {}
                answers.append(client.post(path, data={"csrf": token, **_FIELDS, **kind}))
        return answers

    return call


EVALUATION_CASES: dict[tuple[str, str], list[Case]] = {
    ("GET", "/p/{pid}/datasets"): [foreign_get("/p/{pid}/datasets"), listing("/p/{pid}/datasets")],
    ("POST", "/p/{pid}/datasets"): [foreign_post("/p/{pid}/datasets")],
    ("GET", "/p/{pid}/datasets/{dataset_id}"): [foreign_get("/p/{pid}/datasets/{ds}")],
    ("POST", "/p/{pid}/datasets/{dataset_id}/edit"): [foreign_post("/p/{pid}/datasets/{ds}/edit")],
    ("POST", "/p/{pid}/datasets/{dataset_id}/delete"): [
        foreign_post("/p/{pid}/datasets/{ds}/delete")
    ],
    ("GET", "/p/{pid}/datasets/{dataset_id}/versions/{number}"): [
        foreign_get("/p/{pid}/datasets/{ds}/versions/1")
    ],
    ("GET", "/p/{pid}/datasets/{dataset_id}/datapoints/{datapoint_id}"): [
        foreign_get("/p/{pid}/datasets/{ds}/datapoints/{dp}")
    ],
    ("POST", "/p/{pid}/datasets/{dataset_id}/datapoints/{datapoint_id}"): [
        foreign_post("/p/{pid}/datasets/{ds}/datapoints/{dp}")
    ],
    ("POST", "/p/{pid}/datasets/{dataset_id}/datapoints/{datapoint_id}/remove"): [
        foreign_post("/p/{pid}/datasets/{ds}/datapoints/{dp}/remove")
    ],
    ("POST", "/p/{pid}/datasets/{dataset_id}/datapoints/{datapoint_id}/delete"): [
        foreign_post("/p/{pid}/datasets/{ds}/datapoints/{dp}/delete")
    ],
    ("GET", "/p/{pid}/datasets/{dataset_id}/import"): [
        foreign_get("/p/{pid}/datasets/{ds}/import")
    ],
    ("POST", "/p/{pid}/datasets/{dataset_id}/import"): [
        foreign_post("/p/{pid}/datasets/{ds}/import")
    ],
    ("GET", "/p/{pid}/datasets/{dataset_id}/imports/{import_id}"): [
        foreign_get("/p/{pid}/datasets/{ds}/imports/{imp}")
    ],
    ("POST", "/p/{pid}/datasets/{dataset_id}/imports/{import_id}"): [
        foreign_post("/p/{pid}/datasets/{ds}/imports/{imp}")
    ],
    ("POST", "/p/{pid}/datasets/{dataset_id}/imports/{import_id}/cancel"): [
        foreign_post("/p/{pid}/datasets/{ds}/imports/{imp}/cancel")
    ],
    ("GET", "/p/{pid}/datasets/{dataset_id}/export.jsonl"): [
        foreign_get("/p/{pid}/datasets/{ds}/export.jsonl")
    ],
    ("GET", "/p/{pid}/datasets/{dataset_id}/export.csv"): [
        foreign_get("/p/{pid}/datasets/{ds}/export.csv")
    ],
    ("GET", "/p/{pid}/events/{event_id}/session"): [foreign_get("/p/{pid}/events/{eid}/session")],
    ("GET", "/p/{pid}/events/{event_id}/add-to-dataset"): [
        foreign_get("/p/{pid}/events/{eid}/add-to-dataset")
    ],
    ("POST", "/p/{pid}/events/{event_id}/add-to-dataset"): [
        foreign_post("/p/{pid}/events/{eid}/add-to-dataset")
    ],
    ("GET", "/p/{pid}/add-to-dataset"): [
        foreign_get("/p/{pid}/add-to-dataset?from=sessions"),
        listing("/p/{pid}/add-to-dataset?from=events&q=parcel"),
    ],
    ("POST", "/p/{pid}/add-to-dataset"): [foreign_post("/p/{pid}/add-to-dataset")],
    ("GET", "/p/{pid}/prompts"): [foreign_get("/p/{pid}/prompts"), listing("/p/{pid}/prompts")],
    ("GET", "/p/{pid}/prompts/new"): [foreign_get("/p/{pid}/prompts/new")],
    ("POST", "/p/{pid}/prompts"): [foreign_post("/p/{pid}/prompts")],
    ("GET", "/p/{pid}/prompts/{prompt_id}"): [foreign_get("/p/{pid}/prompts/{pr}?a=1&b=1")],
    ("GET", "/p/{pid}/prompts/{prompt_id}/edit"): [foreign_get("/p/{pid}/prompts/{pr}/edit")],
    ("POST", "/p/{pid}/prompts/{prompt_id}"): [foreign_post("/p/{pid}/prompts/{pr}")],
    ("POST", "/p/{pid}/prompts/{prompt_id}/deploy"): [foreign_post("/p/{pid}/prompts/{pr}/deploy")],
    ("POST", "/p/{pid}/prompts/{prompt_id}/delete"): [foreign_post("/p/{pid}/prompts/{pr}/delete")],
    ("GET", "/p/{pid}/evaluators"): [
        foreign_get("/p/{pid}/evaluators"),
        listing("/p/{pid}/evaluators"),
    ],
    ("GET", "/p/{pid}/evaluators/new"): [foreign_get("/p/{pid}/evaluators/new")],
    ("POST", "/p/{pid}/evaluators"): [foreign_post("/p/{pid}/evaluators")],
    ("GET", "/p/{pid}/evaluators/{metric_id}"): [foreign_get("/p/{pid}/evaluators/{ev}")],
    ("POST", "/p/{pid}/evaluators/{metric_id}"): [foreign_post("/p/{pid}/evaluators/{ev}")],
    ("POST", "/p/{pid}/evaluators/{metric_id}/deploy"): [
        foreign_post("/p/{pid}/evaluators/{ev}/deploy")
    ],
    ("POST", "/p/{pid}/evaluators/{metric_id}/delete"): [
        foreign_post("/p/{pid}/evaluators/{ev}/delete")
    ],
}


def post_routes() -> list[str]:
    """Every POST path template of these pages, with A's ids in it (for forged posts)."""
    return [path for method, path in EVALUATION_CASES if method == "POST"]


def concrete(path: str, a: Seeded) -> str:
    """A route's path template filled with A's ids."""
    ids = evaluation_of(a)
    return re.sub(
        r"\{(\w+)\}",
        lambda m: {
            "pid": a.project_id,
            "dataset_id": ids.dataset_id,
            "datapoint_id": ids.datapoint_id,
            "import_id": ids.import_id,
            "prompt_id": ids.prompt_id,
            "metric_id": ids.evaluator_id,
            "event_id": a.events["model"],
        }[m.group(1)],
        path,
    )

"""Datasets, imports, prompts and evaluators in the web UI, without a browser: each
page against the real server, what it writes read back through the API."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from hivekeeper.domain.evaluation import configurations, versions
from hivekeeper.domain.evaluation.datapoints import render_datapoint
from hivekeeper.domain.evaluation.ops import DefinitionKind
from hivekeeper.domain.evaluation.versions import Definition
from tests.ui.client import csrf_of, signed_in
from tests.ui.conftest import HOSTILE, Seeded
from tests.ui.evaluation_cases import EVALUATION_CASES, concrete, intact, post_routes

RAW_SCRIPT = "<script>window.__pwned"


@pytest.fixture
def client(seeded: Seeded) -> Iterator[httpx.Client]:
    with signed_in(seeded.url, seeded.key) as signed:
        yield signed


def new_dataset(client: httpx.Client, project_id: str, name: str) -> str:
    """Create a dataset through the list page's form; its id."""
    token = csrf_of(client.get(f"/p/{project_id}/datasets").text)
    answer = client.post(f"/p/{project_id}/datasets", data={"csrf": token, "name": name})
    assert answer.status_code == 303, answer.text
    match = re.fullmatch(rf"/p/{project_id}/datasets/([0-9a-f-]+)", answer.headers["location"])
    assert match, answer.headers["location"]
    return match.group(1)


def upload(client: httpx.Client, project_id: str, dataset_id: str, name: str, body: bytes) -> str:
    """Upload a file through the import form and wait until its check is over; the
    status page's URL."""
    base = f"/p/{project_id}/datasets/{dataset_id}"
    token = csrf_of(client.get(f"{base}/import").text)
    answer = client.post(
        f"{base}/import", data={"csrf": token, "format": ""}, files={"file": (name, body)}
    )
    assert answer.status_code == 303, answer.text
    status_url = answer.headers["location"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        page = client.get(status_url)
        assert page.status_code == 200, page.text
        if 'data-state="validating"' not in page.text:
            return status_url
        assert '<meta http-equiv="refresh" content="1">' in page.text
        time.sleep(0.05)
    raise AssertionError("the import's check never ended")


def api_datapoints(seeded: Seeded, dataset_id: str) -> list[dict[str, Any]]:
    """The dataset's datapoints as the API answers them (`GET /v1/datapoints`), read
    from the server's store."""
    records = seeded.server.store.list_datapoints(
        seeded.project_id, dataset_id=dataset_id, limit=100_000
    )
    return [
        render_datapoint(
            r.id,
            r.content,
            created_at_ms=r.created_at_ms,
            updated_at_ms=r.updated_at_ms,
            linked_datasets=list(r.linked_datasets),
        )
        for r in records
    ]


def stored_definition(seeded: Seeded, kind: DefinitionKind, definition_id: str) -> Definition:
    (found,) = seeded.server.store.list_definitions(
        seeded.project_id, kind, definition_id=definition_id
    )
    return found


def qa_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "answer", "topic"])
    for i in range(rows):
        writer.writerow([f"What is {i} + {i}?", str(2 * i), "arithmetic" if i % 2 else "sums"])
    return out.getvalue().encode()


def test_a_csv_imports_with_its_mapping_in_one_version(
    seeded: Seeded, client: httpx.Client
) -> None:
    pid = seeded.project_id
    dataset_id = new_dataset(client, pid, "arithmetic")
    status_url = upload(client, pid, dataset_id, "qa.csv", qa_csv(10_000))
    page = client.get(status_url)
    assert 'data-state="ready"' in page.text
    assert 'id="rows-read">10,000<' in page.text
    # The guess: question → inputs, answer → ground truth, topic → metadata.
    assert re.search(r'name="c1"[^>]*>.*?<option value="ground_truth" selected', page.text, re.S)
    # Another mapping, previewed from the URL: topic into inputs too.
    preview = client.get(status_url, params={"c0": "inputs", "c1": "ground_truth", "c2": "inputs"})
    assert "What is 0 + 0?" in preview.text and "sums" in preview.text
    token = csrf_of(preview.text)
    answer = client.post(
        status_url,
        data={"csrf": token, "c0": "inputs", "c1": "ground_truth", "c2": "metadata"},
    )
    assert answer.status_code == 303, answer.text
    points = api_datapoints(seeded, dataset_id)
    assert len(points) == 10_000
    assert points[3]["inputs"] == {"question": "What is 3 + 3?"}
    assert points[3]["ground_truth"] == {"answer": "6"}
    assert points[3]["metadata"] == {"topic": "arithmetic"}
    dataset_page = client.get(f"/p/{pid}/datasets/{dataset_id}")
    assert "10,000 datapoints" in dataset_page.text
    assert 'id="dataset-version">v1<' in dataset_page.text
    assert client.get(status_url).status_code == 404  # committed: the staging is gone
    last = client.get(f"/p/{pid}/datasets/{dataset_id}", params={"page": 200})
    assert "What is 9999 + 9999?" in last.text and "page 200 of 200" in last.text


def test_a_bad_row_is_named_by_line_and_column_and_nothing_is_imported(
    seeded: Seeded, client: httpx.Client
) -> None:
    pid = seeded.project_id
    dataset_id = new_dataset(client, pid, "broken")
    body = b'question,answer\n"one",1\n"two",2,extra\n"three",3\n'
    status_url = upload(client, pid, dataset_id, "broken.csv", body)
    page = client.get(status_url)
    assert 'data-state="failed"' in page.text
    assert re.search(r"<td>3</td><td>column 3</td><td>3 cells, but the header names 2", page.text)
    assert 'id="commit-form"' not in page.text
    assert api_datapoints(seeded, dataset_id) == []

    # A history column that is not JSON: refused at commit, by line and column, whole.
    body = b'question,history\nq1,"[{""role"": ""user"", ""content"": ""hi""}]"\nq2,not json\n'
    status_url = upload(client, pid, dataset_id, "history.csv", body)
    token = csrf_of(client.get(status_url).text)
    answer = client.post(status_url, data={"csrf": token, "c0": "inputs", "c1": "history"})
    assert answer.status_code == 400
    assert re.search(r"<td>3</td><td>history</td><td>a history cell", answer.text)
    assert api_datapoints(seeded, dataset_id) == []


def test_one_bad_row_in_ten_thousand_imports_none_of_them(
    seeded: Seeded, client: httpx.Client
) -> None:
    pid = seeded.project_id
    dataset_id = new_dataset(client, pid, "almost")
    lines = qa_csv(10_000).splitlines(keepends=True)
    lines[9_000] = lines[9_000].rstrip(b"\r\n") + b",surplus\r\n"  # line 9,001 of the file
    page = client.get(upload(client, pid, dataset_id, "almost.csv", b"".join(lines)))
    assert 'data-state="failed"' in page.text
    assert 'id="rows-read">9,999<' in page.text and 'id="error-count">1<' in page.text
    named = r"<td>9001</td><td>column 4</td><td>4 cells, but the header names 3"
    assert re.search(named, page.text)
    assert 'id="commit-form"' not in page.text
    assert api_datapoints(seeded, dataset_id) == []


def test_jsonl_lines_that_are_not_objects_are_reported(
    seeded: Seeded, client: httpx.Client
) -> None:
    pid = seeded.project_id
    dataset_id = new_dataset(client, pid, "jsonl")
    body = b'{"q": "a", "gt": 1}\n\n{"q": "b", "gt": 2\n[1, 2]\n'
    page = client.get(upload(client, pid, dataset_id, "rows.jsonl", body))
    assert re.search(r"<td>3</td><td>character \d+</td><td>not valid JSON", page.text)
    assert re.search(r"<td>4</td><td></td><td>each line must be a JSON object", page.text)
    good = b'{"q": "a", "history": [{"role": "user", "content": "hi"}]}\n{"q": "b"}\n'
    status_url = upload(client, pid, dataset_id, "rows.jsonl", good)
    token = csrf_of(client.get(status_url).text)
    answer = client.post(status_url, data={"csrf": token, "c0": "inputs", "c1": "history"})
    assert answer.status_code == 303, answer.text
    points = api_datapoints(seeded, dataset_id)
    assert [p["inputs"] for p in points] == [{"q": "a"}, {"q": "b"}]
    assert points[0]["history"] == [{"role": "user", "content": "hi"}]


def test_edit_a_datapoint_then_see_the_version_history(
    seeded: Seeded, client: httpx.Client
) -> None:
    pid = seeded.project_id
    dataset_id = new_dataset(client, pid, "editable")
    status_url = upload(client, pid, dataset_id, "qa.csv", qa_csv(3))
    token = csrf_of(client.get(status_url).text)
    client.post(status_url, data={"csrf": token})
    first = api_datapoints(seeded, dataset_id)[0]
    url = f"/p/{pid}/datasets/{dataset_id}/datapoints/{first['id']}"
    form = client.get(url)
    assert "What is 0 + 0?" in form.text
    token = csrf_of(form.text)
    bad = client.post(url, data={"csrf": token, "inputs": "{not json", "ground_truth": ""})
    assert bad.status_code == 400 and "inputs is not valid JSON" in bad.text
    assert "{not json" in bad.text  # the typed text is shown back
    answer = client.post(
        url,
        data={
            "csrf": token,
            "inputs": '{"question": "edited"}',
            "ground_truth": '"0"',
            "history": "",
            "metadata": "",
        },
    )
    assert answer.status_code == 303, answer.text
    points = api_datapoints(seeded, dataset_id)
    assert points[0]["inputs"] == {"question": "edited"}
    assert points[0]["ground_truth"] == {"value": "0"}
    page = client.get(f"/p/{pid}/datasets/{dataset_id}")
    assert 'id="dataset-version">v2<' in page.text
    old = client.get(f"/p/{pid}/datasets/{dataset_id}", params={"version": 1})
    assert "What is 0 + 0?" in old.text and "edited" not in old.text
    changes = client.get(f"/p/{pid}/datasets/{dataset_id}/versions/2")
    assert "Added 0, removed 0, edited 1" in changes.text
    exported = client.get(f"/p/{pid}/datasets/{dataset_id}/export.jsonl", params={"version": 1})
    lines = [orjson.loads(line) for line in exported.text.splitlines()]
    assert [p["inputs"]["question"] for p in lines][:1] == ["What is 0 + 0?"]
    table = list(
        csv.reader(io.StringIO(client.get(f"/p/{pid}/datasets/{dataset_id}/export.csv").text))
    )
    assert table[0][:4] == ["id", "inputs.question", "ground_truth.answer", "metadata.topic"]
    assert table[1][1] == "edited" and table[1][table[0].index("ground_truth")] == "0"

    # Remove it from the dataset: a third version without it.
    token = csrf_of(client.get(url).text)
    assert client.post(f"{url}/remove", data={"csrf": token}).status_code == 303
    assert [p["id"] for p in api_datapoints(seeded, dataset_id)] == [p["id"] for p in points[1:]]


def test_add_a_session_to_a_dataset_from_its_page(seeded: Seeded, client: httpx.Client) -> None:
    pid = seeded.project_id
    session_id = seeded.sessions["checkout"]
    session = client.get(f"/p/{pid}/sessions/{session_id}")
    assert f"/p/{pid}/events/{session_id}/add-to-dataset" in session.text
    form = client.get(f"/p/{pid}/events/{session_id}/add-to-dataset")
    assert "Where is my parcel?" in form.text
    answer = client.post(
        f"/p/{pid}/events/{session_id}/add-to-dataset",
        data={
            "csrf": csrf_of(form.text),
            "dataset": "",
            "new_name": "parcel questions",
            "inputs": '{"query": "Where is my parcel?"}',
            "ground_truth": '{"answer": "tomorrow"}',
        },
    )
    assert answer.status_code == 303, answer.text
    dataset_id = answer.headers["location"].split("/datasets/")[1].split("/")[0]
    (point,) = api_datapoints(seeded, dataset_id)
    assert point["linked_event"] == session_id
    assert point["ground_truth"] == {"answer": "tomorrow"}
    page = client.get(f"/p/{pid}/datasets/{dataset_id}")
    link = f"/p/{pid}/events/{session_id}/session"
    assert link in page.text
    assert (
        client.get(link).headers["location"] == f"/p/{pid}/sessions/{session_id}?event={session_id}"
    )


def test_add_every_session_a_filter_matches(seeded: Seeded, client: httpx.Client) -> None:
    pid = seeded.project_id
    view = {"f": "source", "op": "is", "v": "staging", "t": "string"}
    sessions = client.get(f"/p/{pid}/sessions", params=view)
    assert (
        "/add-to-dataset?f=source&amp;op=is&amp;v=staging&amp;t=string&amp;from=sessions"
        in sessions.text
    )
    ask = client.get(f"/p/{pid}/add-to-dataset", params={**view, "from": "sessions"})
    assert "3 sessions match this view" in ask.text
    answer = client.post(
        f"/p/{pid}/add-to-dataset",
        data={
            "csrf": csrf_of(ask.text),
            "query": re.search(r'name="query" value="([^"]*)"', ask.text)
            .group(1)
            .replace("&amp;", "&"),
            "dataset": "",
            "new_name": "staging runs",
        },  # type: ignore[union-attr]  # asserted present above
    )
    assert answer.status_code == 303, answer.text
    dataset_id = answer.headers["location"].rsplit("/", 1)[1]
    points = api_datapoints(seeded, dataset_id)
    linked = {p["linked_event"] for p in points}
    assert linked == {seeded.sessions[f"batch-{i}"] for i in (1, 3, 5)}


def test_deploy_a_prompt_version_to_prod(seeded: Seeded, client: httpx.Client) -> None:
    pid = seeded.project_id
    form = client.get(f"/p/{pid}/prompts/new")
    fields = {
        "csrf": csrf_of(form.text),
        "name": "support-answer",
        "type": "LLM",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "call_type": "chat",
        "template": '[{"role": "system", "content": "Be brief."}]',
        "hyperparameters": '{"temperature": 0.2}',
        "env_dev": "1",
    }
    bad = client.post(f"/p/{pid}/prompts", data={**fields, "call_type": "telepathy"})
    assert bad.status_code == 400 and "call_type" in bad.text
    answer = client.post(f"/p/{pid}/prompts", data=fields)
    assert answer.status_code == 303, answer.text
    prompt_url = answer.headers["location"]
    prompt_id = prompt_url.rsplit("/", 1)[1]
    edit = client.get(f"{prompt_url}/edit")
    assert "Be brief." in edit.text
    second = client.post(
        prompt_url,
        data={**fields, "template": '[{"role": "system", "content": "Be kind."}]', "env_dev": "1"},
    )
    assert second.status_code == 303
    page = client.get(prompt_url, params={"a": 1, "b": 2})
    assert re.search(r'<tr class="removed">.*Be brief\.', page.text)
    assert re.search(r'<tr class="added">.*Be kind\.', page.text)
    answer = client.post(
        f"{prompt_url}/deploy", data={"csrf": csrf_of(page.text), "version": "1", "env": "prod"}
    )
    assert answer.status_code == 303
    stored = stored_definition(seeded, "configuration", prompt_id)
    prod = configurations.shown_version(
        stored.versions, stored.deployments, configurations.ConfigurationQuery(env="prod")
    )
    assert prod is not None
    rendered = configurations.render_configuration(
        prompt_id, prod, stored.versions, stored.deployments
    )
    assert rendered["version"] == 1 and rendered["deployed"] == {"dev": 2, "prod": 1}
    assert rendered["parameters"]["template"] == [{"role": "system", "content": "Be brief."}]
    listing = client.get(f"/p/{pid}/prompts")
    assert re.search(rf'data-prompt-id="{prompt_id}".*?env-prod">v1<', listing.text, re.S)


def test_create_and_edit_an_evaluator_with_the_api_validation(
    seeded: Seeded, client: httpx.Client
) -> None:
    pid = seeded.project_id
    form = client.get(f"/p/{pid}/evaluators/new")
    fields = {
        "csrf": csrf_of(form.text),
        "name": "relevance",
        "type": "LLM",
        "return_type": "float",
        "criteria": "Rate relevance from 0 to 1.",
        "threshold_min": "0.7",
        "sampling_percentage": "50",
    }
    bad = client.post(f"/p/{pid}/evaluators", data={**fields, "threshold_max": "0.2"})
    assert bad.status_code == 400 and "threshold.min is above threshold.max" in bad.text
    too_much = client.post(f"/p/{pid}/evaluators", data={**fields, "sampling_percentage": "150"})
    assert too_much.status_code == 400 and "sampling_percentage" in too_much.text
    answer = client.post(f"/p/{pid}/evaluators", data=fields)
    assert answer.status_code == 303, answer.text
    url = answer.headers["location"]
    edit = client.get(url)
    assert 'value="0.7"' in edit.text
    answer = client.post(url, data={**fields, "threshold_min": "0.8", "csrf": csrf_of(edit.text)})
    assert answer.status_code == 303
    stored = stored_definition(seeded, "metric", url.rsplit("/", 1)[1])
    live = versions.deployed(stored.deployments)[versions.DEPLOYED]
    (content,) = [v.content for v in stored.versions if v.change_id == live]
    assert content["threshold"] == {"min": 0.8} and content["sampling_percentage"] == 50
    assert len(stored.versions) == 2
    assert "0.8 ≤ x" in client.get(f"/p/{pid}/evaluators").text


def test_hostile_markup_in_datapoints_is_shown_as_text(
    seeded: Seeded, client: httpx.Client
) -> None:
    pid = seeded.project_id
    dataset_id = new_dataset(client, pid, HOSTILE)
    row = orjson.dumps(
        {HOSTILE: HOSTILE, "answer": HOSTILE, "history": [{"role": "user", "content": HOSTILE}]}
    )
    status_url = upload(client, pid, dataset_id, f"{HOSTILE}.jsonl", row + b"\n")
    staged = client.get(status_url)
    assert RAW_SCRIPT not in staged.text
    token = csrf_of(staged.text)
    client.post(
        status_url, data={"csrf": token, "c0": "inputs", "c1": "ground_truth", "c2": "history"}
    )
    (point,) = api_datapoints(seeded, dataset_id)
    for path in (
        f"/p/{pid}/datasets",
        f"/p/{pid}/datasets/{dataset_id}",
        f"/p/{pid}/datasets/{dataset_id}/versions/1",
        f"/p/{pid}/datasets/{dataset_id}/datapoints/{point['id']}",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert RAW_SCRIPT not in page.text and "&lt;script&gt;" in page.text, path


def test_project_b_changes_nothing_of_a_evaluation(seeded: Seeded) -> None:
    with signed_in(seeded.url, seeded.second_key) as client:
        for (method, _), cases in EVALUATION_CASES.items():
            for case in cases if method == "POST" else ():
                for answer in case(client, seeded):
                    assert answer.status_code in (303, 404), (answer.url, answer.text)
    intact(seeded)


@pytest.mark.parametrize("route", post_routes())
def test_forged_posts_to_every_evaluation_page_are_refused(
    seeded: Seeded, client: httpx.Client, route: str
) -> None:
    path = concrete(route, seeded)
    token = csrf_of(client.get(f"/p/{seeded.project_id}/datasets").text)
    for data, headers in (
        ({"csrf": "0" * 64, "name": "from B"}, {}),
        ({"name": "from B"}, {}),
        ({"csrf": token, "name": "from B"}, {"origin": "https://evil.example"}),
        ({"csrf": token, "name": "from B"}, {"origin": "null"}),
    ):
        answer = client.post(path, data=data, headers=headers)
        assert answer.status_code == 403, (path, data, headers, answer.text)
    intact(seeded)

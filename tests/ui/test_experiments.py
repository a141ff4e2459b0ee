"""The experiments, run and compare pages without a browser: what each shows of two
runs sent through the REST API (tests/ui/experiment_data.py), the sessions list's run
and dataset filters, a session's link back to its run, escaping, refused parameters,
and forged posts."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.ui.client import browser, csrf_of, sign_in, signed_in
from tests.ui.conftest import HOSTILE, Seeded
from tests.ui.experiment_cases import PAGES
from tests.ui.experiment_data import DATASET, NEW_NAME, OLD_NAME, Experiments, experiments_of

RAW_SCRIPT = "<script>window.__pwned"


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> Iterator[httpx.Client]:
    with signed_in(seeded.url, seeded.key) as signed:
        yield signed


@pytest.fixture(scope="module")
def runs(seeded: Seeded) -> Experiments:
    return experiments_of(seeded)


def _page(client: httpx.Client, path: str) -> str:
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
    assert RAW_SCRIPT not in answer.text
    return answer.text


def _rows(html: str, element: str) -> list[str]:
    """The datapoint of each `element` carrying one, in page order."""
    return re.findall(rf'<{element}[^>]*data-datapoint="([^"]*)"', html)


def _section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def test_experiments_list_the_dataset_and_its_runs_newest_first(
    seeded: Seeded, client: httpx.Client, runs: Experiments
) -> None:
    pid = seeded.project_id
    index = _page(client, f"/p/{pid}/experiments")
    assert DATASET in index and "local rows" in index
    listing = _page(client, f"/p/{pid}/experiments/runs?dataset={DATASET}")
    table = _section(listing, 'id="runs"', "</table>")
    assert table.index(NEW_NAME) < table.index(OLD_NAME)  # newest first
    new_row = _section(table, f'data-run-id="{runs.new}"', "</tr>")
    old_row = _section(table, f'data-run-id="{runs.old}"', "</tr>")
    assert "exp/new" in new_row and "ab12ab12ab12" in new_row  # git branch and commit
    assert "60%" in new_row and "3/5" in new_row  # dp-regress failed, dp-error errored
    assert "75%" in old_row and "3/4" in old_row
    assert ">5<" in new_row.replace(" ", "") and ">4<" in old_row.replace(" ", "")
    assert "0.637" in new_row and "0.625" in old_row  # accuracy's average
    assert "accuracy_explanation" not in table  # shown with its score, not as a column
    trends = _section(listing, 'class="trends"', "</section>")
    assert 'data-metric="accuracy"' in trends and "<svg" in trends
    assert 'data-metric="pass rate"' in trends


def test_a_run_grid_shows_verdicts_errors_labels_and_explanations(
    seeded: Seeded, client: httpx.Client, runs: Experiments
) -> None:
    html = _page(client, f"/p/{seeded.project_id}/runs/{runs.new}")
    grid = _section(html, 'id="run-grid"', "</table>")
    assert _rows(grid, "tr") == ["dp-regress", "dp-steady", "dp-improve", "dp-new-only", "dp-error"]
    regress = _section(grid, 'data-datapoint="dp-regress"', "</tr>")
    assert (
        "status-failed"
        in html[html.rindex("<tr", 0, html.index('data-datapoint="dp-regress"')) :][:40]
    )
    assert "✗" in regress and "0.2" in regress and "curt" in regress
    assert "Judged against the reference" in regress
    errored = _section(grid, 'data-datapoint="dp-error"', "</tr>")
    assert "the parcel service is down" in errored
    session = runs.sessions["new"]["dp-regress"]
    assert f'data-href="/p/{seeded.project_id}/sessions/{session}"' in grid


def test_a_run_grid_sorts_and_filters_by_metric_and_result(
    seeded: Seeded, client: httpx.Client, runs: Experiments
) -> None:
    base = f"/p/{seeded.project_id}/runs/{runs.new}"

    def shown(query: str) -> list[str]:
        return _rows(_section(_page(client, base + query), 'id="run-grid"', "</table>"), "tr")

    # Unscored rows (the errored one) come last whichever the order.
    ascending = ["dp-regress", "dp-steady", "dp-new-only", "dp-improve", "dp-error"]
    assert shown("?sort=metric:accuracy") == ascending
    assert shown("?sort=metric:accuracy&order=desc") == [*ascending[3::-1], "dp-error"]
    assert shown("?outcome=failed") == ["dp-regress", "dp-error"]
    assert shown("?outcome=errored") == ["dp-error"]
    assert shown("?metric=accuracy&verdict=failed") == ["dp-regress"]
    assert shown("?metric=accuracy&low=0.7") == ["dp-improve", "dp-new-only"]
    assert shown("?q=improve") == ["dp-improve"]
    assert shown("?sort=outcome&limit=25&page=1")[0] == "dp-error"


@pytest.mark.parametrize("query", ["?outcome=maybe", "?agg=mode", "?limit=7", "?page=0"])
def test_a_run_page_refuses_parameters_its_controls_never_send(
    seeded: Seeded, client: httpx.Client, runs: Experiments, query: str
) -> None:
    answer = client.get(f"/p/{seeded.project_id}/runs/{runs.new}{query}")
    assert answer.status_code == 400, answer.text


def test_a_bad_range_is_named_and_the_grid_still_shows(
    seeded: Seeded, client: httpx.Client, runs: Experiments
) -> None:
    html = _page(client, f"/p/{seeded.project_id}/runs/{runs.new}?low=abc")
    assert 'id="query-error"' in html and "low must be a number" in html
    assert len(_rows(_section(html, 'id="run-grid"', "</table>"), "tr")) == 5


def test_an_unknown_run_is_not_found(seeded: Seeded, client: httpx.Client) -> None:
    assert client.get(f"/p/{seeded.project_id}/runs/no-such-run").status_code == 404
    answer = client.get(f"/p/{seeded.project_id}/compare?old=no-such-run&new=nor-this")
    assert answer.status_code == 404


def test_compare_counts_per_metric_and_puts_the_regressed_datapoint_first(
    seeded: Seeded, client: httpx.Client, runs: Experiments
) -> None:
    pid = seeded.project_id
    html = _page(client, f"/p/{pid}/compare?old={runs.old}&new={runs.new}")
    accuracy = _section(html, 'data-metric="accuracy"', "</tr>")
    cells = re.findall(r'<td class="num[^"]*">\s*([^<]*?)\s*<', accuracy)
    assert cells[:2] == ["0.625", "0.637"]  # baseline and candidate averages
    assert "▲ +0.012" in accuracy  # higher is better: an improvement
    improved = re.search(r'class="num improved">(\d+)<', accuracy)
    regressed = re.search(r'class="num regressed">(\d+)<', accuracy)
    assert improved and improved.group(1) == "1"
    assert regressed and regressed.group(1) == "1"
    assert _rows(html, "article") == ["dp-regress", "dp-improve", "dp-steady"]
    first = _section(html, 'data-datapoint="dp-regress"', "</article>")
    assert 'data-status="regressed"' in first and "now fails" in first
    # The word-level diff: the candidate dropped "Monday morning" and wrote "Friday evening".
    assert re.search(r"<del>Monday morning\s*</del>", first)
    assert re.search(r"<ins>Friday evening\s*</ins>", first)
    only = _section(html, 'id="only-in"', "</section>")
    baseline_only, candidate_only = only.split("Only in the candidate")
    assert "dp-old-only" in baseline_only and "dp-new-only" not in baseline_only
    assert "dp-new-only" in candidate_only and "dp-error" in candidate_only


def test_compare_filters_regressed_only_pages_and_diffs_against_the_ground_truth(
    seeded: Seeded, client: httpx.Client, runs: Experiments
) -> None:
    base = f"/p/{seeded.project_id}/compare?old={runs.old}&new={runs.new}"
    assert _rows(_page(client, base + "&only=regressed"), "article") == ["dp-regress"]
    assert _rows(_page(client, base + "&only=improved"), "article") == ["dp-improve"]
    assert _rows(_page(client, base + "&limit=10&page=2"), "article") == []
    truth = _section(
        _page(client, base + "&diff=truth"), 'data-datapoint="dp-regress"', "</article>"
    )
    # Against the ground truth "Monday morning", the baseline adds words but drops none.
    baseline = _section(truth, "Baseline output", "</section>")
    assert "<del>" not in baseline and "<ins>" in baseline
    assert "<del>Monday" in _section(truth, "Candidate output", "</section>")


def test_two_ticked_runs_open_their_comparison_older_as_baseline(
    seeded: Seeded, client: httpx.Client, runs: Experiments
) -> None:
    pid = seeded.project_id
    answer = client.get(f"/p/{pid}/compare", params=[("run", runs.new), ("run", runs.old)])
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/p/{pid}/compare?old={runs.old}&new={runs.new}"
    one = client.get(f"/p/{pid}/compare", params=[("run", runs.new)])
    assert one.status_code == 400 and "Tick two runs" in one.text
    picker = _page(client, f"/p/{pid}/compare")
    assert NEW_NAME in picker and OLD_NAME in picker


def test_the_sessions_list_filters_by_run_and_by_dataset(
    seeded: Seeded, client: httpx.Client, runs: Experiments
) -> None:
    pid = seeded.project_id

    def listed(query: str) -> set[str]:
        html = _page(client, f"/p/{pid}/sessions?range=30d&{query}")
        return set(re.findall(r'data-session-id="([^"]+)"', html))

    assert listed(f"run={runs.new}") == set(runs.sessions["new"].values())
    assert listed(f"dataset={DATASET}") == {
        *runs.sessions["new"].values(),
        *runs.sessions["old"].values(),
    }
    html = _page(client, f"/p/{pid}/sessions?run={runs.new}")
    assert NEW_NAME in _section(html, 'id="run-filter"', "</p>")


def test_a_session_of_a_run_links_back_to_its_run_and_datapoint(
    seeded: Seeded, client: httpx.Client, runs: Experiments
) -> None:
    pid = seeded.project_id
    html = _page(client, f"/p/{pid}/sessions/{runs.sessions['old']['dp-improve']}")
    link = _section(html, 'id="run-link"', "</p>")
    assert f'href="/p/{pid}/runs/{runs.old}?q=dp-improve"' in link and OLD_NAME in link
    assert "dp-improve" in link and DATASET in link
    plain = _page(client, seeded.session_url("checkout"))
    assert 'id="run-link"' not in plain


def test_hostile_outputs_labels_and_explanations_are_escaped(
    seeded: Seeded, client: httpx.Client, runs: Experiments
) -> None:
    pid = seeded.project_id
    escaped = "&lt;script&gt;window.__pwned = 1&lt;/script&gt;"
    for path in (
        f"/p/{pid}/runs/{runs.new}",
        f"/p/{pid}/compare?old={runs.old}&new={runs.new}&only=unchanged",
        f"/p/{pid}/compare?old={runs.old}&new={runs.new}&only=unchanged&diff=truth",
    ):
        html = _page(client, path)  # no raw script tag
        assert escaped in html, path
        assert HOSTILE not in html


@pytest.mark.parametrize("path", PAGES)
def test_every_experiment_page_needs_a_full_key(
    seeded: Seeded, runs: Experiments, path: str
) -> None:
    url = path.format(pid=seeded.project_id, old=runs.old, new=runs.new)
    with browser(seeded.url) as anonymous:
        answer = anonymous.get(url)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
        assert sign_in(anonymous, seeded.ingest_key).status_code == 403
        assert anonymous.get(url).status_code == 303


@pytest.mark.parametrize("path", PAGES)
def test_forged_posts_to_every_experiment_page_are_refused(
    seeded: Seeded, client: httpx.Client, runs: Experiments, path: str
) -> None:
    """The pages only read: a post, with or without a token, from any origin, changes
    nothing and is refused."""
    url = path.format(pid=seeded.project_id, old=runs.old, new=runs.new)
    token = csrf_of(client.get(f"/p/{seeded.project_id}/sessions").text)
    for data, headers in (
        ({"csrf": token}, {}),
        ({}, {}),
        ({"csrf": token}, {"origin": "https://evil.example"}),
    ):
        answer = client.post(url, data=data, headers=headers)
        assert answer.status_code in (403, 405), (url, answer.status_code)
    with seeded.server.client() as api:
        stored = api.get(f"/v1/runs/{runs.new}").json()["evaluation"]
    assert stored["name"] == NEW_NAME and stored["status"] == "completed"

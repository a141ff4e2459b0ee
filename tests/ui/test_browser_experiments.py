"""Experiments, a run's grid and two runs compared in a real browser (Debian's
chromium, Playwright), over the runs of tests/ui/experiment_data.py."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.ui import test_browser
from tests.ui.conftest import Seeded
from tests.ui.experiment_data import DATASET, NEW_NAME, OLD_NAME, Experiments, experiments_of
from tests.ui.test_browser import sign_in

# The browser fixtures of test_browser.py; `tab` is its `page` (a fresh profile per test).
playwright = test_browser.playwright
chromium = test_browser.chromium
tab = test_browser.page


@pytest.fixture
def runs(seeded: Seeded) -> Experiments:
    return experiments_of(seeded)


def _grid_order(page: Page) -> list[str]:
    rows = page.locator("#run-grid tbody tr[data-datapoint]")
    return [rows.nth(i).get_attribute("data-datapoint") or "" for i in range(rows.count())]


def test_open_a_run_sort_by_a_metric_and_open_a_row(
    tab: Page, seeded: Seeded, runs: Experiments
) -> None:
    sign_in(tab, seeded.key)
    tab.goto(f"/p/{seeded.project_id}/experiments")
    tab.get_by_role("link", name=DATASET).click()
    tab.get_by_role("link", name=NEW_NAME).click()
    expect(tab.locator("h1")).to_contain_text(NEW_NAME)
    tab.locator("#run-grid thead").get_by_role("link", name="accuracy").click()
    expect(tab).to_have_url(re.compile(r"sort=metric%3Aaccuracy"))
    assert _grid_order(tab) == ["dp-regress", "dp-steady", "dp-new-only", "dp-improve", "dp-error"]
    tab.locator("#run-grid thead").get_by_role("link", name=re.compile("accuracy")).click()
    expect(tab).to_have_url(re.compile(r"order=desc"))
    assert _grid_order(tab) == ["dp-improve", "dp-new-only", "dp-steady", "dp-regress", "dp-error"]
    tab.get_by_label("Result").select_option("failed")
    tab.get_by_role("button", name="Apply").click()
    assert _grid_order(tab) == ["dp-regress", "dp-error"]  # the sort is kept
    # A click on the row (not on a link) opens its session, which links back to the run.
    tab.locator('#run-grid tr[data-datapoint="dp-regress"] td.text').first.click()
    expect(tab).to_have_url(re.compile(rf"/sessions/{runs.sessions['new']['dp-regress']}$"))
    expect(tab.locator("#run-link")).to_contain_text(NEW_NAME)
    expect(tab.locator("#run-link")).to_contain_text("dp-regress")


def test_compare_two_ticked_runs_and_see_the_regressed_datapoint_and_its_diff(
    tab: Page, seeded: Seeded, runs: Experiments
) -> None:
    sign_in(tab, seeded.key)
    tab.goto(f"/p/{seeded.project_id}/experiments/runs?dataset={DATASET}")
    button = tab.locator("#compare-selected")
    expect(button).to_be_disabled()
    tab.get_by_label(f"Select {NEW_NAME}").check()
    tab.get_by_label(f"Select {OLD_NAME}").check()
    expect(button).to_be_enabled()
    button.click()
    expect(tab).to_have_url(re.compile(rf"/compare\?old={runs.old}&new={runs.new}$"))
    expect(tab.get_by_label("Baseline", exact=True)).to_contain_text(OLD_NAME)
    expect(tab.get_by_label("Candidate", exact=True)).to_contain_text(NEW_NAME)
    accuracy = tab.locator('#compare-metrics tr[data-metric="accuracy"]')
    expect(accuracy.locator("td.regressed")).to_have_text("1")
    expect(accuracy.locator("td.improved")).to_have_text("1")
    first = tab.locator("article.pair").first
    expect(first).to_have_attribute("data-datapoint", "dp-regress")
    expect(first).to_contain_text("now fails")
    expect(first.locator(".side.old del")).to_contain_text("Monday morning")
    expect(first.locator(".side.new ins")).to_contain_text("Friday evening")
    tab.get_by_label("Show").select_option("regressed")
    tab.get_by_role("button", name="Apply").click()
    expect(tab).to_have_url(re.compile(r"only=regressed"))
    expect(tab.locator("article.pair")).to_have_count(1)
    expect(tab.locator("#only-in")).to_contain_text("dp-old-only")
    # Swap: the same runs the other way round.
    tab.get_by_title("Swap baseline and candidate").click()
    expect(tab.get_by_label("Baseline", exact=True)).to_contain_text(NEW_NAME)


def test_hostile_markup_in_outputs_never_runs(tab: Page, seeded: Seeded, runs: Experiments) -> None:
    sign_in(tab, seeded.key)
    pid = seeded.project_id
    for path in (
        f"/p/{pid}/runs/{runs.new}?q=dp-steady",
        f"/p/{pid}/compare?old={runs.old}&new={runs.new}&only=unchanged",
        f"/p/{pid}/compare?old={runs.old}&new={runs.new}&only=unchanged&diff=truth",
    ):
        tab.goto(path)
        expect(tab.locator("main")).to_contain_text("<script>window.__pwned = 1</script>")
        assert tab.evaluate("window.__pwned") is None, path

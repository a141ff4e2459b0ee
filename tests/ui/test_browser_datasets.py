"""Datasets, prompts and evaluators in a real browser (Debian's chromium, Playwright)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.ui import test_browser
from tests.ui.conftest import HOSTILE, Seeded
from tests.ui.test_browser import sign_in

# The browser fixtures of test_browser.py; `tab` is its `page` (a fresh profile per test).
playwright = test_browser.playwright
chromium = test_browser.chromium
tab = test_browser.page

QA_CSV = b"question,answer,topic\nWhat is 2 + 2?,4,sums\nCapital of France?,Paris,geography\n"


def new_dataset(page: Page, seeded: Seeded, name: str) -> None:
    page.goto(f"/p/{seeded.project_id}/datasets")
    page.get_by_text("New dataset").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create dataset").click()
    expect(page.locator("#dataset-name")).to_have_text(name)


def upload(page: Page, name: str, body: bytes) -> None:
    page.get_by_role("link", name="Import CSV or JSONL").click()
    page.set_input_files(
        "input[name=file]", files=[{"name": name, "mimeType": "text/csv", "buffer": body}]
    )
    page.get_by_role("button", name="Upload and check").click()
    # The status page refreshes itself (no script) until the check is over.
    expect(page.locator("#import-status")).not_to_have_attribute("data-state", "validating")


def test_import_a_csv_with_a_mapping_and_see_the_datapoints(tab: Page, seeded: Seeded) -> None:
    sign_in(tab, seeded.key)
    new_dataset(tab, seeded, "capitals and sums")
    upload(tab, "qa.csv", QA_CSV)
    expect(tab.locator("#import-status")).to_have_attribute("data-state", "ready")
    expect(tab.locator("#rows-read")).to_have_text("2")
    tab.get_by_label("Column topic goes to").select_option("inputs")
    tab.get_by_role("button", name="Preview").click()
    expect(tab).to_have_url(re.compile(r"c0=inputs&c1=ground_truth&c2=inputs"))
    preview = tab.locator("#preview")
    expect(preview.locator("tbody tr")).to_have_count(2)
    expect(preview.locator("tbody tr").first.locator("td").first).to_contain_text("sums")
    tab.get_by_role("button", name="Import 2 rows").click()
    table = tab.locator("#datapoints")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("Capital of France?")
    expect(table).to_contain_text("Paris")
    expect(tab.locator("#dataset-version")).to_have_text("v1")
    expect(tab.locator("#versions")).to_contain_text("+2")


def test_a_bad_csv_row_is_reported_and_nothing_imported(tab: Page, seeded: Seeded) -> None:
    sign_in(tab, seeded.key)
    new_dataset(tab, seeded, "bad rows")
    upload(tab, "bad.csv", b'question,answer\nok,1\n"broken,2\nlater,3\n')
    expect(tab.locator("#import-status")).to_have_attribute("data-state", "failed")
    errors = tab.locator("#row-errors")
    expect(errors).to_contain_text("Nothing will be imported")
    expect(errors.locator("tbody tr").first.locator("td").first).to_have_text("3")
    expect(tab.locator("#commit-form")).to_have_count(0)
    tab.get_by_role("link", name="bad rows").click()
    expect(tab.locator("#datapoints")).to_contain_text("No datapoints yet")


def test_add_a_session_to_a_dataset(tab: Page, seeded: Seeded) -> None:
    sign_in(tab, seeded.key)
    tab.goto(seeded.session_url("checkout"))
    tab.get_by_role("link", name="Add to dataset…").click()
    expect(tab.get_by_label("Inputs")).to_have_value(re.compile("Where is my parcel"))
    tab.get_by_label("Add to").select_option(label="a new dataset…")
    tab.get_by_label("New dataset's name").fill("parcel sessions")
    tab.get_by_label("Ground truth").fill('{"answer": "tomorrow"}')
    tab.get_by_role("button", name="Add to dataset").click()
    expect(tab.locator("h1")).to_have_text("Datapoint")
    tab.get_by_role("link", name="parcel sessions").click()
    table = tab.locator("#datapoints")
    expect(table).to_contain_text("tomorrow")
    table.get_by_role("link", name=re.compile("^session")).click()
    expect(tab).to_have_url(re.compile(rf"/sessions/{seeded.sessions['checkout']}\?event="))


def test_deploy_a_prompt_version_to_prod(tab: Page, seeded: Seeded) -> None:
    sign_in(tab, seeded.key)
    tab.goto(f"/p/{seeded.project_id}/prompts")
    tab.get_by_role("link", name="New prompt").click()
    tab.get_by_label("Name").fill("triage")
    tab.get_by_label("Model").fill("gpt-4o-mini")
    tab.get_by_label("Template").fill('[{"role": "system", "content": "Sort the ticket."}]')
    tab.get_by_label("dev").check()
    tab.get_by_role("button", name="Create prompt").click()
    tab.get_by_role("link", name="New version", exact=True).click()
    tab.get_by_label("Template").fill(
        '[{"role": "system", "content": "Sort the ticket by urgency."}]'
    )
    tab.get_by_role("button", name="Save new version").click()
    expect(tab.locator('[data-env="dev"]')).to_have_text("dev: v1")
    tab.get_by_label("Version to deploy").select_option("v2")
    tab.get_by_label("Environment").select_option("prod")
    tab.get_by_role("button", name="Deploy").click()
    expect(tab.locator('[data-env="prod"]')).to_have_text("prod: v2")
    expect(tab.locator('[data-env="dev"]')).to_have_text("dev: v1")
    tab.get_by_role("button", name="Diff").click()
    expect(tab.locator("#diff tr.added")).to_contain_text("by urgency")
    tab.get_by_role("link", name="Prompts").first.click()
    expect(tab.locator("#prompts")).to_contain_text("triage")


def test_hostile_markup_in_datapoints_never_runs(tab: Page, seeded: Seeded) -> None:
    sign_in(tab, seeded.key)
    new_dataset(tab, seeded, HOSTILE)
    cell = '"' + HOSTILE.replace('"', '""') + '"'
    body = f"question,answer\n{cell},{cell}\n"
    upload(tab, f"{HOSTILE}.csv", body.encode())
    tab.get_by_role("button", name="Import 1 row").click()
    expect(tab.locator("#datapoints")).to_contain_text("<script>")
    tab.locator("#datapoints tbody a").first.click()
    expect(tab.get_by_label("Inputs")).to_have_value(re.compile("<script>"))
    tab.goto(f"/p/{seeded.project_id}/datasets")
    expect(tab.locator("#datasets")).to_contain_text("<img src=x")
    assert tab.evaluate("window.__pwned") is None

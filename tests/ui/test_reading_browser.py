"""Reading sessions in a real browser (issue 16): list rows that differ, the demo's
10,000-event session navigated by search, errors and zoom, an SDK exception as a stack
trace, a filter that infers its type, the phone layout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from hivekeeper.demo import big_session_id
from tests.support.process import serve_process
from tests.ui.conftest import Seeded
from tests.ui.test_browser import browser_tab, chromium, page, playwright, sign_in

__all__ = ["chromium", "page", "playwright"]  # fixtures shared with test_browser
_DEMO_KEY = re.compile(r"^\s+(support-bot|rag-search|agent-lab)\s+(hh_\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Demo:
    url: str
    keys: dict[str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`hivekeeper serve --demo`: the demo data set, its 10,000-event session included."""
    data_dir = tmp_path_factory.mktemp("demo")
    with serve_process(data_dir, 180, demo=True) as server:
        keys = dict(_DEMO_KEY.findall((data_dir / "server.log").read_text()))
        yield Demo(server.url, keys)


@pytest.fixture
def demo_page(chromium: Browser, demo: Demo) -> Iterator[Page]:
    yield from browser_tab(
        chromium, demo.url, timeout_ms=20_000, viewport={"width": 1440, "height": 900}
    )


def _open_big_session(page: Page, demo: Demo) -> Locator:
    """Sign in to agent-lab and open its 10,000-event session; the tree, once drawn."""
    sign_in(page, demo.keys["agent-lab"])
    page.goto(f"/p/{_project_id(page)}/sessions/{big_session_id()}")
    tree = page.locator("#outline")
    expect(tree.locator(".virtual .row").first).to_be_visible()
    return tree


def _edge(axis: Locator, which: str) -> float:
    """Where the waterfall's visible window starts or ends (ms from the session start)."""
    return float(axis.get_attribute(f"data-{which}") or "nan")


def _project_id(page: Page) -> str:
    match = re.search(r"/p/([^/]+)/", page.url)
    assert match, page.url
    return match.group(1)


def test_the_list_shows_distinct_previews_and_a_match_count(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.key)
    page.goto(f"/p/{seeded.project_id}/sessions")
    rows = page.locator("#sessions tbody tr")
    previews = rows.locator(".preview.in").all_text_contents()
    # Rows tell sessions apart; only the runs' sessions over one dataset share inputs.
    assert len(set(previews)) >= 6 and len(set(previews)) > len(previews) // 2
    expect(page.locator("#match-count")).to_have_text(f"{rows.count()} sessions match")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    rows.first.locator("button.copy-id").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == rows.first.get_attribute("data-session-id")


def test_search_and_next_error_in_the_10000_event_session(demo_page: Page, demo: Demo) -> None:
    page = demo_page
    tree = _open_big_session(page, demo)
    expect(page.locator(".trace-head .tree-cell")).to_have_text("10,000 events")

    page.get_by_label("Search this session").fill("final_report")
    expect(page.locator("#search-status")).to_have_text("1 of 1")
    expect(page.locator("#detail h2")).to_have_text("final_report")
    expect(tree.locator('.row[aria-selected="true"]')).to_contain_text("final_report")
    assert "event=" in page.url

    page.get_by_role("button", name="error →").click()
    selected = tree.locator('.row[aria-selected="true"]')
    expect(selected).to_have_class(re.compile(r"\berr\b"))
    expect(page.locator("#detail .error-box")).to_be_visible()
    first_error = page.url
    page.get_by_role("button", name="error →").click()
    expect(page).not_to_have_url(first_error)
    page.get_by_role("button", name="← error").click()
    expect(page).to_have_url(first_error)

    # Only model events (and the chains above them), then every row folded and back.
    page.get_by_label("Show event types").select_option("model")
    types = tree.locator(".virtual .row .type").all_text_contents()
    assert set(types) <= {"session", "chain", "model"} and "model" in types
    page.get_by_label("Show event types").select_option("")
    page.get_by_role("button", name="Collapse all").click()
    expect(tree.locator(".virtual .row")).to_have_count(2)  # the session and its run
    page.get_by_role("button", name="Expand all").click()
    assert tree.locator(".virtual .row").count() > 2


def test_zooming_the_waterfall_changes_the_visible_time_range(
    demo_page: Page, demo: Demo
) -> None:
    page = demo_page
    _open_big_session(page, demo)
    axis = page.locator(".trace-head .axis")
    whole = float(axis.get_attribute("data-to") or 0)
    assert whole > 3_600_000  # a two-hour session
    labels = axis.locator("span").all_text_contents()

    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    expect(page).to_have_url(re.compile(r"zoom=[\d.]+-[\d.]+"))
    start, end = _edge(axis, "from"), _edge(axis, "to")
    assert end - start == pytest.approx(whole / 4, rel=0.01)
    assert axis.locator("span").all_text_contents() != labels

    page.locator("#outline").focus()
    page.keyboard.press("]")  # pan a quarter of the window later
    assert _edge(axis, "from") == pytest.approx(start + whole / 16, rel=0.01)
    # A reload keeps the zoom, as a shared link does.
    zoomed = axis.get_attribute("data-from")
    page.reload()
    expect(page.locator("#outline .virtual .row").first).to_be_visible()
    expect(axis).to_have_attribute("data-from", re.compile(rf"^{re.escape(zoomed or '')[:6]}"))
    page.get_by_role("button", name="Fit").click()
    expect(axis).to_have_attribute("data-from", "0")
    assert "zoom=" not in page.url


def test_an_sdk_exception_renders_as_a_stack_trace_and_counts_once(
    page: Page, seeded: Seeded
) -> None:
    sign_in(page, seeded.reading_key)
    page.goto(f"/p/{seeded.reading_project_id}/sessions")
    row = page.locator(f'tr[data-session-id="{seeded.sessions["sdk-exception"]}"]')
    expect(row.locator(".badge.err")).to_have_text("1")
    row.get_by_role("link", name="nested-exception").click()
    tree = page.locator("#outline")
    tree.locator(".row", has_text="inner").first.click()
    trace = page.locator("#detail .stacktrace")
    expect(trace.locator(".exc-head")).to_have_text("ValueError: boom 3")
    expect(trace.locator(".frame").last).to_contain_text("inner")
    expect(trace.locator(".frame-code").last).to_have_text('raise ValueError(f"boom {n}")')
    expect(page.locator(".trace-head .tree-cell")).to_have_text("4 events")


def test_a_greater_than_filter_on_cost_works_with_the_default_type(
    page: Page, seeded: Seeded
) -> None:
    sign_in(page, seeded.key)
    page.goto(f"/p/{seeded.project_id}/sessions")
    expect(page.get_by_label("Filter 1 type")).to_have_value("auto")
    page.get_by_label("Filter 1 field").fill("metadata.cost")
    page.get_by_label("Filter 1 operator").select_option("greater than")
    page.get_by_label("Filter 1 value").fill("0.001")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#query-error")).to_have_count(0)
    expect(page.locator("#sessions tbody tr")).to_have_count(1)
    expect(page.locator("#sessions")).to_contain_text("checkout-flow")
    expect(page.locator("#match-count")).to_have_text("1 session matches")


def test_the_phone_list_stacks_rows_without_sideways_scroll(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.key)
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"/p/{seeded.project_id}/sessions?col=metadata.num_events")
    expect(page.locator("#sessions tbody tr").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the sessions list scrolls sideways on a phone"
    assert page.locator("#sessions thead").is_hidden()
    first = page.locator("#sessions tbody tr").first
    expect(first.locator('td[data-label="Events"]')).to_be_visible()




def test_a_saved_dashboard_view_round_trips_through_the_charts_api(
    page: Page, seeded: Seeded
) -> None:
    sign_in(page, seeded.reading_key)
    base = f"/p/{seeded.reading_project_id}/dashboard"
    page.goto(f"{base}?split=event_name&range=7d&type=tool")
    expect(page.locator("#totals")).to_contain_text("Requests")
    page.get_by_label("Save this view as").fill("tool calls by name")
    page.get_by_role("button", name="Save", exact=True).click()
    link = page.get_by_role("link", name="tool calls by name")
    expect(link).to_be_visible()

    with seeded.server.client(seeded.reading_key) as api:
        charts = api.get("/v1/charts").json()["data"]
    chart = next(c for c in charts if c["name"] == "tool calls by name")
    assert (chart["metric"], chart["func"], chart["groupBy"]) == ("duration", "count", "event_name")
    assert chart["dateRange"] == {"relative": "7d"}
    assert chart["query"] == [{"field": "event_type", "operator": "is", "value": "tool"}]

    # The saved view opens as it was saved, from the dashboard's list.
    page.goto(f"{base}?range=24h")
    page.get_by_role("link", name="tool calls by name").click()
    expect(page.get_by_label("Split by")).to_have_value("event_name")
    expect(page.get_by_label("Range")).to_have_value("7d")
    expect(page.get_by_label("Events")).to_have_value("tool")

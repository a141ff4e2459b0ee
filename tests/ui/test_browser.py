"""The UI in a real browser (Debian's chromium, driven by Playwright) against a real server."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import (
    Browser,
    Locator,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)

from tests.ui.conftest import Seeded

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Module scope, not session: while the sync driver runs, the main thread counts as
# inside an event loop, and later tests' asyncio.run() would refuse to start.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (scripts/test installs Debian's chromium)")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(chromium: Browser, seeded: Seeded) -> Iterator[Page]:
    """A fresh browser profile (no cookies) per test."""
    yield from browser_tab(chromium, seeded.url)


def browser_tab(
    chromium: Browser, base_url: str, *, timeout_ms: float = 10_000, **options: Any
) -> Iterator[Page]:
    """A tab of a fresh profile on `base_url`; fails the test on a JavaScript error."""
    context = chromium.new_context(base_url=base_url, accept_downloads=True, **options)
    context.set_default_timeout(timeout_ms)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def sign_in(page: Page, key: str) -> None:
    page.goto("/signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name=re.compile("Sign in|Add project")).click()


def test_sign_in_filter_and_walk_a_session_with_the_keyboard(page: Page, seeded: Seeded) -> None:
    page.goto(f"/p/{seeded.project_id}/sessions?range=24h")
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    page.get_by_label("API key").fill(seeded.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/p/{seeded.project_id}/sessions\?range=24h$"))
    table = page.locator("#sessions")
    expect(table).to_contain_text("checkout-flow")

    # Filter the list from the form: source is staging.
    page.get_by_label("Filter 1 field").fill("source")
    page.get_by_label("Filter 1 operator").select_option("is")
    page.get_by_label("Filter 1 value").fill("staging")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"f=source&op=is&v=staging&t=auto"))
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table).not_to_contain_text("checkout-flow")
    page.get_by_label("Remove filter 1").click()
    page.get_by_role("button", name="Apply").click()
    expect(table).to_contain_text("checkout-flow")

    page.get_by_role("link", name="checkout-flow").click()
    tree = page.get_by_role("tree")
    expect(tree.locator(".virtual .row")).to_have_count(5)  # the script took over
    expect(page.locator("#detail h2")).to_have_text("checkout-flow")

    tree.focus()
    page.keyboard.press("ArrowDown")
    active = tree.locator(".row.active")
    expect(active).to_contain_text("answer-question")
    page.keyboard.press("ArrowRight")  # open already: moves into the first child
    expect(active).to_contain_text("openai.chat")
    page.keyboard.press("Enter")
    chat = page.locator("#messages")
    expect(chat).to_contain_text("Where is my parcel 42?")
    expect(chat.locator(".msg").first).to_contain_text("system")
    expect(page.locator("#answer")).to_contain_text("track_parcel")
    expect(page.locator(".model-facts")).to_contain_text("gpt-4o-mini")
    expect(page).to_have_url(re.compile(rf"\?event={seeded.events['model']}$"))
    expect(tree.locator('[aria-selected="true"]')).to_contain_text("openai.chat")

    page.keyboard.press("ArrowLeft")  # a leaf: to its parent
    expect(active).to_contain_text("answer-question")
    page.keyboard.press("ArrowLeft")  # open: closes it
    expect(tree.get_by_role("treeitem", name=re.compile("answer-question"))).to_have_attribute(
        "aria-expanded", "false"
    )
    expect(tree.locator(".virtual .row")).to_have_count(3)
    page.keyboard.press("ArrowDown")
    expect(active).to_contain_text("notify_customer")
    page.keyboard.press("Enter")
    expect(page.locator(".error-box")).to_contain_text("SMTPError: connection refused")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowRight")  # reopens
    expect(tree.locator(".virtual .row")).to_have_count(5)


def test_feedback_persists_after_a_reload(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.key)
    page.goto(f"{seeded.session_url('checkout')}?event={seeded.events['tool']}")
    form = page.locator(".feedback-form")
    form.get_by_label("Rating").fill("5")
    form.get_by_label("Comment").fill("spot on <b>tracking</b>")
    form.get_by_role("button", name="Save feedback").click()
    expect(page.locator("#feedback-current")).to_contain_text("spot on <b>tracking</b>")
    page.reload()
    expect(page.locator("#feedback-current")).to_contain_text("5")
    expect(page.locator("#feedback-current")).to_contain_text("spot on <b>tracking</b>")
    # At once in the list (the session counts an event with feedback) and its filters.
    page.goto(f"/p/{seeded.project_id}/events?f=feedback.rating&op=is&v=5&t=number")
    expect(page.locator("#events tbody tr")).to_have_count(1)
    expect(page.locator("#events")).to_contain_text("track_parcel")
    page.goto(f"/p/{seeded.project_id}/sessions")
    row = page.locator(f'tr[data-session-id="{seeded.sessions["checkout"]}"]')
    expect(row.locator(".feedback")).to_contain_text("event")


def test_export_downloads_jsonl_and_csv(page: Page, seeded: Seeded, tmp_path: Path) -> None:
    sign_in(page, seeded.key)
    page.goto(f"/p/{seeded.project_id}/events?type=model&col=event_name&col=metadata.cost")
    expect(page.locator("#events")).to_contain_text("openai.chat")
    with page.expect_download() as jsonl_download:
        page.locator("#export-jsonl").click()
    jsonl = tmp_path / "events.jsonl"
    jsonl_download.value.save_as(jsonl)
    assert jsonl_download.value.suggested_filename.endswith(".jsonl")
    events = [orjson.loads(line) for line in jsonl.read_text().splitlines()]
    assert {e["event_name"] for e in events} >= {"openai.chat"}
    chat = next(e for e in events if e["event_name"] == "openai.chat")
    assert chat == {"event_id": seeded.events["model"], "event_name": "openai.chat",
                    "metadata": {"cost": 0.0021}}  # fmt: skip
    with page.expect_download() as csv_download:
        page.locator("#export-csv").click()
    target = tmp_path / "events.csv"
    csv_download.value.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[0] == ["event_id", "session_id", "event_name", "metadata.cost"]
    assert [seeded.events["model"], seeded.sessions["checkout"], "openai.chat", "0.0021"] in rows


def test_switch_project_and_sign_out(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.key)
    expect(page.locator("#sessions")).to_contain_text("checkout-flow")
    page.locator(".switcher summary").click()
    page.get_by_role("link", name=re.compile("Add project")).click()
    expect(page.get_by_role("heading", name="Add a project")).to_be_visible()
    page.get_by_label("API key").fill(seeded.second_key)
    page.get_by_role("button", name="Add project").click()
    expect(page).to_have_url(re.compile(rf"/p/{seeded.second_project_id}/sessions"))
    expect(page.locator("#sessions")).to_contain_text("second-project-run")
    expect(page.locator("#sessions")).not_to_contain_text("checkout-flow")
    page.locator(".switcher summary").click()
    page.locator("#project-menu").get_by_role("link", name="default").click()
    expect(page).to_have_url(re.compile(rf"/p/{seeded.project_id}/sessions"))
    expect(page.locator("#sessions")).to_contain_text("checkout-flow")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"/p/{seeded.second_project_id}/sessions")
    expect(page).to_have_url(re.compile(r"/signin\?next="))


def test_an_ingest_key_is_refused(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.ingest_key)
    expect(page.locator("#signin-error")).to_contain_text("ingest-only key")
    page.goto(f"/p/{seeded.project_id}/sessions")
    expect(page).to_have_url(re.compile(r"/signin\?next="))


def _post_from_another_site(
    page: Page, seeded: Seeded, action: str, fields: dict[str, str]
) -> None:
    """Open a page of another site whose form posts `fields` to `action` by itself, and
    wait until the browser is back on the server."""
    inputs = "".join(f'<input name="{k}" value="{v}">' for k, v in fields.items())
    evil = (
        f'<form id="f" method="post" action="{action}">{inputs}</form>'
        "<script>document.getElementById('f').submit()</script>"
    )
    page.route(
        "http://evil.test/", lambda route: route.fulfill(body=evil, content_type="text/html")
    )
    with page.expect_navigation(url=re.compile(re.escape(seeded.url))):
        page.goto("http://evil.test/")


def test_a_forged_cross_site_post_is_refused(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.key)
    target = f"{seeded.url}/p/{seeded.project_id}/events/{seeded.events['broken']}/feedback"
    _post_from_another_site(page, seeded, target, {"rating": "1", "comment": "forged"})
    with seeded.server.client() as api:
        stored = api.get(f"/v1/events/{seeded.events['broken']}").json()["event"]
    assert stored["feedback"] == {}


def test_a_cross_site_sign_out_is_refused(page: Page, seeded: Seeded) -> None:
    """Another site's form cannot sign the browser out: it never carries the
    SameSite=Strict cookie, so it cannot hold the session's token either."""
    sign_in(page, seeded.key)
    expect(page.locator("#sessions")).to_contain_text("checkout-flow")
    _post_from_another_site(page, seeded, f"{seeded.url}/signout", {"csrf": "guess"})
    expect(page.locator("body")).to_contain_text("sent from another site")
    page.goto(f"/p/{seeded.project_id}/sessions")
    expect(page.locator("#sessions")).to_contain_text("checkout-flow")  # still signed in


def _offline(page: Page, seeded: Seeded) -> tuple[list[str], list[str]]:
    """Make every address but the server's unreachable for `page`; returns the lists
    that fill with the URLs it then asks for elsewhere and the CSP violations it reports."""
    elsewhere: list[str] = []
    refused: list[str] = []

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(seeded.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_the_server)
    page.on(
        "console",
        lambda message: refused.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    return elsewhere, refused


def _operations(page: Page) -> Locator:
    """Operation summaries: a summary line in Swagger UI, an h2 in ReDoc."""
    return page.locator("h2, .opblock-summary-description")


def test_swagger_ui_works_offline_under_the_ui_csp(page: Page, seeded: Seeded) -> None:
    elsewhere, refused = _offline(page, seeded)
    page.goto("/docs")
    expect(_operations(page).filter(has_text="Create an event").first).to_be_visible()
    expect(page.get_by_text("/v1/events/export").first).to_be_visible()
    assert not elsewhere, f"/docs asked for {elsewhere}"
    assert not refused, refused


def test_redoc_works_offline(page: Page, seeded: Seeded) -> None:
    elsewhere, refused = _offline(page, seeded)
    page.goto("/redoc")
    expect(_operations(page).filter(has_text="Create an event").first).to_be_visible()
    page.get_by_placeholder("Search...").fill("OTLP")  # ReDoc searches in a worker
    found = page.get_by_role("menuitem", name=re.compile("Export OTLP traces"))
    expect(found.first).to_be_visible()
    assert not elsewhere, f"/redoc asked for {elsewhere}"
    # What the policy keeps out, harmlessly: ReDoc's scrollbar CSS (inserted before it
    # knows the nonce) and its footer's logo on Redocly's CDN.
    tolerated = ("Applying inline style", "Loading the image 'https://cdn.redoc.ly/")
    assert all(text.startswith(tolerated) for text in refused), refused


def test_hostile_content_never_runs(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.key)
    page.goto(f"/p/{seeded.project_id}/sessions")
    page.goto(seeded.session_url("hostile"))
    tree = page.get_by_role("tree")
    expect(tree.locator(".virtual .row")).to_have_count(2)
    tree.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the detail arrives as a fragment through innerHTML
    expect(page.locator("#messages")).to_contain_text("<script>window.__pwned = 1</script>")
    page.goto(f"/p/{seeded.project_id}/events?col=event_name&col=inputs")
    assert page.evaluate("window.__pwned") is None


def test_theme_toggle_persists(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.key)
    toggle = page.get_by_role("button", name="Toggle dark theme")
    dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    toggle.click()
    expected = "light" if dark else "dark"
    expect(page.locator("html")).to_have_attribute("data-theme", expected)
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", expected)


def test_dashboard_and_phone_layout(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.key)
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"/p/{seeded.project_id}/dashboard?split=model")
    expect(page.locator("svg.chart")).to_have_count(5)
    expect(page.locator("figure", has_text="Requests").locator("title").first).to_contain_text(
        "gpt-4o-mini"
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the dashboard scrolls sideways on a phone"

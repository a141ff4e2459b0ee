"""Render the README's screenshots of the web UI from the demo data set.

Starts `hivekeeper serve --demo` on a temporary data directory, signs in through the
sign-in form in headless Chromium (Playwright) with the printed keys, and saves each
page, in the light and the dark theme, at a laptop width (plus the sessions list, a
dataset, a prompt and the experiment pages at a phone width) to docs/screenshots/*.png;
the datasets, prompts and evaluators pages show the demo's first of each, and a CSV
staged for import. The demo is seeded, so reruns differ only where the pages show the
current time.

    python scripts/screenshots.py [--out docs/screenshots] [--only experiments run compare]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from hivekeeper.demo import big_session_id, demo_writes, experiments  # noqa: E402
from tests.support.process import serve_process  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
# The session page's script has drawn the tree (and shown its tools).
TREE_DRAWN = "#outline.virtual-host [data-i]"
_DEMO_KEY = re.compile(r"^\s+(support-bot|rag-search|agent-lab)\s+(hh_\S+)$", re.MULTILINE)


def showcase_event() -> tuple[str, str]:
    """A support-bot session with a tool call, and its last model event, from the
    demo's own requests (ids are deterministic)."""
    for write in demo_writes(0.0):
        if write.project != "support-bot" or write.kind != "batch":
            continue
        events = write.body["events"]
        if any(e["event_type"] == "tool" and not e.get("error") for e in events):
            model = [e for e in events if e["event_type"] == "model" and not e.get("error")]
            if len(model) >= 3:
                return events[0]["session_id"], model[-1]["event_id"]
    raise SystemExit("the demo has no support session with a tool call")


def experiment_pages(project: str) -> dict[str, tuple[str, str | None]]:
    """The demo's golden-set runs, its latest run, and its latest run against the one
    before."""
    runs = f"/p/{project}/experiments/runs?dataset={experiments.dataset_id()}"
    latest, before = experiments.run_id(3), experiments.run_id(2)
    return {
        "experiments": (runs, "#runs"),
        "run": (f"/p/{project}/runs/{latest}", "#run-grid"),
        "compare": (f"/p/{project}/compare?old={before}&new={latest}", "#compare-metrics"),
    }


def sign_in(page: Any, base: str, key: str) -> None:
    page.goto(f"{base}/signin")
    page.fill("input[name=key]", key)
    with page.expect_navigation():
        page.press("input[name=key]", "Enter")


def project_id(page: Any) -> str:
    match = re.search(r"/p/([^/]+)/", page.url)
    if match is None:
        raise SystemExit(f"not on a project page after sign-in: {page.url}")
    return match.group(1)


def shoot(page: Any, base: str, path: str, out: Path, wait_for: str | None = None) -> None:
    page.goto(base + path, wait_until="load")
    if wait_for:
        page.wait_for_selector(wait_for, timeout=60_000)
    page.wait_for_timeout(300)  # let transitions and the tree's first paint settle
    page.screenshot(path=str(out))
    print(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")


def link(page: Any, base: str, path: str, selector: str) -> str:
    """The href of the first `selector` on the page at `path` (the demo's first dataset,
    prompt or evaluator, whatever its id)."""
    page.goto(base + path, wait_until="load")
    href = page.locator(selector).first.get_attribute("href")
    if not href:
        raise SystemExit(f"nothing matches {selector} on {path}: the demo has no such record")
    return str(href)


# A file to import: the status page with its column mapping and preview is shot once
# it is staged (the import is never committed).
IMPORT_CSV = (
    "question,expected_answer,topic\n"
    "How do I reset my password?,Use the Forgot password link on the sign-in page.,account\n"
    "Can I change my plan mid-cycle?,Yes; the difference is prorated.,billing\n"
    "Where is my parcel?,Track it from Orders > Track.,shipping\n"
)


def evaluation_pages(page: Any, base: str, pid: str) -> dict[str, tuple[str, str | None]]:
    """The datasets, prompts and evaluators pages, on the demo's first of each."""
    dataset = link(page, base, f"/p/{pid}/datasets", "#datasets td.name a")
    prompt = link(page, base, f"/p/{pid}/prompts", "#prompts td.name a")
    evaluator = link(page, base, f"/p/{pid}/evaluators", "#evaluators td.name a")
    page.goto(f"{base}{dataset}/import", wait_until="load")
    page.set_input_files(
        "input[name=file]",
        {"name": "support-faq.csv", "mimeType": "text/csv", "buffer": IMPORT_CSV.encode()},
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and check").click()
    page.wait_for_selector("#import-status[data-state=ready]", timeout=60_000)
    return {
        "datasets": (f"/p/{pid}/datasets", None),
        "dataset": (dataset, "tr[data-datapoint-id]"),
        "dataset-import": (page.url.removeprefix(base), None),
        "prompts": (f"/p/{pid}/prompts", None),
        "prompt": (f"{prompt}?a=1&b=2", None),
        "evaluators": (f"/p/{pid}/evaluators", None),
        "evaluator": (evaluator, None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--only", nargs="*", help="the pages to shoot (default: all)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    session_id, model_event = showcase_event()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, serve_process(Path(tmp), 120, demo=True) as srv:
        keys = dict(_DEMO_KEY.findall((Path(tmp) / "server.log").read_text()))
        base = srv.url
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for theme in ("light", "dark"):
                context = browser.new_context(viewport=LAPTOP, color_scheme=theme)
                context.add_cookies([{"name": "hk_theme", "value": theme, "url": base}])
                page = context.new_page()
                if not args.only or "signin" in args.only:
                    shoot(page, base, "/signin", args.out / f"signin-{theme}.png")
                sign_in(page, base, keys["agent-lab"])
                agent_lab = project_id(page)
                sign_in(page, base, keys["support-bot"])
                support = project_id(page)
                pages = {
                    "sessions": (f"/p/{support}/sessions", "tr[data-session-id]"),
                    "session": (
                        f"/p/{support}/sessions/{session_id}?event={model_event}",
                        TREE_DRAWN,
                    ),
                    # The first two minutes of the two-hour run: its bars readable.
                    "session-10k": (
                        f"/p/{agent_lab}/sessions/{big_session_id()}?zoom=0-120000",
                        TREE_DRAWN,
                    ),
                    "events": (f"/p/{support}/events?range=7d", None),
                    "dashboard": (f"/p/{support}/dashboard?range=7d", None),
                    **experiment_pages(support),
                }
                evaluation = evaluation_pages(page, base, support)
                for name, (path, wait_for) in {**pages, **evaluation}.items():
                    if not args.only or name in args.only:
                        shoot(page, base, path, args.out / f"{name}-{theme}.png", wait_for)
                if theme == "light":
                    page.set_viewport_size(PHONE)
                    phone = {"sessions": (pages["sessions"][0], None)}
                    phone |= {
                        name: (path, None) for name, (path, _) in experiment_pages(support).items()
                    }
                    phone |= {name: evaluation[name] for name in ("dataset", "prompt")}
                    for name, (path, wait_for) in phone.items():
                        if not args.only or name in args.only:
                            shoot(page, base, path, args.out / f"{name}-phone.png", wait_for)
                context.close()
            browser.close()


if __name__ == "__main__":
    main()

"""Render the README's screenshots of the web UI from the demo data set.

Starts `hivekeeper serve --demo` on a temporary data directory, signs in through the
sign-in form in headless Chromium (Playwright) with the printed keys, and saves each
page, in the light and the dark theme, at a laptop width (plus the sessions list at a
phone width) to docs/screenshots/*.png. The demo is seeded, so reruns differ only
where the pages show the current time.

    python scripts/screenshots.py [--out docs/screenshots]
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

from hivekeeper.demo import big_session_id, demo_writes  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
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
                }
                for name, (path, wait_for) in pages.items():
                    shoot(page, base, path, args.out / f"{name}-{theme}.png", wait_for)
                if theme == "light":
                    page.set_viewport_size(PHONE)
                    shoot(page, base, f"/p/{support}/sessions", args.out / "sessions-phone.png")
                context.close()
            browser.close()


if __name__ == "__main__":
    main()

"""How fast the web UI's heaviest pages are at 1,000,000 events, over HTTP and in a browser.

The sessions list answers with its rows' previews and the bounded match count; the
10,000-event session is also searched (`search.json`, issue 16).

Seeds (or reuses) a SQLite database: the demo data set, whose agent-lab project holds
the 10,000-event agent run, plus ~1,000,000 events (~100,000 sessions) in that same
project (`seed.py`). Starts `hivekeeper serve` on it, signs in with a new key, then:

- over HTTP: time to first byte (response headers) and to the full body, median and
  p95 over repeats, of the sessions list (first page, filtered, sorted, searched), the
  10,000-event session page and its outline.json (what the script draws the tree from);
- in headless Chromium (Playwright): time to `load` and to the tree (or the list)
  being populated, as the page's own clock measures them from navigation start.

    python bench/ui_pages.py [--db /tmp/hivekeeper-ui-bench] [--events 1000000]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from seed import seed_events  # noqa: E402

from hivekeeper.demo import big_session_id, load_demo  # noqa: E402
from hivekeeper.store import open_store  # noqa: E402
from tests.support.process import serve_process  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# What "populated" means on each page: the list's rows, the tree's rows (drawn by the
# page script from outline.json into a virtualised list: its first rows).
LIST_ROWS = "tr[data-session-id]"
TREE_ROWS = "#outline.virtual-host [data-i]"
COST_FILTER = "f=metadata.cost&op=greater+than&v=0.01&t=number"


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def prepare(data_dir: Path, events: int) -> tuple[str, str]:
    """Seed the database unless an earlier run did; return (project id, a new key)."""
    url = f"sqlite:///{data_dir / 'hivekeeper.db'}"
    store = open_store(url)
    store.open()
    try:
        store.bootstrap()
        demo = load_demo(store)
        project_id = demo.project_ids["agent-lab"]
        marker = data_dir / f"seeded-{events}"
        if not marker.exists():
            seeded = seed_events(store, project_id, events, progress=True)
            print(
                f"seeded {seeded.events:,} events in {seeded.seconds:.0f} s ({seeded.rate:,.0f}/s)"
            )
            marker.touch()
        _, key = store.create_key("agent-lab", "full")
    finally:
        store.close()
    return project_id, key


def sign_in(client: httpx.Client, key: str) -> None:
    """The sign-in form, as a browser submits it (double-submit CSRF, same origin)."""
    form = client.get("/signin")
    form.raise_for_status()
    match = re.search(r'name="csrf"\s+value="([^"]+)"', form.text) or re.search(
        r'value="([^"]+)"\s+name="csrf"', form.text
    )
    if match is None:
        raise SystemExit("no csrf field on /signin")
    answer = client.post(
        "/signin",
        data={"key": key, "csrf": match.group(1), "next": "/"},
        headers={"Origin": str(client.base_url).rstrip("/")},
    )
    if answer.status_code != 303:
        raise SystemExit(f"sign-in answered {answer.status_code}: {answer.text[:300]}")


def http_timings(client: httpx.Client, path: str, repeats: int) -> dict[str, float]:
    """Median/p95 ms to the response headers and to the last body byte, and the size."""
    ttfb, full, size, failed = [], [], 0, []
    for i in range(repeats + 1):
        started = time.perf_counter()
        with client.stream("GET", path) as response:
            first = time.perf_counter()
            size = sum(len(chunk) for chunk in response.iter_raw())
        done = time.perf_counter()
        if response.status_code != 200:
            # e.g. 503 when a read runs past the store's time limit: counted, not timed.
            failed.append(response.status_code)
        elif i:  # the first request warms caches
            ttfb.append((first - started) * 1000)
            full.append((done - started) * 1000)
    if not ttfb:
        return {"failed": len(failed), "status": failed[0]}
    return {
        "ttfb": statistics.median(ttfb),
        "ttfb95": pct(ttfb, 95),
        "full": statistics.median(full),
        "full95": pct(full, 95),
        "bytes": size,
        "failed": len(failed),
        "status": failed[0] if failed else 200,
    }


def browser_timings(
    base: str, cookies: list[dict[str, Any]], pages: dict[str, tuple[str, str]], repeats: int
) -> dict[str, dict[str, float]]:
    """Per page: median/p95 ms from navigation start to `load` and to `selector` shown."""
    from playwright.sync_api import sync_playwright

    out: dict[str, dict[str, float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.add_cookies(cookies)
        page = context.new_page()
        for name, (path, selector) in pages.items():
            loads, ready = [], []
            for i in range(repeats + 1):
                page.goto(base + path, wait_until="load", timeout=120_000)
                page.wait_for_selector(selector, timeout=120_000)
                shown = page.evaluate("performance.now()")
                load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                if i:
                    loads.append(load)
                    ready.append(max(shown, load) if selector == LIST_ROWS else shown)
            out[name] = {
                "load": statistics.median(loads),
                "load95": pct(loads, 95),
                "ready": statistics.median(ready),
                "ready95": pct(ready, 95),
            }
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/hivekeeper-ui-bench"))
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--browser-repeats", type=int, default=5)
    args = parser.parse_args()
    args.db.mkdir(parents=True, exist_ok=True)
    project_id, key = prepare(args.db, args.events)
    sessions = f"/p/{project_id}/sessions"
    big = f"{sessions}/{big_session_id()}"
    http_pages = {
        "sessions, first page": sessions,
        "sessions, filtered (cost > 0.01)": f"{sessions}?{COST_FILTER}",
        "sessions, sorted by cost": f"{sessions}?sort=cost&order=desc",
        "sessions, search 'refund'": f"{sessions}?q=refund",
        "sessions, with a metadata column": f"{sessions}?col=metadata.num_events",
        "10,000-event session page": big,
        "10,000-event session outline.json": f"{big}/outline.json",
        # In-session search: one event's name, and a word in thousands of events.
        "10,000-event session, search 'final_report'": f"{big}/search.json?q=final_report",
        "10,000-event session, search 'section'": f"{big}/search.json?q=section",
    }
    with serve_process(args.db, timeout_s=120, key=key) as server:
        with httpx.Client(base_url=server.url, timeout=300) as client:
            sign_in(client, key)
            http = {
                name: http_timings(client, path, args.repeats) for name, path in http_pages.items()
            }
            cookies = [
                {"name": c.name, "value": c.value or "", "url": server.url}
                for c in client.cookies.jar
            ]
        browser = browser_timings(
            server.url,
            cookies,
            {
                "sessions, first page": (sessions, LIST_ROWS),
                "10,000-event session page": (big, TREE_ROWS),
            },
            args.browser_repeats,
        )
    print(f"\n### UI over HTTP ({args.repeats} repeats; ms, median / p95)\n")
    print("| page | first byte | full response | bytes | failed |")
    print("|---|---|---|---|---|")
    for name, t in http.items():
        failed = f"{t['failed']} x {t['status']}" if t["failed"] else "0"
        if "ttfb" not in t:
            print(f"| {name} | - | - | - | {failed} |")
            continue
        print(
            f"| {name} | {t['ttfb']:.1f} / {t['ttfb95']:.1f} | {t['full']:.1f} / "
            f"{t['full95']:.1f} | {t['bytes']:,.0f} | {failed} |"
        )
    print(
        f"\n### UI in headless Chromium ({args.browser_repeats} repeats; "
        "ms from navigation start)\n"
    )
    print("| page | load (median / p95) | populated (median / p95) |")
    print("|---|---|---|")
    for name, t in browser.items():
        print(
            f"| {name} | {t['load']:.0f} / {t['load95']:.0f} | "
            f"{t['ready']:.0f} / {t['ready95']:.0f} |"
        )


if __name__ == "__main__":
    main()

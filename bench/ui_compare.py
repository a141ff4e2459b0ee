"""How fast the compare page is on two 10,000-datapoint runs, over HTTP and in a browser.

Seeds a fresh SQLite database with two completed runs of `--datapoints` datapoints x
`--metrics` metrics each, as `evaluate()` leaves them (a session, the function's span
with the row and the scores, a model call: bench/evaluation_store.py's shapes), the
candidate's scores shifted so that datapoints improve and regress, and each session's
output a ~60-word answer the candidate rewords in places (so every row has a diff).
Starts `hivekeeper serve` on it, signs in, then measures:

- over HTTP: first byte (response headers) and full body, median and p95 over
  `--repeats`, of the compare page (its first page of rows, default 25), the same
  filtered to regressed rows, a later page, the candidate's run page (its grid's
  first page), and, as the baselines, the sessions list's first page and the API's
  `compare-with` of the same runs;
- in headless Chromium (Playwright): `load` from navigation start, of the compare
  page and the sessions list.

Targets (issue 14): compare page <= 300 ms first byte, <= 1 s full load.

    python bench/ui_compare.py [--datapoints 10000] [--metrics 5] [--repeats 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from evaluation_store import NOW_MS, seed_metrics, session_ops  # noqa: E402
from ui_pages import browser_timings, http_timings, sign_in  # noqa: E402

from hivekeeper.domain.evaluation.ops import PutRun  # noqa: E402
from hivekeeper.domain.types import Upsert, WriteOp  # noqa: E402
from hivekeeper.store import Store, open_store  # noqa: E402
from tests.support.process import serve_process  # noqa: E402

_TEXT = (
    "your order ships from our warehouse within two business days and tracking is sent "
    "by email once the carrier scans the parcel refunds go back to the original payment "
    "method within five days of the return arriving and store credit is instant"
)
_WORDS = _TEXT.split(" ")


def answer(i: int, reworded: bool) -> str:
    """Datapoint `i`'s ~60-word answer; the candidate rewords every 7th word of a third
    of them."""
    words = [_WORDS[(i + k) % len(_WORDS)] for k in range(60)]
    if reworded and i % 3 == 0:
        words = [w.upper() if k % 7 == 0 else w for k, w in enumerate(words)]
    return " ".join(words)


def seed_two_runs(store: Store, project: str, count: int, metrics: int) -> None:
    for run_id, seed, start in (("baseline", 0, NOW_MS), ("candidate", 3, NOW_MS + 1e7)):
        ids = [f"dp-{i}" for i in range(count)]
        store.write_batch([PutRun(project, run_id, {"datapoint_ids": ids}, create=True)], start)
        for first in range(0, count, 1000):
            ops: list[WriteOp] = []
            for i in range(first, min(count, first + 1000)):
                for op in session_ops(project, run_id, i, metrics, seed):
                    if isinstance(op, Upsert) and op.patch.get("event_type") == "session":
                        text = answer(i, reworded=run_id == "candidate")
                        op.patch["outputs"] = {"answer": text}
                        op.patch["feedback"] = {"ground_truth": answer(i, reworded=False)}
                    ops.append(op)
            store.write_batch(ops, start + 100 + first)
        sessions = [f"{run_id}-s-{i:05d}" for i in range(count)]
        done = PutRun(project, run_id, {"status": "completed", "event_ids": sessions})
        store.write_batch([done], start + 10 * count)


def prepare(data_dir: Path, count: int, metrics: int) -> tuple[str, str]:
    store = open_store(f"sqlite:///{data_dir / 'hivekeeper.db'}")
    store.open()
    try:
        project = store.bootstrap().project.id
        seed_metrics(store, project, metrics)
        seed_two_runs(store, project, count, metrics)
        _, key = store.create_key("default", "full")
    finally:
        store.close()
    return project, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datapoints", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--browser-repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        project, key = prepare(data_dir, args.datapoints, args.metrics)
        base = f"/p/{project}"
        compare = f"{base}/compare?old=baseline&new=candidate"
        pages = {
            "sessions list, first page (baseline)": f"{base}/sessions",
            "compare, first page of rows": compare,
            "compare, regressed only": f"{compare}&only=regressed",
            "compare, page 100": f"{compare}&page=100",
            "run page, first page of its grid": f"{base}/runs/candidate",
        }
        with serve_process(data_dir, timeout_s=120, key=key) as server:
            with httpx.Client(base_url=server.url, timeout=300) as client:
                sign_in(client, key)
                http = {name: http_timings(client, p, args.repeats) for name, p in pages.items()}
                cookies = [
                    {"name": c.name, "value": c.value or "", "url": server.url}
                    for c in client.cookies.jar
                ]
            # The API's answer of the same comparison: the other baseline.
            bearer = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=server.url, timeout=300, headers=bearer) as client:
                http["API compare-with (baseline)"] = http_timings(
                    client, "/v1/runs/candidate/compare-with/baseline", args.repeats
                )
            browser = browser_timings(
                server.url,
                cookies,
                {
                    "sessions list, first page (baseline)": (f"{base}/sessions", "main"),
                    "compare, first page of rows": (compare, "article.pair"),
                },
                args.browser_repeats,
            )
    events = 2 * 3 * args.datapoints
    print(
        f"\n### Compare page: two runs of {args.datapoints:,} datapoints x {args.metrics} "
        f"metrics ({events:,} events), SQLite\n"
    )
    print(f"Over HTTP ({args.repeats} repeats; ms, median / p95; x: of the baselines')\n")
    print("| page | first byte | full response (x sessions list) | x compare-with | bytes |")
    print("|---|---|---|---|---|")
    reference = http["sessions list, first page (baseline)"]
    compare_with = http["API compare-with (baseline)"].get("full", float("nan"))
    for name, t in http.items():
        if "ttfb" not in t:
            print(f"| {name} | failed: {t['failed']} x {t['status']} | | | |")
            continue
        ratio = t["full"] / reference["full"] if "full" in reference else float("nan")
        print(
            f"| {name} | {t['ttfb']:.0f} / {t['ttfb95']:.0f} | {t['full']:.0f} / "
            f"{t['full95']:.0f} ({ratio:.1f} x) | {t['full'] / compare_with:.2f} x | "
            f"{t['bytes']:,.0f} |"
        )
    print(f"\nHeadless Chromium ({args.browser_repeats} repeats; ms from navigation start)\n")
    print("| page | load, median (x of the baseline's) / p95 | rows shown, median / p95 |")
    print("|---|---|---|")
    loaded = browser["sessions list, first page (baseline)"]["load"]
    for name, t in browser.items():
        load = f"{t['load']:.0f} ({t['load'] / loaded:.1f} x) / {t['load95']:.0f}"
        shown = f"{t['ready']:.0f} / {t['ready95']:.0f}"
        print(f"| {name} | {load} | {shown} |")


if __name__ == "__main__":
    main()

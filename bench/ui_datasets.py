"""How fast a dataset of 100,000 datapoints shows in the web UI, over HTTP and in a browser.

Seeds (or reuses) a SQLite database with one dataset of `--datapoints` datapoints
(one import: version 1), one datapoint edited since (version 2), 1,000 removed
(version 3) and 500 of them added back (version 4), written through `write_batch` as
the writer would. Starts `hivekeeper serve` on it, signs in with a new key, then:

- over HTTP: time to first byte and to the full body, median and p95 over repeats, of
  the datasets list, the dataset's first, middle and last page (50 rows), and pages
  of older versions (read through the change log's indexes, `store/sql/version_pages`);
- in headless Chromium (Playwright): time to `load` and to the table's rows shown;
- in process, against the baseline of the same run: a middle page of version 3 read
  through the indexes and by replaying the change log whole (the design before).

    python bench/ui_datasets.py [--db /tmp/hivekeeper-ui-datasets] [--datapoints 100000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO), str(REPO / "bench")]

from ui_pages import browser_timings, http_timings, sign_in  # noqa: E402

from hivekeeper.domain.evaluation.datapoints import DatapointContent  # noqa: E402
from hivekeeper.domain.evaluation.ops import (  # noqa: E402
    ChangeMembership,
    DatapointWrite,
    PutDatapoints,
    SaveDataset,
)
from hivekeeper.store import open_store  # noqa: E402
from hivekeeper.store.sql import version_pages  # noqa: E402
from tests.support.process import serve_process  # noqa: E402

DATASET_ID = "bench-dataset-100k"
ROWS = "tr[data-datapoint-id]"


def content(i: int) -> DatapointContent:
    """A datapoint the size of a typical QA row (~300 bytes)."""
    return DatapointContent(
        inputs={"question": f"What is the capital of country number {i}?", "locale": "en"},
        ground_truth={"answer": f"City {i}", "aliases": [f"c{i}", f"town {i}"]},
        history=[{"role": "system", "content": "Answer in one word."}],
        metadata={"topic": ("geography", "history", "math")[i % 3], "source": "bench"},
    )


def prepare(data_dir: Path, datapoints: int) -> tuple[str, str]:
    """Seed the dataset unless an earlier run did; return (project id, a new key)."""
    store = open_store(f"sqlite:///{data_dir / 'hivekeeper.db'}")
    store.open()
    try:
        project_id = store.bootstrap().project.id
        marker = data_dir / f"seeded-{datapoints}"
        if not marker.exists():
            started = time.perf_counter()
            now = time.time() * 1000
            writes = tuple(
                DatapointWrite(f"dp-{i:06d}", content(i), new=True) for i in range(datapoints)
            )
            store.write_batch(
                [
                    SaveDataset(project_id, DATASET_ID, name="bench 100k", create=True),
                    PutDatapoints(project_id, writes, dataset_ids=(DATASET_ID,)),
                ],
                now,
            )
            edited = DatapointWrite("dp-000007", content(-7), new=False)
            store.write_batch([PutDatapoints(project_id, (edited,))], now + 1000)
            removed = tuple(f"dp-{i:06d}" for i in range(0, datapoints, datapoints // 1000))
            store.write_batch(
                [ChangeMembership(project_id, DATASET_ID, remove=removed)], now + 2000
            )
            store.write_batch(
                [ChangeMembership(project_id, DATASET_ID, add=removed[::2])], now + 3000
            )
            print(f"seeded {datapoints:,} datapoints in {time.perf_counter() - started:.1f} s")
            marker.touch()
        _, key = store.create_key("default", "full")
    finally:
        store.close()
    return project_id, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/hivekeeper-ui-datasets"))
    parser.add_argument("--datapoints", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--browser-repeats", type=int, default=5)
    args = parser.parse_args()
    args.db.mkdir(parents=True, exist_ok=True)
    project_id, key = prepare(args.db, args.datapoints)
    base = f"/p/{project_id}/datasets/{DATASET_ID}"
    pages = -(-args.datapoints // 50)
    http_pages = {
        "datasets list": f"/p/{project_id}/datasets",
        "dataset, first page": base,
        "dataset, middle page": f"{base}?page={pages // 2}",
        "dataset, last page": f"{base}?page={pages}",
        "dataset at version 1, first page": f"{base}?version=1",
        "dataset at version 1, middle page": f"{base}?version=1&page={pages // 2}",
        "dataset at version 3, middle page": f"{base}?version=3&page={pages // 2}",
        "dataset at version 3, last page": f"{base}?version=3&page={pages}",
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
        designs = older_version_designs(args.db, project_id, pages // 2 * 50, args.repeats)
        browser = browser_timings(
            server.url,
            cookies,
            {
                "dataset, first page": (base, ROWS),
                "dataset, last page": (f"{base}?page={pages}", ROWS),
            },
            args.browser_repeats,
        )
    print(
        f"\n### Dataset of {args.datapoints:,} datapoints over HTTP ({args.repeats} repeats; "
        "ms, median / p95)\n"
    )
    print("| page | first byte | full response | bytes |")
    print("|---|---|---|---|")
    for name, t in http.items():
        if "ttfb" not in t:
            print(f"| {name} | failed: {t['failed']} x {t['status']} | - | - |")
            continue
        print(
            f"| {name} | {t['ttfb']:.1f} / {t['ttfb95']:.1f} | {t['full']:.1f} / "
            f"{t['full95']:.1f} | {t['bytes']:,.0f} |"
        )
    print(
        f"\n### In headless Chromium ({args.browser_repeats} repeats; ms from navigation start)\n"
    )
    print("| page | load (median / p95) | rows shown (median / p95) |")
    print("|---|---|---|")
    for name, b in browser.items():
        print(
            f"| {name} | {b['load']:.0f} / {b['load95']:.0f} | "
            f"{b['ready']:.0f} / {b['ready95']:.0f} |"
        )


    print(f"\n### A middle page of version 3 in process ({args.repeats} repeats; ms, median)\n")
    print("| design | ms | vs replay |")
    print("|---|---|---|")
    for name, ms in designs.items():
        print(f"| {name} | {ms:.1f} | {ms / designs['replay the change log']:.3f}x |")


def older_version_designs(
    data_dir: Path, project_id: str, offset: int, repeats: int
) -> dict[str, float]:
    """Median ms of one page of version 3 read through the indexes, and replayed."""
    store = open_store(f"sqlite:///{data_dir / 'hivekeeper.db'}")
    store.open()
    try:
        at = store.dataset_histories(project_id, [DATASET_ID])[DATASET_ID][2].key
        out = {}
        for name, dead in (("indexes", version_pages.MAX_DEAD), ("replay the change log", -1)):
            version_pages.MAX_DEAD = dead
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                store.list_datapoints(
                    project_id, dataset_id=DATASET_ID, at=at, limit=50, offset=offset
                )
                samples.append((time.perf_counter() - started) * 1000)
            out[name] = statistics.median(samples)
    finally:
        store.close()
    return out


if __name__ == "__main__":
    main()

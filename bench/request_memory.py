"""Server memory under concurrent large REST batches, and under one wide UI export.

Starts `hivekeeper serve` on a fresh data directory and, for each concurrency in
`--clients`, keeps that many ~19 MB `POST /events/batch` requests in flight for a few
seconds while sampling the server's resident memory (RSS); then prints idle and peak
RSS, the peak per request in flight, and the answers (200s and 429s). Each client
sends its next batch as soon as the last one is answered, without retrying.

`--export-rows N` then stores N events with a ~512 KB `inputs` each and downloads the
UI's CSV export of them with that column chosen 30 times, sampling RSS meanwhile.

    python bench/request_memory.py [--clients 1 2 4 8 48] [--set max_inflight_body_bytes=…]

Settings given with `--set name=value` are passed to the server as `HIVEKEEPER_*`.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson
from harness import Sampler, Server, serve

MIB = 2**20


def batch_body(target_bytes: int) -> bytes:
    """A batch of ~`target_bytes` of JSON: events with chat histories of short messages,
    the shape that costs the most memory per byte once decoded."""
    session_id = str(uuid.uuid4())
    message = {"role": "user", "content": "what does the order status page say? " * 3}
    event = {
        "session_id": session_id,
        "event_type": "model",
        "event_name": "chat",
        "inputs": {"chat_history": [message] * 40},
        "outputs": {"role": "assistant", "content": "it says shipped " * 20},
        "metadata": {"prompt_tokens": 1200, "completion_tokens": 80, "cost": 0.0004},
    }
    per_event = len(orjson.dumps(event))
    return orjson.dumps({"events": [event] * max(1, target_bytes // per_event)})


def storm(server: Server, clients: int, body: bytes, seconds: float) -> collections.Counter[int]:
    statuses: collections.Counter[int] = collections.Counter()
    stop = threading.Event()

    def client() -> None:
        headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=300) as http:
            while not stop.is_set():
                statuses[http.post("/events/batch", content=body).status_code] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return statuses


def wide_export(server: Server, rows: int) -> None:
    headers = {"Authorization": f"Bearer {server.key}"}
    wide = "x" * (512 * 1024)
    with httpx.Client(base_url=server.url, headers=headers, timeout=300) as api:
        for start in range(0, rows, 20):
            events = [
                {"event_type": "tool", "event_name": f"wide-{start + i}", "inputs": {"doc": wide}}
                for i in range(min(20, rows - start))
            ]
            assert api.post("/events/batch", json={"events": events}).status_code == 200
    with httpx.Client(base_url=server.url, timeout=300, follow_redirects=False) as browser:
        form = browser.get("/signin").text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        signed = browser.post(
            "/signin",
            data={"key": server.key, "csrf": csrf},
            headers={"origin": server.url},
        )
        pid = signed.headers["location"].split("/p/", 1)[1].split("/", 1)[0]
        idle = server.rss_bytes()
        with Sampler(server) as sampler:
            size = 0
            with browser.stream(
                "GET", f"/p/{pid}/events/export.csv", params={"col": ["inputs.doc"] * 30}
            ) as answer:
                for chunk in answer.iter_bytes():
                    size += len(chunk)
        print(
            f"UI CSV export of {rows} rows x 512 KB (col chosen 30 times): {size / MIB:.0f} MiB "
            f"sent; RSS idle {idle / MIB:.0f} MiB, peak {sampler.peak / MIB:.0f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 4, 48])
    parser.add_argument("--body-mb", type=float, default=19.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--export-rows", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.set)
    body = batch_body(int(args.body_mb * MIB))
    print(f"batch body {len(body) / MIB:.1f} MiB; settings {settings or 'defaults'}")
    for clients in args.clients:
        with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), **settings) as server:
            idle = server.rss_bytes()
            with Sampler(server) as sampler:
                statuses = storm(server, clients, body, args.seconds)
            grown = (sampler.peak - idle) / MIB
            print(
                f"{clients:3d} clients: RSS idle {idle / MIB:4.0f} MiB, peak "
                f"{sampler.peak / MIB:5.0f} MiB (+{grown:.0f}, {grown / clients:.0f} per "
                f"client); answers {dict(statuses)}"
            )
    if args.export_rows:
        with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), **settings) as server:
            wide_export(server, args.export_rows)


if __name__ == "__main__":
    main()

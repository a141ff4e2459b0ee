"""What the read deadlines cost per request: uvicorn's httptools protocol against
`DeadlineProtocol`, on an app that answers at once (so the protocol is all there is).

Each round starts a server in a thread with one protocol, sends small requests from a
few keep-alive connections (GET, and POST with a 2 KB body), stops it, then does the
same with the other; rounds alternate and the medians are printed with their ratio.

    python bench/connections.py [--requests 20000] [--concurrency 4] [--rounds 5]
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import threading
import time
from typing import Any

import uvicorn

from hivekeeper.config import Settings
from hivekeeper.connections import uvicorn_options

BODY = b"x" * 2048


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"ok"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rate(options: dict[str, Any], requests: int, concurrency: int) -> float:
    """Requests per second through a server built with `options`."""
    port = free_port()
    config = uvicorn.Config(app, port=port, log_level="warning", lifespan="off", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)

    def client(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        for i in range(count):
            if i % 2:
                conn.request("POST", "/events", body=BODY)
            else:
                conn.request("GET", "/health")
            conn.getresponse().read()
        conn.close()

    clients = [
        threading.Thread(target=client, args=(requests // concurrency,))
        for _ in range(concurrency)
    ]
    started = time.perf_counter()
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    seconds = time.perf_counter() - started
    server.should_exit = True
    thread.join(10)
    return requests / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    plain = {"http": "httptools", "ws": "none"}
    ours = uvicorn_options(Settings())
    rates: dict[str, list[float]] = {"httptools": [], "deadlines": []}
    for _ in range(args.rounds):
        rates["httptools"].append(rate(plain, args.requests, args.concurrency))
        rates["deadlines"].append(rate(ours, args.requests, args.concurrency))
    base = statistics.median(rates["httptools"])
    mine = statistics.median(rates["deadlines"])
    print(f"uvicorn httptools:      {base:,.0f} requests/s (median of {args.rounds})")
    print(f"with read deadlines:    {mine:,.0f} requests/s")
    print(f"ratio deadlines/plain:  {mine / base:.3f}")


if __name__ == "__main__":
    main()

"""One value off `GET /metrics`: how a test sees what the server is doing right now."""

from __future__ import annotations

import httpx


def metric(api: httpx.Client, name: str) -> float:
    """The value of `name`, a sample without labels."""
    for line in api.get("/metrics").text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"/metrics has no {name}")

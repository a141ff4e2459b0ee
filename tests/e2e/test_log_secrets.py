"""No API key secret, key hash or Authorization value ever reaches the server's output.

The real `hivekeeper serve` process, at debug level with JSON logs, meets valid,
unknown, malformed and revoked keys in every place a client might put one (the
Authorization header, other headers, the query string, the path, the body) and answers
400, 401, 403, 404, 413 and 429 along the way. Its whole stdout and stderr must then
hold none of those secrets, their SHA-256 hashes, or the header values.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx

from hivekeeper.domain.tenancy import generate_key, hash_key
from tests.support.process import run_cli, serve_process


def _cli(*args: str) -> str:
    done = run_cli(*args, timeout_s=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _exercise(url: str, key: str, *, bad: list[str], revoked: str, ingest: str) -> None:
    """Requests carrying every key in every place, with every kind of error answer."""
    secrets = [key, *bad, revoked, ingest]
    with httpx.Client(base_url=url, timeout=30) as client:

        def with_key(secret: str, method: str, path: str, **kwargs: object) -> httpx.Response:
            headers = {"Authorization": f"Bearer {secret}"}
            return client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]

        assert with_key(key, "POST", "/v1/sessions", json={"session_name": "s"}).status_code == 200
        assert with_key(key, "GET", "/events").status_code == 200
        assert with_key(key, "GET", "/v1/events/no-such-id").status_code == 404
        assert with_key(key, "GET", "/no/such/route").status_code == 404
        assert with_key(key, "POST", "/events", content=b"{not json").status_code == 400
        assert with_key(key, "PUT", "/events", json={"metadata": {}}).status_code == 400
        otlp = with_key(key, "POST", "/v1/traces", content=b"\xff\x00garbage")
        assert otlp.status_code == 400
        big = with_key(key, "POST", "/events", content=b"x" * 5000)
        assert big.status_code == 413
        assert with_key(ingest, "GET", "/events").status_code == 403
        assert with_key(revoked, "GET", "/events").status_code == 401
        for secret in secrets:
            # Keys where no key belongs: other headers, query, path, body, cookies.
            client.get(
                f"/v1/events/{secret}",
                params={"api_key": secret, "key": secret},
                headers={
                    "Authorization": f"Bearer {key}",
                    "X-API-Key": secret,
                    "Cookie": f"session={secret}",
                },
            )
            client.post(
                "/events",
                headers={"Authorization": f"Bearer {key}"},
                json={"event": {"event_type": "bogus", "api_key": secret}},
            )
            client.post(f"/v1/sessions?api_key={secret}", json={})
            client.get("/events", headers={"Authorization": secret})
            client.get("/events", headers={"Authorization": f"Basic {_b64(secret)}"})
        # Unknown keys past the budget (3 a minute here): 429s, and one warning.
        for secret in bad:
            assert with_key(secret, "GET", "/events").status_code in (401, 429)
        assert with_key(key, "GET", "/events").status_code == 429
        metrics = client.get("/metrics")  # unauthenticated: must not echo keys either
        if metrics.status_code == 200:
            for secret in secrets:
                assert secret not in metrics.text and hash_key(secret) not in metrics.text


def _b64(text: str) -> str:
    return base64.b64encode(f"user:{text}".encode()).decode()


def test_no_key_material_in_server_output(tmp_path: Path) -> None:
    db = ("--data-dir", str(tmp_path))
    _cli("projects", "create", "alpha", *db)
    key = _cli("keys", "create", "--project", "alpha", *db)
    ingest = _cli("keys", "create", "--project", "alpha", "--kind", "ingest", *db)
    revoked = _cli("keys", "create", "--project", "alpha", *db)
    bad = [generate_key("full")[1] for _ in range(5)]
    with serve_process(
        tmp_path,
        key=key,
        log_level="debug",
        log_format="json",
        access_log="true",  # every request logged: the paths and queries above hold keys
        auth_failures_per_minute=3,
        max_body_bytes=4096,
    ) as served:
        _cli("keys", "revoke", revoked.removeprefix("hh_").split("_")[0], *db)
        _exercise(served.url, served.key, bad=bad, revoked=revoked, ingest=ingest)
    output = (tmp_path / "server.log").read_text()

    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert any("refused an unknown or revoked" in r["message"] for r in records)  # debug
    assert any("throttling client" in r["message"] for r in records)
    assert any(r["logger"] == "hivekeeper.access" for r in records)
    for secret in [key, ingest, revoked, *bad]:
        for leaked in {
            secret,
            secret.split("_", 2)[-1],  # the part after the public key id
            hash_key(secret),
            _b64(secret),
        }:
            assert leaked not in output, f"key material in the server output: {leaked[:12]}…"

"""Failed-auth throttling over HTTP: per client, 429 with Retry-After, bounded."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.server import LiveServer, run_app

LIMIT = 5
BAD = {"Authorization": "Bearer hh_not_a_real_key_at_all"}


def _client(server: LiveServer, key: str | None, *, peer: str = "127.0.0.1") -> httpx.Client:
    """A client connecting from `peer` (any 127.0.0.0/8 address is this machine)."""
    return server.client(key, peer=peer) if key else server.anonymous(peer=peer)


def _assert_throttled(answer: httpx.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.json()["errorCode"] == "AUTH_THROTTLED"


def test_a_guessing_client_is_throttled_and_others_are_not(tmp_path: Path, store_kind: str) -> None:
    with (
        run_app(tmp_path, store_kind, auth_failures_per_minute=LIMIT) as server,
        _client(server, None) as guesser,
        _client(server, server.key, peer="127.0.0.2") as neighbour,
    ):
        for _ in range(LIMIT):
            assert guesser.get("/events", headers=BAD).status_code == 401
        _assert_throttled(guesser.get("/events", headers=BAD))
        # Refused before the key is looked up: a right guess is not told apart.
        _assert_throttled(guesser.post("/v1/sessions", json={}, headers=_bearer(server.key)))
        otlp = guesser.post(
            "/v1/traces",
            content=b'{"resourceSpans": []}',
            headers={**_bearer(server.key), "Content-Type": "application/json"},
        )
        assert otlp.status_code == 429 and int(otlp.headers["Retry-After"]) >= 1
        assert otlp.json()["errorCode"] == "AUTH_THROTTLED"
        # Another client: its valid key works, its bad keys have their own budget.
        assert neighbour.post("/v1/sessions", json={}).status_code == 200
        assert neighbour.get("/events", headers=BAD).status_code == 401
        assert neighbour.get("/events").status_code == 200
        assert guesser.get("/health").status_code == 200  # no key, never throttled


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    tmp_path: Path, store_kind: str
) -> None:
    with (
        run_app(tmp_path, store_kind, auth_failures_per_minute=LIMIT) as server,
        _client(server, None) as client,
    ):
        for i in range(LIMIT):
            forged = {**BAD, "X-Forwarded-For": f"198.51.100.{i}"}
            assert client.get("/events", headers=forged).status_code == 401
        fresh = {**_bearer(server.key), "X-Forwarded-For": "198.51.100.200"}
        _assert_throttled(client.get("/events", headers=fresh))


def test_behind_a_trusted_proxy_clients_are_told_apart_by_forwarded_for(
    tmp_path: Path, store_kind: str
) -> None:
    with (
        run_app(
            tmp_path, store_kind, auth_failures_per_minute=LIMIT, trust_forwarded_for=True
        ) as server,
        _client(server, server.key) as proxy,
    ):
        guesser = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}
        for _ in range(LIMIT):
            assert proxy.get("/events", headers={**BAD, **guesser}).status_code == 401
        _assert_throttled(proxy.get("/events", headers=guesser))
        # The first address is the client's own claim; only the proxy's last one counts.
        _assert_throttled(proxy.get("/events", headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.7"}))
        other = {"X-Forwarded-For": "6.6.6.6, 203.0.113.8"}
        assert proxy.get("/events", headers=other).status_code == 200


def test_missing_or_malformed_headers_are_not_charged(tmp_path: Path, store_kind: str) -> None:
    with (
        run_app(tmp_path, store_kind, auth_failures_per_minute=LIMIT) as server,
        _client(server, None) as client,
    ):
        for header in ["", "Bearer None", "Basic abc", "Bearer"] * LIMIT:
            got = client.get("/events", headers={"Authorization": header} if header else {})
            assert got.status_code == 401
        assert client.get("/events", headers=_bearer(server.key)).status_code == 200


def test_zero_turns_throttling_off(tmp_path: Path, store_kind: str) -> None:
    with (
        run_app(tmp_path, store_kind, auth_failures_per_minute=0) as server,
        _client(server, None) as client,
    ):
        for _ in range(100):
            assert client.get("/events", headers=BAD).status_code == 401
        assert client.get("/events", headers=_bearer(server.key)).status_code == 200


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}

"""The failed-auth throttle and the key comparison, without a server."""

from __future__ import annotations

import hmac
from pathlib import Path

import pytest
from starlette.requests import Request

from hivekeeper.domain.errors import AuthThrottled
from hivekeeper.domain.tenancy import generate_key, hash_key, key_matches
from hivekeeper.store.sql import tenancy as sql_tenancy
from hivekeeper.store.sqlite.engine import SqliteStore
from hivekeeper.web import FailedAuthThrottle, client_address


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _refused(throttle: FailedAuthThrottle, client: str) -> AuthThrottled | None:
    try:
        throttle.check(client)
    except AuthThrottled as exc:
        return exc
    return None


def test_the_limit_th_failure_is_answered_and_the_next_request_is_refused() -> None:
    clock = Clock()
    throttle = FailedAuthThrottle(30, clock=clock)
    for _ in range(30):
        assert _refused(throttle, "10.0.0.1") is None
        throttle.record_failure("10.0.0.1")
    refused = _refused(throttle, "10.0.0.1")
    assert refused is not None
    assert refused.status == 429
    assert refused.headers() == {"Retry-After": "2"}  # one failure's worth: 60 s / 30
    assert "auth_failures_per_minute" in refused.message
    assert _refused(throttle, "10.0.0.2") is None


def test_the_budget_refills_one_failure_at_a_time() -> None:
    clock = Clock()
    throttle = FailedAuthThrottle(6, clock=clock)
    for _ in range(6):
        throttle.record_failure("c")
    assert _refused(throttle, "c") is not None
    clock.now += 9.9
    assert _refused(throttle, "c") is not None
    clock.now += 0.2
    assert _refused(throttle, "c") is None
    throttle.record_failure("c")
    refused = _refused(throttle, "c")
    assert refused is not None and refused.retry_after_s == 10
    clock.now += 61
    assert _refused(throttle, "c") is None
    assert throttle.tracked_clients == 0  # paid off: forgotten


def test_failures_spread_below_the_rate_are_never_refused() -> None:
    clock = Clock()
    throttle = FailedAuthThrottle(30, clock=clock)
    for _ in range(200):
        assert _refused(throttle, "c") is None
        throttle.record_failure("c")
        clock.now += 2.0


def test_zero_turns_it_off() -> None:
    throttle = FailedAuthThrottle(0, clock=Clock())
    for _ in range(1000):
        throttle.record_failure("c")
        throttle.check("c")
    assert throttle.tracked_clients == 0


def test_tracked_clients_are_capped_and_the_oldest_is_forgotten() -> None:
    clock = Clock()
    throttle = FailedAuthThrottle(1, max_clients=100, clock=clock)
    for i in range(1000):
        throttle.record_failure(f"10.0.{i // 256}.{i % 256}")
        clock.now += 0.001
    assert throttle.tracked_clients == 100
    assert _refused(throttle, "10.0.0.0") is None  # evicted
    assert _refused(throttle, "10.0.3.231") is not None  # the most recent, still tracked


def _request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "headers": headers, "client": (peer, 1234)})


def test_the_client_is_the_peer_unless_the_proxy_is_trusted() -> None:
    request = _request("10.1.1.1", "6.6.6.6", "7.7.7.7, 203.0.113.9")
    assert client_address(request, trust_forwarded_for=False) == "10.1.1.1"
    # The last address is the one the trusted proxy appended; earlier ones are the
    # client's own claims.
    assert client_address(request, trust_forwarded_for=True) == "203.0.113.9"
    assert client_address(_request("10.1.1.1"), trust_forwarded_for=True) == "10.1.1.1"
    long = client_address(_request("10.1.1.1", "x" * 10_000), trust_forwarded_for=True)
    assert len(long) == 64


def test_ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() -> None:
    one = client_address(_request("2001:db8:1:2::1"), trust_forwarded_for=False)
    other = client_address(_request("2001:db8:1:2:ffff::9"), trust_forwarded_for=False)
    assert one == other == "2001:db8:1:2::/64"
    assert client_address(_request("::ffff:192.0.2.7"), trust_forwarded_for=False) == ("192.0.2.7")


def test_key_matches_only_its_own_hash() -> None:
    _, secret = generate_key("full")
    stored = hash_key(secret)
    assert key_matches(secret, stored)
    assert not key_matches(secret + "x", stored)
    assert not key_matches(secret, stored[:-1])
    assert not key_matches(secret, "")


def test_key_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    _, secret = generate_key("ingest")
    assert key_matches(secret, hash_key(secret))
    assert compared == [(hash_key(secret).encode(), hash_key(secret).encode())]


def test_the_store_confirms_the_looked_up_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'k.db'}")
    store.open()
    try:
        secret = store.bootstrap().new_key_secret
        assert secret is not None
        assert store.authenticate(secret) is not None
        # The row found by hash must still pass the explicit constant-time comparison.
        monkeypatch.setattr(sql_tenancy, "key_matches", lambda secret, stored: False)
        assert store.authenticate(secret) is None
    finally:
        store.close()

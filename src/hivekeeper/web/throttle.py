"""Failed-authentication throttling: a client that keeps presenting bad keys is slowed.

Each client (a peer address) has a budget of `failures_per_minute` rejected keys; once
it is spent, every request from that client is a 429 with `Retry-After` until the
budget refills, at the same rate, one failure's worth at a time. A valid key does not
reset the budget, and a throttled client is refused before its key is looked up, so
the answer never tells a guesser whether a guess was right.

The budget is a generic cell rate algorithm (GCRA): one number per client, the time
at which all its failures are paid off. Clients that never fail are never tracked,
so the check a valid key pays is one dict lookup.

The throttle lives in one process, on the event loop (no lock needed): the SQLite
server is one process, and with several workers each keeps its own budget.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.requests import HTTPConnection

from hivekeeper.domain.errors import AuthThrottled

logger = logging.getLogger(__name__)

# ~200 bytes per tracked client (an address string, a float, an ordered-dict node):
# 10,000 clients cost ~2 MB. Past that, the client whose last failure is oldest is
# forgotten first; its budget had the most time to refill anyway.
MAX_TRACKED_CLIENTS = 10_000
_WINDOW_S = 60.0
_MAX_ADDRESS_CHARS = 64


class FailedAuthThrottle:
    """Per-client budget of failed authentications; 0 per minute turns it off."""

    def __init__(
        self,
        failures_per_minute: int,
        *,
        max_clients: int = MAX_TRACKED_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = failures_per_minute
        self._interval_s = _WINDOW_S / failures_per_minute if failures_per_minute else 0.0
        # How far ahead of now a client's paid-off time may be before it is refused:
        # `limit - 1` failures' worth, so the `limit`-th failure in a burst is answered
        # 401 and the next request 429.
        self._burst_s = _WINDOW_S - self._interval_s
        self._max_clients = max_clients
        self._clock = clock
        self._paid_off_at: OrderedDict[str, float] = OrderedDict()

    @property
    def tracked_clients(self) -> int:
        return len(self._paid_off_at)

    def check(self, client: str) -> None:
        """Raise `AuthThrottled` (429, Retry-After) while `client` is over its budget."""
        paid_off_at = self._paid_off_at.get(client)
        if paid_off_at is None:
            return
        now = self._clock()
        if paid_off_at <= now:
            del self._paid_off_at[client]
            return
        wait_s = paid_off_at - now - self._burst_s
        if wait_s > 0:
            raise AuthThrottled(
                f"too many failed authentication attempts from this client "
                f"(setting auth_failures_per_minute: {self._limit}); "
                f"retry after {math.ceil(wait_s)} s with a valid API key",
                retry_after_s=math.ceil(wait_s),
            )

    def record_failure(self, client: str) -> None:
        """Charge `client` one failed authentication; forget the oldest past the cap."""
        if not self._limit:
            return
        now = self._clock()
        before = max(self._paid_off_at.pop(client, now), now)
        paid_off_at = before + self._interval_s
        self._paid_off_at[client] = paid_off_at  # re-inserted last: the most recent
        # Logged once per episode (requests already past `check` may still land here).
        if paid_off_at - now > self._burst_s >= before - now:
            logger.warning(
                "throttling client %s: %d failed authentications within a minute",
                client,
                self._limit,
            )
        while len(self._paid_off_at) > self._max_clients:
            self._paid_off_at.popitem(last=False)


def client_address(conn: HTTPConnection, *, trust_forwarded_for: bool) -> str:
    """Who is calling, for throttling: `client_host`, with IPv6 clients counted per
    /64, the block one host usually owns."""
    return address_group(client_host(conn, trust_forwarded_for=trust_forwarded_for))


def client_host(conn: HTTPConnection, *, trust_forwarded_for: bool) -> str:
    """The calling host: the peer address, or behind a trusted proxy the address it
    appended to `X-Forwarded-For` (the last one; earlier ones are whatever the client
    sent, so they prove nothing)."""
    if trust_forwarded_for:
        forwarded = conn.headers.getlist("x-forwarded-for")
        if forwarded:
            # Truncated: an address is at most 45 characters, and a tracked client's
            # memory must stay bounded whatever the header holds.
            last = forwarded[-1].rsplit(",", 1)[-1].strip()[:_MAX_ADDRESS_CHARS]
            if last:
                return last
    peer = conn.client
    return peer.host if peer else "unknown"


def address_group(host: str) -> str:
    """The client a host counts as: itself, or for IPv6 its /64."""
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host.strip("[]"))
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))

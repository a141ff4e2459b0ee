"""Shares of the server a request holds until it is answered: a read slot of its project,
and the bytes of its body. Past either bound the answer is a 429 with Retry-After.

`ReadSlots`: a project (whatever key or browser cookie sends its requests) may have
`max_reads_per_project` reading requests at once; a streaming export holds its slot
until its last byte is sent. One tenant's exports can then take only their share of
the read threads, and the next of its reads is refused at once instead of queueing
ahead of everyone else's.

`BodyBudget`: the request bodies held at once, counted in bytes after decompression
from the first byte read until the answer is sent (the decoded JSON and the writes
made of it live that long, several times the body's size), may not pass
`max_inflight_body_bytes`. The operation-count bound of the write queue alone let 48
bodies of 19 MB take the server to 2.4 GB.

Both live on the event loop, so they need no lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from hivekeeper.domain.errors import Overloaded, TooManyReads

_BODY_TICKET = "hivekeeper.body_ticket"
"""Scope key of the request's `BodyTicket`, set by `BodyBudgetMiddleware`."""


class ReadSlots:
    """At most `per_project` reading requests of one project at once."""

    def __init__(self, per_project: int) -> None:
        self._per_project = per_project
        self._held: dict[str, int] = {}
        self.in_use = 0

    @contextlib.contextmanager
    def hold(self, project_id: str) -> Iterator[None]:
        """A read slot of `project_id` for the block; TooManyReads (429) if none is free."""
        held = self._held.get(project_id, 0)
        if held >= self._per_project:
            raise TooManyReads(
                f"this project already has {held} reads in progress, as many as one project "
                f"may have at once (setting max_reads_per_project); retry shortly",
                retry_after_s=1,
            )
        self._held[project_id] = held + 1
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1
            left = self._held[project_id] - 1
            if left:
                self._held[project_id] = left
            else:
                del self._held[project_id]


class BodyBudget:
    """Bytes of request bodies held at once, at most `limit_bytes`."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.in_flight_bytes = 0

    def take(self, size: int) -> None:
        """Count `size` more bytes; Overloaded (429), counting nothing, past the limit."""
        if self.in_flight_bytes + size > self.limit_bytes:
            raise Overloaded(
                f"the server holds {self.in_flight_bytes} bytes of request bodies, and this "
                f"one would go past the {self.limit_bytes} it may hold at once (setting "
                "max_inflight_body_bytes); retry shortly",
                retry_after_s=1,
            )
        self.in_flight_bytes += size

    def give_back(self, size: int) -> None:
        self.in_flight_bytes -= size


class BodyTicket:
    """What one request's body has taken from the budget, given back when it is answered."""

    def __init__(self, budget: BodyBudget) -> None:
        self._budget = budget
        self.bytes = 0

    def take(self, size: int) -> None:
        """Count `size` more bytes of this body (Overloaded past the budget)."""
        self._budget.take(size)
        self.bytes += size

    def settle(self, size: int) -> None:
        """The body turned out to hold `size` bytes in all (decompressed): count that."""
        if size > self.bytes:
            self.take(size - self.bytes)

    def give_back(self) -> None:
        self._budget.give_back(self.bytes)
        self.bytes = 0


class BodyBudgetMiddleware:
    """Gives each HTTP request a `BodyTicket`, and its bytes back once it is answered."""

    def __init__(self, app: ASGIApp, budget: BodyBudget) -> None:
        self._app = app
        self._budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        ticket = BodyTicket(self._budget)
        scope[_BODY_TICKET] = ticket
        try:
            await self._app(scope, receive, send)
        finally:
            ticket.give_back()


def body_ticket(conn: HTTPConnection) -> BodyTicket:
    """The request's ticket; set by `BodyBudgetMiddleware`, which `create_app` installs."""
    ticket: BodyTicket = conn.scope[_BODY_TICKET]
    return ticket

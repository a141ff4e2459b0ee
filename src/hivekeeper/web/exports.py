"""Events read and sent a bounded number of bytes at a time, however many and wide the rows.

What every export streams (the REST export, search and event list, the UI's JSONL
and CSV downloads): `read_events` reads the matching events in batches of about
`export_read_bytes` of stored rows, and `chunked_response` hands what is written of
them to the server in pieces of at most `CHUNK_BYTES`. Each batch is rendered,
written and dropped before the next is read, so an export holds about one batch
(rows, events and their text) and one chunk at a time: a page of 7,500 rows of 200 KB
costs the server ~10 MB, not the 3 GB it cost built whole. How far a batch can pass
its bytes when rows widen suddenly: see `BatchReader`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from hivekeeper.domain.filters import EventQuery
from hivekeeper.domain.render import render_event
from hivekeeper.domain.tenancy import Project
from hivekeeper.domain.types import StoredRow
from hivekeeper.store import Store
from hivekeeper.web.context import AppContext

# Rows per query at most: past this, SQLite's per-query overhead has vanished. It
# also bounds what one query holds when narrow rows are suddenly followed by wide
# ones (widths are known only once read). ClickHouse would like more: a 7,500-row
# export of 2.5 KB rows took 1.07 s in queries of 1,000 rows, 0.68 s of 5,000.
PAGE_ROWS = 1000
# Bytes handed to the server per send: a row of any width is cut into pieces no larger.
CHUNK_BYTES = 256 << 10
# How many times the rows read so far one query may ask for: widths change from row
# to row, so the rows asked for follow them gradually. The second query, after one
# row of unknown likeness to the others, stays within the budget for rows of up to a
# fourth of it (1 MB by default) however narrow that row was.
_GROWTH = 4

Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventBatches:
    """The matching events, batch after batch; `total` is how many match in all (None
    unless the query counts)."""

    total: int | None
    batches: AsyncIterator[list[Event]]

    def __aiter__(self) -> AsyncIterator[list[Event]]:
        return self.batches


async def read_events(
    ctx: AppContext, project: Project, query: EventQuery, *, rows: int | None = None
) -> EventBatches:
    """The events of `query` as the API renders them, from the first row of its page
    (`query.offset`) on, `rows` of them at most (every one when None), in the order
    `query` sorts them, in batches of about `export_read_bytes` of stored rows.
    `query.limit` sizes no read.

    The first batch is read now, with the count when `query.count_total`, so what the
    store raises for the query comes before any byte of an answer (and a small export
    is read in one go); the others as they are iterated. See `BatchReader`.
    """
    reader = BatchReader(ctx.store, project.id, query, rows, ctx.settings.export_read_bytes)
    first = await ctx.read(reader.next_batch)
    return EventBatches(reader.total, _batches(ctx, project, reader, first))


async def _batches(
    ctx: AppContext, project: Project, reader: BatchReader, batch: Batch
) -> AsyncIterator[list[Event]]:
    while batch.rows:
        yield [render_event(r, project, batch.children.get(r["event_id"], [])) for r in batch.rows]
        if reader.done:
            return
        batch = await ctx.read(reader.next_batch)


@dataclass(frozen=True, slots=True)
class Batch:
    """What one trip to a read thread read: rows, and their children's ids by parent."""

    rows: list[StoredRow]
    children: dict[str, list[str]]


class BatchReader:
    """One export's rows, a batch of about `batch_bytes` per trip to a read thread.

    A batch is read in queries of growing size, each starting after the last row of
    the one before (a keyset cursor, see `query_after`), so rows written during the
    export cannot shift a row into two batches or out of all of them. The first query
    asks for one row (at the page's offset, with the count); each next one for as many
    rows as fit in what is left of the batch at the width of the widest row of the
    query before, at most `_GROWTH` times the rows read so far and `PAGE_ROWS`: with
    the default 4 MiB, rows of 1 KB are asked for 1, 4, 20, 100, 500, then a thousand;
    rows of 1 MB 1 and 3, then 4 at a time. Widths are known only once rows are read:
    after a thousand rows of 1 KB, a query asks for a thousand more, and holds them
    all if they turn out to be of 1 MB; the next query then asks for four.
    """

    def __init__(
        self,
        store: Store,
        project_id: str,
        query: EventQuery,
        rows: int | None,
        batch_bytes: int,
    ) -> None:
        self._store = store
        self._project_id = project_id
        # Page `offset + 1` of one-row pages is the row at `offset`.
        self._query = replace(query, limit=1, page=query.offset + 1)
        self._rows = rows
        self._batch_bytes = batch_bytes
        self._read = 0
        self._widest = 0  # bytes of the widest row of the last query
        self.total: int | None = None
        self.done = False

    def next_batch(self) -> Batch:
        """The next batch, and the children of its rows; empty once `done`. Blocking."""
        rows: list[StoredRow] = []
        size = 0
        while not self.done and size < self._batch_bytes:
            query = replace(self._query, limit=self._rows_to_ask(self._batch_bytes - size))
            found, total = self._store.query_events(self._project_id, query)
            if query.count_total:
                self.total = total
            self._read += len(found)
            self.done = len(found) < query.limit or self._read == self._rows
            if not found:
                break
            rows += found
            widths = [len(orjson.dumps(row, default=repr)) for row in found]
            size += sum(widths)
            self._widest = max(widths)
            self._query = replace(query_after(found, query), count_total=False)
        ids = [r["event_id"] for r in rows]
        return Batch(rows, self._store.children_of(self._project_id, ids) if ids else {})

    def _rows_to_ask(self, room_bytes: int) -> int:
        if not self._read:
            return 1
        limit = min(max(1, room_bytes // self._widest), self._read * _GROWTH, PAGE_ROWS)
        return limit if self._rows is None else min(limit, self._rows - self._read)


def query_after(rows: list[StoredRow], query: EventQuery) -> EventQuery:
    """`query` for the rows that come after the last of `rows` in its order (a keyset
    cursor), from the first of them on (page 1).

    Ascending by `start_time`, the last row's time is also a lower bound of the date
    range: every row after it starts no earlier, and with the bound a store walks its
    time index from there rather than from the project's first row, as SQLite's plan
    for the cursor alone does (each page of a long export would cost its depth).
    """
    last = rows[-1]
    value = last[query.sort]
    cursor = (None if value is None else float(value), last["event_id"])
    after = replace(query, page=1, after=cursor)
    if query.sort != "start_time" or query.descending or cursor[0] is None:
        return after
    start_ms = cursor[0] if query.start_ms is None else max(cursor[0], query.start_ms)
    return replace(after, start_ms=start_ms)


async def chunked_response(
    pieces: AsyncIterator[bytes], media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    """A response sending `pieces` in chunks of `CHUNK_BYTES` at most, a larger piece
    cut up: streamed, or when they all fit in one chunk, a plain response with its
    Content-Length, which costs a small answer nothing more than one built whole.
    The first chunk is made before the answer starts, so what it raises is answered
    as an error."""
    chunks = _chunks(pieces)
    first = await anext(chunks, b"")
    if len(first) < CHUNK_BYTES:
        return Response(first, media_type=media_type, headers=headers)
    return StreamingResponse(_chained(first, chunks), media_type=media_type, headers=headers)


async def _chunks(pieces: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`pieces` joined into chunks of `CHUNK_BYTES`, the last one shorter."""
    chunk = bytearray()
    async for piece in pieces:
        chunk += piece
        while len(chunk) >= CHUNK_BYTES:
            yield bytes(chunk[:CHUNK_BYTES])
            del chunk[:CHUNK_BYTES]
    if chunk:
        yield bytes(chunk)


async def _chained(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk

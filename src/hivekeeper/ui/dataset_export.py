"""A dataset version as a download: JSONL (each line the API's Datapoint object) or CSV
(one column per key of each namespace), streamed a page of datapoints at a time.

CSV needs its columns before its first row, so it reads the version twice: once for
the keys (only they are kept), once for the rows. Cells go through `csv_cells`, so no
value a client wrote runs as a spreadsheet formula.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hivekeeper.domain.evaluation.changelog import VersionKey
from hivekeeper.domain.evaluation.datapoints import DatapointRecord, render_record
from hivekeeper.ui import auth
from hivekeeper.ui.csv_cells import csv_cell, csv_lines
from hivekeeper.ui.datasets import DatasetSummary, load_dataset, size_at, version_asked
from hivekeeper.ui.route import UiRoute
from hivekeeper.web import AppContext, context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
# Datapoints read per query: past this the per-query cost has vanished.
EXPORT_PAGE_ROWS = 2000
# Keys of one namespace that get a column of their own; further keys share one JSON column.
MAX_KEY_COLUMNS = 200
_NAMESPACES = ("inputs", "ground_truth", "metadata")


@router.get("/p/{pid}/datasets/{dataset_id}/export.jsonl")
async def export_jsonl(request: Request, dataset_id: str, page: auth.Page) -> Response:
    ctx, dataset, version, at = await _version(request, page, dataset_id)

    async def lines() -> AsyncIterator[bytes]:
        async for records in _pages(
            ctx, page.project.id, dataset_id, at, size_at(dataset.history, version)
        ):
            yield b"".join(orjson.dumps(render_record(r), default=repr) + b"\n" for r in records)

    return _download(lines(), dataset, version, "jsonl", "application/x-ndjson")


@router.get("/p/{pid}/datasets/{dataset_id}/export.csv")
async def export_csv(request: Request, dataset_id: str, page: auth.Page) -> Response:
    ctx, dataset, version, at = await _version(request, page, dataset_id)
    size = size_at(dataset.history, version)

    async def rows() -> AsyncIterator[bytes]:
        keys: dict[str, dict[str, None]] = {ns: {} for ns in _NAMESPACES}
        async for records in _pages(ctx, page.project.id, dataset_id, at, size):
            for record in records:
                for ns, value in _namespaces(record).items():
                    if isinstance(value, dict) and len(keys[ns]) < MAX_KEY_COLUMNS:
                        keys[ns].update(dict.fromkeys(value))
        header = ["id", *(f"{ns}.{k}" for ns in _NAMESPACES for k in keys[ns])]
        header += ["ground_truth", "history", "linked_event", "more"]
        yield csv_lines([[csv_cell(c) for c in header]])
        async for records in _pages(ctx, page.project.id, dataset_id, at, size):
            yield csv_lines([_csv_row(r, keys) for r in records])

    return _download(rows(), dataset, version, "csv", "text/csv; charset=utf-8")


def _namespaces(record: DatapointRecord) -> dict[str, object]:
    content = record.content
    return {
        "inputs": content.inputs,
        "ground_truth": content.ground_truth,
        "metadata": content.metadata,
    }


def _csv_row(record: DatapointRecord, keys: dict[str, dict[str, None]]) -> list[str]:
    """A datapoint's cells: a column per key; a ground truth that is not an object in
    `ground_truth`; keys past `MAX_KEY_COLUMNS` in `more`, as JSON."""
    cells = [csv_cell(record.id)]
    more: dict[str, object] = {}
    whole_truth = None
    for ns, value in _namespaces(record).items():
        if ns == "ground_truth" and not isinstance(value, dict):
            whole_truth = value
            value = {}
        found = value if isinstance(value, dict) else {}
        cells.extend(csv_cell(found.get(k)) for k in keys[ns])
        extra = {k: v for k, v in found.items() if k not in keys[ns]}
        if extra:
            more[ns] = extra
    content = record.content
    cells += [
        csv_cell(whole_truth),
        csv_cell(content.history or None),
        csv_cell(content.linked_event),
        csv_cell(more or None),
    ]
    return cells


async def _version(
    request: Request, page: auth.ProjectPage, dataset_id: str
) -> tuple[AppContext, DatasetSummary, int, VersionKey | None]:
    """The dataset and the version asked (`version`, default the current one), checked
    before the download starts; `at` None for the current version."""
    ctx = context(request)
    dataset = await load_dataset(ctx, page.project.id, dataset_id)
    version = version_asked(request.query_params.get("version"), dataset)
    at = None if version == dataset.version else dataset.key_of(version)
    return ctx, dataset, version, at


async def _pages(
    ctx: AppContext, project_id: str, dataset_id: str, at: VersionKey | None, size: int
) -> AsyncIterator[list[DatapointRecord]]:
    for offset in range(0, size, EXPORT_PAGE_ROWS):
        records = await ctx.read(
            lambda o=offset: ctx.store.list_datapoints(
                project_id, dataset_id=dataset_id, at=at, limit=EXPORT_PAGE_ROWS, offset=o
            )
        )
        if not records:
            return
        yield records


def _download(
    body: AsyncIterator[bytes], dataset: DatasetSummary, version: int, ext: str, media: str
) -> Response:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in dataset.record.name)[:60]
    headers = {
        "Content-Disposition": f'attachment; filename="{name}-v{version}-{stamp}.{ext}"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(body, media_type=media, headers=headers)

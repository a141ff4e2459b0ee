"""Importing a CSV or JSONL file into a dataset: upload, a status page while the file
is checked, a column mapping with a preview of the first rows, then one commit.

The upload goes to the staging area (`staging`) and is checked in the background, row
by row; the status page refreshes itself (a `<meta http-equiv="refresh">`, which
needs no script and no CSP exception) until it is done. Columns are then mapped to
inputs, ground truth, history or metadata, or ignored (the mapping lives in the URL:
`c0=inputs&c1=ground_truth…`, by column number), and the preview shows the first rows
as datapoints. Committing applies the mapping with the API's own `add_datapoints`
rules (`mapping.parse_rows`, `datapoints_from_rows`) and writes every row in one op:
all of them or, on any bad row, none, each bad row named by its line and column.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson
from fastapi import APIRouter
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hivekeeper.domain.errors import NotFound, PayloadTooLarge, ValidationFailed
from hivekeeper.domain.evaluation.datapoints import DatapointContent
from hivekeeper.domain.evaluation.mapping import datapoints_from_rows, parse_rows
from hivekeeper.domain.evaluation.ops import DatapointWrite, PutDatapoints
from hivekeeper.domain.types import JsonObject
from hivekeeper.ui import auth, formats, forms, params, staging
from hivekeeper.ui.datasets import DatasetSummary, load_dataset
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.staging import RowError, StagedImport, Staging, Status
from hivekeeper.ui.templating import page as render_page
from hivekeeper.web import AppContext, context, json_limits

router = APIRouter(route_class=UiRoute, include_in_schema=False)
ROLES = ("inputs", "ground_truth", "history", "metadata", "ignore")
PREVIEW_ROWS = 10
# What a column's name suggests it holds, before the user chooses; the rest: inputs.
_GUESSES = {
    "ground_truth": {"ground_truth", "answer", "expected", "expected_output", "label", "target",
                     "reference", "output", "outputs", "gold"},
    "history": {"history", "chat_history", "messages", "conversation"},
    "metadata": {"id", "metadata", "source", "tags", "tag", "category", "topic", "split"},
}  # fmt: skip
# Multipart framing and the form's small fields, beyond the file itself.
_FORM_OVERHEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Mapped:
    """Rows mapped to datapoints, or why they cannot be (nothing is then written)."""

    datapoints: list[DatapointContent]
    errors: list[RowError]


def guess(column: str) -> str:
    name = column.strip().lower().replace(" ", "_").replace("-", "_")
    return next((role for role, names in _GUESSES.items() if name in names), "inputs")


def roles_of(chosen: dict[str, str], columns: Sequence[str]) -> list[str]:
    """Each column's role: `c<number>` when given (ValidationFailed for another value
    than the roles), else what its name suggests."""
    roles = []
    for i, column in enumerate(columns):
        role = chosen.get(f"c{i}") or guess(column)
        if role not in ROLES:
            raise ValidationFailed(f"c{i} must be one of {', '.join(ROLES)}", field=f"c{i}")
        roles.append(role)
    return roles


def apply_mapping(
    rows: Sequence[tuple[int, JsonObject]],
    columns: Sequence[str],
    roles: Sequence[str],
    *,
    csv_cells: bool,
    max_rows: int,
) -> Mapped:
    """The rows as datapoints under `roles`, by the rules of `add_datapoints`: ignored
    columns dropped, history cells of a CSV read as JSON, then `parse_rows` and
    `datapoints_from_rows` as the API calls them. Every bad row is reported (up to
    `staging.MAX_ERRORS`) by its line and column."""
    role_of = dict(zip(columns, roles, strict=True))
    data: list[JsonObject] = []
    errors: list[RowError] = []
    for line, row in rows:
        kept: JsonObject = {}
        for column, value in row.items():
            role = role_of.get(column, "metadata")
            if role == "ignore":
                continue
            if role == "history":
                value, problem = _history(value, csv_cells)
                if problem:
                    errors.append(RowError(line, column, problem))
            kept[column] = value
        data.append(kept)
    if errors:
        return Mapped([], errors[: staging.MAX_ERRORS])
    mapping = {
        role: [c for c, r in zip(columns, roles, strict=True) if r == role]
        for role in ("inputs", "history", "ground_truth")
    }
    try:
        parsed, column_mapping = parse_rows({"data": data, "mapping": mapping}, max_rows=max_rows)
        return Mapped(datapoints_from_rows(parsed, column_mapping), [])
    except ValidationFailed as exc:
        return Mapped([], [_located(exc, rows)])


def _history(value: object, csv_cells: bool) -> tuple[object, str | None]:
    """A history cell as messages: JSON text in a CSV; a message object or an array of
    them (what `add_datapoints` takes), else the reason it is not."""
    if csv_cells and isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value, "a history cell holds a JSON message object or array of them"
    if isinstance(value, dict) or (
        isinstance(value, list) and all(isinstance(m, dict) for m in value)
    ):
        return value, None
    return value, "a history value is a message object or an array of them"


def _located(exc: ValidationFailed, rows: Sequence[tuple[int, JsonObject]]) -> RowError:
    """An API validation error (naming `data[i].column` or the mapping) at its line."""
    where = exc.field or ""
    if where.startswith("data[") and "]" in where:
        index, _, column = where[5:].partition("]")
        if index.isdigit() and int(index) < len(rows):
            return RowError(rows[int(index)][0], column.lstrip(".") or None, exc.message)
    return RowError(0, None, exc.message)


@router.get("/p/{pid}/datasets/{dataset_id}/import")
async def import_form(request: Request, dataset_id: str, page: auth.Page) -> Response:
    ctx = context(request)
    dataset = await load_dataset(ctx, page.project.id, dataset_id)
    return await _upload_page(request, page, dataset, None)


@router.post("/p/{pid}/datasets/{dataset_id}/import")
async def upload(request: Request, dataset_id: str, page: auth.Page) -> Response:
    """Stage the uploaded file and check it in the background; answer with its status
    page at once."""
    ctx = context(request)
    most = ctx.settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        raise ValidationFailed("send the file with the import form (no Content-Length)")
    if int(declared) > most + _FORM_OVERHEAD_BYTES:
        raise PayloadTooLarge(f"a file to import is at most {most:,} bytes (max_body_bytes)")
    dataset = await load_dataset(ctx, page.project.id, dataset_id)
    async with request.form(max_files=1, max_fields=8) as form:
        auth.check_csrf(request, {"csrf": str(form.get("csrf") or "")}, page.csrf)
        chosen = str(form.get("format") or "")
        upload = form.get("file")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ValidationFailed("choose a CSV or JSONL file to import", field="file")
            fmt = staging.format_of(upload.filename, chosen)
        except ValidationFailed as exc:
            return await _upload_page(request, page, dataset, exc.message, 400)
        area = Staging(ctx.settings.data_dir)
        staged, _ = await ctx.decode(
            area.create, page.project.id, dataset_id, upload.filename, fmt, ctx.now_ms()
        )
        await ctx.decode(_copy, upload.file, staged.upload)
    check = BackgroundTask(
        ctx.decode,
        staging.check,
        staged,
        json_limits(ctx.settings),
        ctx.settings.max_batch_events,
        ctx.now_ms,
    )
    return RedirectResponse(_url(page, dataset_id, staged.id), status_code=303, background=check)


@router.get("/p/{pid}/datasets/{dataset_id}/imports/{import_id}")
async def staged_page(
    request: Request, dataset_id: str, import_id: str, page: auth.Page
) -> Response:
    """The import's status while it is checked; then its mapping and preview."""
    ctx = context(request)
    dataset = await load_dataset(ctx, page.project.id, dataset_id)
    staged, status = await _staged(ctx, page.project.id, dataset_id, import_id)
    chosen = dict(request.query_params)
    return await _staged_page(request, page, dataset, staged, status, chosen, [])


@router.post("/p/{pid}/datasets/{dataset_id}/imports/{import_id}")
async def commit(request: Request, dataset_id: str, import_id: str, page: auth.Page) -> Response:
    """Write every row of the import, mapped, in one op; or, if any row is bad, none
    (the page lists what to fix)."""
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    dataset = await load_dataset(ctx, page.project.id, dataset_id)
    staged, status = await _staged(ctx, page.project.id, dataset_id, import_id)
    if status.state != "ready":
        raise ValidationFailed("this import is not ready to commit; see its status")
    roles = roles_of(form, status.columns)
    rows = await ctx.decode(lambda: list(staged.rows()))
    mapped = await ctx.decode(
        lambda: apply_mapping(
            rows,
            status.columns,
            roles,
            csv_cells=status.format == "csv",
            max_rows=ctx.settings.max_batch_events,
        )
    )
    if mapped.errors:
        return await _staged_page(request, page, dataset, staged, status, form, mapped.errors, 400)
    writes = tuple(DatapointWrite(str(uuid.uuid4()), c, new=True) for c in mapped.datapoints)
    op = PutDatapoints(
        page.project.id, writes, dataset_ids=(dataset_id,), key_id=page.principal.key_id
    )
    await ctx.writer.submit([op])
    await ctx.decode(staged.remove)
    last = -(-(dataset.size + len(writes)) // params.DEFAULT_LIMIT)
    return RedirectResponse(
        f"/p/{page.project.id}/datasets/{dataset_id}?page={max(last, 1)}", status_code=303
    )


@router.post("/p/{pid}/datasets/{dataset_id}/imports/{import_id}/cancel")
async def cancel(request: Request, dataset_id: str, import_id: str, page: auth.Page) -> Response:
    ctx = context(request)
    await forms.read_checked(request, page, ctx.settings)
    staged, _ = await _staged(ctx, page.project.id, dataset_id, import_id)
    await ctx.decode(staged.remove)
    return RedirectResponse(f"/p/{page.project.id}/datasets/{dataset_id}/import", status_code=303)


def _copy(source: IO[bytes], target: Path) -> None:
    source.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


def _url(page: auth.ProjectPage, dataset_id: str, import_id: str) -> str:
    return f"/p/{page.project.id}/datasets/{dataset_id}/imports/{import_id}"


async def _staged(
    ctx: AppContext, project_id: str, dataset_id: str, import_id: str
) -> tuple[StagedImport, Status]:
    area = Staging(ctx.settings.data_dir)
    staged = await ctx.decode(area.get, project_id, dataset_id, import_id)
    if staged is None:
        raise NotFound("no such import: it was committed, cancelled or has expired")
    return staged, await ctx.decode(staged.status)


async def _upload_page(
    request: Request,
    page: auth.ProjectPage,
    dataset: DatasetSummary,
    error: str | None,
    status: int = 200,
) -> Response:
    ctx = context(request)
    area = Staging(ctx.settings.data_dir)
    pending = await ctx.decode(area.of_dataset, page.project.id, dataset.record.id)
    return render_page(
        request,
        "dataset_import.html",
        status=status,
        **auth.chrome(page, "datasets"),
        dataset=dataset,
        error=error,
        pending=pending,
        max_bytes=ctx.settings.max_body_bytes,
        max_rows=ctx.settings.max_batch_events,
        base=f"/p/{page.project.id}/datasets/{dataset.record.id}",
    )


async def _staged_page(
    request: Request,
    page: auth.ProjectPage,
    dataset: DatasetSummary,
    staged: StagedImport,
    status: Status,
    chosen: dict[str, str],
    commit_errors: list[RowError],
    code: int = 200,
) -> Response:
    ctx = context(request)
    interrupted = status.interrupted(ctx.now_ms())
    roles: list[str] = []
    preview: Mapped | None = None
    error = None
    if status.state == "ready":
        try:
            roles = roles_of(chosen, status.columns)
        except ValidationFailed as exc:
            error, code = exc.message, 400
            roles = roles_of({}, status.columns)
        first = await ctx.decode(lambda: _first_rows(staged, PREVIEW_ROWS))
        preview = apply_mapping(
            first,
            status.columns,
            roles,
            csv_cells=status.format == "csv",
            max_rows=ctx.settings.max_batch_events,
        )
    return render_page(
        request,
        "dataset_staged.html",
        status=code,
        **auth.chrome(page, "datasets"),
        dataset=dataset,
        staged=staged,
        s=status,
        interrupted=interrupted,
        roles=roles,
        role_names=ROLES,
        preview=preview,
        preview_cells=_cells(preview),
        commit_errors=commit_errors,
        error=error,
        url=_url(page, dataset.record.id, staged.id),
        base=f"/p/{page.project.id}/datasets/{dataset.record.id}",
    )


def _first_rows(staged: StagedImport, count: int) -> list[tuple[int, JsonObject]]:
    rows = []
    for pair in staged.rows():
        rows.append(pair)
        if len(rows) == count:
            break
    return rows


def _cells(preview: Mapped | None) -> list[list[str]]:
    if preview is None:
        return []
    return [
        [
            formats.cell(d.inputs or None),
            formats.cell(d.ground_truth),
            formats.cell(d.history or None),
            formats.cell(d.metadata or None),
        ]
        for d in preview.datapoints
    ]

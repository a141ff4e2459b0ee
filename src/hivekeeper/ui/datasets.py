"""Datasets: the list, a dataset's page (its datapoints a page at a time, any version),
its version history and what one version changed, and creating, renaming and
deleting a dataset.

Every write is an op of `domain.evaluation.ops` through the writer, validated by the
parsers the API uses; every read goes through `EvaluationStore`. A dataset's size and
current version come from its change log (added minus removed per change), so the
list never reads a member.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.evaluation.changelog import ChangeSummary, Member, VersionKey
from hivekeeper.domain.evaluation.datapoints import DatapointRecord
from hivekeeper.domain.evaluation.datasets import DEFAULT_NAME, DatasetRecord, parse_dataset
from hivekeeper.domain.evaluation.ops import DeleteDataset, SaveDataset
from hivekeeper.domain.evaluation.runs import RunListQuery
from hivekeeper.domain.filters import parse_page
from hivekeeper.ui import auth, formats, forms, params
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.templating import page as render_page
from hivekeeper.web import AppContext, context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
# Changed datapoints one version page lists per kind; the counts are always whole.
CHANGES_SHOWN = 200


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    """A dataset with its change log and the number of runs made over it."""

    record: DatasetRecord
    history: list[ChangeSummary]
    runs: int

    @property
    def size(self) -> int:
        """Datapoints in the current version: every change's additions less its removals
        (a change records only what it really added or removed)."""
        return size_at(self.history, len(self.history))

    @property
    def version(self) -> int:
        return len(self.history)

    @property
    def changed_ms(self) -> float:
        if self.history:
            return self.history[-1].key[0]
        return self.record.updated_at_ms or self.record.created_at_ms

    def key_of(self, version: int) -> VersionKey:
        return self.history[version - 1].key


def size_at(history: list[ChangeSummary], version: int) -> int:
    """Datapoints in version `version` of a dataset with this history."""
    return sum(c.added - c.removed for c in history[:version])


@dataclass(frozen=True, slots=True)
class DatapointLine:
    """One row of a dataset's table: a datapoint as the page shows it."""

    position: int
    record: DatapointRecord
    inputs: str
    ground_truth: str
    history: int
    metadata: str


async def summaries(
    ctx: AppContext, project_id: str, dataset_id: str | None = None
) -> list[DatasetSummary]:
    """The live datasets (or the one `dataset_id`) with their histories and run counts:
    three reads, plus one run count per dataset."""
    records = await ctx.read(lambda: ctx.store.list_datasets(project_id, dataset_id=dataset_id))
    ids = [r.id for r in records]
    histories = await ctx.read(ctx.store.dataset_histories, project_id, ids)
    runs = await asyncio.gather(
        *(
            ctx.read(ctx.store.list_runs, project_id, RunListQuery(dataset_id=i, limit=1))
            for i in ids
        )
    )
    return [
        DatasetSummary(r, histories[r.id], page.total)
        for r, page in zip(records, runs, strict=True)
    ]


async def load_dataset(ctx: AppContext, project_id: str, dataset_id: str) -> DatasetSummary:
    """One live dataset of the project; NotFound otherwise (another project's too)."""
    found = await summaries(ctx, project_id, dataset_id)
    if not found:
        raise NotFound(f"no dataset with id {dataset_id} in this project")
    return found[0]


def line(position: int, record: DatapointRecord) -> DatapointLine:
    content = record.content
    return DatapointLine(
        position=position,
        record=record,
        inputs=formats.cell(content.inputs or None),
        ground_truth=formats.cell(content.ground_truth),
        history=len(content.history),
        metadata=formats.cell(content.metadata or None),
    )


@router.get("/p/{pid}/datasets")
async def datasets_list(request: Request, page: auth.Page) -> Response:
    return await _list_page(request, page, forms.Filled())


@router.post("/p/{pid}/datasets")
async def create_dataset(request: Request, page: auth.Page) -> Response:
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    try:
        parsed = parse_dataset(
            {"name": forms.text(form, "name"), "description": forms.text(form, "description")}
        )
    except ValidationFailed as exc:
        return await _list_page(request, page, forms.Filled(form, exc.message, exc.field), 400)
    dataset_id = str(uuid.uuid4())
    op = SaveDataset(
        page.project.id,
        dataset_id,
        name=parsed.name or DEFAULT_NAME,
        description=parsed.description,
        create=True,
    )
    await ctx.writer.submit([op])
    return RedirectResponse(f"/p/{page.project.id}/datasets/{dataset_id}", status_code=303)


async def _list_page(
    request: Request, page: auth.ProjectPage, filled: forms.Filled, status: int = 200
) -> Response:
    ctx = context(request)
    return render_page(
        request,
        "datasets.html",
        status=status,
        **auth.chrome(page, "datasets"),
        datasets=await summaries(ctx, page.project.id),
        filled=filled,
    )


@router.get("/p/{pid}/datasets/{dataset_id}")
async def dataset_page(request: Request, dataset_id: str, page: auth.Page) -> Response:
    ctx = context(request)
    dataset = await load_dataset(ctx, page.project.id, dataset_id)
    version = version_asked(request.query_params.get("version"), dataset)
    limit = _limit(request.query_params.get("limit"))
    size = size_at(dataset.history, version)
    pages = max(1, -(-size // limit))
    number = parse_page(request.query_params.get("page"))
    if number > pages:
        number = pages
    at = None if version == dataset.version else dataset.key_of(version)
    records = await ctx.read(
        lambda: ctx.store.list_datapoints(
            page.project.id, dataset_id=dataset_id, at=at, limit=limit, offset=(number - 1) * limit
        )
    )
    first = (number - 1) * limit + 1
    return render_page(
        request,
        "dataset.html",
        **auth.chrome(page, "datasets"),
        dataset=dataset,
        version=version,
        current=version == dataset.version,
        size=size,
        lines=[line(first + i, r) for i, r in enumerate(records)],
        page_number=number,
        pages=pages,
        limit=limit,
        limits=params.LIMITS,
        base=f"/p/{page.project.id}/datasets/{dataset_id}",
        filled=forms.Filled(),
    )


@router.post("/p/{pid}/datasets/{dataset_id}/edit")
async def edit_dataset(request: Request, dataset_id: str, page: auth.Page) -> Response:
    """Rename or describe a dataset (`PUT /v1/datasets/{id}` without `datapoints`)."""
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    await load_dataset(ctx, page.project.id, dataset_id)
    parsed = parse_dataset(
        {"name": form.get("name", ""), "description": form.get("description", "")}
    )
    op = SaveDataset(page.project.id, dataset_id, name=parsed.name, description=parsed.description)
    await ctx.writer.submit([op])
    return RedirectResponse(f"/p/{page.project.id}/datasets/{dataset_id}", status_code=303)


@router.post("/p/{pid}/datasets/{dataset_id}/delete")
async def delete_dataset(request: Request, dataset_id: str, page: auth.Page) -> Response:
    """Delete a dataset; while a run uses it only with `force` (Conflict, 409, else).
    Its versions stay readable to those runs."""
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    await load_dataset(ctx, page.project.id, dataset_id)
    op = DeleteDataset(page.project.id, dataset_id, force=forms.checked(form, "force"))
    await ctx.writer.submit([op])
    return RedirectResponse(f"/p/{page.project.id}/datasets", status_code=303)


@dataclass(frozen=True, slots=True)
class Changed:
    """The datapoints one version added, removed and edited, in dataset order."""

    added: list[str]
    removed: list[str]
    edited: list[str]


def changes_between(before: list[Member], after: list[Member]) -> Changed:
    """What turned the members `before` into `after`: a datapoint is edited when its
    revision differs."""
    old = {m.datapoint_id: m.revision for m in before}
    new = {m.datapoint_id: m.revision for m in after}
    return Changed(
        added=[m.datapoint_id for m in after if m.datapoint_id not in old],
        removed=[m.datapoint_id for m in before if m.datapoint_id not in new],
        edited=[
            m.datapoint_id
            for m in after
            if m.datapoint_id in old and old[m.datapoint_id] != m.revision
        ],
    )


@router.get("/p/{pid}/datasets/{dataset_id}/versions/{number}")
async def version_changes(
    request: Request, dataset_id: str, number: int, page: auth.Page
) -> Response:
    """What version `number` changed: the datapoints it added, removed and edited."""
    ctx = context(request)
    dataset = await load_dataset(ctx, page.project.id, dataset_id)
    if not 1 <= number <= dataset.version:
        raise NotFound(f"this dataset has no version {number}")
    pid = page.project.id
    after = await ctx.read(ctx.store.version_members, pid, dataset_id, dataset.key_of(number))
    before = (
        await ctx.read(ctx.store.version_members, pid, dataset_id, dataset.key_of(number - 1))
        if number > 1
        else []
    )
    changed = changes_between(before, after)
    shown = [
        *changed.added[:CHANGES_SHOWN],
        *changed.edited[:CHANGES_SHOWN],
        *changed.removed[:CHANGES_SHOWN],
    ]
    now = {r.id: r for r in await ctx.read(ctx.store.get_datapoints, pid, shown)}
    return render_page(
        request,
        "dataset_version.html",
        **auth.chrome(page, "datasets"),
        dataset=dataset,
        number=number,
        change=dataset.history[number - 1],
        changed=changed,
        now={i: line(0, r) for i, r in now.items()},
        shown=CHANGES_SHOWN,
        base=f"/p/{pid}/datasets/{dataset_id}",
    )


def version_asked(raw: str | None, dataset: DatasetSummary) -> int:
    """The version the page shows: `version` when given (ValidationFailed unless the
    dataset has it), else the current one."""
    if raw is None or raw == "":
        return dataset.version
    if not raw.strip().isdigit() or not 1 <= int(raw) <= max(dataset.version, 1):
        raise ValidationFailed(
            f"version must be a version of this dataset, 1 to {dataset.version}", field="version"
        )
    return min(int(raw), dataset.version)


def _limit(raw: str | None) -> int:
    try:
        value = int(raw or params.DEFAULT_LIMIT)
    except ValueError:
        return params.DEFAULT_LIMIT
    return value if value in params.LIMITS else params.DEFAULT_LIMIT

"""One datapoint of a dataset: read and edit its content, remove it from the dataset,
or delete it everywhere.

The edit form holds each namespace as JSON; its body goes through the API's
`parse_datapoint` and JSON limits, and the new content is written as
`PUT /v1/datapoints/{id}` writes it: a new revision, and a new version of every
dataset holding the datapoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hivekeeper.config import Settings
from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.evaluation.datapoints import (
    DatapointContent,
    DatapointPatch,
    DatapointRecord,
    apply_patch,
    parse_datapoint,
)
from hivekeeper.domain.evaluation.ops import (
    ChangeMembership,
    DatapointWrite,
    DeleteDatapoint,
    PutDatapoints,
)
from hivekeeper.ui import auth, formats, forms
from hivekeeper.ui.datasets import DatasetSummary, load_dataset
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.templating import page as render_page
from hivekeeper.web import AppContext, context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
# The namespaces the form edits as JSON, with what an empty box means.
CONTENT_FIELDS: dict[str, object] = {
    "inputs": {},
    "ground_truth": None,
    "history": [],
    "metadata": {},
}


@dataclass(frozen=True, slots=True)
class ContentForm:
    """The datapoint form's boxes, as text (what was stored, or what was typed)."""

    inputs: str
    ground_truth: str
    history: str
    metadata: str

    @classmethod
    def of(cls, content: DatapointContent) -> ContentForm:
        def text(value: object) -> str:
            return "" if value in (None, {}, []) else formats.pretty_json(value)

        return cls(
            inputs=text(content.inputs),
            ground_truth=text(content.ground_truth),
            history=text(content.history),
            metadata=text(content.metadata),
        )

    @classmethod
    def typed(cls, form: dict[str, str]) -> ContentForm:
        return cls(**{name: form.get(name, "") for name in CONTENT_FIELDS})


def parse_content_form(form: dict[str, str], settings: Settings) -> DatapointPatch:
    """The form's boxes as the body of `PUT /v1/datapoints/{id}`, parsed and bounded
    as the API does (ValidationFailed naming the box at fault). An empty box empties
    its namespace."""
    body: dict[str, object] = {}
    for name, empty in CONTENT_FIELDS.items():
        value = forms.json_field(form, name, name.replace("_", " "))
        body[name] = empty if value is None else value
    forms.within_limits(body, settings)
    return parse_datapoint(body)


async def member(
    ctx: AppContext, project_id: str, dataset_id: str, datapoint_id: str
) -> tuple[DatasetSummary, DatapointRecord]:
    """A live dataset and a live datapoint it holds now; NotFound otherwise."""
    dataset = await load_dataset(ctx, project_id, dataset_id)
    found = await ctx.read(ctx.store.get_datapoints, project_id, [datapoint_id])
    if not found or dataset_id not in found[0].linked_datasets:
        raise NotFound(f"no datapoint {datapoint_id} in this dataset")
    return dataset, found[0]


@router.get("/p/{pid}/datasets/{dataset_id}/datapoints/{datapoint_id}")
async def datapoint_page(
    request: Request, dataset_id: str, datapoint_id: str, page: auth.Page
) -> Response:
    dataset, record = await member(context(request), page.project.id, dataset_id, datapoint_id)
    return _page(request, page, dataset, record, ContentForm.of(record.content), None)


@router.post("/p/{pid}/datasets/{dataset_id}/datapoints/{datapoint_id}")
async def save_datapoint(
    request: Request, dataset_id: str, datapoint_id: str, page: auth.Page
) -> Response:
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    dataset, record = await member(ctx, page.project.id, dataset_id, datapoint_id)
    try:
        patch = parse_content_form(form, ctx.settings)
    except ValidationFailed as exc:
        return _page(request, page, dataset, record, ContentForm.typed(form), exc, 400)
    write = DatapointWrite(datapoint_id, apply_patch(record.content, patch), new=False)
    op = PutDatapoints(page.project.id, (write,), key_id=page.principal.key_id)
    await ctx.writer.submit([op])
    return RedirectResponse(_url(page, dataset_id, datapoint_id), status_code=303)


@router.post("/p/{pid}/datasets/{dataset_id}/datapoints/{datapoint_id}/remove")
async def remove_datapoint(
    request: Request, dataset_id: str, datapoint_id: str, page: auth.Page
) -> Response:
    """Take the datapoint out of this dataset (a new version); it stays in others."""
    ctx = context(request)
    await forms.read_checked(request, page, ctx.settings)
    await member(ctx, page.project.id, dataset_id, datapoint_id)
    op = ChangeMembership(
        page.project.id, dataset_id, remove=(datapoint_id,), key_id=page.principal.key_id
    )
    await ctx.writer.submit([op])
    return RedirectResponse(f"/p/{page.project.id}/datasets/{dataset_id}", status_code=303)


@router.post("/p/{pid}/datasets/{dataset_id}/datapoints/{datapoint_id}/delete")
async def delete_datapoint(
    request: Request, dataset_id: str, datapoint_id: str, page: auth.Page
) -> Response:
    """Delete the datapoint: a new version of every dataset holding it; old versions
    keep its content."""
    ctx = context(request)
    await forms.read_checked(request, page, ctx.settings)
    await member(ctx, page.project.id, dataset_id, datapoint_id)
    await ctx.writer.submit(
        [DeleteDatapoint(page.project.id, datapoint_id, key_id=page.principal.key_id)]
    )
    return RedirectResponse(f"/p/{page.project.id}/datasets/{dataset_id}", status_code=303)


def _url(page: auth.ProjectPage, dataset_id: str, datapoint_id: str) -> str:
    return f"/p/{page.project.id}/datasets/{dataset_id}/datapoints/{datapoint_id}"


def _page(
    request: Request,
    page: auth.ProjectPage,
    dataset: DatasetSummary,
    record: DatapointRecord,
    boxes: ContentForm,
    error: ValidationFailed | None,
    status: int = 200,
) -> Response:
    return render_page(
        request,
        "datapoint.html",
        status=status,
        **auth.chrome(page, "datasets"),
        dataset=dataset,
        record=record,
        boxes=boxes,
        error=error,
        base=_url(page, dataset.record.id, record.id),
    )

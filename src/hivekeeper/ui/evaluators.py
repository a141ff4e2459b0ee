"""Evaluators (metric definitions): the list, creating one, and editing one, with the
validation `POST /v1/metrics` and `PUT /v1/metrics` apply (`evaluators.parse_metric`).

Saving appends a version and deploys it, as the legacy update does, so an edit takes
effect at once; the page lists the versions and can deploy an older one again. The
deployed version's threshold decides pass/fail in run results.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation import evaluators
from hivekeeper.domain.evaluation.ops import SaveVersion
from hivekeeper.domain.evaluation.versions import DEPLOYED, Definition, Version, deployed, ordered
from hivekeeper.domain.types import JsonObject
from hivekeeper.ui import auth, definitions, formats, forms
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.templating import page as render_page
from hivekeeper.web import AppContext, context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
_TEXT = ("name", "type", "criteria", "description", "return_type", "model_provider", "model_name")
_JSON = ("categories", "child_metrics")
# Content keys the form edits; a version's other keys (an API client's own) are kept.
FORM_KEYS = frozenset(
    {*_TEXT, *_JSON, "threshold", "sampling_percentage", "enabled_in_prod",
     "needs_ground_truth", "scale", "filters"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class EvaluatorLine:
    """A metric as the list shows it: the content of its deployed version."""

    definition: Definition
    live: Version
    number: int

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def content(self) -> JsonObject:
        return {**evaluators.render_metric(self.id, self.live, self.definition.versions[0])}

    @property
    def threshold(self) -> str:
        return threshold_text(self.live.content.get("threshold"))


def threshold_text(raw: object) -> str:
    """`0.5 ≤ x ≤ 1`, `= true`, `in good, fine`: how a threshold reads in a list."""
    if not isinstance(raw, dict):
        return ""
    parts = []
    low, high = raw.get("min"), raw.get("max")
    if low is not None or high is not None:
        left = f"{low} ≤ " if low is not None else ""
        right = f" ≤ {high}" if high is not None else ""
        parts.append(f"{left}x{right}")
    if raw.get("pass_when") is not None:
        parts.append(f"= {formats.cell(raw['pass_when'])}")
    if raw.get("passing_categories"):
        parts.append("in " + ", ".join(str(c) for c in raw["passing_categories"]))
    return "; ".join(parts)


def live_version(definition: Definition) -> tuple[Version, int]:
    """The deployed version (the latest when none is) and its number."""
    history = ordered(definition.versions)
    chosen = deployed(definition.deployments).get(DEPLOYED)
    for n, version in enumerate(history, start=1):
        if version.change_id == chosen:
            return version, n
    return history[-1], len(history)


async def load_evaluator(ctx: AppContext, project_id: str, metric_id: str) -> Definition:
    return await definitions.load(ctx, project_id, "metric", metric_id)


@router.get("/p/{pid}/evaluators")
async def evaluators_list(request: Request, page: auth.Page) -> Response:
    ctx = context(request)
    found = await ctx.read(ctx.store.list_definitions, page.project.id, "metric")
    lines = [EvaluatorLine(d, *live_version(d)) for d in found]
    lines.sort(key=lambda line: str(line.live.content.get("name", "")).lower())
    return render_page(
        request, "evaluators.html", **auth.chrome(page, "evaluators"), evaluators=lines
    )


@router.get("/p/{pid}/evaluators/new")
async def new_evaluator(request: Request, page: auth.Page) -> Response:
    blank = {"type": "PYTHON", "return_type": "float", "sampling_percentage": "100"}
    return _form_page(request, page, None, forms.Filled(blank))


@router.post("/p/{pid}/evaluators")
async def create_evaluator(request: Request, page: auth.Page) -> Response:
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    try:
        content = evaluators.parse_metric(_body(form, ctx))
    except ValidationFailed as exc:
        return _form_page(request, page, None, forms.Filled(form, exc.message, exc.field), 400)
    metric_id = str(uuid.uuid4())
    await ctx.writer.submit([_save(page, metric_id, content, form, create=True)])
    return RedirectResponse(f"/p/{page.project.id}/evaluators/{metric_id}", status_code=303)


@router.get("/p/{pid}/evaluators/{metric_id}")
async def evaluator_page(request: Request, metric_id: str, page: auth.Page) -> Response:
    """The edit form, filled with the deployed version, and the versions."""
    ctx = context(request)
    definition = await load_evaluator(ctx, page.project.id, metric_id)
    live, _ = live_version(definition)
    return _form_page(request, page, definition, forms.Filled(_fields_of(live.content)))


@router.post("/p/{pid}/evaluators/{metric_id}")
async def save_evaluator(request: Request, metric_id: str, page: auth.Page) -> Response:
    """A new version from the form, deployed at once (as `PUT /v1/metrics`)."""
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    definition = await load_evaluator(ctx, page.project.id, metric_id)
    try:
        parsed = evaluators.parse_metric(_body(form, ctx))
    except ValidationFailed as exc:
        filled = forms.Filled(form, exc.message, exc.field)
        return _form_page(request, page, definition, filled, 400)
    live, _ = live_version(definition)
    kept = {k: v for k, v in live.content.items() if k not in FORM_KEYS}
    await ctx.writer.submit([_save(page, metric_id, {**kept, **parsed}, form, create=False)])
    return RedirectResponse(f"/p/{page.project.id}/evaluators/{metric_id}", status_code=303)


@router.post("/p/{pid}/evaluators/{metric_id}/deploy")
async def deploy_version(request: Request, metric_id: str, page: auth.Page) -> Response:
    """Make an older (or newer) version the one evaluations use."""
    return await definitions.deploy(request, page, "metric", metric_id, (DEPLOYED,))


@router.post("/p/{pid}/evaluators/{metric_id}/delete")
async def delete_evaluator(request: Request, metric_id: str, page: auth.Page) -> Response:
    return await definitions.delete(request, page, "metric", metric_id)


def _save(
    page: auth.ProjectPage,
    metric_id: str,
    content: JsonObject,
    form: dict[str, str],
    *,
    create: bool,
) -> SaveVersion:
    return definitions.save(
        page, "metric", metric_id, content, form, create=create, deploy=(DEPLOYED,)
    )


def _body(form: dict[str, str], ctx: AppContext) -> JsonObject:
    """The form as a CreateMetric body (what `POST /v1/metrics` takes), within the API's
    JSON limits; empty fields are left out, as a client leaves them out."""
    body: JsonObject = {k: v for k in _TEXT if (v := forms.text(form, k)) is not None}
    body["criteria"] = form.get("criteria", "")
    for name in _JSON:
        if (value := forms.json_field(form, name)) is not None:
            body[name] = value
    for name in ("sampling_percentage", "scale"):
        if (number := forms.number(form, name)) is not None:
            body[name] = number
    body["enabled_in_prod"] = forms.checked(form, "enabled_in_prod")
    body["needs_ground_truth"] = forms.checked(form, "needs_ground_truth")
    threshold: JsonObject = {}
    for name in ("min", "max"):
        if (bound := forms.number(form, f"threshold_{name}")) is not None:
            threshold[name] = bound
    pass_when = form.get("pass_when", "").strip()
    if pass_when in ("true", "false"):
        threshold["pass_when"] = pass_when == "true"
    elif pass_when:
        threshold["pass_when"] = forms.number(form, "pass_when")
    categories = [c.strip() for c in form.get("passing_categories", "").split(",") if c.strip()]
    if categories:
        threshold["passing_categories"] = categories
    if threshold:
        body["threshold"] = threshold
    filters = forms.json_field(form, "filters")
    if filters is not None:
        body["filters"] = {"filterArray": filters}
    forms.within_limits(body, ctx.settings)
    return body


def _fields_of(content: JsonObject) -> dict[str, str]:
    """A version's content as the form's fields."""
    out = {k: str(content[k]) for k in _TEXT if content.get(k) is not None}
    out.update({k: formats.pretty_json(content[k]) for k in _JSON if content.get(k) is not None})
    for name in ("sampling_percentage", "scale"):
        if content.get(name) is not None:
            out[name] = (
                f"{content[name]:g}" if isinstance(content[name], float) else str(content[name])
            )
    for name in ("enabled_in_prod", "needs_ground_truth"):
        if content.get(name):
            out[name] = "1"
    threshold = content.get("threshold")
    if isinstance(threshold, dict):
        for name in ("min", "max"):
            if threshold.get(name) is not None:
                out[f"threshold_{name}"] = str(threshold[name])
        if threshold.get("pass_when") is not None:
            value = threshold["pass_when"]
            out["pass_when"] = (
                ("true" if value else "false") if isinstance(value, bool) else str(value)
            )
        if threshold.get("passing_categories"):
            out["passing_categories"] = ", ".join(threshold["passing_categories"])
    filters = content.get("filters")
    if isinstance(filters, dict) and filters.get("filterArray"):
        out["filters"] = formats.pretty_json(filters["filterArray"])
    return out


def _form_page(
    request: Request,
    page: auth.ProjectPage,
    definition: Definition | None,
    filled: forms.Filled,
    status: int = 200,
) -> Response:
    history = ordered(definition.versions) if definition else []
    live_number = live_version(definition)[1] if definition else 0
    return render_page(
        request,
        "evaluator.html",
        status=status,
        **auth.chrome(page, "evaluators"),
        definition=definition,
        filled=filled,
        types=evaluators.METRIC_TYPES,
        return_types=evaluators.RETURN_TYPES,
        history=history,
        live_number=live_number,
    )

"""Prompts (configurations): the list, a prompt's versions with a diff between any two,
what is deployed to dev, staging and prod, deploying a version, new prompts and new
versions.

A prompt keeps one id; every save appends a version (`SaveVersion`) made as
`POST`/`PUT /v1/configurations` make it (`configurations.parse_create` /
`parse_update`, then `next_content`), and may deploy it to environments at once;
`Deploy` points one environment at any version. Nothing is rewritten.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation import configurations
from hivekeeper.domain.evaluation.ops import SaveVersion
from hivekeeper.domain.evaluation.versions import Definition, deployed, ordered
from hivekeeper.domain.types import JsonObject
from hivekeeper.ui import auth, definitions, formats, forms
from hivekeeper.ui.definitions import version_named as _version
from hivekeeper.ui.diffs import line_diff
from hivekeeper.ui.route import UiRoute
from hivekeeper.ui.templating import page as render_page
from hivekeeper.web import AppContext, context

router = APIRouter(route_class=UiRoute, include_in_schema=False)
ENVS = configurations.ENVS
# The parameters the form has fields of; any others are kept in "more parameters".
_PARAMETER_FIELDS = ("call_type", "model", "template", "hyperparameters")


@dataclass(frozen=True, slots=True)
class PromptLine:
    """A prompt as the list shows it: its latest version, and what each env runs."""

    definition: Definition
    latest: JsonObject
    versions: int
    deployed: dict[str, int]
    changed_ms: float

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def model(self) -> str:
        parameters = self.latest.get("parameters")
        return str(parameters.get("model", "")) if isinstance(parameters, dict) else ""


def deployed_numbers(definition: Definition) -> dict[str, int]:
    """Environment → the version number deployed there."""
    numbers = {v.change_id: n for n, v in enumerate(ordered(definition.versions), start=1)}
    return {env: numbers[c] for env, c in deployed(definition.deployments).items() if c in numbers}


def prompt_line(definition: Definition) -> PromptLine:
    latest = definition.latest
    return PromptLine(
        definition=definition,
        latest=latest.content,
        versions=len(definition.versions),
        deployed=deployed_numbers(definition),
        changed_ms=max([latest.key[0], *(d.key[0] for d in definition.deployments)]),
    )


@router.get("/p/{pid}/prompts")
async def prompts_list(request: Request, page: auth.Page) -> Response:
    ctx = context(request)
    found = await ctx.read(ctx.store.list_definitions, page.project.id, "configuration")
    lines = sorted((prompt_line(d) for d in found), key=lambda line: -line.changed_ms)
    return render_page(
        request, "prompts.html", **auth.chrome(page, "prompts"), prompts=lines, envs=ENVS
    )


@router.get("/p/{pid}/prompts/new")
async def new_prompt(request: Request, page: auth.Page) -> Response:
    blank = {"type": "LLM", "call_type": "chat", "provider": "openai"}
    return _form_page(request, page, None, forms.Filled(blank))


@router.post("/p/{pid}/prompts")
async def create_prompt(request: Request, page: auth.Page) -> Response:
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    try:
        change = configurations.parse_create(_body(form, None, ctx))
    except ValidationFailed as exc:
        return _form_page(request, page, None, forms.Filled(form, exc.message, exc.field), 400)
    prompt_id = str(uuid.uuid4())
    await ctx.writer.submit([_save(page, prompt_id, configurations.next_content(None, change),
                                   change.envs, form, create=True)])  # fmt: skip
    return RedirectResponse(f"/p/{page.project.id}/prompts/{prompt_id}", status_code=303)


@router.get("/p/{pid}/prompts/{prompt_id}")
async def prompt_page(request: Request, prompt_id: str, page: auth.Page) -> Response:
    """The prompt's versions; `v` shows one (the latest by default), `a` and `b` the
    diff between two."""
    ctx = context(request)
    definition = await load_prompt(ctx, page.project.id, prompt_id)
    history = ordered(definition.versions)
    query = request.query_params
    shown = _version(history, query.get("v") or str(len(history)), "v")
    numbers = {v.change_id: n for n, v in enumerate(history, start=1)}
    diff = None
    a, b = max(len(history) - 1, 1), len(history)
    if query.get("a") or query.get("b"):
        old = _version(history, query.get("a") or str(a), "a")
        new = _version(history, query.get("b") or str(b), "b")
        a, b = numbers[old.change_id], numbers[new.change_id]
        diff = line_diff(formats.pretty_json(old.content), formats.pretty_json(new.content))
    live = deployed(definition.deployments)
    envs_of: dict[int, list[str]] = {}
    for env in ENVS:
        if env in live and live[env] in numbers:
            envs_of.setdefault(numbers[live[env]], []).append(env)
    return render_page(
        request,
        "prompt.html",
        **auth.chrome(page, "prompts"),
        line=prompt_line(definition),
        history=history,
        shown=shown,
        shown_number=numbers[shown.change_id],
        content_json=formats.pretty_json(shown.content),
        envs_of=envs_of,
        envs=ENVS,
        diff=diff,
        a=a,
        b=b,
        base=f"/p/{page.project.id}/prompts/{prompt_id}",
    )


@router.get("/p/{pid}/prompts/{prompt_id}/edit")
async def edit_prompt(request: Request, prompt_id: str, page: auth.Page) -> Response:
    """A new version's form, filled with the version `from` (default the latest)."""
    ctx = context(request)
    definition = await load_prompt(ctx, page.project.id, prompt_id)
    history = ordered(definition.versions)
    base = _version(history, request.query_params.get("from") or str(len(history)), "from")
    return _form_page(request, page, definition, forms.Filled(_fields_of(base.content)))


@router.post("/p/{pid}/prompts/{prompt_id}")
async def save_prompt(request: Request, prompt_id: str, page: auth.Page) -> Response:
    """A new version: the latest with the form's fields replaced."""
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    definition = await load_prompt(ctx, page.project.id, prompt_id)
    try:
        change = configurations.parse_update(_body(form, definition.latest.content, ctx))
    except ValidationFailed as exc:
        filled = forms.Filled(form, exc.message, exc.field)
        return _form_page(request, page, definition, filled, 400)
    content = configurations.next_content(definition.latest.content, change)
    await ctx.writer.submit([_save(page, prompt_id, content, change.envs, form, create=False)])
    return RedirectResponse(f"/p/{page.project.id}/prompts/{prompt_id}", status_code=303)


@router.post("/p/{pid}/prompts/{prompt_id}/deploy")
async def deploy(request: Request, prompt_id: str, page: auth.Page) -> Response:
    """Point `env` at `version` (a number); the other environments keep theirs."""
    return await definitions.deploy(request, page, "configuration", prompt_id, ENVS)


@router.post("/p/{pid}/prompts/{prompt_id}/delete")
async def delete_prompt(request: Request, prompt_id: str, page: auth.Page) -> Response:
    return await definitions.delete(request, page, "configuration", prompt_id)


async def load_prompt(ctx: AppContext, project_id: str, prompt_id: str) -> Definition:
    return await definitions.load(ctx, project_id, "configuration", prompt_id)


def _save(
    page: auth.ProjectPage,
    prompt_id: str,
    content: JsonObject,
    envs: tuple[str, ...],
    form: dict[str, str],
    *,
    create: bool,
) -> SaveVersion:
    return definitions.save(
        page, "configuration", prompt_id, content, form, create=create, deploy=envs
    )


def _body(form: dict[str, str], previous: JsonObject | None, ctx: AppContext) -> JsonObject:
    """The form as a configuration body (`POST`/`PUT /v1/configurations`), within the
    API's JSON limits. The template box holds a JSON array of messages, or text."""
    parameters: JsonObject = {}
    more = forms.json_field(form, "more_parameters", "more parameters")
    if more is not None:
        if not isinstance(more, dict):
            raise ValidationFailed("more parameters must be a JSON object", field="more_parameters")
        parameters.update(more)
    for name in ("call_type", "model"):
        if (value := forms.text(form, name)) is not None:
            parameters[name] = value
    template = form.get("template", "").strip()
    if template:
        parameters["template"] = (
            forms.json_field(form, "template") if template.startswith("[") else template
        )
    if (hyper := forms.json_field(form, "hyperparameters")) is not None:
        parameters["hyperparameters"] = hyper
    body: JsonObject = {
        "name": forms.text(form, "name") or "",
        "type": forms.text(form, "type") or "LLM",
        "provider": forms.text(form, "provider") or "",
        "parameters": parameters,
        "tags": [t.strip() for t in form.get("tags", "").split(",") if t.strip()],
        "env": [env for env in ENVS if forms.checked(form, f"env_{env}")],
    }
    forms.within_limits(body, ctx.settings)
    return body


def _fields_of(content: JsonObject) -> dict[str, str]:
    """A version's content as the form's fields."""
    parameters = content.get("parameters")
    params = dict(parameters) if isinstance(parameters, dict) else {}
    template = params.get("template")
    hyper = params.get("hyperparameters")
    more = {k: v for k, v in params.items() if k not in _PARAMETER_FIELDS}
    tags = content.get("tags")
    return {
        "name": str(content.get("name") or ""),
        "type": str(content.get("type") or "LLM"),
        "provider": str(content.get("provider") or ""),
        "call_type": str(params.get("call_type") or "chat"),
        "model": str(params.get("model") or ""),
        "template": template if isinstance(template, str) else
        (formats.pretty_json(template) if template is not None else ""),
        "hyperparameters": formats.pretty_json(hyper) if hyper is not None else "",
        "more_parameters": formats.pretty_json(more) if more else "",
        "tags": ", ".join(str(t) for t in tags) if isinstance(tags, list) else "",
    }  # fmt: skip


def _form_page(
    request: Request,
    page: auth.ProjectPage,
    definition: Definition | None,
    filled: forms.Filled,
    status: int = 200,
) -> Response:
    return render_page(
        request,
        "prompt_form.html",
        status=status,
        **auth.chrome(page, "prompts"),
        definition=definition,
        filled=filled,
        envs=ENVS,
        types=configurations.CONFIG_TYPES,
        call_types=("chat", "completion"),
        live=deployed_numbers(definition) if definition else {},
    )

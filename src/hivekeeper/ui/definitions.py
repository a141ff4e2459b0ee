"""What the Prompts and Evaluators pages share: both are versioned definitions (one id,
appended versions, deployments), read, versioned, deployed and deleted alike."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hivekeeper.domain.errors import NotFound, ValidationFailed
from hivekeeper.domain.evaluation.ops import DefinitionKind, DeleteDefinition, Deploy, SaveVersion
from hivekeeper.domain.evaluation.versions import Definition, Version, find, ordered
from hivekeeper.domain.types import JsonObject
from hivekeeper.ui import auth, forms
from hivekeeper.web import AppContext, context

NOUNS: dict[DefinitionKind, str] = {"configuration": "prompt", "metric": "evaluator"}


async def load(
    ctx: AppContext, project_id: str, kind: DefinitionKind, definition_id: str
) -> Definition:
    """One definition of the project; NotFound otherwise (another project's too)."""
    found = await ctx.read(
        lambda: ctx.store.list_definitions(project_id, kind, definition_id=definition_id)
    )
    if not found:
        raise NotFound(f"no {NOUNS[kind]} with id {definition_id} in this project")
    return found[0]


def version_named(history: list[Version], ref: str | None, name: str) -> Version:
    """The version a parameter names by number (`3` or `v3`); ValidationFailed else."""
    try:
        return find(history, (ref or "").strip())
    except NotFound:
        raise ValidationFailed(
            f"{name} must be a version number from 1 to {len(history)}", field=name
        ) from None


def save(
    page: auth.ProjectPage,
    kind: DefinitionKind,
    definition_id: str,
    content: JsonObject,
    form: dict[str, str],
    *,
    create: bool,
    deploy: tuple[str, ...],
) -> SaveVersion:
    """The op appending `content` as a version, with the form's message."""
    return SaveVersion(
        page.project.id,
        kind,
        definition_id,
        content,
        create=create,
        message=forms.text(form, "message"),
        deploy=deploy,
        key_id=page.principal.key_id,
    )


async def deploy(
    request: Request,
    page: auth.ProjectPage,
    kind: DefinitionKind,
    definition_id: str,
    envs: tuple[str, ...],
) -> Response:
    """Point the form's `env` (one of `envs`; the only one when there is one) at the
    version the form names; back to the definition's page."""
    ctx = context(request)
    form = await forms.read_checked(request, page, ctx.settings)
    definition = await load(ctx, page.project.id, kind, definition_id)
    env = form.get("env", "") if len(envs) > 1 else envs[0]
    if env not in envs:
        raise ValidationFailed(f"env must be one of {', '.join(envs)}", field="env")
    version = version_named(ordered(definition.versions), form.get("version", ""), "version")
    await ctx.writer.submit([Deploy(page.project.id, kind, definition_id, env, version.change_id)])
    return RedirectResponse(f"{_base(page, kind)}/{definition_id}", status_code=303)


async def delete(
    request: Request, page: auth.ProjectPage, kind: DefinitionKind, definition_id: str
) -> Response:
    """Delete the definition; back to the list."""
    ctx = context(request)
    await forms.read_checked(request, page, ctx.settings)
    await load(ctx, page.project.id, kind, definition_id)
    await ctx.writer.submit([DeleteDefinition(page.project.id, kind, definition_id)])
    return RedirectResponse(_base(page, kind), status_code=303)


def _base(page: auth.ProjectPage, kind: DefinitionKind) -> str:
    return f"/p/{page.project.id}/{NOUNS[kind]}s"

"""Project routes: the key's own project (`GET /v1/projects`), and the key management
routes under `/v1/projects/{project_id}/…`, which answer 501: keys are made with the
`hivekeeper keys` commands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hivekeeper.api.auth import project_principal, reader_principal
from hivekeeper.domain.charts import iso_time
from hivekeeper.domain.errors import NotImplementedYet
from hivekeeper.domain.tenancy import Principal
from hivekeeper.web import JsonResponse

router = APIRouter(tags=["projects"])
Reader = Annotated[Principal, Depends(reader_principal)]
ProjectKey = Annotated[Principal, Depends(project_principal)]


@router.get(
    "/v1/projects",
    summary="The key's own project, as a one-item array (none when ?name= names another)",
)
async def list_projects(request: Request, principal: Reader) -> JsonResponse:
    project = principal.project
    name = request.query_params.get("name")
    if name is not None and name != project.name:
        return JsonResponse([])
    return JsonResponse(
        [
            {
                "id": project.id,
                "name": project.name,
                "description": None,
                "type": "evaluation",
                "org_id": project.org_id,
                "workspace_id": project.workspace_id,
                "created_at": iso_time(project.created_at * 1000),
                "updated_at": None,
            }
        ]
    )


@router.post(
    "/v1/projects/{project_id}/ingestion_api_keys",
    summary="Create an ingestion key: not served (501); use `hivekeeper keys create`",
)
async def create_ingestion_key(principal: ProjectKey) -> JsonResponse:
    raise _keys_by_cli("ingest")


@router.post(
    "/v1/projects/{project_id}/fine_grained_api_keys",
    summary="Create a data-plane key: not served (501); use `hivekeeper keys create`",
)
async def create_dataplane_key(principal: ProjectKey) -> JsonResponse:
    raise _keys_by_cli("dataplane")


def _keys_by_cli(kind: str) -> NotImplementedYet:
    return NotImplementedYet(
        "hivekeeper makes API keys on the command line, not over HTTP: "
        f"hivekeeper keys create --project NAME --kind {kind}"
    )

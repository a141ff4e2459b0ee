"""Annotation queues (`/v1/queues…`): not served yet, every method answers 501."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from hivekeeper.api.auth import reader_principal
from hivekeeper.domain.errors import NotImplementedYet
from hivekeeper.domain.tenancy import Principal
from hivekeeper.web import JsonResponse

router = APIRouter(tags=["queues"])
Reader = Annotated[Principal, Depends(reader_principal)]
_SUMMARY = "Annotation queues: not served yet (501)"


@router.get("/v1/queues", summary=_SUMMARY)
@router.post("/v1/queues", summary=_SUMMARY)
@router.get("/v1/queues/{queue_id}", summary=_SUMMARY)
@router.put("/v1/queues/{queue_id}", summary=_SUMMARY)
@router.delete("/v1/queues/{queue_id}", summary=_SUMMARY)
async def queues(principal: Reader) -> JsonResponse:
    raise NotImplementedYet("hivekeeper has no annotation queues yet")

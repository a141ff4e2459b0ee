"""A project's own model prices: `GET`/`POST /v1/prices`, `DELETE /v1/prices/{id}`.

Full keys only, each reaching its own project's prices. A change applies to the
events written from the next request on (the server reloads its price tables at
once); `hivekeeper costs recompute` re-prices events already stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hivekeeper.api.auth import reader_principal
from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.pricing.project import parse_price
from hivekeeper.domain.tenancy import Principal
from hivekeeper.web import JsonResponse, context, read_json

router = APIRouter(tags=["costs"])
Reader = Annotated[Principal, Depends(reader_principal)]


@router.get("/v1/prices", summary="The project's own model prices, oldest first")
async def list_prices(request: Request, principal: Reader) -> JsonResponse:
    ctx = context(request)
    prices = await ctx.read(ctx.store.list_prices, principal.project.id)
    return JsonResponse({"prices": [price.as_json() for price in prices]})


@router.post(
    "/v1/prices",
    summary="Add a model price: {provider, model, effective_from?, rates}",
    description="`rates` gives USD per million tokens of any of `input`, `cache_read`, "
    "`cache_write`, `cache_write_1h`, `input_audio`, `output`, `reasoning`, "
    "`output_audio`, and USD per `request`; `effective_from` (YYYY-MM-DD, UTC) the day "
    "it applies from (none: always). It wins over the shipped price of the same model "
    "from that day on. Answers `{price}`.",
)
async def add_price(request: Request, principal: Reader) -> JsonResponse:
    ctx = context(request)
    spec = parse_price(await read_json(request, ctx.settings))
    price = await ctx.lookup(ctx.store.add_price, principal.project.id, spec)
    await ctx.lookup(ctx.prices.load)
    return JsonResponse({"price": price.as_json()})


@router.delete("/v1/prices/{price_id}", summary="Remove one of the project's prices")
async def remove_price(request: Request, price_id: str, principal: Reader) -> JsonResponse:
    ctx = context(request)
    if not price_id.isdecimal() or len(price_id) > 18:
        raise NotFound(f"no price with id {price_id[:40]!r}", field="price_id")
    price = await ctx.lookup(ctx.store.remove_price, int(price_id), principal.project.id)
    await ctx.lookup(ctx.prices.load)
    return JsonResponse({"deleted": True, "price": price.as_json()})

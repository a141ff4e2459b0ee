"""Request bodies and responses: size limits, decompression, JSON both ways."""

from __future__ import annotations

import json
import zlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hivekeeper.config import Settings
from hivekeeper.domain.errors import BadRequest, InvalidJson, PayloadTooLarge
from hivekeeper.domain.limits import JsonLimits, check_json
from hivekeeper.web.admission import body_ticket


class JsonResponse(Response):
    """A JSON response rendered by orjson (several times faster than the stdlib)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


def json_bytes(content: Any) -> bytes:
    """`content` as compact UTF-8 JSON."""
    try:
        return orjson.dumps(content)
    except orjson.JSONEncodeError:
        # orjson stops at 254 levels; a session tree nests two per event level, so
        # a very deep trace falls back to the stdlib encoder, which goes deeper.
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, decompressed (gzip/deflate), refused past `max_bytes` (413).

    Its bytes, decompressed, count against the server's `max_inflight_body_bytes` until
    the request is answered; a body that would go past it raises Overloaded (429).
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    ticket = body_ticket(request)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        ticket.take(len(chunk))
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflated = _inflate(body, encoding, max_bytes)
        ticket.settle(len(inflated))
        return inflated
    raise BadRequest(f"unsupported Content-Encoding {encoding!r}; use gzip or deflate")


def _inflate(body: bytes, encoding: str, max_bytes: int) -> bytes:
    # wbits: 16+15 reads a gzip wrapper, 15 zlib, -15 raw deflate (some clients send it).
    attempts = (
        (16 + zlib.MAX_WBITS,) if encoding != "deflate" else (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    )
    for wbits in attempts:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(body, max_bytes + 1)
        except zlib.error:
            continue
        if len(out) > max_bytes or inflater.unconsumed_tail:
            raise _too_large(max_bytes)
        return out
    raise BadRequest(f"the body is not valid {encoding} data", field="body")


def query_lists(request: Request) -> dict[str, list[str]]:
    """The query string as every value of each key, in order (`parse_qs` shape)."""
    return {key: request.query_params.getlist(key) for key in request.query_params}


def json_limits(settings: Settings) -> JsonLimits:
    """The JSON bounds a server runs with."""
    return JsonLimits(max_depth=settings.max_json_depth, max_string_chars=settings.max_string_chars)


async def read_json(request: Request, settings: Settings) -> Any:
    """The decoded JSON body; 413 past `max_body_bytes`, 400 for an empty or malformed
    body, or one nested deeper than `max_json_depth` or holding a string longer than
    `max_string_chars` (naming the field)."""
    return decode_json(await read_body(request, settings.max_body_bytes), settings)


def decode_json(body: bytes, settings: Settings) -> Any:
    """A body already read, decoded as `read_json` does (the same 400s)."""
    if not body or body.isspace():
        raise InvalidJson("the request body is empty; send a JSON object", field="body")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(f"the body is not valid JSON: {exc}", field="body") from None
    # A JSON string never decodes to more characters than its bytes, so a short body
    # cannot hold a long string: the common case skips the string check.
    check_json(value, json_limits(settings), strings=len(body) > settings.max_string_chars)
    return value


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body exceeds the limit of {max_bytes} bytes "
        "(setting max_body_bytes); send smaller batches",
        field="body",
    )

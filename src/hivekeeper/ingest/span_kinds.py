"""HTTP client spans: an outgoing request of a library, not a tool call of the application.

HTTP instrumentations (httpx, requests, urllib3; openlit turns them on for every LLM
call) send a CLIENT span named by the method alone (`POST`). Without a GenAI or
OpenInference attribute such a span would be a `tool` named `POST`; it is a `chain`
named `HTTP POST host/path` instead, marked `metadata.span_kind = client`, and its
attributes stay in `metadata` like any others.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from hivekeeper.ingest.attributes import EventFields
from hivekeeper.ingest.conventions import infer_event_type
from hivekeeper.ingest.spans import Span

CLIENT_KIND: Final = 3
"""OTLP's SPAN_KIND_CLIENT."""
_METHOD_KEYS = ("http.request.method", "http.method")
_URL_KEYS = ("url.full", "http.url")
_HOST_KEYS = ("server.address", "net.peer.name", "http.host")
_PATH_KEYS = ("url.path", "http.target")


def is_http_client(span: Span) -> bool:
    """Whether `span` is an HTTP client call (kind CLIENT, an HTTP method attribute)."""
    return span.kind == CLIENT_KIND and _method(span) is not None


def http_client_name(span: Span) -> str | None:
    """`HTTP <method> <host><path>` for an HTTP client span no LLM convention types;
    None for any other span."""
    if span.kind != CLIENT_KIND:
        return None
    method = _method(span)
    if method is None or infer_event_type(span.attributes) is not None:
        return None
    attributes = span.attributes
    where = ""
    url = _first(attributes, _URL_KEYS)
    if url is not None:
        parts = urlsplit(url)
        where = f"{parts.hostname or ''}{parts.path}"
    else:
        host = _first(attributes, _HOST_KEYS) or ""
        path = (_first(attributes, _PATH_KEYS) or "").partition("?")[0]
        where = f"{host}{path}"
    return f"HTTP {method} {where}".rstrip()


def mark_http_client(span: Span, fields: EventFields) -> None:
    """`metadata.span_kind = client` on an HTTP client span."""
    if http_client_name(span) is not None:
        fields.put(fields.metadata, "metadata", "span_kind", "client")


def _method(span: Span) -> str | None:
    return _first(span.attributes, _METHOD_KEYS)


def _first(attributes: dict[str, object], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if type(value) is str and value:
            return value
    return None

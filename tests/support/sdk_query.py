"""Query strings exactly as honeyhive 1.7.0's generated services put them on the wire."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import httpx
from honeyhive._generated.api_config import _serialize_query_params


def sdk_query(params: dict[str, Any]) -> dict[str, list[str]]:
    """The `parse_qs` shape a route receives for these SDK call parameters: None values
    dropped, lists in bracket form, dicts as httpx formats them (their Python repr)."""
    present = {key: value for key, value in params.items() if value is not None}
    url = httpx.URL("http://h/", params=_serialize_query_params(present))
    return parse_qs(url.query.decode(), keep_blank_values=True)

"""Form fields → the JSON bodies the API's own parsers take.

A page that writes datapoints, prompts or evaluators builds from its form the body
the same request to the API would carry, then hands it to the domain parser the API
calls (and to the same JSON limits), so the UI accepts and refuses exactly what the
API does. What a field holds is read here; what it means is decided there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from starlette.requests import Request

from hivekeeper.config import Settings
from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.limits import check_json
from hivekeeper.ui import auth
from hivekeeper.ui.browser import read_form
from hivekeeper.web import json_limits


@dataclass(frozen=True, slots=True)
class Filled:
    """A form as its author left it, with what was wrong with it, to show back."""

    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    field: str | None = None

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)


async def read_checked(
    request: Request, page: auth.ProjectPage, settings: Settings
) -> dict[str, str]:
    """A form of `page` as the API would take its body: up to `max_body_bytes`, its
    origin and token checked (Forbidden otherwise)."""
    form = await read_form(request, max(settings.max_body_bytes, 64 * 1024))
    auth.check_csrf(request, form, page.csrf)
    return form


def text(form: dict[str, str], name: str) -> str | None:
    """A text field, trimmed; None when empty (absent from the body)."""
    value = form.get(name, "").strip()
    return value or None


def json_field(form: dict[str, str], name: str, label: str | None = None) -> object:
    """A field holding JSON, decoded; None when empty. ValidationFailed naming `name`
    when it is not JSON."""
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(f"{label or name} is not valid JSON: {exc}", field=name) from None


def number(form: dict[str, str], name: str) -> float | int | None:
    """A number field; None when empty. ValidationFailed naming `name` otherwise."""
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a number", field=name) from None
    return int(value) if value.is_integer() and "." not in raw and "e" not in raw.lower() else value


def checked(form: dict[str, str], name: str) -> bool:
    """A checkbox: sent (with any value) when ticked."""
    return name in form


def within_limits(body: object, settings: Settings) -> None:
    """The API's JSON bounds (nesting depth, string length) on a body built from a form."""
    check_json(body, json_limits(settings))

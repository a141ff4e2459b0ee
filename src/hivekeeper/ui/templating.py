"""The Jinja environment (autoescaping everything) and the one way pages are rendered."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hivekeeper.ui import formats
from hivekeeper.ui.assets import asset_url

THEMES = frozenset({"light", "dark"})


@cache
def environment() -> Environment:
    """Built once, on first use: autoescape on for every template (they are all HTML),
    and StrictUndefined so a misspelt name fails a test instead of rendering blank."""
    env = Environment(
        loader=PackageLoader("hivekeeper.ui", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = asset_url
    env.filters.update(
        duration=formats.duration,
        when=formats.when,
        iso=formats.iso,
        cost=formats.cost,
        count=formats.count,
        pretty_json=formats.pretty_json,
        cell=formats.cell,
    )
    return env


def render(name: str, **context: Any) -> str:
    """The template `name` rendered with `context`."""
    return environment().get_template(name).render(**context)


def page(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A full page. Every page gets `theme` (the visitor's choice, or "" for the
    system's) and `path` (the current path and query, for `next` links)."""
    theme = request.cookies.get("hk_theme", "")
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = render(name, theme=theme if theme in THEMES else "", path=path, **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

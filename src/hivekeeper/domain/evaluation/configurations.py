"""Configurations (prompts): bodies → versioned content, and a version → a ConfigurationItem.

`POST /v1/configurations` makes version 1; each `PUT /v1/configurations/{id}` makes the
next version from the previous one with the given fields replaced. `env` in either
deploys the version it makes to those environments; the other environments keep what
they had. A list shows each configuration's latest version, `?env=` the version
deployed there; `id` is the same for every version and `version` numbers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from hivekeeper.domain.charts import iso_time
from hivekeeper.domain.errors import ValidationFailed
from hivekeeper.domain.evaluation._params import QueryParams, last
from hivekeeper.domain.evaluation.versions import Deployment, Version, deployed, ordered
from hivekeeper.domain.fields import Fields
from hivekeeper.domain.types import JsonObject

Env = Literal["dev", "staging", "prod"]
ENVS: tuple[str, ...] = get_args(Env)
CONFIG_TYPES = ("LLM", "pipeline")
_CALL_TYPES = ("chat", "completion")
_FUNCTION_CALL = ("none", "auto", "force")
_RESPONSE_FORMATS = ("text", "json_object")
_CONTENT_KEYS = ("name", "type", "provider", "parameters", "tags", "user_properties")


@dataclass(frozen=True, slots=True)
class ConfigurationChange:
    """A validated create or update: the fields it sets and the envs it deploys to."""

    fields: JsonObject
    envs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConfigurationQuery:
    """`GET /v1/configurations` filters: exact `name`, deployed in `env`, all `tags`."""

    name: str | None = None
    env: str | None = None
    tags: tuple[str, ...] = ()


def parse_create(raw: object) -> ConfigurationChange:
    """`{name, provider, parameters, type?, env?, tags?, user_properties?}`; `name`,
    `provider` and `parameters` (with `call_type` and `model`) are required."""
    change = _parse(raw, creating=True)
    return ConfigurationChange({"type": "LLM", "tags": [], **change.fields}, change.envs)


def parse_update(raw: object) -> ConfigurationChange:
    """`{name, …}`: `name` is required, every other field optional (absent: unchanged)."""
    return _parse(raw, creating=False)


def next_content(previous: JsonObject | None, change: ConfigurationChange) -> JsonObject:
    """The content of the version a change makes: `previous` with its fields replaced."""
    return {**(previous or {}), **change.fields}


def parse_query(params: QueryParams) -> ConfigurationQuery:
    """`name`, `env` (one of dev, staging, prod) and `tags` (a comma list)."""
    env = last(params, "env")
    if env is not None and env not in ENVS:
        raise ValidationFailed(f"env must be one of {', '.join(ENVS)}, got {env!r}", field="env")
    tags = tuple(t.strip() for t in (last(params, "tags") or "").split(",") if t.strip())
    return ConfigurationQuery(name=last(params, "name"), env=env, tags=tags)


def shown_version(
    versions: Sequence[Version], deployments: Sequence[Deployment], query: ConfigurationQuery
) -> Version | None:
    """The version a list answers for one configuration, None when it does not match:
    the one deployed in `query.env`, else the latest; then `name` and `tags` must match."""
    by_change = {v.change_id: v for v in versions}
    if query.env is not None:
        change_id = deployed(deployments).get(query.env)
        version = by_change.get(change_id) if change_id is not None else None
    else:
        version = ordered(versions)[-1] if versions else None
    if version is None:
        return None
    if query.name is not None and version.content.get("name") != query.name:
        return None
    if not set(query.tags) <= set(version.content.get("tags") or ()):
        return None
    return version


def render_configuration(
    config_id: str,
    version: Version,
    versions: Sequence[Version],
    deployments: Sequence[Deployment],
) -> JsonObject:
    """The ConfigurationItem for `version`: `env` lists every environment where any
    version is deployed, `deployed` maps each to its version number, `version` is this
    version's number; `created_at` is the configuration's first version's time and
    `updated_at` this version's (null for version 1)."""
    history = ordered(versions)
    numbers = {v.change_id: n for n, v in enumerate(history, start=1)}
    live = deployed(deployments)
    number = numbers[version.change_id]
    content = version.content
    return {
        **{k: v for k, v in content.items() if k not in _CONTENT_KEYS},
        "id": config_id,
        "name": content.get("name"),
        "type": content.get("type", "LLM"),
        "provider": content.get("provider"),
        "parameters": content.get("parameters"),
        "env": [env for env in ENVS if env in live],
        "tags": content.get("tags") or [],
        "user_properties": content.get("user_properties"),
        "created_at": iso_time(history[0].key[0]),
        "updated_at": None if number == 1 else iso_time(version.key[0]),
        "version": number,
        "deployed": {env: numbers[c] for env, c in live.items() if c in numbers},
    }


def _parse(raw: object, *, creating: bool) -> ConfigurationChange:
    body = Fields(raw, "body")
    fields: JsonObject = {"name": body.text("name")}
    if (kind := body.choice("type", CONFIG_TYPES)) is not None:
        fields["type"] = kind
    if creating or body.has("provider"):
        fields["provider"] = body.text("provider")
    if creating or body.has("parameters"):
        fields["parameters"] = _parameters(body.nested("parameters"), required=creating)
    if (tags := body.strings("tags")) is not None:
        fields["tags"] = list(dict.fromkeys(tags))
    if (properties := body.json_object("user_properties")) is not None:
        fields["user_properties"] = properties
    fields.update(body.extra(("env", *_CONTENT_KEYS)))
    envs = tuple(body.choices("env", ENVS) or ())
    return ConfigurationChange(fields, envs)


def _parameters(params: Fields | None, *, required: bool) -> JsonObject:
    if params is None:
        if required:
            raise ValidationFailed("parameters is required", field="parameters")
        return {}
    params.choice("call_type", _CALL_TYPES, required=True)
    params.text("model")
    params.json_object("hyperparameters")
    params.json_object("forceFunction")
    params.choice("functionCallParams", _FUNCTION_CALL)
    if (fmt := params.nested("responseFormat")) is not None:
        fmt.choice("type", _RESPONSE_FORMATS, required=True)
    for i, function in enumerate(params.json_objects("selectedFunctions") or ()):
        item = Fields(function, f"{params.path('selectedFunctions')}[{i}]")
        item.text("id")
        item.text("name")
    template = params.raw("template")
    if isinstance(template, list):
        for i, message in enumerate(params.json_objects("template") or ()):
            item = Fields(message, f"{params.path('template')}[{i}]")
            item.string("role", required=True)
            item.string("content", required=True)
    elif template is not None:
        params.string("template")
    return params.obj

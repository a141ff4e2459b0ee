"""Configurations (prompts) over HTTP, on every store: versions with a stable id, env
deployments, `?env=`, `name` and `tags` filters, bad input and another project's ids.

Answers are parsed by the honeyhive SDK's own response models, as its client does.
"""

from __future__ import annotations

from typing import Any

import httpx
from honeyhive._generated.models import (
    CreateConfigurationResponse,
    DeleteConfigurationResponse,
    GetConfigurationsResponse,
    UpdateConfigurationResponse,
)

from tests.support.server import LiveServer
from tests.support.validation import parsed, refused

PROMPT = {
    "name": "greeter",
    "provider": "openai",
    "parameters": {
        "call_type": "chat",
        "model": "gpt-4o",
        "hyperparameters": {"temperature": 0.2},
        "template": [{"role": "system", "content": "Greet {{name}}."}],
    },
    "tags": ["greeting"],
    "user_properties": {"owner": "ann"},
}


def _create(api: httpx.Client, **body: Any) -> str:
    answer = api.post("/v1/configurations", json={**PROMPT, **body})
    return parsed(answer, CreateConfigurationResponse).insertedId


def _list(api: httpx.Client, **params: str) -> list[dict[str, Any]]:
    answer = api.get("/v1/configurations", params=params)
    return [c.model_dump() for c in parsed(answer, GetConfigurationsResponse).configurations]


def test_each_update_is_a_version_and_env_deploys_the_version_it_makes(api: httpx.Client) -> None:
    config_id = _create(api, env=["dev"])
    (first,) = _list(api)
    assert (first["id"], first["name"], first["type"], first["provider"]) == (
        config_id,
        "greeter",
        "LLM",
        "openai",
    )
    assert first["parameters"]["model"] == "gpt-4o" and first["tags"] == ["greeting"]
    assert first["user_properties"] == {"owner": "ann"}
    assert (first["version"], first["env"], first["deployed"]) == (1, ["dev"], {"dev": 1})
    assert first["updated_at"] is None

    body = {
        "name": "greeter",
        "parameters": {"call_type": "chat", "model": "gpt-4.1"},
        "env": ["prod"],
    }
    updated = api.put(f"/v1/configurations/{config_id}", json=body)
    assert parsed(updated, UpdateConfigurationResponse).model_dump() == {
        "acknowledged": True,
        "modifiedCount": 1,
        "upsertedId": None,
        "upsertedCount": 0,
        "matchedCount": 1,
    }
    api.put(f"/v1/configurations/{config_id}", json={"name": "greeter", "tags": ["v3"]})

    (latest,) = _list(api)
    assert latest["id"] == config_id and latest["version"] == 3
    assert latest["parameters"]["model"] == "gpt-4.1"  # kept from version 2
    assert latest["tags"] == ["v3"] and latest["provider"] == "openai"
    assert latest["env"] == ["dev", "prod"] and latest["deployed"] == {"dev": 1, "prod": 2}
    assert latest["created_at"] == first["created_at"] and latest["updated_at"] is not None
    # ?env= answers the version deployed there; the older ones stay readable.
    (dev,) = _list(api, env="dev")
    assert dev["version"] == 1 and dev["parameters"]["model"] == "gpt-4o"
    (prod,) = _list(api, env="prod")
    assert prod["version"] == 2 and prod["tags"] == ["greeting"]
    assert _list(api, env="staging") == []

    other = _create(api, name="summarizer", type="pipeline")
    assert [c["id"] for c in _list(api)] == [config_id, other]
    assert [c["id"] for c in _list(api, name="summarizer")] == [other]
    assert [c["id"] for c in _list(api, tags="greeting")] == [other]
    assert [c["id"] for c in _list(api, tags="greeting,v3")] == []

    deleted = api.delete(f"/v1/configurations/{config_id}")
    assert parsed(deleted, DeleteConfigurationResponse).deletedCount == 1
    assert [c["id"] for c in _list(api)] == [other]
    refused(api.delete(f"/v1/configurations/{config_id}"), 404, "NOT_FOUND")
    refused(api.put(f"/v1/configurations/{config_id}", json={"name": "x"}), 404, "NOT_FOUND", "id")


def test_bad_configurations_are_refused_naming_the_field(api: httpx.Client) -> None:
    for body, field in [
        ({"provider": "openai", "parameters": PROMPT["parameters"]}, "name"),
        ({"name": "p", "parameters": PROMPT["parameters"]}, "provider"),
        ({"name": "p", "provider": "openai"}, "parameters"),
        ({**PROMPT, "parameters": {"model": "m"}}, "parameters.call_type"),
        ({**PROMPT, "parameters": {"call_type": "speech", "model": "m"}}, "parameters.call_type"),
        ({**PROMPT, "parameters": {"call_type": "chat"}}, "parameters.model"),
        (
            {**PROMPT, "parameters": {**PROMPT["parameters"], "template": [{"role": "x"}]}},
            "parameters.template[0].content",
        ),
        ({**PROMPT, "env": ["qa"]}, "env[0]"),
        ({**PROMPT, "type": "agent"}, "type"),
        ({**PROMPT, "tags": "a"}, "tags"),
    ]:
        refused(api.post("/v1/configurations", json=body), 400, "VALIDATION_ERROR", field)
    config_id = _create(api)
    refused(
        api.put(f"/v1/configurations/{config_id}", json={"provider": "x"}),
        400,
        "VALIDATION_ERROR",
        "name",
    )
    refused(api.get("/v1/configurations", params={"env": "qa"}), 400, "VALIDATION_ERROR", "env")
    (stored,) = _list(api)
    assert stored["version"] == 1


def test_another_projects_configurations_answer_404_and_stay_as_they_were(
    server: LiveServer, api: httpx.Client
) -> None:
    config_id = _create(api)
    before = _list(api)
    server.store.create_project("other")
    with server.client(server.new_key("other")) as other:
        assert _list(other) == []
        refused(other.put(f"/v1/configurations/{config_id}", json=PROMPT), 404, "NOT_FOUND")
        refused(other.delete(f"/v1/configurations/{config_id}"), 404, "NOT_FOUND")
    assert _list(api) == before

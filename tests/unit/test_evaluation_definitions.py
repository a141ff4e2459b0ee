"""Prompts (configurations) and evaluators (metrics): bodies the SDK's models produce,
versions with a stable id, deployments per environment, and answers its models parse."""

from __future__ import annotations

from typing import Any

import pytest
from honeyhive._generated.models import (
    GetConfigurationsResponse,
    GetMetricsResponse,
    GetMetricVersionsResponse,
)
from honeyhive.models import (
    CreateConfigurationRequest,
    CreateMetricRequest,
    CreateMetricVersionRequest,
    MetricVersionContentRequest,
    UpdateConfigurationRequest,
    UpdateMetricRequest,
)

from hivekeeper.domain.errors import NotFound
from hivekeeper.domain.evaluation.configurations import (
    ConfigurationQuery,
    next_content,
    parse_create,
    parse_query,
    parse_update,
    render_configuration,
    shown_version,
)
from hivekeeper.domain.evaluation.evaluators import (
    Threshold,
    parse_metric,
    parse_metric_id,
    parse_metric_query,
    parse_metric_update,
    parse_version_request,
    render_metric,
    render_version,
    threshold_of,
)
from hivekeeper.domain.evaluation.versions import (
    DEPLOYED,
    Deployment,
    Version,
    deployed,
    find,
    number_of,
)
from tests.support.sdk_query import sdk_query
from tests.support.validation import fails

NOW = 1_796_000_000_000.0
PARAMS = {"call_type": "chat", "model": "gpt-4o", "hyperparameters": {"temperature": 0}}


def sdk_body(model: Any) -> dict[str, Any]:
    body: dict[str, Any] = model.model_dump(exclude_none=True)
    return body


# --- configurations -------------------------------------------------------------------


def prompt_history() -> tuple[list[Version], list[Deployment]]:
    """v1 created and deployed to dev; v2 an update deployed to prod; v3 not deployed."""
    create = parse_create(
        sdk_body(
            CreateConfigurationRequest(name="qa", provider="openai", parameters=PARAMS, env=["dev"])
        )
    )
    v1 = Version((NOW, "c1"), next_content(None, create))
    update = parse_update(
        sdk_body(
            UpdateConfigurationRequest(
                name="qa", parameters={**PARAMS, "model": "gpt-4.1"}, env=["prod"]
            )
        )
    )
    v2 = Version((NOW + 1, "c2"), next_content(v1.content, update))
    v3 = Version(
        (NOW + 2, "c3"), next_content(v2.content, parse_update({"name": "qa", "tags": ["x"]}))
    )
    deployments = [
        *(Deployment(env, v1.change_id, (NOW, "d1")) for env in create.envs),
        *(Deployment(env, v2.change_id, (NOW + 1, "d2")) for env in update.envs),
    ]
    return [v1, v2, v3], deployments


def test_each_update_is_a_new_version_under_the_same_id() -> None:
    versions, deployments = prompt_history()
    latest = shown_version(versions, deployments, ConfigurationQuery())
    assert latest is not None
    item = render_configuration("cfg-1", latest, versions, deployments)
    assert (item["id"], item["version"], item["tags"]) == ("cfg-1", 3, ["x"])
    assert item["parameters"]["model"] == "gpt-4.1" and item["provider"] == "openai"
    assert item["env"] == ["dev", "prod"]
    assert item["deployed"] == {"dev": 1, "prod": 2}
    (parsed,) = GetConfigurationsResponse(configurations=[item]).configurations
    assert parsed.id == "cfg-1" and parsed.type == "LLM"


def test_env_query_answers_the_deployed_version() -> None:
    versions, deployments = prompt_history()
    prod = shown_version(versions, deployments, parse_query({"env": ["prod"]}))
    dev = shown_version(versions, deployments, parse_query({"env": ["dev"]}))
    assert prod is not None and prod.content["parameters"]["model"] == "gpt-4.1"
    assert dev is not None and dev.content["parameters"]["model"] == "gpt-4o"
    assert shown_version(versions, deployments, parse_query({"env": ["staging"]})) is None
    assert render_configuration("cfg-1", dev, versions, deployments)["version"] == 1


def test_list_filters_by_name_and_tags() -> None:
    versions, deployments = prompt_history()
    assert shown_version(versions, deployments, parse_query({"name": ["other"]})) is None
    assert shown_version(versions, deployments, parse_query({"tags": ["x"]})) is not None
    assert shown_version(versions, deployments, parse_query({"tags": ["x,y"]})) is None
    fails("env", parse_query, {"env": ["qa"]})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "openai", "parameters": PARAMS}, "name"),
        ({"name": "qa", "parameters": PARAMS}, "provider"),
        ({"name": "qa", "provider": "openai"}, "parameters"),
        (
            {"name": "qa", "provider": "openai", "parameters": {"model": "m"}},
            "parameters.call_type",
        ),
        (
            {"name": "qa", "provider": "openai", "parameters": {"call_type": "chat"}},
            "parameters.model",
        ),
        (
            {"name": "qa", "provider": "o", "parameters": {**PARAMS, "call_type": "x"}},
            "parameters.call_type",
        ),
        (
            {
                "name": "qa",
                "provider": "o",
                "parameters": {**PARAMS, "template": [{"role": "user"}]},
            },
            "parameters.template[0].content",
        ),
        ({"name": "qa", "provider": "o", "parameters": PARAMS, "env": ["qa"]}, "env[0]"),
        ({"name": "qa", "provider": "o", "parameters": PARAMS, "type": "agent"}, "type"),
    ],
)
def test_bad_configurations_are_named(body: dict[str, Any], field: str) -> None:
    fails(field, parse_create, body)


def test_an_update_needs_only_a_name() -> None:
    assert parse_update({"name": "qa"}).fields == {"name": "qa"}
    fails("name", parse_update, {"provider": "x"})


# --- versions and deployments ---------------------------------------------------------


def test_versions_are_found_by_number_id_or_sha() -> None:
    versions, _ = prompt_history()
    second = versions[1]
    for ref in ("2", "v2", "c2", second.sha, second.name):
        assert find(versions, ref) is second
    assert number_of(list(reversed(versions)), "c3") == 3
    with pytest.raises(NotFound):
        find(versions, "v9")


def test_the_latest_deployment_per_environment_wins() -> None:
    log = [
        Deployment("prod", "c1", (NOW, "a")),
        Deployment("prod", "c3", (NOW + 2, "c")),
        Deployment("prod", "c2", (NOW + 1, "b")),
        Deployment("dev", "c2", (NOW, "b")),
    ]
    assert deployed(log) == {"prod": "c3", "dev": "c2"}


# --- metrics --------------------------------------------------------------------------


def metric_body(**extra: Any) -> dict[str, Any]:
    return sdk_body(
        CreateMetricRequest(name="exact_match", type="PYTHON", criteria="def f(): ...", **extra)
    )


def test_a_metric_gets_defaults_and_parses_as_a_metric_item() -> None:
    content = parse_metric(metric_body(threshold={"min": 0.5}))
    version = Version((NOW, "m1"), content)
    item = render_metric("met-1", version, version)
    (parsed,) = GetMetricsResponse(metrics=[item]).metrics
    assert (parsed.id, parsed.return_type, parsed.sampling_percentage) == ("met-1", "float", 100)
    assert parsed.filters.filterArray == [] and parsed.updated_at is None
    assert threshold_of(content) == Threshold(min=0.5)


def test_a_metric_update_and_its_versions() -> None:
    first = Version((NOW, "m1"), parse_metric(metric_body()))
    change = parse_metric_update(sdk_body(UpdateMetricRequest(id="met-1", threshold={"max": 2})))
    assert change == {"threshold": {"max": 2}}
    second = Version((NOW + 1, "m2"), {**first.content, **change}, message="tighter")
    item = render_metric("met-1", second, first)
    assert item["threshold"] == {"max": 2} and item["updated_at"] is not None
    deployed_now = deployed([Deployment(DEPLOYED, "m2", (NOW + 1, "x"))])[DEPLOYED]
    body = {
        "success": True,
        "data": [render_version(v, deployed=v.change_id == deployed_now) for v in (first, second)],
    }
    versions = GetMetricVersionsResponse(**body).data
    assert [(v.deployed, v.message) for v in versions] == [(False, ""), (True, "tighter")]
    assert versions[1].full_sha.startswith(versions[1].name)


def test_a_version_request_as_the_sdk_sends_it() -> None:
    body = sdk_body(
        CreateMetricVersionRequest(
            message="v2",
            content=MetricVersionContentRequest(name="exact_match", type="PYTHON", criteria="x"),
            deploy_immediately=True,
        )
    )
    message, content, deploy = parse_version_request(body)
    assert (message, content["name"], deploy) == ("v2", "exact_match", True)
    fails("content", parse_version_request, {"message": "m"})
    fails(
        "content.type",
        parse_version_request,
        {"message": "m", "content": {"name": "n", "criteria": "c"}},
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"type": "SQL"}, "type"),
        ({"return_type": "int"}, "return_type"),
        ({"sampling_percentage": 150}, "sampling_percentage"),
        ({"threshold": {"min": 2, "max": 1}}, "threshold.min"),
        ({"threshold": {"pass_when": "yes"}}, "threshold.pass_when"),
        ({"threshold": {"passing_categories": "good"}}, "threshold.passing_categories"),
        ({"categories": [{"score": 1}]}, "categories[0].category"),
        ({"filters": {"filterArray": "x"}}, "filters.filterArray"),
    ],
)
def test_bad_metrics_are_named(extra: dict[str, Any], field: str) -> None:
    fails(field, parse_metric, {"name": "m", "type": "PYTHON", "criteria": "c", **extra})


def test_metric_types_are_matched_without_case() -> None:
    assert parse_metric({"name": "m", "type": "llm", "criteria": "c"})["type"] == "LLM"


def test_metric_list_queries() -> None:
    assert parse_metric_query(sdk_query({"type": "llm", "id": None})) == ("LLM", None)
    assert parse_metric_query(sdk_query({"id": "met-1"})) == (None, "met-1")
    fails("type", parse_metric_query, {"type": ["SQL"]})


def test_the_legacy_delete_names_its_metric_in_the_query() -> None:
    assert parse_metric_id(sdk_query({"metric_id": "m-1"})) == "m-1"
    fails("metric_id", parse_metric_id, {})
    fails("metric_id", parse_metric_id, {"metric_id": [""]})


@pytest.mark.parametrize("ref", ["9" * 5000, "v" + "9" * 5000, "²", "v-1"])
def test_a_version_named_by_a_number_no_int_holds_is_not_found(ref: str) -> None:
    versions = [Version((1.0, "c1"), {"name": "m"})]
    with pytest.raises(NotFound) as raised:
        find(versions, ref)
    assert raised.value.field == "version"

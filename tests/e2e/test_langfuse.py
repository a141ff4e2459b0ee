"""The stock Langfuse SDK (v5) against hivekeeper, configured only with
`LANGFUSE_BASE_URL`, `LANGFUSE_PUBLIC_KEY` and `LANGFUSE_SECRET_KEY`: its auth check
passes, its trace lands as a named session of typed events with their inputs, outputs,
model, tokens and costs, and its scores land on the events they score.
"""

from __future__ import annotations

import pytest

from hivekeeper.ingest.span_mapping import span_event_id, trace_session_id
from tests.support.reads import by_name, session_tree, stored_event
from tests.support.scenario import run_scenario
from tests.support.server import LiveServer
from tests.support.wire import recording_proxy

M = 1_000_000


def _langfuse_env(url: str, secret: str) -> dict[str, str]:
    return {
        "LANGFUSE_BASE_URL": url,
        "LANGFUSE_PUBLIC_KEY": "pk-lf-anything",
        "LANGFUSE_SECRET_KEY": secret,
    }


def test_a_langfuse_trace_lands_whole_with_costs_and_scores(server: LiveServer) -> None:
    with recording_proxy(server.url) as proxy:
        run = run_scenario(
            "langfuse_sdk",
            server_url=proxy.url,
            api_key=server.key,
            env=_langfuse_env(proxy.url, server.key),
        )
    assert run.result["authorized"] is True
    assert run.logged_problems() == []
    answered = {(e.method, e.path, e.status) for e in proxy.exchanges}
    assert answered == {
        ("GET", "/api/public/projects", 200),
        ("POST", "/api/public/otel/v1/traces", 200),
        ("POST", "/api/public/scores", 200),
    }

    trace_id = run.result["trace_id"]
    ids = run.result["ids"]
    with server.client() as api:
        tree = session_tree(api, trace_session_id(trace_id))
        events = by_name(tree)
        root = stored_event(api, span_event_id(trace_id, ids["root"]))

    assert tree["event_name"] == "qa-request"  # langfuse.trace.name
    assert tree["metrics"] == {"helpfulness": 0.9}  # a trace's score: on its session
    assert set(events) == {
        "answer-question", "retrieve", "llm-call", "priced-call", "calculator", "broken-step"
    }
    children = {child["event_name"] for child in tree["children"][0]["children"]}
    assert children == set(events) - {"answer-question"}  # nested under the root span
    assert root["event_type"] == "chain"
    assert root["inputs"] == {"q": "2+2?"}
    assert root["outputs"] == {"a": "4"}
    assert root["user_properties"]["user_id"] == "user-7"
    assert root["metadata"]["tags"] == ["beta", "math"]
    assert root["metadata"]["trace_metadata"] == {"tier": "gold"}
    assert events["retrieve"]["event_type"] == "tool"
    assert events["retrieve"]["metadata"]["observation_type"] == "retriever"
    assert events["retrieve"]["outputs"] == {"documents": ["2+2=4"]}
    assert events["calculator"]["event_type"] == "tool"
    assert events["calculator"]["inputs"] == {"expression": "2+2"}
    assert events["calculator"]["outputs"] == {"value": 4}
    assert events["broken-step"]["error"] == "the step failed"
    assert events["broken-step"]["metadata"]["level"] == "ERROR"

    llm = events["llm-call"]
    assert llm["event_type"] == "model"
    assert llm["config"]["model"] == "gpt-4o-mini-2024-07-18"
    assert llm["config"]["hyperparameters"] == {"temperature": 0.2, "max_tokens": 50}
    assert llm["inputs"]["chat_history"] == [{"role": "user", "content": "2+2?"}]
    assert llm["outputs"] == {"role": "assistant", "content": "4"}
    assert llm["metadata"]["attempt"] == 1
    assert llm["metadata"]["prompt_tokens"] == 1_000  # 800 fresh + 200 cached
    assert llm["metadata"]["cache_read_tokens"] == 200
    assert llm["metadata"]["completion_tokens"] == 50
    # gpt-4o-mini: input $0.15, cached input $0.075, output $0.60 per million tokens.
    assert llm["metadata"]["cost"] == pytest.approx((800 * 0.15 + 200 * 0.075 + 50 * 0.60) / M)
    assert llm["metadata"]["cost_source"] == "computed"
    assert llm["metrics"] == {"correct": True, "correct_comment": "exact"}
    priced = events["priced-call"]["metadata"]
    assert (priced["cost"], priced["cost_source"]) == (pytest.approx(0.03), "given")

    session_cost = tree["metadata"]["cost"]
    assert session_cost == pytest.approx(llm["metadata"]["cost"] + 0.03)


def test_the_sdks_auth_check_fails_with_an_unknown_key(server: LiveServer) -> None:
    env = {**_langfuse_env(server.url, "hh_not-a-key"), "SCENARIO_AUTH_ONLY": "1"}
    run = run_scenario("langfuse_sdk", server_url=server.url, api_key=server.key, env=env)
    assert run.result == {"authorized": False, "error": "UnauthorizedError"}

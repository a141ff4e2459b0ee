"""Sessions of foreign traces: names (explicit, derived, `unknown`), source, user and
grouping, the writer's memory of which session a trace named, and the span types that
depend on a trace's shape (parents are chains, HTTP client calls are not tools)."""

from __future__ import annotations

from typing import Any

from hivekeeper.domain.merge import apply_ops
from hivekeeper.domain.session_names import NAME_SOURCE_KEY
from hivekeeper.domain.types import EventPatch, Key, MergeOp, StoredRow, Update, Upsert
from hivekeeper.ingest.span_mapping import span_event_id, spans_to_ops, trace_session_id
from hivekeeper.ingest.spans import Span
from hivekeeper.ingest.trace_sessions import TraceSessions

P = "proj"
TRACE = "ab" * 16
NOW = 2_000_000_000_000.0


def span(
    span_id: str,
    parent: str | None = None,
    *,
    name: str = "op",
    kind: int = 1,
    trace_id: str = TRACE,
    resource: dict[str, Any] | None = None,
    **attributes: Any,
) -> Span:
    return Span(
        trace_id=trace_id,
        span_id=span_id * 8,
        parent_span_id=parent * 8 if parent else None,
        name=name,
        kind=kind,
        start_unix_nano=1_000_000_000,
        end_unix_nano=2_000_000_000,
        attributes=attributes,
        scope_name="some.lib",
        resource=resource or {},
    )


def upserts(ops: list[MergeOp]) -> dict[str, EventPatch]:
    return {op.patch["event_name"]: op.patch for op in ops if isinstance(op, Upsert)}


def session_update(ops: list[MergeOp], session_id: str) -> EventPatch:
    (patch,) = [op.patch for op in ops if isinstance(op, Update) and op.patch["event_id"] == session_id]  # noqa: E501
    return patch


def stored(ops: list[MergeOp], rows: dict[Key, StoredRow] | None = None) -> dict[Key, StoredRow]:
    rows = {} if rows is None else rows
    apply_ops(rows, ops, NOW)
    return rows


def attrs(**values: Any) -> dict[str, Any]:
    """Attribute names with dots, written as keyword arguments with `__`."""
    return {key.replace("__", "."): value for key, value in values.items()}


# --- names --------------------------------------------------------------------------------


def test_a_foreign_trace_is_named_by_its_root_span() -> None:
    ops = spans_to_ops(P, [span("b2", "a1", name="chat"), span("a1", name="answer question")])
    session = stored(ops)[(P, trace_session_id(TRACE))]
    assert session["event_name"] == "answer question"
    assert session["metadata"][NAME_SOURCE_KEY] == "root_span"


def test_a_workflow_name_beats_the_root_span() -> None:
    workflow = attrs(traceloop__workflow__name="joke_workflow")
    ops = spans_to_ops(P, [span("a1", name="joke_workflow.workflow"), span("b2", "a1", **workflow)])
    session = stored(ops)[(P, trace_session_id(TRACE))]
    assert (session["event_name"], session["metadata"][NAME_SOURCE_KEY]) == (
        "joke_workflow",
        "traceloop.workflow.name",
    )


def test_an_explicit_name_in_the_batch_is_the_only_name_sent() -> None:
    spans = [span("a1", name="root", **attrs(honeyhive__session_name="checkout"))]
    patch = session_update(spans_to_ops(P, spans), trace_session_id(TRACE))
    assert patch["event_name"] == "checkout"
    assert NAME_SOURCE_KEY not in patch.get("metadata", {})


def test_a_later_root_span_does_not_rename_an_explicitly_named_session() -> None:
    named = span("b2", "a1", **attrs(honeyhive__session_name="checkout"))
    rows = stored(spans_to_ops(P, [named]))
    stored(spans_to_ops(P, [span("a1", name="root")]), rows)
    assert rows[(P, trace_session_id(TRACE))]["event_name"] == "checkout"


# --- source, user, grouping ------------------------------------------------------------------


def test_source_is_the_deployment_environment_else_the_service() -> None:
    both = {"deployment.environment.name": "prod", "service.name": "shop"}
    assert upserts(spans_to_ops(P, [span("a1", resource=both)]))["op"]["source"] == "prod"
    old = {"deployment.environment": "staging", "service.name": "shop"}
    assert upserts(spans_to_ops(P, [span("a1", resource=old)]))["op"]["source"] == "staging"
    service = {"service.name": "shop"}
    ops = spans_to_ops(P, [span("a1", resource=service)])
    assert upserts(ops)["op"]["source"] == "shop"
    assert stored(ops)[(P, trace_session_id(TRACE))]["source"] == "shop"
    langfuse = span("a1", resource=service, **attrs(langfuse__environment="dev"))
    assert upserts(spans_to_ops(P, [langfuse]))["op"]["source"] == "dev"
    header = spans_to_ops(P, [span("a1", resource=both)], source_header="cli")
    assert upserts(header)["op"]["source"] == "cli"


def test_user_and_association_properties_of_any_span_reach_the_session() -> None:
    child = span(
        "b2",
        "a1",
        **attrs(
            traceloop__association__properties__user_id="u-7",
            traceloop__association__properties__chat_id="c-1",
        ),
    )
    rows = stored(spans_to_ops(P, [span("a1"), child]))
    session = rows[(P, trace_session_id(TRACE))]
    assert session["user_properties"] == {"user_id": "u-7"}
    # `user_id` and `session_id` are the session's user and identity, not extra properties.
    assert session["metadata"]["association_properties"] == {"chat_id": "c-1"}
    rows = stored(spans_to_ops(P, [span("c3", trace_id="cd" * 16, **{"user.id": "u-8"})]))
    assert rows[(P, trace_session_id("cd" * 16))]["user_properties"] == {"user_id": "u-8"}


# --- the trace → session memory -------------------------------------------------------------


def test_spans_without_a_session_join_the_one_their_trace_named_in_the_batch() -> None:
    spans = [span("b2", "a1", name="llm"), span("a1", name="root", **{"session.id": "chat-1"})]
    patches = upserts(spans_to_ops(P, spans))
    assert patches["llm"]["session_id"] == patches["root"]["session_id"] == "chat-1"
    assert patches["root"]["parent_id"] == "chat-1"


def test_the_writer_remembers_the_session_a_trace_named_across_exports() -> None:
    traces = TraceSessions()
    spans_to_ops(P, [span("a1", name="root", **{"session.id": "chat-1"})], traces=traces)
    later = upserts(spans_to_ops(P, [span("b2", "a1", name="llm")], traces=traces))
    assert later["llm"]["session_id"] == "chat-1"
    # Another project's trace with the same id is another trace.
    other = upserts(spans_to_ops("other", [span("b2", "a1", name="llm")], traces=traces))
    assert other["llm"]["session_id"] == trace_session_id(TRACE)


def test_after_a_restart_a_span_without_a_session_lands_in_its_traces_own() -> None:
    before = TraceSessions()
    spans_to_ops(P, [span("a1", name="root", **{"session.id": "chat-1"})], traces=before)
    restarted = TraceSessions()  # the memory is not persisted
    patch = upserts(spans_to_ops(P, [span("b2", "a1", name="llm")], traces=restarted))["llm"]
    assert patch["session_id"] == trace_session_id(TRACE)
    assert patch["parent_id"] == span_event_id(TRACE, "a1" * 8)


def test_the_memory_is_bounded() -> None:
    traces = TraceSessions(max_traces=2)
    for n in range(3):
        traces.remember(P, f"{n:032x}", f"s{n}", set())
    assert len(traces) == 2
    assert traces.session_of(P, f"{0:032x}") is None
    assert traces.session_of(P, f"{2:032x}") == "s2"


# --- span types -----------------------------------------------------------------------------


def test_a_plain_span_with_children_is_a_chain_and_a_leaf_a_tool() -> None:
    patches = upserts(spans_to_ops(P, [span("b2", "a1", name="leaf"), span("a1", name="parent")]))
    assert patches["parent"]["event_type"] == "chain"
    assert patches["leaf"]["event_type"] == "tool"


def test_a_parent_whose_children_came_in_an_earlier_export_is_a_chain() -> None:
    traces = TraceSessions()
    spans_to_ops(P, [span("b2", "a1", name="leaf")], traces=traces)
    later = upserts(spans_to_ops(P, [span("a1", name="parent")], traces=traces))
    assert later["parent"]["event_type"] == "chain"


def test_an_http_client_span_is_a_chain_named_by_method_and_url() -> None:
    http = span(
        "b2",
        "a1",
        name="POST",
        kind=3,
        **attrs(
            http__request__method="POST",
            url__full="http://127.0.0.1:8080/v1/chat/completions?x=1",
            http__response__status_code=200,
        ),
    )
    patch = upserts(spans_to_ops(P, [http]))["HTTP POST 127.0.0.1/v1/chat/completions"]
    assert patch["event_type"] == "chain"
    assert patch["metadata"]["span_kind"] == "client"
    assert patch["metadata"]["http"]["response"]["status_code"] == 200
    old = span("c3", name="GET", kind=3, **attrs(http__method="GET", server__address="api.x.com",
                                                  url__path="/v1/models"))  # fmt: skip
    assert upserts(spans_to_ops(P, [old]))["HTTP GET api.x.com/v1/models"]["event_type"] == "chain"
    genai = attrs(http__method="POST", gen_ai__operation__name="chat")
    llm = span("d4", name="POST", kind=3, **genai)
    assert upserts(spans_to_ops(P, [llm]))["POST"]["event_type"] == "model"


# --- logfire ----------------------------------------------------------------------------------


def test_logfire_spans_are_named_by_their_rendered_message_and_keep_their_tags() -> None:
    logfire = span(
        "a1",
        name="Chat Completion with {request_data[model]!r}",
        **attrs(
            logfire__msg="Chat Completion with 'gpt-4o-mini'",
            logfire__msg_template="Chat Completion with {request_data[model]!r}",
            logfire__span_type="span",
            logfire__tags=["checkout", "beta"],
        ),
    )
    patch = upserts(spans_to_ops(P, [logfire]))["Chat Completion with 'gpt-4o-mini'"]
    assert patch["metadata"]["tags"] == ["checkout", "beta"]
    assert patch["metadata"]["logfire"]["msg_template"].startswith("Chat Completion with {")
    assert "msg" not in patch["metadata"]["logfire"]


def _logfire_pair() -> tuple[Span, Span]:
    request_data = '{"model": "gpt-4o-mini", "stream": true}'
    request = span(
        "b2",
        "a1",
        name="Chat Completion with {request_data[model]!r}",
        kind=3,
        **attrs(
            logfire__span_type="span",
            logfire__msg="Chat Completion with 'gpt-4o-mini'",
            logfire__msg_template="Chat Completion with {request_data[model]!r}",
            request_data=request_data,
            gen_ai__request__model="gpt-4o-mini",
        ),
    )
    log = span(
        "c3",
        "a1",
        name="streaming response from {request_data[model]!r} took {duration:.2f}s",
        **attrs(
            logfire__span_type="log",
            logfire__msg="streaming response from 'gpt-4o-mini' took 0.12s",
            logfire__msg_template="streaming response from {request_data[model]!r} took "
            "{duration:.2f}s",
            request_data=request_data,
            duration=0.12,
            gen_ai__request__model="gpt-4o-mini",
            gen_ai__response__model="gpt-4o-mini-2024-07-18",
            gen_ai__usage__input_tokens=12,
            gen_ai__usage__output_tokens=6,
            gen_ai__output__messages='[{"role": "assistant", "parts": '
            '[{"type": "text", "content": "Hello"}]}]',
        ),
    )
    return request, log


def _one_model(rows: dict[Key, StoredRow]) -> StoredRow:
    (model,) = [row for row in rows.values() if row["event_type"] == "model"]
    return model


def test_a_logfire_stream_is_one_model_event_with_its_output_and_usage() -> None:
    request, log = _logfire_pair()
    model = _one_model(stored(spans_to_ops(P, [span("a1", name="turn"), request, log])))
    assert model["event_id"] == span_event_id(TRACE, "b2" * 8)
    assert model["outputs"]["content"] == "Hello"
    assert (model["metadata"]["prompt_tokens"], model["metadata"]["completion_tokens"]) == (12, 6)
    assert model["config"]["model"] == "gpt-4o-mini-2024-07-18"


def test_a_logfire_stream_log_in_a_later_export_still_folds() -> None:
    traces = TraceSessions()
    request, log = _logfire_pair()
    rows = stored(spans_to_ops(P, [request], traces=traces))
    rows = stored(spans_to_ops(P, [log], traces=traces), rows)
    stored(spans_to_ops(P, [span("a1", name="turn")], traces=traces), rows)
    model = _one_model(rows)
    assert model["outputs"]["content"] == "Hello"
    assert model["metadata"]["completion_tokens"] == 6
    log_event = rows[(P, span_event_id(TRACE, "c3" * 8))]
    assert (log_event["event_type"], log_event["metadata"]["streamed_request"]) == (
        "chain",
        model["event_id"],
    )

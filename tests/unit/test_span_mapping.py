"""Spans → event write ops (spec §7): identity, type, times, errors, HoneyHive namespaces,
session naming and roll-ups, checked on hand-made spans and on what SDK 1.7.0 really sent."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from hivekeeper.domain.events import parse_session
from hivekeeper.domain.merge import apply_ops, rollup_metadata
from hivekeeper.domain.types import EventPatch, Key, StoredRow, Update, Upsert
from hivekeeper.ingest.span_mapping import (
    ID_NAMESPACE,
    STATUS_ERROR_TEXT,
    span_event_id,
    spans_to_ops,
    trace_session_id,
)
from hivekeeper.ingest.spans import Span, SpanEvent, StatusCode

P = "proj"
NOW = 2_000_000_000_000.0
TRACE = "6a294f3b28ead815dbd205f0561d9fa4"
SESSION = "b419e943-e396-4a66-96e3-6da5995e4d4e"
START_NS = 1_795_720_438_732_924_851
END_NS = 1_795_720_438_734_877_890
DATA = Path(__file__).resolve().parent.parent / "data" / "honeyhive-sdk-1.7.0"


def make_span(
    attributes: dict[str, Any] | None = None,
    *,
    span_id: str = "98f2ff890e8f9d75",
    parent: str | None = None,
    trace_id: str = TRACE,
    name: str = "op",
    scope: str = "my.lib",
    events: list[SpanEvent] | None = None,
    status: StatusCode = StatusCode.UNSET,
    message: str = "",
    start: int = START_NS,
    end: int = END_NS,
    resource: dict[str, Any] | None = None,
) -> Span:
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind=1,
        start_unix_nano=start,
        end_unix_nano=end,
        attributes=attributes or {},
        events=events or [],
        status_code=status,
        status_message=message,
        scope_name=scope,
        resource=resource or {},
    )


def patch_of(span: Span, **kwargs: Any) -> EventPatch:
    """The one event patch a single span maps to."""
    ops = spans_to_ops(P, [span], **kwargs)
    upserts = [op for op in ops if isinstance(op, Upsert)]
    assert len(upserts) == 1
    return upserts[0].patch


def without_otel(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k != "otel"}


def apply(ops: list[Any], rows: dict[Key, StoredRow] | None = None) -> dict[Key, StoredRow]:
    rows = {} if rows is None else rows
    apply_ops(rows, ops, NOW)
    return rows


# --- real captures: OTLP/JSON bodies of SDK 1.7.0, decoded by a tiny local reader ---

_KINDS = {"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_CLIENT": 3}


def _value(wire: dict[str, Any]) -> Any:
    ((kind, raw),) = wire.items()
    if kind == "arrayValue":
        return [_value(item) for item in raw.get("values", [])]
    if kind == "intValue":
        return int(raw)
    return raw


def _attributes(wire: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: _value(item["value"]) for item in wire or []}


def fixture_spans(name: str) -> list[Span]:
    """Every span the SDK exported in capture `name`, in the order it sent them."""
    capture = json.loads((DATA / f"{name}.json").read_text())
    spans = []
    for exchange in capture["exchanges"]:
        request = exchange["request"]
        if not request["path"].endswith("/v1/traces"):
            continue
        body = request["body"]
        body = json.loads(body) if isinstance(body, str) else body
        for resource_spans in body["resourceSpans"]:
            resource = _attributes(resource_spans.get("resource", {}).get("attributes"))
            for scope_spans in resource_spans["scopeSpans"]:
                scope = scope_spans.get("scope", {})
                for wire in scope_spans["spans"]:
                    status = wire.get("status") or {}
                    code = status.get("code", "STATUS_CODE_UNSET").removeprefix("STATUS_CODE_")
                    spans.append(
                        Span(
                            trace_id=wire["traceId"],
                            span_id=wire["spanId"],
                            parent_span_id=wire.get("parentSpanId") or None,
                            name=wire["name"],
                            kind=_KINDS[wire["kind"]],
                            start_unix_nano=int(wire["startTimeUnixNano"]),
                            end_unix_nano=int(wire["endTimeUnixNano"]),
                            attributes=_attributes(wire.get("attributes")),
                            events=[
                                SpanEvent(
                                    e["name"], int(e["timeUnixNano"]), _attributes(e["attributes"])
                                )
                                for e in wire.get("events") or []
                            ],
                            status_code=StatusCode[code],
                            status_message=status.get("message", ""),
                            scope_name=scope.get("name", ""),
                            scope_version=scope.get("version", ""),
                            resource=resource,
                        )
                    )
    return spans


def fixture_events(name: str) -> dict[str, EventPatch]:
    """The event patches of capture `name` by span name (last one wins)."""
    ops = spans_to_ops(P, fixture_spans(name))
    return {op.patch["event_name"]: op.patch for op in ops if isinstance(op, Upsert)}


# --- §7.8 worked example --------------------------------------------------------------


def worked_example() -> Span:
    # The spec abbreviates the span; the capture it comes from (s02) also carries the
    # decorator's `honeyhive_metadata.event_type/event_name` copies, which the expected
    # event shows in `metadata`.
    return make_span(
        {
            "honeyhive.session_id": SESSION,
            "honeyhive.project": "capture-project",
            "honeyhive.source": "capture-test",
            "honeyhive_event_type": "model",
            "honeyhive_event_name": "child_model",
            "honeyhive_inputs.prompt": "hi!",
            "honeyhive_metadata.event_type": "model",
            "honeyhive_metadata.event_name": "child_model",
            "honeyhive_metadata.k": "v",
            "honeyhive_metrics.m": 1.5,
            "honeyhive_config.model": "gpt-x",
            "honeyhive_outputs.result.text": "ok",
            "honeyhive_outputs.result.tokens.0": 1,
            "honeyhive_outputs.result.tokens.1": 2,
        },
        span_id="98f2ff890e8f9d75",
        parent="835f568740ccac9a",
        name="child_model",
        scope="honeyhive.139669378631568",
    )


def test_worked_example_of_the_spec() -> None:
    patch = patch_of(worked_example())
    assert patch["event_id"] == str(uuid.uuid5(ID_NAMESPACE, TRACE + "98f2ff890e8f9d75"))
    assert patch["parent_id"] == str(uuid.uuid5(ID_NAMESPACE, TRACE + "835f568740ccac9a"))
    assert patch["session_id"] == SESSION
    assert (patch["event_type"], patch["event_name"], patch["source"]) == (
        "model",
        "child_model",
        "capture-test",
    )
    assert patch["inputs"] == {"prompt": "hi!"}
    assert patch["outputs"] == {"result": {"text": "ok", "tokens": [1, 2]}}
    assert patch["config"] == {"model": "gpt-x"}
    assert patch["metrics"] == {"m": 1.5}
    assert without_otel(patch["metadata"]) == {
        "k": "v",
        "event_type": "model",
        "event_name": "child_model",
    }
    assert patch["feedback"] == {} and patch["user_properties"] == {}
    assert patch["error"] is None
    # Milliseconds near 1.8e12 are floats spaced 0.00024 apart: the spec's 4 decimals
    # are the nearest float's; the duration comes from the exact nanosecond difference.
    assert patch["start_time"] == START_NS / 1e6 == pytest.approx(1795720438732.9249, abs=3e-4)
    assert patch["end_time"] == END_NS / 1e6 == pytest.approx(1795720438734.8779, abs=3e-4)
    assert patch["duration"] == 1.953039

    row = apply(spans_to_ops(P, [worked_example()]))[(P, patch["event_id"])]
    assert row["children_ids"] == []
    assert row["duration"] == pytest.approx(1.953039)


def test_worked_example_from_its_capture() -> None:
    events = fixture_events("s02_otlp_json_batched")
    child, parent = events["child_model"], events["parent_chain"]
    expected = patch_of(worked_example())
    same = ["event_id", "session_id", "parent_id", "event_type", "source", "inputs", "outputs"]
    same += ["config", "metrics", "start_time", "end_time", "duration"]
    assert {k: child.get(k) for k in same} == {k: expected.get(k) for k in same}
    assert child["parent_id"] == parent["event_id"]
    assert without_otel(child["metadata"]) == {
        **without_otel(expected["metadata"]),
        "duration_ms": pytest.approx(1.9533634185791016),
    }


def test_otel_identity_is_kept_for_correlation() -> None:
    span = make_span(
        {"honeyhive.session_id": SESSION},
        parent="835f568740ccac9a",
        status=StatusCode.OK,
        resource={"service.name": "checkout", "service.instance.id": "i-1"},
    )
    span.scope_version = "0.1"
    otel = patch_of(span)["metadata"]["otel"]
    assert otel == {
        "trace_id": TRACE,
        "span_id": "98f2ff890e8f9d75",
        "parent_span_id": "835f568740ccac9a",
        "kind": "INTERNAL",
        "scope": {"name": "my.lib", "version": "0.1"},
        "status": {"code": "OK"},
        "resource": {"service": {"name": "checkout", "instance": {"id": "i-1"}}},
    }


# --- §7.2 identity ----------------------------------------------------------------------


def test_same_span_twice_gives_the_same_ops() -> None:
    first = spans_to_ops(P, [worked_example()])
    assert spans_to_ops(P, [worked_example()]) == first
    assert span_event_id(TRACE, "98f2ff890e8f9d75") == first[0].patch["event_id"]


def test_a_child_names_its_parent_before_the_parent_arrives() -> None:
    child = make_span(
        {"honeyhive.session_id": SESSION}, span_id="00000000000000c1", parent="a1" * 8
    )
    parent = make_span({"honeyhive.session_id": SESSION}, span_id="a1" * 8)
    child_patch = patch_of(child)
    parent_patch = patch_of(parent)  # a later export
    assert child_patch["parent_id"] == parent_patch["event_id"]
    rows = apply([Upsert(P, child_patch), Upsert(P, parent_patch)])
    assert rows[(P, parent_patch["event_id"])]["parent_id"] == SESSION


def test_derived_ids_are_uuid5_of_our_namespace() -> None:
    assert span_event_id("ab" * 16, "cd" * 8) == str(uuid.uuid5(ID_NAMESPACE, "ab" * 16 + "cd" * 8))
    assert trace_session_id("ab" * 16) == str(uuid.uuid5(ID_NAMESPACE, "ab" * 16))
    assert str(ID_NAMESPACE) == "fdd01780-562d-421b-a230-d66706ff4259"  # never changes


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (
            {
                "gen_ai.conversation.id": "conv",
                "session.id": "oi",
                "traceloop.association.properties.session_id": "tl",
                "honeyhive_session_id": "hh_",
                "honeyhive.session_id": "hh.",
            },
            "hh.",
        ),
        ({"honeyhive_session_id": "hh_", "session.id": "oi"}, "hh_"),
        ({"traceloop.association.properties.session_id": "tl", "session.id": "oi"}, "tl"),
        ({"session.id": "oi", "gen_ai.conversation.id": "conv"}, "oi"),
        ({"gen_ai.conversation.id": "conv"}, "conv"),
        ({"honeyhive.session_id": 42, "session.id": "  oi  "}, "oi"),
        ({"honeyhive.session_id": ""}, None),
        ({}, None),
    ],
)
def test_session_id_sources_in_order(attributes: dict[str, Any], expected: str | None) -> None:
    patch = patch_of(make_span(attributes))
    assert patch["session_id"] == (expected or trace_session_id(TRACE))
    assert patch["parent_id"] == patch["session_id"]  # a root span hangs off its session


def test_foreign_spans_of_one_trace_share_a_session() -> None:
    root = make_span(span_id="a1" * 8)
    child = make_span(span_id="b2" * 8, parent="a1" * 8)
    other = make_span(trace_id="ef" * 16, span_id="c3" * 8)
    ops = spans_to_ops(P, [child, root, other])
    sessions = [op.patch["session_id"] for op in ops if isinstance(op, Upsert)]
    assert sessions[0] == sessions[1] == trace_session_id(TRACE) != sessions[2]
    rows = apply(ops)
    assert rows[(P, trace_session_id(TRACE))]["num_events"] == 2


def test_a_rejected_identity_is_kept_not_lost() -> None:
    metadata = patch_of(make_span({"honeyhive.session_id": 42}))["metadata"]
    assert metadata["honeyhive"]["session_id"] == 42
    assert "honeyhive.session_id" in metadata["otel"]["unmapped_attributes"]


def test_event_id_override_and_its_children() -> None:
    renamed = make_span(
        {"honeyhive.session_id": SESSION, "honeyhive_event_id": "aaaaaaaa-bbbb-4ccc-8ddd-eee"},
        span_id="a1" * 8,
    )
    child = make_span({"honeyhive.session_id": SESSION}, span_id="b2" * 8, parent="a1" * 8)
    ops = [op for op in spans_to_ops(P, [child, renamed]) if isinstance(op, Upsert)]
    assert ops[1].patch["event_id"] == "aaaaaaaa-bbbb-4ccc-8ddd-eee"
    assert ops[0].patch["parent_id"] == "aaaaaaaa-bbbb-4ccc-8ddd-eee"


def test_a_span_never_takes_its_sessions_id() -> None:
    patch = patch_of(
        make_span({"honeyhive.session_id": SESSION, "honeyhive_event_id": SESSION}, scope="x")
    )
    assert patch["event_id"] == span_event_id(TRACE, "98f2ff890e8f9d75")
    assert patch["metadata"]["honeyhive_event_id"] == SESSION
    rows = apply([Upsert(P, patch)])
    assert rows[(P, SESSION)]["event_type"] == "session"


def test_a_span_is_never_its_own_parent() -> None:
    own = span_event_id(TRACE, "98f2ff890e8f9d75")
    patch = patch_of(make_span({"honeyhive.session_id": SESSION, "honeyhive.parent_id": own}))
    assert patch["parent_id"] == SESSION


def test_parent_from_distributed_baggage_when_no_parent_span() -> None:
    patch = patch_of(make_span({"honeyhive.session_id": SESSION, "honeyhive.parent_id": "up"}))
    assert patch["parent_id"] == "up"
    patch = patch_of(
        make_span(
            {
                "honeyhive.session_id": SESSION,
                "traceloop.association.properties.parent_id": "tl-up",
            }
        )
    )
    assert patch["parent_id"] == "tl-up"
    patch = patch_of(make_span({"honeyhive.parent_id": "up"}, parent="a1" * 8))
    assert patch["parent_id"] == span_event_id(TRACE, "a1" * 8)


@pytest.mark.parametrize(
    ("attributes", "resource", "header", "expected"),
    [
        (
            {
                "honeyhive.source": "a",
                "honeyhive_source": "b",
                "traceloop.association.properties.source": "c",
            },
            {"honeyhive.source": "r"},
            "h",
            "a",
        ),
        ({"honeyhive_source": "b", "traceloop.association.properties.source": "c"}, {}, "h", "b"),
        ({"traceloop.association.properties.source": "c"}, {}, "h", "c"),
        ({}, {"honeyhive.source": "r"}, "h", "r"),
        ({}, {}, "h", "h"),
        ({"honeyhive.source": 3}, {}, None, None),
    ],
)
def test_source_sources_in_order(
    attributes: dict[str, Any], resource: dict[str, Any], header: str | None, expected: str | None
) -> None:
    patch = patch_of(make_span(attributes, resource=resource), source_header=header)
    # Unknown means absent: a merge must never overwrite a known source with a guess.
    assert patch.get("source") == expected


def test_project_hints_are_consumed_not_copied() -> None:
    patch = patch_of(
        make_span(
            {
                "honeyhive.project": "p1",
                "honeyhive_project": "p1",
                "traceloop.association.properties.project": "p1",
                "honeyhive.tracer_version": "1.7.0",
            }
        )
    )
    assert without_otel(patch["metadata"]) == {}
    assert "unmapped_attributes" not in patch["metadata"]["otel"]


# --- §7.3 sessions that were never started --------------------------------------------


def auto_span(span_id: str, start: int, end: int, **attributes: Any) -> Span:
    return make_span(
        {
            "honeyhive.session_id": SESSION,
            "honeyhive.session_auto_create": True,
            "honeyhive.session_name": "per-req-auto",
            "honeyhive.source": "capture-test",
            "honeyhive_event_type": "model",
            "honeyhive_event_name": f"call-{span_id[:2]}",
            "honeyhive_metadata.prompt_tokens": 10,
            "honeyhive_metadata.completion_tokens": 5,
            "honeyhive_metadata.cost": 0.25,
            **attributes,
        },
        span_id=span_id,
        start=start,
        end=end,
        scope="honeyhive.1",
    )


def test_auto_created_session_gets_its_name_times_and_rollups() -> None:
    spans = [
        auto_span("a1" * 8, 1_000_000_000, 3_000_000_000),
        auto_span("b2" * 8, 2_000_000_000, 5_500_000_000),
    ]
    ops = spans_to_ops(P, spans)
    assert ops[0] == Update(P, {"event_id": SESSION, "event_name": "per-req-auto"})
    assert [type(op) for op in ops] == [Update, Upsert, Upsert]  # one name per session

    rows = apply(ops)
    session = rows[(P, SESSION)]
    assert session["event_type"] == "session"
    assert session["event_name"] == "per-req-auto"
    assert session["source"] == "capture-test"
    assert (session["start_time"], session["end_time"]) == (1000.0, 5500.0)
    assert session["duration"] == 4500.0
    rollups = rollup_metadata(session)
    assert rollups["num_events"] == 2 and rollups["num_model_events"] == 2
    assert (rollups["prompt_tokens"], rollups["completion_tokens"]) == (20, 10)
    assert rollups["total_tokens"] == 30
    assert rollups["cost"] == 0.5

    # A later /session/start for the same id merges into it instead of failing.
    start = parse_session({"session_id": SESSION, "session_name": "started", "inputs": {"q": 1}})
    apply([Upsert(P, start)], rows)
    session = rows[(P, SESSION)]
    assert session["event_name"] == "started"
    assert session["inputs"] == {"q": 1}
    assert (session["start_time"], session["end_time"], session["num_events"]) == (
        1000.0,
        5500.0,
        2,
    )

    # A re-sent span (an exporter retry) is not counted twice.
    apply(spans_to_ops(P, spans[:1]), rows)
    session = rows[(P, SESSION)]
    assert (session["start_time"], session["end_time"], session["num_events"]) == (
        1000.0,
        5500.0,
        2,
    )


def test_naming_an_existing_session_touches_only_its_name() -> None:
    start = parse_session({"session_id": SESSION, "session_name": "started"})
    start["start_time"], start["end_time"] = 10.0, 20.0
    rows = apply([Upsert(P, start)])
    apply(spans_to_ops(P, [auto_span("a1" * 8, 12_000_000, 15_000_000)]), rows)
    session = rows[(P, SESSION)]
    assert session["event_name"] == "per-req-auto"
    assert (session["start_time"], session["end_time"]) == (10.0, 20.0)
    assert session["num_events"] == 1


def test_session_auto_create_flag_and_name_are_not_event_data() -> None:
    patch = patch_of(auto_span("a1" * 8, 1, 2))
    metadata = without_otel(patch["metadata"])
    assert "session_name" not in metadata and "honeyhive" not in metadata


# --- §7.4 event type ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "scope", "expected"),
    [
        # SDK decorator spans: the stamp is authoritative.
        ({"honeyhive_event_type": "tool"}, "honeyhive.1", "tool"),
        (
            {"honeyhive_event_type": "model", "gen_ai.operation.name": "execute_tool"},
            "honeyhive.1",
            "model",
        ),
        (
            {"honeyhive_event_type": "chain", "honeyhive_event_name": "x", "llm.model_name": "m"},
            "other",
            "chain",
        ),
        ({"honeyhive.event_type": "CHAIN"}, "honeyhive.1", "chain"),
        # Other spans: recomputed from attributes, falling back to the stamp.
        ({"honeyhive_event_type": "model", "gen_ai.operation.name": "execute_tool"}, "x", "tool"),
        ({"gen_ai.operation.name": "chat"}, "x", "model"),
        ({"gen_ai.operation.name": "text_completion"}, "x", "model"),
        ({"gen_ai.operation.name": "generate_content"}, "x", "model"),
        ({"gen_ai.operation.name": "embeddings"}, "x", "model"),
        ({"gen_ai.operation.name": "invoke_agent"}, "x", "chain"),
        ({"gen_ai.operation.name": "create_agent"}, "x", "chain"),
        ({"gen_ai.operation.name": "invoke_workflow"}, "x", "chain"),
        ({"gen_ai.operation.name": "retrieval"}, "x", "tool"),
        ({"gen_ai.operation.name": "unknown", "openinference.span.kind": "LLM"}, "x", "model"),
        ({"openinference.span.kind": "LLM"}, "x", "model"),
        ({"openinference.span.kind": "CHAIN"}, "x", "chain"),
        ({"openinference.span.kind": "AGENT"}, "x", "chain"),
        ({"openinference.span.kind": "TOOL"}, "x", "tool"),
        ({"openinference.span.kind": "RETRIEVER", "honeyhive_event_type": "chain"}, "x", "tool"),
        ({"openinference.span.kind": "EMBEDDING"}, "x", "tool"),
        ({"openinference.span.kind": "RERANKER"}, "x", "tool"),
        ({"openinference.span.kind": "GUARDRAIL"}, "x", "tool"),
        ({"openinference.span.kind": "EVALUATOR"}, "x", "tool"),
        ({"traceloop.span.kind": "workflow"}, "x", "chain"),
        ({"traceloop.span.kind": "agent"}, "x", "chain"),
        ({"traceloop.span.kind": "task"}, "x", "chain"),
        ({"traceloop.span.kind": "tool"}, "x", "tool"),
        ({"llm.request.type": "chat"}, "x", "model"),
        ({"gen_ai.request.model": "m"}, "x", "model"),
        ({"gen_ai.response.model": "m"}, "x", "model"),
        ({"llm.model_name": "m"}, "x", "model"),
        ({"llm.request.model": "m"}, "x", "model"),
        ({"llm.response.model": "m"}, "x", "model"),
        ({"honeyhive_event_type": "chain"}, "x", "chain"),
        ({}, "x", "tool"),
        # Invalid stamps fall back.
        ({"honeyhive_event_type": "banana"}, "honeyhive.1", "tool"),
        ({"honeyhive_event_type": 7, "llm.model_name": "m"}, "honeyhive.1", "model"),
        ({"honeyhive_event_type": "session"}, "honeyhive.1", "tool"),
    ],
)
def test_event_type(attributes: dict[str, Any], scope: str, expected: str) -> None:
    assert patch_of(make_span(attributes, scope=scope))["event_type"] == expected


def test_an_invalid_stamp_is_kept_in_metadata() -> None:
    metadata = patch_of(make_span({"honeyhive_event_type": "banana"}))["metadata"]
    assert metadata["honeyhive_event_type"] == "banana"


def test_the_finer_kind_behind_an_event_type_stays_visible() -> None:
    metadata = patch_of(make_span({"openinference.span.kind": "RETRIEVER"}))["metadata"]
    assert metadata["openinference"] == {"span": {"kind": "RETRIEVER"}}


# --- §7.5 name, time, error ----------------------------------------------------------------


def test_event_name_sources() -> None:
    assert patch_of(make_span({"honeyhive_event_name": "a"}, name="s"))["event_name"] == "a"
    assert patch_of(make_span({"honeyhive.event_name": "b"}, name="s"))["event_name"] == "b"
    assert patch_of(make_span({}, name="mod.fn"))["event_name"] == "mod.fn"
    assert "event_name" not in patch_of(make_span({}, name=""))


def test_times_are_milliseconds_with_fractions() -> None:
    patch = patch_of(make_span(start=1_500_000_123, end=1_500_250_456))
    assert patch["start_time"] == 1500.000123
    assert patch["end_time"] == 1500.250456
    assert patch["duration"] == pytest.approx(0.250333)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (5_000_000, 3_000_000, (5.0, 5.0, 0.0)),  # an end before the start
        (0, 3_000_000, (3.0, 3.0, 0.0)),  # no start
        (5_000_000, 0, (5.0, 5.0, 0.0)),  # no end
        (5_000_000, 10**22, (5.0, 5.0, 0.0)),  # past year 9999
    ],
)
def test_impossible_times_collapse_to_one_instant(
    start: int, end: int, expected: tuple[float, float, float]
) -> None:
    patch = patch_of(make_span(start=start, end=end))
    assert (patch["start_time"], patch["end_time"], patch["duration"]) == expected


def test_no_times_at_all_leave_them_to_the_server_clock() -> None:
    patch = patch_of(make_span(start=0, end=0))
    assert "start_time" not in patch and "end_time" not in patch
    assert apply([Upsert(P, patch)])[(P, patch["event_id"])]["start_time"] == NOW


def exception(type_: str, message: str, at: int = 1_000_000) -> SpanEvent:
    return SpanEvent(
        "exception",
        at,
        {
            "exception.type": type_,
            "exception.message": message,
            "exception.stacktrace": f"Traceback ...\n{type_}: {message}",
            "exception.escaped": "False",
        },
    )


def test_error_sources_in_order() -> None:
    events = [exception("KeyError", "first", 1_000_000), exception("ValueError", "last", 2_000_000)]
    hh = make_span({"honeyhive_error": "boom"}, status=StatusCode.ERROR, message="E: m")
    assert patch_of(hh)["error"] == "boom"
    status = make_span(events=events, status=StatusCode.ERROR, message="RuntimeError: kaput")
    assert patch_of(status)["error"] == "RuntimeError: kaput"
    assert patch_of(make_span(events=events))["error"] == "ValueError: last"
    bare = make_span(status=StatusCode.ERROR)
    assert patch_of(bare)["error"] == STATUS_ERROR_TEXT  # counted as an error all the same
    assert patch_of(make_span(status=StatusCode.OK, message="fine"))["error"] is None


def test_exception_events_are_kept_in_metadata() -> None:
    patch = patch_of(make_span(events=[exception("ValueError", "bad", 2_500_000)]))
    assert patch["metadata"]["exceptions"] == [
        {
            "type": "ValueError",
            "message": "bad",
            "stacktrace": "Traceback ...\nValueError: bad",
            "escaped": "False",
            "time": 2.5,
        }
    ]


def test_other_span_events_are_kept_in_otel_metadata() -> None:
    event = SpanEvent("cache.miss", 3_000_000, {"cache.key": "k1", "cache.tier": 2})
    otel = patch_of(make_span(events=[event]))["metadata"]["otel"]
    assert otel["events"] == [
        {"name": "cache.miss", "time": 3.0, "attributes": {"cache": {"key": "k1", "tier": 2}}}
    ]


def test_failing_function_and_its_error_sibling_are_two_events() -> None:
    events = fixture_events("s02_otlp_json_batched")
    failing, sibling = events["failing_tool"], events["failing_tool_error"]
    assert failing["error"] == "RuntimeError: kaput"
    assert len(failing["metadata"]["exceptions"]) == 2
    assert failing["metadata"]["otel"]["status"] == {
        "code": "ERROR",
        "message": "RuntimeError: kaput",
    }
    assert sibling["event_type"] == "tool"
    assert sibling["error"] == "kaput"
    assert sibling["metadata"]["error_type"] == "RuntimeError"
    assert sibling["metadata"]["duration_ms"] == pytest.approx(8.685111999511719)
    assert sibling["parent_id"] == sibling["session_id"] == failing["session_id"]
    assert sibling["event_id"] != failing["event_id"]


# --- §7.6 HoneyHive namespaces -------------------------------------------------------------


def test_every_honeyhive_namespace() -> None:
    patch = patch_of(
        make_span(
            {
                "honeyhive_inputs.q": "hi",
                "honeyhive_outputs.answer": "yo",
                "honeyhive_config.model": "m",
                "honeyhive_metadata.k": "v",
                "honeyhive_metrics.score": 0.5,
                "honeyhive_feedback.rating": 5,
                "honeyhive_user_properties.plan": "pro",
                "honeyhive_user_id": "u-1",
                "honeyhive_error_type": "ValueError",
                "honeyhive.experiment_id": "run-1",
                "honeyhive.experiment_name": "exp",
                "honeyhive.experiment_variant": "b",
                "honeyhive.experiment_group": "g",
                "honeyhive.experiment_metadata.split.0": "train",
                "honeyhive_metadata.run_id": "r",
                "honeyhive_metadata.dataset_id": "d",
                "honeyhive_metadata.datapoint_id": "dp",
                "baggage.tenant": "acme",
                "baggage.session_name": "byo",
                "honeyhive_custom_kw.a": 1,
                "honeyhive_flag": True,
                "honeyhive_span_config.model": "echo",
                "honeyhive_duration_ms": 2.5,
            },
            scope="honeyhive.1",
        )
    )
    assert patch["inputs"] == {"q": "hi"}
    assert patch["outputs"] == {"answer": "yo"}
    assert patch["config"] == {"model": "m"}
    assert patch["metrics"] == {"score": 0.5}
    assert patch["feedback"] == {"rating": 5}
    assert patch["user_properties"] == {"plan": "pro", "user_id": "u-1"}
    assert without_otel(patch["metadata"]) == {
        "k": "v",
        "error_type": "ValueError",
        "experiment_id": "run-1",
        "experiment_name": "exp",
        "experiment_variant": "b",
        "experiment_group": "g",
        "experiment_metadata": {"split": ["train"]},
        "run_id": "r",
        "dataset_id": "d",
        "datapoint_id": "dp",
        "baggage": {"tenant": "acme", "session_name": "byo"},
        "custom_kw": {"a": 1},
        "flag": True,
        "duration_ms": 2.5,
    }
    assert "unmapped_attributes" not in patch["metadata"]["otel"]


def test_a_namespace_key_without_suffix_becomes_value() -> None:
    patch = patch_of(make_span({"honeyhive_outputs": "hello", "honeyhive_inputs": 3}))
    assert patch["outputs"] == {"value": "hello"}
    assert patch["inputs"] == {"value": 3}


def test_an_object_valued_namespace_key_merges_in() -> None:
    patch = patch_of(make_span({"honeyhive_inputs": {"q": "hi", "kv": {"0": "a"}}}))
    assert patch["inputs"] == {"q": "hi", "kv": {"0": "a"}}


def test_json_strings_of_the_decorator_stay_strings() -> None:
    patch = patch_of(make_span({"honeyhive_inputs.options": '{"k": 2}'}))
    assert patch["inputs"] == {"options": '{"k": 2}'}


def test_dotted_config_copy_near_the_attribute_limit() -> None:
    patch = patch_of(make_span({"honeyhive.config": '{"model": "m", "t": 1}'}))
    assert patch["config"] == {"model": "m", "t": 1}
    patch = patch_of(make_span({"honeyhive.config.model": "m2", "honeyhive_config.t": 2}))
    assert patch["config"] == {"model": "m2", "t": 2}
    assert patch_of(make_span({"honeyhive.config": "plain"}))["config"] == {"value": "plain"}


def test_explicit_user_properties_win_and_the_other_value_is_kept() -> None:
    patch = patch_of(make_span({"honeyhive_user_properties.user_id": "a", "user.id": "b"}))
    assert patch["user_properties"] == {"user_id": "a"}
    assert patch["metadata"]["otel"]["shadowed"] == {"user_properties.user_id": "b"}


# --- nothing is lost -------------------------------------------------------------------------


def test_unmapped_attributes_are_kept_under_their_own_keys_and_listed() -> None:
    patch = patch_of(
        make_span(
            {
                "http.method": "GET",
                "http.status_code": 200,
                "db.statement": "select 1",
                "honeyhive_metadata.http.route": "/x",
                "custom": [1, 2],
            }
        )
    )
    metadata = patch["metadata"]
    assert metadata["http"] == {"route": "/x", "method": "GET", "status_code": 200}
    assert metadata["db"] == {"statement": "select 1"}
    assert metadata["custom"] == [1, 2]
    assert metadata["otel"]["unmapped_attributes"] == [
        "custom",
        "db.statement",
        "http.method",
        "http.status_code",
    ]


def test_an_unmapped_attribute_never_replaces_a_mapped_value() -> None:
    patch = patch_of(
        make_span(
            {
                "honeyhive_metadata.cost": 0.5,
                "cost": "a custom attribute",
                "llm.token_count.prompt": 3,
                "prompt_tokens.detail": 1,
            }
        )
    )
    metadata = patch["metadata"]
    assert (metadata["cost"], metadata["prompt_tokens"]) == (0.5, 3)
    assert metadata["otel"]["shadowed"] == {
        "metadata.cost": "a custom attribute",
        "metadata.prompt_tokens": {"detail": 1},
    }


def test_a_user_otel_metadata_key_is_kept_beside_ours() -> None:
    metadata = patch_of(make_span({"honeyhive_metadata.otel.note": "mine"}))["metadata"]
    assert metadata["otel"]["note"] == "mine"
    assert metadata["otel"]["trace_id"] == TRACE


# --- robustness --------------------------------------------------------------------------


ODD_ATTRIBUTES: list[dict[str, Any]] = [
    {"honeyhive_event_id": {"not": "a string"}, "honeyhive_event_name": ["x"]},
    {"honeyhive_inputs": {"kv": {"0": "a"}}, "honeyhive_inputs.kv.1": "b"},
    {"a": 1, "a.b": 2, "a.b.c": 3, "a.value": 4},
    {"." * 5: 1, "x..y": 2, "honeyhive_outputs.": 3, "honeyhive.": 4},
    {".".join(["k"] * 400): "deep"},
    {"llm.input_messages.0.message.contents": "not a list", "llm.output_messages": 5},
    {"llm.input_messages.x.message.role": "user", "llm.input_messages.0": "text"},
    {"gen_ai.input.messages": '[1, 2, {"role": 5}]', "gen_ai.output.messages": "{oops"},
    {"llm.token_count.prompt": "twelve", "gen_ai.usage.input_tokens": math.nan},
    {"llm.token_count.prompt": True, "llm.cost.total": "0.5"},
    {"input.value": "[" * 500 + "]" * 500, "input.mime_type": "application/json"},
    {"retrieval.documents.0.document.metadata": "{}", "retrieval.documents.5": 1},
    {"llm.tools.0.tool.json_schema": "{bad", "gen_ai.tool.definitions": "{}"},
    {"metadata": "[1]", "tag.tags": "a,b", "honeyhive.config": "[1]"},
    {"honeyhive_error": 5, "honeyhive.session_name": 3, "honeyhive.parent_id": ""},
]


@pytest.mark.parametrize("attributes", ODD_ATTRIBUTES)
def test_odd_spans_map_without_raising_and_stay_encodable(attributes: dict[str, Any]) -> None:
    events = [
        SpanEvent("gen_ai.choice", 1, {"message": "{bad", "index": "x"}),
        SpanEvent("gen_ai.user.message", 2, {"content": ["a", 1]}),
        SpanEvent("exception", 3, {}),
    ]
    ops = spans_to_ops(P, [make_span(attributes, events=events, status=StatusCode.ERROR)])
    for op in ops:
        orjson.dumps(op.patch)  # what the store does with it
    apply(ops)


def test_the_span_is_not_modified() -> None:
    def attributes() -> dict[str, Any]:
        return {
            "honeyhive_metadata.a": {"x": 1},
            "a": {"y": 2},
            "a.z": 3,
            "honeyhive_config.hyperparameters": {"top_p": 1},
            "gen_ai.request.temperature": 0.5,
            "metadata": '{"a": {"w": 4}}',
        }

    span = make_span(attributes())
    patch = patch_of(span)
    assert span.attributes == attributes()
    assert patch["config"]["hyperparameters"] == {"top_p": 1, "temperature": 0.5}
    assert patch["metadata"]["a"] == {"x": 1, "w": 4, "value": {"y": 2}, "z": 3}


def test_a_missing_total_is_the_sum_of_its_parts() -> None:
    metadata = patch_of(auto_span("a1" * 8, 1, 2))["metadata"]
    assert (metadata["prompt_tokens"], metadata["completion_tokens"]) == (10, 5)
    assert metadata["total_tokens"] == 15


# --- real captures --------------------------------------------------------------------------


def test_capture_decorator_spans_every_namespace() -> None:
    events = fixture_events("s01_tracer_basic")
    lookup = events["lookup_tool"]
    assert lookup["inputs"] == {
        "query": "what is up?",
        "options": '{"k": 2, "filters": ["a", "b"]}',
    }
    assert lookup["outputs"] == {"result": {"rows": ["r1", "r2"], "count": 2}}
    assert lookup["metadata"]["nested"] == {"a": 1, "b": [1, 2]}
    assert lookup["metrics"] == {"latency_ms": 12.5, "hits": 3}

    llm = events["llm_call"]
    assert llm["event_type"] == "model"
    assert llm["config"] == {"model": "gpt-4o-mini", "temperature": 0.2, "provider": "openai"}
    assert llm["outputs"] == {"role": "assistant", "content": "hello", "result": "hello"}
    assert llm["feedback"] == {"rating": 5, "comment": "great"}
    assert llm["user_properties"] == {"user_id": "u-123", "plan": "pro"}
    assert {k: llm["metadata"][k] for k in ("prompt_tokens", "completion_tokens", "cost")} == {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "cost": 0.00012,
    }
    helper = events["__main__.plain_helper"]
    assert (helper["event_type"], helper["inputs"], helper["outputs"]) == (
        "tool",
        {"x": 2, "y": 3},
        {"result": 6},
    )
    pipeline = events["pipeline"]
    assert lookup["parent_id"] == llm["parent_id"] == pipeline["event_id"]
    assert pipeline["parent_id"] == pipeline["session_id"]
    assert events["will_fail"]["error"] == "ValueError: boom 7"
    assert events["will_fail_error"]["error"] == "boom 7"


def test_capture_sessions_and_custom_event_id() -> None:
    events = fixture_events("s08_sessions")
    assert events["custom_id_span"]["event_id"] == "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    assert events["Service.run"]["session_id"] == "11111111-2222-4333-8444-555555555555"
    spans = fixture_spans("s08_sessions")
    sessions = {op.patch["session_id"] for op in spans_to_ops(P, spans) if isinstance(op, Upsert)}
    assert len(sessions) == 5


def test_capture_auto_created_session() -> None:
    spans = fixture_spans("s10_skip_session_auto")
    ops = spans_to_ops(P, spans)
    session_id = "33333333-4444-4555-8666-777777777777"
    assert ops[0] == Update(P, {"event_id": session_id, "event_name": "per-req-auto"})
    session = apply(ops)[(P, session_id)]
    assert session["event_name"] == "per-req-auto"
    assert session["event_type"] == "session"
    assert session["start_time"] == spans[0].start_unix_nano / 1e6


@pytest.mark.parametrize(
    "name",
    [
        "s01_tracer_basic",
        "s02_otlp_json_batched",
        "s08_sessions",
        "s10_skip_session_auto",
        "s14_instr_genai_manual",
        "s14_instr_openinference",
        "s14_instr_traceloop",
    ],
)
def test_every_captured_span_is_stored_under_its_session(name: str) -> None:
    spans = fixture_spans(name)
    ops = spans_to_ops(P, spans)
    rows = apply(ops)
    events = [row for row in rows.values() if row["event_type"] not in (None, "session")]
    assert len(events) == len(spans)
    event_ids = {event["event_id"] for event in events}
    sessions: set[str] = set()
    for event in events:
        session_id = event["session_id"]
        assert session_id is not None
        sessions.add(session_id)
        assert rows[(P, session_id)]["event_type"] == "session"
        assert event["parent_id"] in event_ids | {session_id}
        assert event["source"] == "capture-test"
        if name.startswith(("s01", "s02", "s08", "s10")):  # the SDK's own spans map fully
            assert "unmapped_attributes" not in event["metadata"]["otel"]
    assert sum(rows[(P, session_id)]["num_events"] for session_id in sessions) == len(spans)


def test_capture_openinference_instrumentor() -> None:
    chat = fixture_events("s14_instr_openinference")["ChatCompletion"]
    assert chat["event_type"] == "model"
    assert chat["config"]["model"] == "gpt-4o-mini-2024-07-18"
    assert chat["config"]["provider"] == "openai"
    # The request's model is no hyperparameter (issue 15): it is the request model.
    assert chat["config"]["hyperparameters"] == {"max_tokens": 50, "temperature": 0.1}
    assert chat["config"]["request_model"] == "gpt-4o-mini"
    assert chat["config"]["tools"][0]["function"]["name"] == "get_weather"
    assert chat["inputs"] == {
        "chat_history": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello"},
        ]
    }
    assert chat["outputs"] == {"role": "assistant", "content": "Hello from the capture server"}
    metadata = chat["metadata"]
    assert (metadata["prompt_tokens"], metadata["completion_tokens"]) == (12, 6)
    assert (metadata["total_tokens"], metadata["finish_reason"]) == (18, "stop")
    assert json.loads(metadata["output"]["value"])["system_fingerprint"] == "fp_capture"


def test_capture_traceloop_instrumentor() -> None:
    chat = fixture_events("s14_instr_traceloop")["openai.chat"]
    assert chat["event_type"] == "model"
    assert chat["config"]["model"] == "gpt-4o-mini-2024-07-18"
    assert chat["config"]["request_model"] == "gpt-4o-mini"
    assert chat["config"]["hyperparameters"] == {
        "max_tokens": 50,
        "temperature": 0.1,
        "is_streaming": False,
    }
    assert chat["config"]["tools"][0]["name"] == "get_weather"
    assert [m["content"] for m in chat["inputs"]["chat_history"]] == ["You are terse.", "Say hello"]
    assert chat["outputs"] == {
        "role": "assistant",
        "content": "Hello from the capture server",
        "finish_reason": "stop",
    }
    metadata = chat["metadata"]
    assert (metadata["prompt_tokens"], metadata["completion_tokens"]) == (12, 6)
    assert metadata["total_tokens"] == 18
    assert (metadata["response_id"], metadata["system_fingerprint"]) == (
        "chatcmpl-capture",
        "fp_capture",
    )
    assert metadata["gen_ai"]["openai"] == {"api_base": "http://127.0.0.1:PORT/openai/v1/"}


def test_capture_hand_made_genai_spans() -> None:
    events = fixture_events("s14_instr_genai_manual")
    types = {name: event["event_type"] for name, event in events.items()}
    assert types == {
        "chat gpt-4o-mini": "model",
        "execute_tool get_weather": "tool",
        "retrieve docs": "tool",
        "plain internal work": "tool",
        "agent_turn": "chain",
    }
    chat = events["chat gpt-4o-mini"]
    assert chat["inputs"] == {"chat_history": [{"role": "user", "content": "Say hello"}]}
    assert chat["outputs"] == {"role": "assistant", "content": "hi", "finish_reason": "stop"}
    assert events["execute_tool get_weather"]["inputs"] == {
        "tool_name": "get_weather",
        "tool_call_id": "call_1",
    }
    assert events["plain internal work"]["metadata"]["custom"] == {"attr": 1}
    parent = events["agent_turn"]["event_id"]
    assert all(e["parent_id"] == parent for n, e in events.items() if n != "agent_turn")

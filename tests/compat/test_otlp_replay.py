"""Replays every OTLP export the real honeyhive 1.7.0 SDK put on the wire, byte for byte.

Each capture in `tests/data/honeyhive-sdk-1.7.0/` holds what one scenario script sent
to a stand-in server. Every capture with an OTLP export is replayed in order to a
fresh server: the exports with their bodies as sent (JSON text; protobuf, gzipped or
not, from the raw bytes), together with the session starts, updates and legacy event
posts around them, so the session/update interplay is the SDK's own. Then the stored
events are checked twice: generically (every span of the capture is stored once, in
its session, under its parent, with its times) and against what the capture's scenario
script implies (names, types, inputs, outputs, errors, enrichment, roll-ups).

The `f0x` captures recorded a stand-in that answered errors (500, 503, 401, …): we
must accept what it refused. `s18_no_key` exported with the token `None`: a 401.

One adjustment keeps the replay faithful: when the stand-in minted a session id for a
`/session/start` that named none, that id is sent along with the start, because the
spans the SDK sent next name it. The export bodies are never changed.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.support.reads import (
    Event,
    assert_kept_unmapped,
    by_name,
    export,
    session_tree,
    shape,
    stored_event,
)
from tests.support.server import run_server

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "honeyhive-sdk-1.7.0"
OTLP_PATHS = frozenset({"/opentelemetry/v1/traces", "/v1/traces"})
# The other requests of these captures that reach hivekeeper's routes.
REPLAYED = frozenset({("POST", "/session/start"), ("PUT", "/events"), ("POST", "/events")})
NOT_REPLAYED = {
    re.compile(r"/v1/runs(/.*)?"): "experiment runs, outside OTLP ingestion",
    re.compile(r"/openai/v1/.*"): "the scenario's call to its fake OpenAI server",
}
# s18 ran with no key at all, and the SDK sent the literal token "None" (capture notes).
NO_KEY_CAPTURES = frozenset({"s18_no_key"})
# Headers that describe one connection, not the SDK's request; httpx sets its own.
_CONNECTION_HEADERS = frozenset({"host", "content-length", "connection", "authorization"})
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"

Capture = dict[str, Any]


@cache
def _capture(name: str) -> Capture:
    capture: Capture = json.loads((DATA_DIR / f"{name}.json").read_text())
    return capture


def _is_otlp(request: dict[str, Any]) -> bool:
    return request["method"] == "POST" and request["path"] in OTLP_PATHS


def _is_replayed(request: dict[str, Any]) -> bool:
    return _is_otlp(request) or (request["method"], request["path"]) in REPLAYED


def _captures_with_otlp() -> list[str]:
    return sorted(
        path.stem
        for path in DATA_DIR.glob("*.json")
        if any(_is_otlp(e["request"]) for e in _capture(path.stem)["exchanges"])
    )


def _token(name: str, request: dict[str, Any], keys: dict[str, str]) -> str:
    if name in NO_KEY_CAPTURES:
        return "None"
    redacted = request["headers"].get("Authorization") or request["headers"]["authorization"]
    kind = re.search(r"kind=([^;>]+)", redacted)
    assert kind is not None, redacted
    return keys[kind.group(1)]


def _headers(name: str, request: dict[str, Any], keys: dict[str, str]) -> dict[str, str]:
    """The SDK's own headers, with our key for the kind of key it had redacted."""
    headers = {k: v for k, v in request["headers"].items() if k.lower() not in _CONNECTION_HEADERS}
    headers["Authorization"] = f"Bearer {_token(name, request, keys)}"
    return headers


def _minted_session_id(exchange: dict[str, Any]) -> str | None:
    answer = exchange.get("response_sent_by_capture_server") or {}
    body = answer.get("body")
    if answer.get("status") != 200 or not isinstance(body, dict):
        return None
    session_id = body.get("session_id")
    return session_id if isinstance(session_id, str) else None


def _content(exchange: dict[str, Any]) -> bytes | None:
    request = exchange["request"]
    if request["body_kind"] == "none":
        return None
    if request["body_kind"] == "otlp-protobuf":
        # The bytes as sent: gzip bytes when the request had Content-Encoding: gzip.
        return base64.b64decode(request["body_raw_base64"])
    assert request["body_kind"] == "json", request["body_kind"]
    if _is_otlp(request):
        # The SDK's JSON exporter encodes with json.dumps' defaults: this reproduces the
        # recorded Content-Length (bar the `PORT` placeholder in one URL attribute).
        return json.dumps(request["body"]).encode()
    body = request["body"]
    if request["path"] == "/session/start" and (minted := _minted_session_id(exchange)):
        body = copy.deepcopy(body)
        body["session"].setdefault("session_id", minted)
    # httpx's own JSON encoding, as the SDK's REST client sends it.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Answer:
    request: dict[str, Any]
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Replayed:
    name: str
    answers: list[Answer]
    api: httpx.Client

    @property
    def capture(self) -> Capture:
        return _capture(self.name)


def replay(url: str, keys: dict[str, str], name: str) -> list[Answer]:
    """Send the capture's replayed requests in order; return every answer."""
    answers = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for exchange in _capture(name)["exchanges"]:
            request = exchange["request"]
            if not _is_replayed(request):
                continue
            response = client.request(
                request["method"],
                request["path"],
                params=request["query"],
                headers=_headers(name, request, keys),
                content=_content(exchange),
            )
            answers.append(
                Answer(
                    request=request,
                    status=response.status_code,
                    content_type=response.headers.get("content-type", ""),
                    body=response.content,
                )
            )
    return answers


@pytest.fixture(scope="module", params=_captures_with_otlp())
def replayed(
    request: pytest.FixtureRequest, module_store: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replayed]:
    """One capture replayed to its own fresh server; the tests read what was stored."""
    name: str = request.param
    with run_server(tmp_path_factory.mktemp(name), module_store) as live, live.client() as api:
        keys = {"other": live.key, "hh_ingst_*": live.new_key(kind="ingest")}
        yield Replayed(name=name, answers=replay(live.url, keys, name), api=api)


# --- what every capture must satisfy -------------------------------------------------


def _attributes(span: dict[str, Any]) -> dict[str, Any]:
    """Attribute values of a capture's (decoded) span: scalars only, enough for ids."""
    values = {}
    for attribute in span.get("attributes", []):
        (value,) = attribute["value"].values() or [None]
        values[attribute["key"]] = value
    return values


@dataclass(frozen=True, slots=True)
class CapturedSpan:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    event_name: str
    session_id: str
    start_ms: float
    end_ms: float


def _spans(capture: Capture) -> list[CapturedSpan]:
    """The distinct spans the capture exported (a retried export repeats its spans)."""
    spans: dict[tuple[str, str], CapturedSpan] = {}
    for exchange in capture["exchanges"]:
        if not _is_otlp(exchange["request"]):
            continue
        for resource in exchange["request"]["body"]["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    attributes = _attributes(span)
                    spans[span["traceId"], span["spanId"]] = CapturedSpan(
                        trace_id=span["traceId"],
                        span_id=span["spanId"],
                        parent_span_id=span.get("parentSpanId") or None,
                        event_name=attributes.get("honeyhive_event_name", span["name"]),
                        session_id=attributes["honeyhive.session_id"],
                        start_ms=int(span["startTimeUnixNano"]) / 1e6,
                        end_ms=int(span["endTimeUnixNano"]) / 1e6,
                    )
    return list(spans.values())


def _span_sessions(capture: Capture) -> list[str]:
    """The session ids the capture's spans name, in order of first appearance."""
    return list(dict.fromkeys(span.session_id for span in _spans(capture)))


def test_every_otlp_exchange_of_every_capture_is_covered() -> None:
    names = _captures_with_otlp()
    assert names, f"no capture with an OTLP export in {DATA_DIR}"
    assert set(names) == set(SCENARIOS), "a capture without expectations, or the reverse"
    for name in names:
        for exchange in _capture(name)["exchanges"]:
            request = exchange["request"]
            skipped = [why for path, why in NOT_REPLAYED.items() if path.fullmatch(request["path"])]
            assert _is_replayed(request) != bool(skipped), f"{name}: {request['target']}"
            if _is_otlp(request):
                _assert_sent_as_recorded(name, exchange)


def _assert_sent_as_recorded(name: str, exchange: dict[str, Any]) -> None:
    """The bytes we send are the bytes the SDK sent: their length is the recorded one."""
    request = exchange["request"]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    content = _content(exchange)
    assert content is not None, name
    if request["body_kind"] == "otlp-protobuf":
        assert headers.get("content-encoding") == request["content_encoding"], name
        if request["content_encoding"] is None:
            assert len(content) == int(headers["content-length"]), name
        else:  # s04 recorded a Content-Length 4 bytes short of its gzip body; the body wins
            assert request["content_encoding"] == "gzip", name
            unzipped = base64.b64decode(request["body_uncompressed_base64"])
            assert gzip.decompress(content) == unzipped, name
        return
    assert request["body_kind"] == "json", name
    assert "content-encoding" not in headers, name
    # The capture wrote `PORT` over a 5-digit port number inside one URL attribute.
    shortfall = int(headers["content-length"]) - len(content)
    assert 0 <= shortfall <= content.count(b":PORT/"), name


def test_every_replayed_request_is_answered_as_the_sdk_expects(replayed: Replayed) -> None:
    expected_otlp = 401 if replayed.name in NO_KEY_CAPTURES else 200
    otlp = [a for a in replayed.answers if _is_otlp(a.request)]
    assert len(otlp) == sum(_is_otlp(e["request"]) for e in replayed.capture["exchanges"])
    for answer in replayed.answers:
        where = f"{answer.request['method']} {answer.request['target']}"
        if not _is_otlp(answer.request):
            assert answer.status == 200, f"{where}: {answer.body!r}"
            assert answer.content_type.startswith("application/json"), where
            continue
        assert answer.status == expected_otlp, f"{where}: {answer.body!r}"
        # The answer is in the request's encoding (spec §6.1).
        if answer.request["body_kind"] == "otlp-protobuf":
            assert answer.content_type.startswith("application/x-protobuf"), where
            if answer.status == 200:
                parsed = ExportTraceServiceResponse.FromString(answer.body)
                assert parsed.partial_success.rejected_spans == 0, where
        else:
            assert answer.content_type.startswith("application/json"), where
            body = json.loads(answer.body)
            if answer.status == 200:
                rejected = body.get("partialSuccess", {}).get("rejectedSpans", 0)
                assert int(rejected) == 0, f"{where}: {body}"
            else:
                assert isinstance(body["message"], str) and body["message"], body


def test_every_span_is_stored_once_in_its_session_under_its_parent(replayed: Replayed) -> None:
    api, capture = replayed.api, replayed.capture
    if replayed.name in NO_KEY_CAPTURES:
        assert export(api) == []  # refused, so nothing to find
        return
    spans = _spans(capture)
    posted = Counter(  # events the capture created through the REST route, per session
        e["request"]["body"]["event"]["session_id"]
        for e in capture["exchanges"]
        if (e["request"]["method"], e["request"]["path"]) == ("POST", "/events")
    )
    stored_for: dict[tuple[str, str], Event] = {}
    for session_id in _span_sessions(capture):
        session = stored_event(api, session_id)
        assert (session["event_type"], session["parent_id"]) == ("session", None)
        events = [e for e in export(api, session_id=session_id) if e["event_id"] != session_id]
        in_session = [s for s in spans if s.session_id == session_id]
        assert len(events) == len(in_session) + posted[session_id], [
            e["event_name"] for e in events
        ]
        for span in in_session:
            matches = [
                e
                for e in events
                if e["event_name"] == span.event_name
                and e["start_time"] == pytest.approx(span.start_ms, abs=0.01)
            ]
            assert len(matches) == 1, (span, [(e["event_name"], e["start_time"]) for e in events])
            (event,) = matches
            assert event["end_time"] == pytest.approx(span.end_ms, abs=0.01)
            assert event["duration"] == pytest.approx(span.end_ms - span.start_ms, abs=0.01)
            stored_for[span.trace_id, span.span_id] = event
    for span in spans:
        event = stored_for[span.trace_id, span.span_id]
        if span.parent_span_id is None:
            assert event["parent_id"] == span.session_id, span
        else:
            parent = stored_for[span.trace_id, span.parent_span_id]
            assert event["parent_id"] == parent["event_id"], span
            assert event["event_id"] in parent["children_ids"], span


def test_stored_events_are_what_the_scenario_implies(replayed: Replayed) -> None:
    SCENARIOS[replayed.name](replayed)


# --- what each scenario implies --------------------------------------------------------


def _started_session(replayed: Replayed, session_name: str) -> Event:
    """The session the capture's spans name, started under `session_name`."""
    (session_id,) = _span_sessions(replayed.capture)
    tree = session_tree(replayed.api, session_id)
    assert tree["event_name"] == session_name
    return tree


def _otlp_variant(replayed: Replayed) -> None:
    """`s02_otlp_variant.py`: parent chain → child model (enriched), one failing tool."""
    tree = _started_session(replayed, "otlp-variant")
    assert tree["source"] == "capture-test"
    assert shape(tree) == {
        "parent_chain": ("chain", {"child_model": ("model", {})}),
        "failing_tool": ("tool", {}),
        "failing_tool_error": ("tool", {}),
    }
    events = by_name(tree)
    result = {"result": {"text": "ok", "tokens": [1, 2]}}
    child = events["child_model"]
    assert child["inputs"] == {"prompt": "hi!"}
    assert child["outputs"] == result
    assert child["config"] == {"model": "gpt-x"}
    assert child["metrics"] == {"m": 1.5}
    assert child["metadata"]["k"] == "v"
    assert child["source"] == "capture-test"
    parent = events["parent_chain"]
    assert (parent["inputs"], parent["outputs"]) == ({"q": "hi"}, result)
    assert events["failing_tool"]["error"] == "RuntimeError: kaput"
    assert events["failing_tool_error"]["error"] == "kaput"
    assert child["error"] is None and parent["error"] is None
    assert (
        tree["metadata"].items()
        >= {
            "num_events": 4,
            "num_model_events": 1,
            "error_count": 1,  # the exception and its `_error` sibling count once
        }.items()
    )


def _faults(replayed: Replayed, *, started: bool) -> None:
    """`s07_faults.py`: two `one` tool spans, then `enrich_session(metadata=...)`.

    `started`: whether the spans' session is the one `/session/start` answered (else
    the start failed and the tracer went on with a fallback id we never saw started).
    """
    (session_id,) = _span_sessions(replayed.capture)
    tree = session_tree(replayed.api, session_id)
    assert tree["event_type"] == "session"
    assert tree["source"] == "capture-test"
    assert tree["event_name"] == ("faults" if started else "unknown")
    assert tree["metadata"].items() >= {"after": "faults", "num_events": 2}.items()
    assert [(c["event_name"], c["event_type"]) for c in tree["children"]] == [("one", "tool")] * 2
    assert [c["outputs"] for c in tree["children"]] == [{"result": 1}] * 2
    if not started:  # the start we replayed made a session of its own, with no events
        (orphan,) = export(replayed.api, event_name="faults")
        assert orphan["event_id"] != session_id
        assert orphan["metadata"]["num_events"] == 0


def _tracer_basic(replayed: Replayed) -> None:
    """`s01_tracer_basic.py`: every decorator form, enrich_span, an error, enrich_session."""
    tree = _started_session(replayed, "capture-session")
    assert shape(tree) == {
        "pipeline": (
            "chain",
            {
                "lookup_tool": ("tool", {}),
                "llm_call": ("model", {}),
                "__main__.plain_helper": ("tool", {}),
            },
        ),
        "will_fail": ("tool", {}),
        "will_fail_error": ("tool", {}),
    }
    # Both session updates came before the spans.
    assert (
        tree["metadata"].items()
        >= {
            "session_meta": "m1",
            "inputs": {"first_question": "what is up?"},
            "custom_kw": "goes-to-metadata",
            "via": "legacy-free-function",
            "num_events": 6,
            "num_model_events": 1,
            "error_count": 1,  # the exception and its `_error` sibling count once
            "has_feedback": True,
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
        }.items()
    )
    assert tree["metadata"]["cost"] == pytest.approx(0.00012)
    assert tree["feedback"] == {"thumbs": "up"}
    assert tree["metrics"] == {"session_score": 0.9}
    assert tree["outputs"] == {"final": "done"}
    assert tree["config"] == {"app_version": "1.2.3"}
    assert tree["user_properties"] == {"user_id": "u-123"}

    events = by_name(tree)
    llm = events["llm_call"]
    # honeyhive_span_config.* only echoes honeyhive_config.* (spec §7.6).
    assert llm["config"] == {"model": "gpt-4o-mini", "temperature": 0.2, "provider": "openai"}
    assert "span_config" not in llm["metadata"]
    assert llm["inputs"] == {"prompt": "Q: what is up? ctx: {'rows': ['r1', 'r2'], 'count': 2}"}
    assert llm["outputs"] == {"role": "assistant", "content": "hello", "result": "hello"}
    assert llm["feedback"] == {"rating": 5, "comment": "great"}
    assert llm["user_properties"] == {"user_id": "u-123", "plan": "pro"}
    assert (
        llm["metadata"].items()
        >= {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "cost": 0.00012,
        }.items()
    )
    lookup = events["lookup_tool"]
    assert lookup["inputs"] == {
        "query": "what is up?",
        "options": '{"k": 2, "filters": ["a", "b"]}',  # a JSON string stays one
    }
    assert lookup["metadata"].items() >= {"db": "kv", "nested": {"a": 1, "b": [1, 2]}}.items()
    assert lookup["metrics"] == {"latency_ms": 12.5, "hits": 3}
    assert lookup["outputs"] == {"result": {"rows": ["r1", "r2"], "count": 2}}
    pipeline = events["pipeline"]
    assert pipeline["inputs"] == {"question": "what is up?", "explicit": "inputs"}
    assert pipeline["metadata"]["version"] == "1"
    assert pipeline["outputs"] == {"result": {"answer": "hello", "product": 6}}
    assert events["__main__.plain_helper"]["inputs"] == {"x": 2, "y": 3}
    assert events["__main__.plain_helper"]["outputs"] == {"result": 6}
    failed = events["will_fail"]
    assert failed["error"] == "ValueError: boom 7"
    assert failed["inputs"] == {"n": 7}
    # Its `exception` span events are kept, stack trace included (spec §7.5).
    assert any("raise ValueError" in e["stacktrace"] for e in failed["metadata"]["exceptions"])
    assert events["will_fail_error"]["error"] == "boom 7"
    assert [n for n, e in events.items() if e["error"]] == ["will_fail", "will_fail_error"]


def _sessions(replayed: Replayed) -> None:
    """`s08_sessions.py`: per-request sessions, a provided id, skip_api_call, async, …"""
    api = replayed.api
    request_1, request_2, byo, async_req, fixed = _span_sessions(replayed.capture)
    assert fixed == "11111111-2222-4333-8444-555555555555"

    init = session_tree(api, fixed)
    assert (init["event_name"], init["inputs"]) == ("init-session", {"init_input": "x"})
    assert shape(init) == {
        "Service.run": ("tool", {}),  # @trace_class names spans Class.method
        "custom_id_span": ("tool", {}),
        "outbound_call": ("chain", {}),
        "manual_event": ("model", {}),  # tracer.create_event → POST /events
    }
    # enrich_span(update_event_id=...) sets the event's id.
    custom = stored_event(api, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
    assert (custom["event_name"], custom["session_id"]) == ("custom_id_span", fixed)
    outbound = by_name(init)["outbound_call"]
    assert outbound["outputs"]["result"]["traceparent"].startswith("00-8c650045")

    for session_id, name, inputs, request in (
        (request_1, "request-1", {"path": "/chat"}, "r1"),
        (request_2, "request-2", {"q": "two"}, "r2"),
    ):
        tree = session_tree(api, session_id)
        assert (tree["event_name"], tree["inputs"]) == (name, inputs)
        assert shape(tree) == {"handle_request": ("chain", {})}
        handled = tree["children"][0]
        assert handled["inputs"] == {"req": request}
        assert handled["metadata"]["req"] == request
        assert handled["outputs"] == {"result": f"handled {request}"}
    first = session_tree(api, request_1)
    assert first["outputs"] == {"status_code": 200}
    assert first["metadata"]["ip"] == "127.0.0.1"
    assert first["user_properties"] == {"user_id": "u-9"}

    # create_session(session_id=..., skip_api_call=True): no start, created on the fly.
    own = session_tree(api, byo)
    assert (own["event_type"], own["parent_id"]) == ("session", None)
    assert shape(own) == {"handle_request": ("chain", {})}
    assert own["children"][0]["metadata"]["baggage"] == {"session_name": "byo"}

    concurrent = session_tree(api, async_req)
    assert (concurrent["event_name"], concurrent["source"]) == ("async-req", "async-src")
    assert shape(concurrent) == {"async_tool": ("tool", {})}
    assert concurrent["children"][0]["outputs"] == {"result": 42}

    # tracer.session_start() made one more session, which no span names.
    (later,) = [e for e in export(api, event_name="init-session") if e["event_id"] != fixed]
    assert later["event_type"] == "session"
    assert later["metadata"]["num_events"] == 0


def _skip_session_provided(replayed: Replayed) -> None:
    """`s09`, MODE=provided: spans name a session nobody started; it is created."""
    (session_id,) = _span_sessions(replayed.capture)
    assert session_id == "22222222-3333-4444-8555-666666666666"
    tree = session_tree(replayed.api, session_id)
    assert (tree["event_type"], tree["parent_id"], tree["source"]) == (
        "session",
        None,
        "capture-test",
    )
    assert tree["event_name"] == "unknown"
    assert shape(tree) == {"span_a": ("tool", {})}
    assert tree["children"][0]["outputs"] == {"result": "a"}
    assert tree["metadata"]["num_events"] == 1


def _skip_session_auto(replayed: Replayed) -> None:
    """`s09`, MODE=auto: the span asks for its session to be created, and names it."""
    (session_id,) = _span_sessions(replayed.capture)
    tree = session_tree(replayed.api, session_id)
    assert (tree["event_type"], tree["event_name"]) == ("session", "per-req-auto")
    assert shape(tree) == {"span_a": ("tool", {})}


def _evaluate(replayed: Replayed) -> None:
    """`s13_evaluate.py`: one session per datapoint, scored by an evaluator."""
    run_id = "4e68c80a-3e98-42a1-9491-d28f79a04a1f"
    sessions = _span_sessions(replayed.capture)
    assert len(sessions) == 2
    for session_id, question, answer, truth, score in zip(
        sessions, ("hi", "yo"), ("HI", "YO"), ("HI", "nope"), (1.0, 0.0), strict=True
    ):
        tree = session_tree(replayed.api, session_id)
        assert (tree["event_name"], tree["source"]) == ("capture-eval", "evaluation")
        assert tree["inputs"] == {"q": question}
        assert tree["metadata"]["run_id"] == run_id
        assert tree["feedback"] == {"ground_truth": {"a": truth}}
        assert tree["outputs"] == {"answer": answer}
        assert shape(tree) == {"fn": ("chain", {})}
        fn = tree["children"][0]
        assert fn["metrics"] == {"exact_match": score}
        assert fn["metadata"]["run_id"] == run_id
        assert fn["outputs"] == {"result": {"answer": answer}}
        assert fn["source"] == "evaluation"


def _instrumented_turn(replayed: Replayed, session_name: str, call: str) -> Event:
    """`s14_instrumentors.py`: `agent_turn` (chain) around one model call; the call."""
    tree = _started_session(replayed, session_name)
    assert shape(tree)["agent_turn"][0] == "chain"
    events = by_name(tree)
    model = events[call]
    assert model["event_type"] == "model"
    assert model["config"]["model"] == RESPONSE_MODEL  # the response's model
    assert (
        model["metadata"].items()
        >= {
            "prompt_tokens": 12,
            "completion_tokens": 6,
            "total_tokens": 18,
        }.items()
    )
    assert tree["metadata"].items() >= {"num_model_events": 1, "total_tokens": 18}.items()
    return model


def _openinference(replayed: Replayed) -> None:
    model = _instrumented_turn(replayed, "instrumentor-openinference", "ChatCompletion")
    assert model["inputs"]["chat_history"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hello"},
    ]
    reply = {"role": "assistant", "content": "Hello from the capture server"}
    assert model["outputs"].items() >= reply.items()
    assert model["config"]["provider"] == "openai"
    assert (
        model["config"]["hyperparameters"].items() >= {"max_tokens": 50, "temperature": 0.1}.items()
    )
    assert "get_weather" in json.dumps(model["config"]["tools"])


def _traceloop(replayed: Replayed) -> None:
    model = _instrumented_turn(replayed, "instrumentor-traceloop", "openai.chat")
    assert model["inputs"]["chat_history"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hello"},
    ]
    assert (
        model["outputs"].items()
        >= {
            "role": "assistant",
            "content": "Hello from the capture server",
            "finish_reason": "stop",
        }.items()
    )
    assert (
        model["config"]["hyperparameters"].items() >= {"max_tokens": 50, "temperature": 0.1}.items()
    )


def _genai_manual(replayed: Replayed) -> None:
    model = _instrumented_turn(replayed, "instrumentor-genai_manual", "chat gpt-4o-mini")
    tree = session_tree(replayed.api, model["session_id"])
    assert shape(tree) == {
        "agent_turn": (
            "chain",
            {
                "chat gpt-4o-mini": ("model", {}),
                "execute_tool get_weather": ("tool", {}),
                "retrieve docs": ("tool", {}),
                "plain internal work": ("tool", {}),
            },
        )
    }
    assert model["inputs"]["chat_history"] == [{"role": "user", "content": "Say hello"}]
    assert (
        model["outputs"].items()
        >= {
            "role": "assistant",
            "content": "hi",
            "finish_reason": "stop",
        }.items()
    )
    assert (
        model["config"]["hyperparameters"].items()
        >= {"max_tokens": 100, "temperature": 0.1}.items()
    )
    # An attribute no rule maps is kept (spec §7.7).
    assert_kept_unmapped(by_name(tree)["plain internal work"], "custom.attr", 1)


def _no_key(replayed: Replayed) -> None:
    """`s18_no_key.py`: `Bearer None` is refused, and nothing is stored."""
    (session_id,) = _span_sessions(replayed.capture)
    assert replayed.api.get(f"/v1/sessions/{session_id}").status_code == 404
    assert export(replayed.api) == []


SCENARIOS: dict[str, Callable[[Replayed], None]] = {
    "f01_session_start_500": lambda r: _faults(r, started=False),
    "f02_session_start_401": lambda r: _faults(r, started=False),
    "f03_session_start_minimal": lambda r: _faults(r, started=False),
    "f04_otlp_json_503": lambda r: _faults(r, started=True),
    "f05_otlp_json_500": lambda r: _faults(r, started=True),
    "f06_otlp_proto_503": lambda r: _faults(r, started=True),  # the same span sent 3 times
    "f07_otlp_proto_400": lambda r: _faults(r, started=True),
    "f08_otlp_json_401": lambda r: _faults(r, started=True),
    "f09_put_events_500": lambda r: _faults(r, started=True),
    "s01_tracer_basic": _tracer_basic,
    "s02_otlp_json_batched": _otlp_variant,
    "s03_otlp_protobuf": _otlp_variant,
    "s04_otlp_protobuf_gzip": _otlp_variant,
    "s05_otlp_json_immediate": _otlp_variant,
    "s06_otel_protocol_env": _otlp_variant,
    "s08_sessions": _sessions,
    "s09_skip_session_provided": _skip_session_provided,
    "s10_skip_session_auto": _skip_session_auto,
    "s13_evaluate": _evaluate,
    "s14_instr_genai_manual": _genai_manual,
    "s14_instr_openinference": _openinference,
    "s14_instr_traceloop": _traceloop,
    "s16_otlp_json_compression_env": _otlp_variant,
    "s17_tracer_ingestion_key": _otlp_variant,
    "s18_no_key": _no_key,
}

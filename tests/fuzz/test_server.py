"""A real server under hostile input: every answer is a 2xx or a clean 4xx, never a 5xx.

One server per module, on loopback, takes mutated OTLP (protobuf and JSON, with odd
Content-Types and Content-Encodings) and random REST bodies for every write and query
route. A 4xx must be the error shape its route promises; after each property the server
still answers `/health` and still stores a valid write.
"""

from __future__ import annotations

import gzip
import re
import uuid
import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
import pytest
from google.protobuf.message import DecodeError
from google.rpc.status_pb2 import Status
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from hivekeeper.ingest.span_mapping import span_event_id
from tests.fuzz.strategies import (
    HOSTILE_VALUES,
    HUGE_PAGES,
    NUMBER_TEXT,
    SIGNED_NUMBER_TEXT,
    TEXT,
    VALID_OTLP_BYTES,
    dumps,
    examples,
    many_filters,
    mutated_protobuf,
    otlp_json_body,
    rest_body,
)
from tests.support.reads import session_tree, stored_event
from tests.support.server import LiveServer, run_server
from tests.ui.client import browser, sign_in


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, module_store: str) -> Iterator[LiveServer]:
    # Small limits, so that hostile values reach them often.
    with run_server(
        tmp_path_factory.mktemp("fuzz"),
        module_store,
        max_body_bytes=256 * 1024,
        max_json_depth=32,
        max_string_chars=16 * 1024,
        otlp_max_value_depth=16,
        max_batch_events=50,
        max_filters=20,
    ) as server:
        yield server


@pytest.fixture(scope="module")
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as api:
        yield api


@pytest.fixture(autouse=True)
def still_alive(client: httpx.Client) -> Iterator[None]:
    """After each property: `/health` answers and a valid write is stored."""
    yield
    assert client.get("/health").status_code == 200
    event_id = str(uuid.uuid4())
    written = client.post("/events", json={"event": {"event_type": "tool", "event_id": event_id}})
    assert written.status_code == 200, written.text
    assert client.get(f"/v1/events/{event_id}").status_code == 200


def _clean_json(answer: httpx.Response) -> None:
    assert answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    body = answer.json()
    if answer.status_code >= 400:
        assert isinstance(body["message"], str) and body["message"], body
        assert isinstance(body["errorCode"], str), body


def _clean_otlp(answer: httpx.Response, sent_protobuf: bool) -> None:
    assert answer.status_code < 500, answer.content
    if answer.headers["content-type"] == "application/json":
        _clean_json(answer)
        return
    assert sent_protobuf, answer.headers
    assert answer.headers["content-type"] == "application/x-protobuf"
    if answer.status_code >= 400:
        try:
            status = Status.FromString(answer.content)
        except DecodeError:
            pytest.fail(f"not a google.rpc.Status: {answer.content!r}")
        assert status.code and status.message


CONTENT_TYPES = st.sampled_from(
    [
        "application/x-protobuf",
        "application/protobuf",
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "",
        "application/x-protobuf; garbage",
    ]
)


@st.composite
def _encoded(draw: st.DrawFn, body: bytes) -> tuple[bytes, dict[str, str]]:
    """`body` sent as is, compressed, or claiming a compression it does not have."""
    how = draw(st.sampled_from(["identity", "gzip", "deflate", "lie", "unknown"]))
    if how == "gzip":
        return gzip.compress(body), {"Content-Encoding": "gzip"}
    if how == "deflate":
        return zlib.compress(body), {"Content-Encoding": "deflate"}
    if how == "lie":
        return body, {"Content-Encoding": draw(st.sampled_from(["gzip", "deflate", "x-gzip"]))}
    if how == "unknown":
        return body, {
            "Content-Encoding": draw(st.sampled_from(["br", "zstd", "gzip,deflate", "gzip, br"]))
        }
    return body, {}


def _post_otlp(client: httpx.Client, body: bytes, content_type: str, data: st.DataObject) -> None:
    sent, headers = data.draw(_encoded(body))
    if content_type:
        headers["Content-Type"] = content_type
    route = data.draw(st.sampled_from(["/opentelemetry/v1/traces", "/v1/traces"]))
    answer = client.post(route, content=sent, headers=headers)
    declared_json = content_type.startswith("application/json")
    _clean_otlp(answer, sent_protobuf=not declared_json)


@examples(400)
@given(body=mutated_protobuf(), content_type=CONTENT_TYPES, data=st.data())
def test_otlp_protobuf(client: httpx.Client, body: bytes, content_type: str, data: Any) -> None:
    _post_otlp(client, body, content_type, data)


@examples(400)
@given(body=otlp_json_body(), content_type=CONTENT_TYPES, data=st.data())
def test_otlp_json(client: httpx.Client, body: bytes, content_type: str, data: Any) -> None:
    _post_otlp(client, body, content_type, data)


def test_the_valid_otlp_request_is_stored(client: httpx.Client) -> None:
    """The request the mutations start from, under ids of its own (the properties above
    may have stored mutated spans under its ids): every span is stored, and read back."""
    request = ExportTraceServiceRequest.FromString(VALID_OTLP_BYTES)
    session_id, trace_id = str(uuid.uuid4()), uuid.uuid4().bytes
    spans = request.resource_spans[0].scope_spans[0].spans
    for span in spans:
        span.trace_id = trace_id
        for attribute in span.attributes:
            if attribute.key == "honeyhive.session_id":
                attribute.value.string_value = session_id
    answer = client.post(
        "/v1/traces",
        content=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert answer.status_code == 200, answer.content
    assert not ExportTraceServiceResponse.FromString(answer.content).HasField("partial_success")

    chain, model = (
        stored_event(client, span_event_id(trace_id.hex(), span.span_id.hex())) for span in spans
    )
    assert (chain["event_type"], chain["event_name"]) == ("chain", "step-0")
    assert (model["event_type"], model["event_name"]) == ("model", "step-1")
    assert (chain["parent_id"], model["parent_id"]) == (session_id, chain["event_id"])
    for event in (chain, model):
        assert event["session_id"] == session_id
        assert event["inputs"]["chat_history"] == [{"role": "user", "content": "hi"}]
        assert event["outputs"] == {"role": "assistant", "content": "hello"}
        assert event["error"] == "failed"
        assert event["metadata"]["cost"] == 0.25
        assert event["metadata"]["exceptions"][0]["message"] == "boom"
    tree = session_tree(client, session_id)
    assert [c["event_id"] for c in tree["children"]] == [chain["event_id"]]
    assert [c["event_id"] for c in tree["children"][0]["children"]] == [model["event_id"]]


# Each write and query route with the valid body it is mutated from.
REST_ROUTES = [
    ("POST", "/events", "event"),
    ("POST", "/v1/events", "event"),
    ("POST", "/events/batch", "batch"),
    ("POST", "/v1/sessions/6d1f8c7e/events/batch", "batch"),
    ("POST", "/session/6d1f8c7e/traces", "batch"),
    ("POST", "/events/model", "model_event"),
    ("POST", "/events/model/batch", "batch"),
    ("PUT", "/events", "update"),
    ("PUT", "/v1/events/0b9f6a8e-1f5a-4a57-9a53-6f0e1e3b4c11", "update"),
    ("POST", "/session/start", "session"),
    ("POST", "/v1/sessions", "session"),
    ("POST", "/v1/events/export", "export"),
]


@pytest.mark.parametrize(("method", "path", "kind"), REST_ROUTES, ids=[r[1] for r in REST_ROUTES])
def test_rest_bodies(client: httpx.Client, method: str, path: str, kind: str) -> None:
    @examples(100)
    @given(value=rest_body(kind), data=st.data())
    def post(value: Any, data: Any) -> None:
        body = dumps(value)
        if data.draw(st.booleans()):
            # Bytes a JSON parser must refuse: cut, NUL-padded, or not UTF-8.
            body = data.draw(
                st.sampled_from(
                    [
                        body[: len(body) // 2],
                        body + b"\x00",
                        b"\xff" + body,
                        body.replace(b'"', b"'"),
                    ]
                )
            )
        sent, headers = data.draw(_encoded(body))
        headers["Content-Type"] = "application/json"
        _clean_json(client.request(method, path, content=sent, headers=headers))

    post()


@examples(200)
@given(
    path=st.sampled_from(
        ["/v1/events/", "/v1/sessions/", "/events?", "/v1/events/chart?", "/v1/events/export/"]
    ),
    tail=TEXT,
    method=st.sampled_from(["GET", "DELETE", "POST", "PUT"]),
)
def test_odd_paths_and_query_strings(
    client: httpx.Client, path: str, tail: str, method: str
) -> None:
    # Byte by byte, so lone surrogates arrive as the invalid UTF-8 they would be.
    quoted = quote_from_bytes(tail.encode("utf-8", "surrogatepass"), safe="=&[]")
    answer = client.request(method, path + quoted, content=b"{}")
    if 300 <= answer.status_code < 400:  # `/v1/events/export/` → its slashless twin
        return
    _clean_json(answer)


@examples(100)
@given(value=HOSTILE_VALUES)
def test_query_parameter_values(client: httpx.Client, value: Any) -> None:
    text = dumps(value).decode()[:4000]
    for path in ("/events", "/v1/events/chart"):
        params = {"filters": text, "dateRange": text, "limit": text, "metric": text}
        _clean_json(client.get(path, params=params))


def test_huge_headers_and_bad_keys(live: LiveServer, client: httpx.Client) -> None:
    for authorization in ("Bearer " + "x" * 60_000, "Bearer none", "Basic abc", "Bearer"):
        with httpx.Client(base_url=live.url, timeout=30) as raw:
            answer = raw.post("/events", json={}, headers={"Authorization": authorization})
            assert answer.status_code in (400, 401, 429, 431), answer.text


# --- oversized numbers in parameters --------------------------------------------------

_BOUNDS = {"limit": 7500, "page": 1_000_000_000}
_SMALL_INTEGER = re.compile(r"\+?0*(\d{1,10})")


def _refused(answer: httpx.Response, fields: tuple[str, ...]) -> None:
    _clean_json(answer)
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json().get("field") in fields, answer.text[:300]


@examples(200)
@given(name=st.sampled_from(sorted(_BOUNDS)), text=SIGNED_NUMBER_TEXT | TEXT)
def test_integer_query_parameters(client: httpx.Client, name: str, text: str) -> None:
    """A 400 naming `limit` or `page` unless it is a whole number in range, whatever
    its length; never a 500."""
    answer = client.get(f"/events?{name}={_quoted(text)}")
    match = _SMALL_INTEGER.fullmatch(text.strip())
    if match and 1 <= int(match.group(1)) <= _BOUNDS[name]:
        assert answer.status_code == 200, answer.text[:300]
    elif text.strip():
        _refused(answer, (name,))


@examples(150)
@given(
    path=st.sampled_from(["/events", "/v1/events/chart"]),
    index=NUMBER_TEXT,
    key=st.sampled_from(["field", "operator", "value", "type"]),
    bound=st.sampled_from(["dateRange[$gte]", "dateRange[$lte]"]),
    when=SIGNED_NUMBER_TEXT,
    bucket=st.sampled_from(["minute", "hour", "day", "week", "month"]),
)
def test_bracket_indices_and_dates(
    client: httpx.Client, path: str, index: str, key: str, bound: str, when: str, bucket: str
) -> None:
    params = {f"filters[{index}][{key}]": "event_name", bound: when, "bucket": bucket}
    _clean_json(client.get(path, params=params))
    if index.isdigit() and len(index.lstrip("0")) > 4:
        _refused(client.get(path, params={f"filters[{index}][{key}]": "x"}), ("filters",))


@examples(100)
@given(
    path=st.sampled_from(["/v1/events/export", "/v1/events/search"]),
    key=st.sampled_from(sorted(_BOUNDS)),
    huge=HUGE_PAGES,
)
def test_huge_pages_in_bodies(client: httpx.Client, path: str, key: str, huge: Any) -> None:
    """A 400 naming the key (or the body, for numbers no JSON parser holds)."""
    answer = client.post(
        path, content=dumps({key: huge}), headers={"content-type": "application/json"}
    )
    _refused(answer, (key, "body"))


# --- the web UI's query parameters ----------------------------------------------------

UI_SECTIONS = ["sessions", "events", "dashboard", "events/export.csv", "events/export.jsonl"]
DATES = (
    st.sampled_from(["9999-12-31", "9999-12-31T23:59:59.999", "9990-01-01", "9999-12-01"])
    | st.sampled_from(["1970-01-01", "10000-01-01", "0001-01-01", "2026-02-29", "253402300799999"])
    | st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)).map(
        lambda d: d.isoformat(timespec="milliseconds")
    )
)


# Values each parameter of the list pages, dashboard and downloads takes.
UI_VALID = {
    "page": ["1", "2", "3"],
    "limit": ["25", "50", "100", "200"],
    "from": ["2026-01-01", "1970-01-01", "9990-01-01", "9999-12-01"],
    "to": ["2027-01-01", "9999-12-31", "9999-12-31T23:59:59.999"],
    "range": ["15m", "1h", "24h", "7d", "30d"],
    "bucket": ["minute", "hour", "day", "week", "month"],
    "split": ["", "model", "event_name"],
    "sort": ["start_time", "end_time", "duration"],
    "order": ["asc", "desc"],
    "type": ["session", "model", "tool", "chain"],
    "q": ["hi"],
    "f": ["event_name", "metadata.cost"],
    "op": ["is", "exists"],
    "v": ["chat", "1"],
    "col": ["event_name", "metadata.cost", "inputs"],
}
# The parameters oversized numbers and far dates reach first: paging and date arithmetic.
_NUMERIC_KEYS = ["page", "limit", "from", "to", "v"]


@st.composite
def ui_params(draw: st.DrawFn) -> dict[str, list[str]]:
    """A valid view of a page (any subset of its parameters), with one or two of them
    replaced by oversized numbers, far dates or hostile text."""
    params = draw(
        st.fixed_dictionaries(
            {}, optional={k: st.sampled_from(v).map(lambda x: [x]) for k, v in UI_VALID.items()}
        )
    )
    keys = st.sampled_from(_NUMERIC_KEYS) | st.sampled_from(sorted(UI_VALID))
    for key in draw(st.lists(keys, min_size=1, max_size=2, unique=True)):
        params[key] = draw(st.lists(SIGNED_NUMBER_TEXT | DATES | TEXT, min_size=1, max_size=2))
    return params


@pytest.fixture(scope="module")
def ui(live: LiveServer) -> Iterator[tuple[httpx.Client, str]]:
    """A browser-like client signed in with the full key, and its project's path."""
    with browser(live.url) as client:
        answer = sign_in(client, live.key)
        assert answer.status_code == 303, answer.text
        yield client, answer.headers["location"].rsplit("/", 1)[0]


@examples(150)
@given(
    section=st.sampled_from(UI_SECTIONS),
    params=ui_params(),
)
def test_ui_query_parameters(
    ui: tuple[httpx.Client, str], section: str, params: dict[str, list[str]]
) -> None:
    """Every page and download answers its URL's parameters, whatever they hold, with
    the page or a 4xx page naming the fault; never a 500."""
    client, base = ui
    # Byte by byte, so lone surrogates arrive as the invalid UTF-8 they would be.
    query = "&".join(
        f"{_quoted(key)}={_quoted(value)}" for key, values in params.items() for value in values
    )
    answer = client.get(f"{base}/{section}?{query}")
    assert answer.status_code < 500, answer.text[:300]
    if answer.status_code >= 400:
        assert answer.headers["content-type"].startswith("text/html"), answer.headers
        assert 'role="alert"' in answer.text, answer.text[:300]


def _quoted(text: str) -> str:
    return quote_from_bytes(text.encode("utf-8", "surrogatepass"), safe="")


@examples(60)
@given(filters=many_filters(), data=st.data())
def test_many_filters(
    live: LiveServer, client: httpx.Client, filters: list[Any], data: Any
) -> None:
    """Any number of filters, on every route that takes them: never a 5xx, and past
    `max_filters` a 400 naming `filters` whatever the filters hold."""
    too_many = len(filters) > live.settings.max_filters
    text = dumps(filters).decode()
    routes = [("POST", "/v1/events/export"), ("POST", "/v1/events/search")]
    if len(text) < 6000:  # a longer URL is refused by the HTTP parser, before us
        routes += [("GET", "/events"), ("GET", "/v1/events/chart")]
    method, path = data.draw(st.sampled_from(routes))
    if method == "POST":
        answer = client.post(path, content=dumps({"filters": filters, "limit": 5}))
    else:
        answer = client.get(path, params={"filters": text})
    _clean_json(answer)
    if too_many:
        # A body past max_body_bytes (413) or that the JSON parser refuses (lone
        # surrogates) fails before its filters are counted.
        assert answer.status_code in (400, 413), answer.text
        refused = answer.json()
        if refused["errorCode"] not in ("PAYLOAD_TOO_LARGE", "INVALID_JSON"):
            assert refused["field"] == "filters", refused

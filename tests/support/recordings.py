"""The recorded `evaluate()` requests of SDK 1.7.0, replayed into stored rows without a server.

Each `tests/data/honeyhive-sdk-1.7.0-evaluate/*.requests.jsonl` line is one request the
real SDK sent (`method`, `path`, `query`, `body`). `replay_rows` applies the telemetry
ones through the real write path's pure steps (session start → `plan_session`, OTLP/JSON
→ `decode_traces` + `spans_to_ops`, `PUT /events` → `parse_update`, then the merge
rule), so tests compute results from exactly the rows a store would hold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from hivekeeper.domain.events import parse_update
from hivekeeper.domain.merge import apply_ops
from hivekeeper.domain.types import Key, MergeOp, StoredRow, Update
from hivekeeper.ingest import OtlpLimits, decode_traces, spans_to_ops
from hivekeeper.ingest.rest_writes import plan_session

DATA = Path(__file__).resolve().parent.parent / "data" / "honeyhive-sdk-1.7.0-evaluate"
NOW_MS = 1_796_465_700_000.0

# The datapoint ids `local_full` made from its 4 local rows, in the order of the run:
# "hi" (scored 1.0), "str" (fn returned a plain string), "boom" (fn raised) and the row
# with its own id "my-dp".
HI, STR, BOOM, MY = (
    "EXT-3b0b68b8ddc2886c",
    "EXT-5e56b8819da4ec09",
    "EXT-d3ed92b677d62053",
    "EXT-my-dp",
)


def recorded(name: str) -> list[dict[str, Any]]:
    """The requests of recording `name` (e.g. `local_full`), in the order sent."""
    lines = (DATA / f"{name}.requests.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def body_of(name: str, method: str, path_prefix: str) -> dict[str, Any]:
    """The body of the first request of `name` with this method and path prefix."""
    for request in recorded(name):
        if request["method"] == method and request["path"].startswith(path_prefix):
            body: dict[str, Any] = request["body"]
            return body
    raise LookupError(f"{name} sent no {method} {path_prefix}")


def with_session_ids(name: str) -> list[dict[str, Any]]:
    """The requests of recording `name`, each session start naming its session's id.

    A session start carries no id (the server makes one) and the recording server's
    answer is not recorded, so each start takes the id its next trace export names:
    replayed in order, the starts, spans and updates then meet in the same sessions.
    """
    requests = recorded(name)
    for i, request in enumerate(requests):
        if request["path"] != "/session/start":
            continue
        export = next(r for r in requests[i:] if r["path"] == "/opentelemetry/v1/traces")
        spans = decode_traces(orjson.dumps(export["body"]), "json", OtlpLimits()).spans
        session = {**request["body"]["session"]}
        session["session_id"] = spans[0].attributes["honeyhive.session_id"]
        request["body"] = {"session": session}
    return requests


def replay_rows(name: str, project_id: str = "proj") -> dict[Key, StoredRow]:
    """The stored rows the telemetry of recording `name` makes."""
    ops: list[MergeOp] = []
    for request in with_session_ids(name):
        path, body = request["path"], request["body"]
        if path == "/session/start":
            ops.append(plan_session(project_id, body["session"])[0])
        elif path == "/opentelemetry/v1/traces":
            spans = decode_traces(orjson.dumps(body), "json", OtlpLimits()).spans
            ops.extend(spans_to_ops(project_id, spans, source_header="evaluation"))
        elif path == "/events" and request["method"] == "PUT":
            ops.append(Update(project_id, parse_update(body)))
    rows: dict[Key, StoredRow] = {}
    apply_ops(rows, ops, NOW_MS)
    return rows

"""A stand-in OpenAI-compatible server on loopback, so instrumented clients make real calls.

Instrumentors only emit spans around calls that really happen; this answers
`POST /v1/chat/completions` with one fixed completion (with `usage`), which the tests
then expect to find, mapped, in the stored model event. Three requests get other
answers, so every path of an instrumentation runs: `stream: true` is answered as
server-sent chunks of the same reply (with a last `usage` chunk when
`stream_options.include_usage` asks for one); a request offering `tools` whose last
message is the user's gets a call of the first tool (`TOOL_CALL`); and the model
`ERROR_MODEL` gets a 400 error.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.support.loopback import QuietHandler, serve_loopback

MODEL = "gpt-4o-mini-2024-07-18"
REPLY = "Hello from the fake LLM"
PROMPT_TOKENS, COMPLETION_TOKENS = 12, 6
COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-fake-1",
    "object": "chat.completion",
    "created": 1795700000,
    "model": MODEL,
    "system_fingerprint": "fp_fake",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": REPLY},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    },
}


TOOL_CALL: dict[str, Any] = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "lookup_weather", "arguments": '{"city": "Paris"}'},
}
ERROR_MODEL = "no-such-model"
ERROR_MESSAGE = "The model `no-such-model` does not exist"


def _answer_for(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and JSON answer of a completion request that is not streamed."""
    if request.get("model") == ERROR_MODEL:
        error = {"message": ERROR_MESSAGE, "type": "invalid_request_error", "code": "model"}
        return 400, {"error": error}
    messages = request.get("messages") or [{}]
    if request.get("tools") and messages[-1].get("role") == "user":
        message = {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}
        choice = {"index": 0, "message": message, "finish_reason": "tool_calls", "logprobs": None}
        return 200, {**COMPLETION, "id": "chatcmpl-fake-tool", "choices": [choice]}
    return 200, COMPLETION


def _stream_chunks(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks of the reply, streamed: the role, the words, the finish, the usage."""
    base = {k: COMPLETION[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return {**base, "choices": [choice]}

    words = REPLY.split(" ")
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": w if i == 0 else f" {w}"}) for i, w in enumerate(words)]
    chunks.append(chunk({}, "stop"))
    if (request.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": COMPLETION["usage"]})
    return chunks


@dataclass
class FakeLLM:
    base_url: str
    """The OpenAI client's `base_url`: `http://127.0.0.1:<port>/v1`."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    """The JSON bodies of the completions asked for, in order."""


@contextlib.contextmanager
def fake_openai() -> Iterator[FakeLLM]:
    """Serve the fixed completion on a free loopback port until the block ends."""
    llm = FakeLLM(base_url="")
    lock = threading.Lock()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/v1/chat/completions":
                self._answer(404, {"error": {"message": f"no route {self.path}"}})
                return
            request = json.loads(body)
            with lock:
                llm.requests.append(request)
            if request.get("stream") and request.get("model") != ERROR_MODEL:
                self._stream(_stream_chunks(request))
                return
            self._answer(*_answer_for(request))

        def _stream(self, chunks: list[dict[str, Any]]) -> None:
            data = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks)
            data += b"data: [DONE]\n\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with serve_loopback(Handler) as url:
        llm.base_url = f"{url}/v1"
        yield llm

"""A stand-in OpenAI-compatible server on loopback, so instrumented clients make real calls.

Instrumentors only emit spans around calls that really happen; this answers
`POST /v1/chat/completions` with one fixed completion (with `usage`), which the tests
then expect to find, mapped, in the stored model event.
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
            with lock:
                llm.requests.append(json.loads(body))
            self._answer(200, COMPLETION)

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

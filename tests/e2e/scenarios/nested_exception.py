"""One exception raised through two nested `@trace` functions, traced with honeyhive 1.7.0.

Run by the tests of error counting and of the stack trace the UI draws: `inner` raises,
`outer` lets it propagate, the application catches it. The last stdout line names the
session.
"""

from __future__ import annotations

import contextlib
import json

from _tracer import init_tracer
from honeyhive import flush, trace

tracer = init_tracer("nested-exception", disable_batch=True)


@trace(event_type="tool", event_name="inner")
def inner(n: int) -> None:
    raise ValueError(f"boom {n}")


@trace(event_type="chain", event_name="outer")
def outer(n: int) -> None:
    inner(n)


session_id = tracer.session_id
with contextlib.suppress(ValueError):
    outer(3)
flush(tracer)
tracer.force_flush()
tracer.shutdown()
print(json.dumps({"session_id": session_id}))

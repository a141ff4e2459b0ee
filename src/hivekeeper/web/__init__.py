"""The web plumbing the API and the UI share, so neither imports the other.

- `context`: the typed `AppContext` every route reaches through `context(request)`,
  with `lanes` (the worker-thread limits its reads, lookups and decoding run in);
- `http`: request bodies (size limits, decompression, JSON) and the JSON response;
- `exports`: events read in batches sized in bytes and sent in bounded chunks, what
  every export (REST and UI) streams;
- `admission`: what a request holds until it is answered (a read slot of its
  project, the bytes of its body), refused with a 429 past either bound;
- `throttle`: failed-authentication throttling, and who the client is;
- `errors`: the app's error handlers, one JSON shape for every failure;
- `metrics`: the Prometheus metrics the server counts (`api.health` serves them);
- `observe` and `access_log`: the middleware that watches every request, and the
  observers that log it.

`hivekeeper.app` assembles these; routes in `api` and `ui` use what is exported here.
"""

from hivekeeper.web.access_log import AccessLog, log_unmatched
from hivekeeper.web.admission import BodyBudget, BodyBudgetMiddleware, BodyTicket, ReadSlots
from hivekeeper.web.context import AppContext, context
from hivekeeper.web.errors import install_error_handlers, note_error
from hivekeeper.web.exports import EventBatches, chunked_response, query_after, read_events
from hivekeeper.web.http import (
    JsonResponse,
    decode_json,
    json_bytes,
    json_limits,
    query_lists,
    read_body,
    read_json,
)
from hivekeeper.web.lanes import Lanes
from hivekeeper.web.metrics import Metrics
from hivekeeper.web.observe import Observer, ObserveRequests
from hivekeeper.web.throttle import FailedAuthThrottle, address_group, client_address

__all__ = [
    "AccessLog",
    "AppContext",
    "BodyBudget",
    "BodyBudgetMiddleware",
    "BodyTicket",
    "EventBatches",
    "FailedAuthThrottle",
    "JsonResponse",
    "Lanes",
    "Metrics",
    "ObserveRequests",
    "Observer",
    "ReadSlots",
    "address_group",
    "chunked_response",
    "client_address",
    "context",
    "decode_json",
    "install_error_handlers",
    "json_bytes",
    "json_limits",
    "log_unmatched",
    "note_error",
    "query_after",
    "query_lists",
    "read_body",
    "read_events",
    "read_json",
]

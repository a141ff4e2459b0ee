"""Settings, read once: command-line flag > `HIVEKEEPER_*` environment variable > default.

`Settings` is the single table of knobs; the CLI builds its options from it, so every
setting has one name, one default, one unit and one help text, and nothing else in
the code base reads the environment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from hivekeeper.domain.filters import DEFAULT_MAX_FILTERS, MAX_FILTERS_CEILING

LogFormat = Literal["text", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
ENV_PREFIX = "HIVEKEEPER_"
F = TypeVar("F", bound=Callable[..., Any])


def _doc(help: str, click_type: Any, *, serve_only: bool = False) -> dict[str, Any]:
    """A setting's field metadata: its help text, click type and which commands take it."""
    return {"help": help, "click_type": click_type, "serve_only": serve_only}


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of a hivekeeper process, validated."""

    data_dir: Path = field(
        default=Path("~/.hivekeeper"),
        metadata=_doc(
            "Directory for the embedded database and local state.",
            click.Path(file_okay=False, path_type=Path),
        ),
    )
    database_url: str = field(
        default="", metadata=_doc("Database URL; default sqlite:///<data-dir>/hivekeeper.db.", str)
    )
    host: str = field(
        default="127.0.0.1", metadata=_doc("Address to listen on.", str, serve_only=True)
    )
    port: int = field(
        default=8000,
        metadata=_doc("TCP port to listen on.", click.IntRange(0, 65535), serve_only=True),
    )
    grpc_port: int = field(
        default=4317,
        metadata=_doc(
            "TCP port of the OTLP/gRPC receiver (traces, logs, metrics) on --host; 0 turns "
            "it off.",
            click.IntRange(0, 65535),
            serve_only=True,
        ),
    )
    workers: int = field(
        default=1,
        metadata=_doc(
            "Server processes; more than 1 needs a PostgreSQL database (SQLite and chdb "
            "are opened by one process).",
            click.IntRange(1, 64),
            serve_only=True,
        ),
    )
    max_body_bytes: int = field(
        default=20 * 1024 * 1024,
        metadata=_doc(
            "Largest accepted request body, in bytes (after decompression).",
            click.IntRange(1024),
            serve_only=True,
        ),
    )
    max_json_depth: int = field(
        default=64,
        metadata=_doc(
            "Deepest nesting of arrays and objects in a REST JSON body (the body is level 1).",
            # At most 200: a stored event must stay inside orjson's 254-level limit.
            click.IntRange(2, 200),
            serve_only=True,
        ),
    )
    max_string_chars: int = field(
        default=1 << 20,
        metadata=_doc(
            "Longest string (value or key) in a REST body or an OTLP span's attributes, "
            "names and status message, in characters.",
            click.IntRange(1024),
            serve_only=True,
        ),
    )
    max_batch_events: int = field(
        default=10_000,
        metadata=_doc(
            "Most events in one REST batch, or datapoints in one add-datapoints or "
            "datapoints-from-events request (all-or-nothing).",
            click.IntRange(1),
            serve_only=True,
        ),
    )
    max_children_ids: int = field(
        default=10_000,
        metadata=_doc(
            "Most ids one event's children_ids may hold, over every write that adds to it "
            "(a write growing it past this is a 400).",
            click.IntRange(1),
            serve_only=True,
        ),
    )
    max_inflight_body_bytes: int = field(
        default=64 * 1024 * 1024,
        metadata=_doc(
            "Request bodies the server holds at once, in bytes after decompression, from "
            "the first byte read until the answer is sent; a body that would go past it "
            "is answered 429 with Retry-After. At least max_body_bytes.",
            click.IntRange(1024),
            serve_only=True,
        ),
    )
    max_filters: int = field(
        default=DEFAULT_MAX_FILTERS,
        metadata=_doc(
            "Most filters in one query (export, search, GET /events, chart, the web UI); "
            "more is a 400.",
            click.IntRange(1, MAX_FILTERS_CEILING),
            serve_only=True,
        ),
    )
    max_reads_per_project: int = field(
        default=8,
        metadata=_doc(
            "Requests that read one project's events at once, whatever key or browser "
            "sends them (a UI export holds one while it streams); past it, 429 with "
            "Retry-After.",
            click.IntRange(1),
            serve_only=True,
        ),
    )
    export_read_bytes: int = field(
        default=4 << 20,
        metadata=_doc(
            "Bytes of stored rows an export (REST export, search and GET /events, a UI "
            "download) reads and holds at once, whatever the width of its rows.",
            click.IntRange(1024),
            serve_only=True,
        ),
    )
    max_queue_ops: int = field(
        default=50_000,
        metadata=_doc(
            "Writes the writer may hold before answering 429, each weighing the rows it "
            "writes (an event 1, a 10,000-datapoint import 10,000).",
            click.IntRange(1),
            serve_only=True,
        ),
    )
    max_batch_ops: int = field(
        default=5_000,
        metadata=_doc(
            "Most writes committed in one transaction, by the same weight (a heavier "
            "request commits alone).",
            click.IntRange(1),
            serve_only=True,
        ),
    )
    shutdown_timeout_s: int = field(
        default=30,
        metadata=_doc(
            "Seconds a stopping server waits for requests in flight before cancelling them "
            "(queued writes are still committed).",
            click.IntRange(1),
            serve_only=True,
        ),
    )
    header_timeout_s: int = field(
        default=20,
        metadata=_doc(
            "Seconds a client has to send a request's headers, from the moment its "
            "connection opens (or its next request starts); past it the connection is "
            "answered 408 and closed.",
            click.IntRange(1),
            serve_only=True,
        ),
    )
    body_timeout_s: int = field(
        default=60,
        metadata=_doc(
            "Seconds a client has to send a whole request body once its headers are in; "
            "past it the answer is 408 and the connection is closed.",
            click.IntRange(1),
            serve_only=True,
        ),
    )
    max_connections: int = field(
        default=1000,
        metadata=_doc(
            "Open connections (or requests in progress) per server process past which a "
            "new request is answered 503 and its connection closed.",
            click.IntRange(1),
            serve_only=True,
        ),
    )
    otlp_max_spans_per_request: int = field(
        default=100_000,
        metadata=_doc(
            "Most spans in one OTLP export request; a larger request is a 400.",
            click.IntRange(1),
            serve_only=True,
        ),
    )
    otlp_max_attributes: int = field(
        default=4096,
        metadata=_doc(
            "Most attributes on one OTLP span, span event, resource or scope, and entries "
            "in one key-value list value (the HoneyHive SDK itself stops at 1024).",
            click.IntRange(1),
            serve_only=True,
        ),
    )
    otlp_max_events_per_span: int = field(
        default=4096,
        metadata=_doc(
            "Most span events on one OTLP span (the HoneyHive SDK itself stops at 1024).",
            click.IntRange(0),
            serve_only=True,
        ),
    )
    # At most 64: with a span key's own nesting (up to 32) and JSON parsed out of string
    # values (up to 64), a stored event stays well inside orjson's 254-level limit.
    otlp_max_value_depth: int = field(
        default=32,
        metadata=_doc(
            "Deepest nesting of arrays and key-value lists in one OTLP attribute value.",
            click.IntRange(1, 64),
            serve_only=True,
        ),
    )
    auth_failures_per_minute: int = field(
        default=30,
        metadata=_doc(
            "Rejected API keys one client may present per minute before its requests are "
            "answered 429 with Retry-After; 0 turns throttling off.",
            click.IntRange(0),
            serve_only=True,
        ),
    )
    trust_forwarded_for: bool = field(
        default=False,
        metadata=_doc(
            "Behind a trusted reverse proxy: identify clients by the last X-Forwarded-For "
            "address (the one the proxy appended), not the connection's peer address.",
            bool,
            serve_only=True,
        ),
    )
    retention_days: int = field(
        default=0,
        metadata=_doc(
            "Days to keep a session after its last activity, for projects without their "
            "own retention (`hivekeeper projects set-retention`); 0 keeps data forever.",
            click.IntRange(0),
            serve_only=True,
        ),
    )
    retention_interval_s: float = field(
        default=600.0,
        metadata=_doc(
            "Seconds between two runs of the retention job (it also runs at start).",
            click.FloatRange(0.1),
            serve_only=True,
        ),
    )
    pending_expiry_hours: float = field(
        default=24.0,
        metadata=_doc(
            "Hours an update for an unknown event id waits for its event before the "
            "retention job discards it (counted in /metrics); 0 keeps it forever.",
            click.FloatRange(0),
            serve_only=True,
        ),
    )
    sqlite_synchronous_full: bool = field(
        default=False,
        metadata=_doc(
            "SQLite synchronous=FULL: survive power loss, not only a crash (slower).",
            bool,
            serve_only=True,
        ),
    )
    access_log: bool = field(
        default=False,
        metadata=_doc(
            "Log one line per answered request (logger hivekeeper.access): client, method, "
            "path without its query, route, status and duration; never a key or a body.",
            bool,
            serve_only=True,
        ),
    )
    log_level: LogLevel = field(
        default="info",
        metadata=_doc("Log level.", click.Choice(["debug", "info", "warning", "error"])),
    )
    log_format: LogFormat = field(
        default="text",
        metadata=_doc(
            "Log format: text, or json for one JSON object per line.",
            click.Choice(["text", "json"]),
        ),
    )

    def __post_init__(self) -> None:
        data_dir = Path(self.data_dir).expanduser().resolve()
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{data_dir / 'hivekeeper.db'}")
        if self.max_batch_ops > self.max_queue_ops:
            raise click.BadParameter(
                f"max_batch_ops ({self.max_batch_ops}) must not exceed "
                f"max_queue_ops ({self.max_queue_ops})",
                param_hint="--max-batch-ops",
            )
        if self.grpc_port and self.grpc_port == self.port:
            raise click.BadParameter(
                f"grpc_port ({self.grpc_port}) must differ from port, which serves HTTP",
                param_hint="--grpc-port",
            )
        if self.max_inflight_body_bytes < self.max_body_bytes:
            raise click.BadParameter(
                f"max_inflight_body_bytes ({self.max_inflight_body_bytes}) must be at least "
                f"max_body_bytes ({self.max_body_bytes}), or the largest body could never "
                "be read",
                param_hint="--max-inflight-body-bytes",
            )


def env_var(name: str) -> str:
    """The environment variable that sets a setting."""
    return f"{ENV_PREFIX}{name.upper()}"


def setting_fields(*, serve: bool) -> list[dataclasses.Field[Any]]:
    """The settings a command takes: all for `serve`, storage and logging otherwise."""
    return [f for f in dataclasses.fields(Settings) if serve or not f.metadata.get("serve_only")]


def settings_options(*, serve: bool) -> Callable[[F], F]:
    """Decorate a click command with one option per setting."""

    def decorate(command: F) -> F:
        for f in reversed(setting_fields(serve=serve)):
            flag = "--" + f.name.replace("_", "-")
            kind = f.metadata["click_type"]
            if kind is bool:
                decl = f"{flag}/--no-{flag[2:]}"
                option = click.option(
                    decl,
                    f.name,
                    default=f.default,
                    envvar=env_var(f.name),
                    show_default=True,
                    show_envvar=True,
                    help=f.metadata["help"],
                )
            else:
                option = click.option(
                    flag,
                    f.name,
                    default=f.default,
                    type=kind,
                    envvar=env_var(f.name),
                    show_default=f.name != "database_url",
                    show_envvar=True,
                    help=f.metadata["help"],
                )
            command = option(command)
        return command

    return decorate


def build_settings(values: dict[str, Any]) -> Settings:
    """Settings from parsed options; unknown keys are ignored."""
    names = {f.name for f in dataclasses.fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in names})

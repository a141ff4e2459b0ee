"""The `hivekeeper` command: a thin shell over the library.

Exit codes: 0 success (for `serve`, also a graceful stop on SIGTERM or SIGINT), 1 a
runtime error (e.g. unknown project), 2 a usage or configuration error (click's
convention).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import gc
import json
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from hivekeeper import __version__
from hivekeeper.config import Settings, build_settings, settings_options
from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.domain.pricing.project import parse_day, parse_price
from hivekeeper.domain.redaction import DEFAULT_REPLACEMENT, compile_pattern
from hivekeeper.domain.retention import describe_retention, parse_retention
from hivekeeper.domain.tenancy import KEY_KINDS, key_id_of
from hivekeeper.ingest import check_rules, recompute_costs
from hivekeeper.store import Store, allows_workers, open_store
from hivekeeper.store.transfer import copy_store

_WORKER_SETTINGS = "HIVEKEEPER_WORKER_SETTINGS"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hivekeeper")
def main() -> None:
    """hivekeeper: self-hosted LLM observability that speaks the HoneyHive API."""


@main.command()
@click.option(
    "--demo",
    is_flag=True,
    envvar="HIVEKEEPER_DEMO",
    show_envvar=True,
    help="First load the demo data set (unless loaded) and print a new key per demo project.",
)
@settings_options(serve=True)
def serve(demo: bool, **options: Any) -> None:
    """Run the server (creates and migrates the database on first start)."""
    import uvicorn

    from hivekeeper.app import create_app
    from hivekeeper.connections import uvicorn_options
    from hivekeeper.logs import logging_config

    settings = build_settings(options)
    if settings.workers > 1 and not allows_workers(settings.database_url):
        raise click.BadParameter(
            "SQLite and chdb databases are served by one process; use --workers 1, or a "
            "PostgreSQL --database-url for several",
            param_hint="--workers",
        )
    _check_grpc_port(settings)
    with _store(settings) as store:
        first = store.bootstrap()
        _configured(lambda: check_rules(store.list_redactions()))
        demo_text = _load_demo(store, _base_url(settings)) if demo else ""
    if first.new_key_secret:
        click.echo(_welcome(settings, first.project.name, first.new_key_secret))
    if demo_text:
        click.echo(demo_text)
    if settings.workers > 1:
        # Each worker process builds its own app (store pool, writer) from these.
        os.environ[_WORKER_SETTINGS] = _settings_json(settings)
        app: Any = f"{__name__}:worker_app"
    else:
        app = create_app(settings)
        _tune_gc()
    with _stop_signals_exit_zero():
        uvicorn.run(
            app,
            factory=settings.workers > 1,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            log_config=logging_config(settings.log_level, settings.log_format),
            access_log=False,
            # Read deadlines, the connection cap, no WebSockets (connections.py).
            **uvicorn_options(settings),
            # uvicorn would take X-Forwarded-For from any local peer as the client address;
            # the app reads it itself, and only with --trust-forwarded-for.
            proxy_headers=False,
            # A client trickling its body must not hold a stopping server forever; a
            # request cancelled here was never answered, so nothing acknowledged is lost.
            timeout_graceful_shutdown=settings.shutdown_timeout_s,
        )


def _check_grpc_port(settings: Settings) -> None:
    """Refuse in one line, before anything starts, a `--grpc-port` that cannot be bound
    (the receiver binds it again when the app starts; this only catches the usual case
    of a port already in use, which would otherwise end in a lifespan traceback)."""
    if not settings.grpc_port:
        return
    try:
        infos = socket.getaddrinfo(settings.host, settings.grpc_port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if settings.workers > 1:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            probe.bind(address)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen for OTLP/gRPC on {settings.host}:{settings.grpc_port} "
            f"({exc.strerror or exc}); choose another --grpc-port, or 0 to turn it off"
        ) from None


def worker_app() -> Any:
    """The app of one `serve --workers N` process, from the settings `serve` resolved."""
    from hivekeeper.app import create_app

    values = json.loads(os.environ[_WORKER_SETTINGS])
    _tune_gc()
    return create_app(Settings(**values))


def _settings_json(settings: Settings) -> str:
    return json.dumps(
        {f.name: str(v) if isinstance(v := getattr(settings, f.name), Path) else v
         for f in dataclasses.fields(settings)}
    )  # fmt: skip


@contextlib.contextmanager
def _stop_signals_exit_zero() -> Iterator[None]:
    """Make SIGTERM and SIGINT a clean stop: exit 0 after uvicorn's graceful shutdown.

    While it serves, uvicorn handles both: it stops accepting, lets the requests in
    flight finish, then runs the lifespan shutdown, where the writer commits everything
    it queued. Afterwards it restores the handlers it found and raises the signal again;
    under Python's default SIGTERM handler the process would then die by the signal
    (exit -15) although it stopped cleanly, so supervisors would report a failure. The
    handlers installed here, which uvicorn finds and restores, turn that into exit 0.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _tune_gc() -> None:
    """Collect garbage less often than CPython's default, for the ingest path.

    Each ingested span or event allocates dozens of short-lived containers, so the
    default gen-0 threshold (700 allocations) runs a collection every few events,
    each scanning the batch still in flight: ~30% of the OTLP decode, map and encode
    CPU, measured with `bench/otlp_ingest.py`. Freezing the startup heap keeps the
    full collections from rescanning it.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


@main.group()
def projects() -> None:
    """Create and list projects, and set their retention and redaction rules (works on a
    live database too)."""


@projects.command("create")
@click.argument("name")
@settings_options(serve=False)
def projects_create(name: str, **options: Any) -> None:
    """Create project NAME."""
    with _store(build_settings(options)) as store:
        project = _run(lambda: store.create_project(name))
    click.echo(f"created project {project.name} ({project.id})")


@projects.command("list")
@settings_options(serve=False)
def projects_list(**options: Any) -> None:
    """List projects."""
    with _store(build_settings(options)) as store:
        retention = store.retention_days()
        rows = [
            (p.name, p.id, _when(p.created_at), describe_retention(retention.get(p.id)))
            for p in store.list_projects()
        ]
    _table(("NAME", "ID", "CREATED", "RETENTION"), rows)


@projects.command("set-retention")
@click.argument("name")
@click.argument("days")
@settings_options(serve=False)
def projects_set_retention(name: str, days: str, **options: Any) -> None:
    """Keep project NAME's sessions DAYS days after their last activity.

    DAYS is a whole number, 0 or `none` to keep data forever, or `default` for the
    server's --retention-days. A running server applies it at its next retention run.
    """
    parsed = _usage(lambda: parse_retention(days), "DAYS")
    with _store(build_settings(options)) as store:
        _run(lambda: store.set_retention(name, parsed))
    click.echo(f"retention of project {name}: {describe_retention(parsed)}")


@projects.command("add-redaction")
@click.argument("name")
@click.argument("regex")
@click.option(
    "--replace",
    "replacement",
    default=DEFAULT_REPLACEMENT,
    show_default=True,
    help="Literal text that replaces each match.",
)
@settings_options(serve=False)
def projects_add_redaction(name: str, regex: str, replacement: str, **options: Any) -> None:
    """Redact matches of REGEX (RE2 syntax: Python's, without backreferences or
    lookaround) in every string project NAME stores.

    Applies to events written from then on (a running server picks it up within
    2 seconds); stored events are not rewritten.
    """
    _usage(lambda: compile_pattern(regex), "REGEX")
    with _store(build_settings(options)) as store:
        rule = _run(lambda: store.add_redaction(name, regex, replacement))
    click.echo(f"added redaction rule {rule.id} to project {rule.project_name}")


@projects.command("list-redactions")
@click.argument("name", required=False)
@settings_options(serve=False)
def projects_list_redactions(name: str | None, **options: Any) -> None:
    """List redaction rules (of project NAME, or of all), in the order they apply."""
    with _store(build_settings(options)) as store:
        rules = [r for r in store.list_redactions() if name is None or r.project_name == name]
    rows = [
        (str(r.id), r.project_name, r.pattern, r.replacement, _when(r.created_at)) for r in rules
    ]
    _table(("ID", "PROJECT", "PATTERN", "REPLACEMENT", "CREATED"), rows)


@projects.command("remove-redaction")
@click.argument("rule_id", type=int)
@settings_options(serve=False)
def projects_remove_redaction(rule_id: int, **options: Any) -> None:
    """Remove redaction rule RULE_ID (a running server stops applying it within 2 s)."""
    with _store(build_settings(options)) as store:
        rule = _run(lambda: store.remove_redaction(rule_id))
    click.echo(f"removed redaction rule {rule.id} ({rule.pattern}) of project {rule.project_name}")


@main.group()
def costs() -> None:
    """Model prices and event costs: a project's own prices, re-pricing stored events."""


@costs.group("prices")
def costs_prices() -> None:
    """A project's own model prices, which win over the shipped ones from their day on."""


@costs_prices.command("add")
@click.argument("project")
@click.option("--provider", required=True, help="Price list: openai, anthropic, azure, ….")
@click.option("--model", required=True, help="Model name (snapshot ids match it too).")
@click.option("--from", "effective_from", help="First day it applies (YYYY-MM-DD, UTC).")
@click.option(
    "--rate",
    "rates",
    multiple=True,
    required=True,
    metavar="CLASS=USD",
    help="USD per million tokens of a class (input, cache_read, cache_write, "
    "cache_write_1h, input_audio, output, reasoning, output_audio) or per request "
    "(request); repeat for each.",
)
@settings_options(serve=False)
def costs_prices_add(
    project: str,
    provider: str,
    model: str,
    effective_from: str | None,
    rates: tuple[str, ...],
    **options: Any,
) -> None:
    """Add a price to project PROJECT; a running server applies it within 2 seconds
    to the events it writes (`costs recompute` re-prices stored ones)."""
    parsed = _usage(lambda: _rates(rates), "--rate")
    raw = {"provider": provider, "model": model, "effective_from": effective_from}
    spec = _usage(lambda: parse_price({**raw, "rates": parsed}), "--provider/--model/--from")
    with _store(build_settings(options)) as store:
        project_id = _project_id(store, project)
        price = _run(lambda: store.add_price(project_id, spec))
    click.echo(f"added price {price.id} of {price.provider}/{price.model} to project {project}")


@costs_prices.command("list")
@click.argument("project", required=False)
@settings_options(serve=False)
def costs_prices_list(project: str | None, **options: Any) -> None:
    """List the prices of project PROJECT (or of all), oldest first."""
    with _store(build_settings(options)) as store:
        names = {p.id: p.name for p in store.list_projects()}
        project_id = _project_id(store, project) if project is not None else None
        rows = [
            (
                str(p.id),
                names.get(p.project_id, p.project_id),
                p.provider,
                p.model,
                p.effective_from.isoformat() if p.effective_from else "-",
                " ".join(f"{k}={v:g}" for k, v in p.rates.items()),
            )
            for p in store.list_prices(project_id)
        ]
    _table(("ID", "PROJECT", "PROVIDER", "MODEL", "FROM", "RATES (USD/1M TOKENS)"), rows)


@costs_prices.command("remove")
@click.argument("price_id", type=int)
@settings_options(serve=False)
def costs_prices_remove(price_id: int, **options: Any) -> None:
    """Remove price PRICE_ID (a running server stops applying it within 2 s)."""
    with _store(build_settings(options)) as store:
        price = _run(lambda: store.remove_price(price_id))
    click.echo(f"removed price {price.id} ({price.provider}/{price.model})")


@costs.command("recompute")
@click.option("--project", required=True, help="Project whose events to re-price.")
@click.option("--since", required=True, help="First day (YYYY-MM-DD, UTC) of events to re-price.")
@settings_options(serve=False)
def costs_recompute(project: str, since: str, **options: Any) -> None:
    """Price again the model events of PROJECT that started on or after SINCE, with the
    prices in force now: computed costs follow, costs the clients sent stay."""
    day = _usage(lambda: parse_day(since, "since"), "--since")
    assert day is not None  # --since is required
    since_ms = datetime.datetime.combine(day, datetime.time(), datetime.UTC).timestamp() * 1000
    with _store(build_settings(options)) as store:
        project_id = _project_id(store, project)
        done = _run(lambda: asyncio.run(recompute_costs(store, project_id, since_ms)))
    click.echo(f"re-priced {done.events:,} model events of project {project} since {day}")


def _rates(rates: Sequence[str]) -> dict[str, float]:
    parsed: dict[str, float] = {}
    for item in rates:
        name, equals, value = item.partition("=")
        try:
            parsed[name.strip()] = float(value) if equals else float("nan")
        except ValueError:
            parsed[name.strip()] = float("nan")
    return parsed


def _project_id(store: Store, name: str) -> str:
    for project in store.list_projects():
        if project.name == name:
            return project.id
    raise click.ClickException(f"no project named {name!r}")


@main.group()
def keys() -> None:
    """Create, list and revoke API keys (secrets are shown once, at creation)."""


@keys.command("create")
@click.option("--project", "project_name", required=True, help="Project the key belongs to.")
@click.option(
    "--kind",
    type=click.Choice(KEY_KINDS),
    default="full",
    show_default=True,
    help="full: read and write; ingest: write telemetry only; dataplane: only the "
    "/v1/projects/{id}/… routes of its project (the HoneyHive SDK's data_plane_api_key).",
)
@settings_options(serve=False)
def keys_create(project_name: str, kind: str, **options: Any) -> None:
    """Create a key and print only the secret on stdout."""
    with _store(build_settings(options)) as store:
        _, secret = _run(lambda: store.create_key(project_name, kind))  # type: ignore[arg-type]  # Choice guarantees a KeyKind
    click.echo(secret)


@keys.command("list")
@settings_options(serve=False)
def keys_list(**options: Any) -> None:
    """List keys (never their secrets)."""
    with _store(build_settings(options)) as store:
        rows = [
            (
                k.id,
                k.project_name,
                k.kind,
                _when(k.created_at),
                _when(k.revoked_at) if k.revoked_at else "-",
            )
            for k in store.list_keys()
        ]
    _table(("KEY ID", "PROJECT", "KIND", "CREATED", "REVOKED"), rows)


@keys.command("revoke")
@click.argument("key")
@settings_options(serve=False)
def keys_revoke(key: str, **options: Any) -> None:
    """Revoke KEY, given by its id (see `keys list`) or whole; requests with it are
    refused from now on."""
    key_id = key_id_of(key)
    if key_id is None:
        # Never echo it: it may be a secret with a typo.
        raise click.BadParameter(
            "neither a key id (24 letters and digits, see `hivekeeper keys list`) nor a "
            "whole key; not shown here in case it is a secret",
            param_hint="KEY",
        )
    with _store(build_settings(options)) as store:
        revoked = _run(lambda: store.revoke_key(key_id))
    click.echo(f"revoked key {revoked.id} of project {revoked.project_name}")


@main.command()
@click.option("--from", "source_url", required=True, help="Database URL to copy from.")
@click.option("--to", "target_url", required=True, help="Database URL to copy into.")
@click.option(
    "--batch-size", default=5000, show_default=True, type=click.IntRange(1, 100_000),
    help="Rows per target transaction.",
)  # fmt: skip
@click.option(
    "--from-start", is_flag=True,
    help="Re-copy every row instead of resuming after the target's last one.",
)  # fmt: skip
def copy(source_url: str, target_url: str, batch_size: int, from_start: bool) -> None:
    """Copy every project, key, session and event, and every dataset, datapoint, prompt,
    metric, run and saved chart, between two databases of any engine.

    Interrupted, it resumes where it stopped; at the end it compares the row and record
    counts of every project. Stop servers on the source first, or new events may be missed
    (a re-run with --from-start then catches up).
    """
    with _open(source_url) as source, _open(target_url) as target:
        report = _run(
            lambda: copy_store(
                source, target, batch_size=batch_size, from_start=from_start,
                progress=lambda n: click.echo(f"copied {n} rows", err=True),
            )
        )  # fmt: skip
    if report.resumed_after is not None:
        click.echo(f"resumed after {report.resumed_after[1]} of project {report.resumed_after[0]}")
    total = sum(report.target_counts.values())
    if report.source_counts != report.target_counts:
        raise click.ClickException(
            f"counts differ after copying {report.copied} rows: source "
            f"{report.source_counts}, target {report.target_counts}; re-run with --from-start"
        )
    if not report.verified:
        # A record deleted from the source since an earlier copy stays on the target.
        raise click.ClickException(
            f"evaluation records differ: source {report.source_records}, target "
            f"{report.target_records}; the source changed since an earlier copy into this "
            "target: copy into an empty database"
        )
    click.echo(
        f"copied {report.copied} rows; verified {total} rows in "
        f"{len(report.target_counts)} projects and {report.records} evaluation records"
    )


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@settings_options(serve=False)
def backup(path: Path, **options: Any) -> None:
    """Copy the database to the new file PATH; safe while a server is writing to it."""
    with _store(build_settings(options)) as store:
        _run(lambda: store.backup(path))
    click.echo(f"backed up to {path}")


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@settings_options(serve=False)
def restore(path: Path, **options: Any) -> None:
    """Replace the database with the backup PATH (stop the server first).

    PATH must pass SQLite's integrity check and be a hivekeeper database; the old
    database is kept beside it as <name>.pre-restore-<time>.
    """
    settings = build_settings(options)
    store = _configured(lambda: open_store(settings.database_url))
    kept = _run(lambda: store.restore(path))
    click.echo(f"restored {path}" + (f"; the previous database is kept at {kept}" if kept else ""))


@main.command("demo")
@settings_options(serve=False)
def demo_command(**options: Any) -> None:
    """Load the demo data set (3 projects, a 10,000-event session; idempotent) and print
    a new full key per demo project."""
    with _store(build_settings(options)) as store:
        click.echo(_load_demo(store, None))


def _load_demo(store: Store, url: str | None) -> str:
    from hivekeeper.demo import create_demo_keys, load_demo

    loaded = _run(lambda: load_demo(store))
    keys = _run(lambda: create_demo_keys(store))
    done = (
        f"loaded {loaded.sessions:,} sessions and {loaded.events:,} events in "
        f"{loaded.seconds:.1f} s"
        if loaded.written
        else "already loaded; nothing written"
    )
    lines = [f"\nhivekeeper demo data set: {done}.", "A full API key per demo project, shown once:"]
    lines += [f"    {name:<12} {secret}" for name, secret in keys]
    lines.append(f"Browse it at {url}/" if url else "Browse it: hivekeeper serve, then open /")
    return "\n".join(lines) + "\n"


def _base_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    return f"http://{host}:{settings.port}"


@main.command("clickhouse-ddl")
@click.option("--cluster", required=True, help="The ClickHouse cluster (remote_servers) name.")
@click.option("--database", default="default", show_default=True, help="Database to create.")
def clickhouse_ddl(cluster: str, database: str) -> None:
    """Print the DDL of a sharded, replicated ClickHouse cluster for hivekeeper.

    Run it once with clickhouse-client; then point every server at the cluster with
    --database-url clickhouse://HOST/DATABASE (it finds the schema in place).
    """
    from hivekeeper.store.clickhouse import cluster_ddl

    click.echo(";\n\n".join(cluster_ddl(cluster, database)) + ";")


@contextlib.contextmanager
def _store(settings: Settings) -> Iterator[Store]:
    with _open(settings.database_url) as store:
        yield store


@contextlib.contextmanager
def _open(database_url: str) -> Iterator[Store]:
    store = _configured(lambda: open_store(database_url))
    _run(store.open)
    try:
        yield store
    finally:
        store.close()


def _run(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except HivekeeperError as exc:
        raise click.ClickException(exc.message) from exc


class _ConfigurationError(click.ClickException):
    """A setting or stored configuration the server cannot run with: exit 2, one line."""

    exit_code = 2


def _configured(fn: Callable[[], Any]) -> Any:
    """Like `_run`, for checks of the configuration: a mistake exits 2."""
    try:
        return fn()
    except HivekeeperError as exc:
        raise _ConfigurationError(exc.message) from exc


def _usage(fn: Callable[[], Any], param_hint: str) -> Any:
    """Like `_run`, for checks of one argument: a mistake is a usage error (exit 2)."""
    try:
        return fn()
    except HivekeeperError as exc:
        raise click.BadParameter(exc.message, param_hint=param_hint) from exc


def _when(epoch_s: float | None) -> str:
    if epoch_s is None:
        return "-"
    return datetime.datetime.fromtimestamp(epoch_s, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(v)) for v in col) for col in zip(header, *rows, strict=False)]
    for line in (header, *rows):
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def _welcome(settings: Settings, project: str, secret: str) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"http://{host}:{settings.port}"
    return f"""
hivekeeper: created project "{project}" and its first API key. It is shown only once:

    {secret}

Point the HoneyHive SDK at this server:

    from honeyhive import HoneyHiveTracer, HoneyHive
    HoneyHiveTracer.init(api_key="{secret}", server_url="{url}")
    client = HoneyHive(api_key="{secret}", server_url="{url}")

or export HH_API_KEY={secret} HH_API_URL={url}
Web UI: {url}/ (sign in with this key)
Database: {settings.database_url}
"""

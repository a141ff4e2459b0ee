"""The `hivekeeper` command: a thin shell over the library.

Exit codes: 0 success (for `serve`, also a graceful stop on SIGTERM or SIGINT), 1 a
runtime error (e.g. unknown project), 2 a usage or configuration error (click's
convention).
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from hivekeeper import __version__
from hivekeeper.config import Settings, build_settings, settings_options
from hivekeeper.domain.errors import HivekeeperError
from hivekeeper.domain.redaction import DEFAULT_REPLACEMENT, compile_pattern
from hivekeeper.domain.retention import describe_retention, parse_retention
from hivekeeper.domain.tenancy import KEY_KINDS
from hivekeeper.store import Store, open_store


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hivekeeper")
def main() -> None:
    """hivekeeper: self-hosted LLM observability that speaks the HoneyHive API."""


@main.command()
@settings_options(serve=True)
def serve(**options: Any) -> None:
    """Run the server (creates and migrates the database on first start)."""
    import uvicorn

    from hivekeeper.app import create_app
    from hivekeeper.logs import logging_config

    settings = build_settings(options)
    with _store(settings) as store:
        first = store.bootstrap()
    if first.new_key_secret:
        click.echo(_welcome(settings, first.project.name, first.new_key_secret))
    app = create_app(settings)
    _tune_gc()
    with _stop_signals_exit_zero():
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_config=logging_config(settings.log_level, settings.log_format),
            access_log=False,
            # uvicorn would take X-Forwarded-For from any local peer as the client address;
            # the app reads it itself, and only with --trust-forwarded-for.
            proxy_headers=False,
            # A client trickling its body must not hold a stopping server forever; a
            # request cancelled here was never answered, so nothing acknowledged is lost.
            timeout_graceful_shutdown=settings.shutdown_timeout_s,
        )


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
    """Redact matches of REGEX (Python syntax) in every string project NAME stores.

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
def keys() -> None:
    """Create, list and revoke API keys (secrets are shown once, at creation)."""


@keys.command("create")
@click.option("--project", "project_name", required=True, help="Project the key belongs to.")
@click.option(
    "--kind",
    type=click.Choice(KEY_KINDS),
    default="full",
    show_default=True,
    help="full: read and write; ingest: write only.",
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
@click.argument("key_id")
@settings_options(serve=False)
def keys_revoke(key_id: str, **options: Any) -> None:
    """Revoke KEY_ID; requests with it are refused from now on."""
    with _store(build_settings(options)) as store:
        key = _run(lambda: store.revoke_key(key_id))
    click.echo(f"revoked key {key.id} of project {key.project_name}")


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
    store = _run(lambda: open_store(settings.database_url))
    kept = _run(lambda: store.restore(path))
    click.echo(f"restored {path}" + (f"; the previous database is kept at {kept}" if kept else ""))


@contextlib.contextmanager
def _store(settings: Settings) -> Iterator[Store]:
    store = _run(lambda: open_store(settings.database_url))
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
Database: {settings.database_url}
"""

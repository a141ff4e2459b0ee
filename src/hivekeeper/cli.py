"""The `hivekeeper` command: a thin shell over the library.

Exit codes: 0 success, 1 a runtime error (e.g. unknown project), 2 a usage or
configuration error (click's convention).
"""

from __future__ import annotations

import contextlib
import datetime
import gc
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import click

from hivekeeper import __version__
from hivekeeper.config import Settings, build_settings, settings_options
from hivekeeper.domain.errors import HivekeeperError
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
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,
    )


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
    """Create and list projects (works on a live database too)."""


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
        rows = [(p.name, p.id, _when(p.created_at)) for p in store.list_projects()]
    _table(("NAME", "ID", "CREATED"), rows)


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

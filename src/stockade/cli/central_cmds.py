"""``stockade central``: run Central, and operate its database."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from stockade.central.config import CentralConfig, load_config
from stockade.core.logging import setup_logging

_OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("--config", {"type": click.Path(path_type=Path), "help": "YAML configuration file"}),
    ("--data-dir", {"type": click.Path(path_type=Path), "help": "Central's data directory"}),
    ("--db-url", {"help": "PostgreSQL URL; without one the embedded PostgreSQL runs"}),
    ("--bind", {"help": "address to listen on (default 127.0.0.1)"}),
    ("--port", {"type": int, "help": "HTTPS port (default 8443)"}),
    ("--tls/--no-tls", {"default": None, "help": "serve HTTPS (default) or plain HTTP"}),
    (
        "--secrets-dir",
        {
            "type": click.Path(path_type=Path),
            "help": "directory of operator-provided secrets (a mounted Secret)",
        },
    ),
    (
        "--master-key-file",
        {"type": click.Path(path_type=Path), "help": "master key (default <data-dir>/master.key)"},
    ),
    ("--scanner-db-url", {"help": "Scanner DB URL (default: <Central DB>_scanner beside it)"}),
    (
        "--vuln-bundle",
        {
            "type": click.Path(path_type=Path, exists=True, dir_okay=False),
            "help": "offline vulnerability bundle to load at start",
        },
    ),
    (
        "--feed-updates/--no-feed-updates",
        {"default": None, "help": "update vulnerability data from upstream feeds (needs network)"},
    ),
    ("--scanner-indexer-endpoint", {"help": "Indexer run apart (host:port, gRPC mutual TLS)"}),
    ("--scanner-matcher-endpoint", {"help": "Matcher run apart (host:port, gRPC mutual TLS)"}),
    (
        "--scanner-tls-ca",
        {
            "type": click.Path(path_type=Path),
            "help": "CA the Scanner services' certificates chain to",
        },
    ),
    (
        "--scanner-tls-cert",
        {"type": click.Path(path_type=Path), "help": "Central's client certificate (OU CENTRAL)"},
    ),
    ("--scanner-tls-key", {"type": click.Path(path_type=Path), "help": "its private key"}),
    (
        "--scanner-server-name",
        {"help": "name to check in the Scanner services' certificates (default: the host)"},
    ),
    ("--log-level", {"help": "debug, info, warning, error"}),
    ("--log-json/--no-log-json", {"default": None, "help": "one JSON object per log line"}),
]


def _with_options(f: Any) -> Any:
    for decl, kwargs in reversed(_OPTIONS):
        f = click.option(decl, **kwargs)(f)
    return f


def _config(ctx: click.Context) -> CentralConfig:
    flags = dict(ctx.obj or {})
    config_file = flags.pop("config", None)
    return load_config(flags, config_file=config_file)


@click.group(invoke_without_command=True)
@_with_options
@click.pass_context
def command(ctx: click.Context, /, **flags: Any) -> None:
    """Run Central (with no subcommand), or operate it."""
    ctx.obj = flags
    if ctx.invoked_subcommand is not None:
        return
    cfg = _config(ctx)
    setup_logging(cfg.log_level, as_json=cfg.log_json)
    from stockade.central.server import run  # noqa: PLC0415  (heavy imports only when serving)

    run(cfg)


@command.group()
def db() -> None:
    """Central DB: backup and restore."""


@contextlib.contextmanager
def _database_url(cfg: CentralConfig) -> Iterator[str]:
    if cfg.db_url:
        yield cfg.db_url
        return
    from stockade.central.db.embedded import EmbeddedPostgres  # noqa: PLC0415

    embedded = EmbeddedPostgres(cfg.data_dir)
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


@db.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="backup file to write (0600)",
)
@click.pass_context
def backup(ctx: click.Context, output: Path) -> None:
    """Back up Central DB together with Central's master key."""
    from stockade.central.backup import backup as do_backup  # noqa: PLC0415

    cfg = _config(ctx)
    setup_logging(cfg.log_level, as_json=cfg.log_json)
    with _database_url(cfg) as url:
        manifest = do_backup(url, cfg.resolved_master_key_file, output)
    click.echo(json.dumps({"backup": str(output), **manifest}, indent=2))


@db.command()
@click.argument("backup_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.pass_context
def restore(ctx: click.Context, backup_file: Path) -> None:
    """Restore a backup into an empty Central DB and put its master key in place."""
    from stockade.central.backup import restore as do_restore  # noqa: PLC0415

    cfg = _config(ctx)
    setup_logging(cfg.log_level, as_json=cfg.log_json)
    with _database_url(cfg) as url:
        manifest = do_restore(backup_file, url, cfg.resolved_master_key_file)
    click.echo(f"restored backup from {manifest.get('createdAt')} into Central DB")

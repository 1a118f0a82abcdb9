"""``stockade scanner matcher``: serve the MatcherService (gRPC, mutual TLS) and keep the
vulnerability data current on a schedule.

Updates come from an offline bundle file (``--offline-bundle``, re-read every interval; an
unchanged file is skipped), from the sources' upstream feeds (``--feed-updates``), or both.
With neither, and an empty Scanner DB, the Matcher still starts and says "no vulnerability
data" in GetMetadata, in its health service and in every report. Exit codes: 2 usage, 3 the
Scanner DB or the listen address cannot be used.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import click

from stockade.cli.grpc_options import service_options, tls_paths
from stockade.core.errors import ConfigError
from stockade.scanner.grpc_server import TLSFiles, serve_until_signalled
from stockade.scanner.matcher.service import (
    MatcherServicer,
    UpdatePlan,
    run_updates,
    start_matcher,
)
from stockade.scanner.matcher.store import VulnerabilityStore
from stockade.scanner.remote import IndexerReports

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_interval(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``15m``, ``4h`` or ``1d``; at least one second."""
    m = _DURATION.match(text)
    if m is None:
        raise ConfigError(f"--update-interval {text!r} is not a duration like 30m or 4h.")
    seconds = float(m.group(1)) * _UNIT[m.group(2)]
    if seconds < 1:
        raise ConfigError("--update-interval must be at least one second.")
    return seconds


@click.command("matcher")
@service_options("127.0.0.1:8444")
@click.option(
    "--db-url",
    envvar="STOCKADE_SCANNER_DB_URL",
    required=True,
    help="Scanner DB URL (postgresql://...); or STOCKADE_SCANNER_DB_URL.",
)
@click.option(
    "--offline-bundle",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Update from this bundle file (stockade scanner bundle export); may appear later.",
)
@click.option("--feed-updates", is_flag=True, help="Update from the sources' upstream feeds.")
@click.option(
    "--update-interval", default="4h", show_default=True, help="Time between update rounds."
)
@click.option(
    "--indexer-endpoint",
    default=None,
    metavar="HOST:PORT",
    help="Indexer to fetch index reports from when a request names only a digest "
    "(this Matcher's certificate is its client certificate).",
)
def matcher(
    listen: str,
    tls_cert: str | None,
    tls_key: str | None,
    tls_ca: str | None,
    client_ous: tuple[str, ...],
    db_url: str,
    offline_bundle: Path | None,
    feed_updates: bool,
    update_interval: str,
    indexer_endpoint: str | None,
) -> None:
    """Serve the MatcherService (gRPC, mutual TLS) and update its data on a schedule."""
    interval = parse_interval(update_interval)
    paths = tls_paths(tls_cert, tls_key, tls_ca)
    tls = TLSFiles.load(*paths) if paths else None
    store = VulnerabilityStore(db_url)
    store.migrate()
    plan = UpdatePlan(bundle=offline_bundle, feeds=feed_updates, interval=interval)

    async def serve() -> None:
        reports = IndexerReports(indexer_endpoint, tls) if indexer_endpoint else None
        servicer = MatcherServicer(store, reports.get if reports else None)
        server, port = await start_matcher(servicer, listen, tls, client_ous=frozenset(client_ous))
        host = listen.rsplit(":", 1)[0]
        click.echo(f"MatcherService listening on {host}:{port}", err=True)
        if servicer.matcher.count == 0 and offline_bundle is None and not feed_updates:
            click.echo("warning: no vulnerability data and no update source", err=True)
        # with no update source the rounds still pick up what `stockade scanner update` or
        # `bundle import` wrote to the same Scanner DB
        updates = asyncio.create_task(run_updates(servicer, plan))
        try:
            await serve_until_signalled(server)
        finally:
            updates.cancel()
            if reports is not None:
                await reports.close()

    asyncio.run(serve())

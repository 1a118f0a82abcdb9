"""``stockade scanner``: index images (``index``), and the Matcher's ``update`` / ``bundle``.

``stockade scanner index IMAGE`` prints what an image contains. IMAGE is ``oci:DIR[:TAG]``,
``docker-archive:FILE[:REPO:TAG]`` or a registry reference ``host[:port]/repo[:tag]``.
Output: a table (default), the index report as JSON, or an SBOM (SPDX 2.3 / CycloneDX 1.5
JSON). With ``--db-url`` (or ``STOCKADE_SCANNER_DB_URL``) layers and reports are cached in
Scanner DB. Exit codes: 0 indexed, 2 usage, 3 the image could not be read.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys

import click

from stockade.cli.grpc_options import service_options, tls_paths
from stockade.core.errors import ConfigError
from stockade.model.index_report import IndexReport, report_to_dict
from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.errors import ImageSourceError
from stockade.scanner.indexer.image import Platform
from stockade.scanner.indexer.registry import RegistryOptions, parse_reference
from stockade.scanner.indexer.sources import open_source
from stockade.scanner.indexer.store import MemoryStore, PostgresStore

# Commands other modules define, loaded only when used (they import the Matcher, and the SBOM
# libraries are slow to import), so ``stockade scanner index`` starts fast.
_LAZY: dict[str, tuple[str, str]] = {
    "update": ("stockade.cli.bundle_cmds", "update"),
    "bundle": ("stockade.cli.bundle_cmds", "bundle"),
    "match": ("stockade.cli.bundle_cmds", "match"),
    "matcher": ("stockade.cli.matcher_cmd", "matcher"),
    "certs": ("stockade.cli.certs_cmd", "certs"),
}


class _ScannerGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY and cmd_name not in self.commands:
            module, attr = _LAZY[cmd_name]
            cmd = getattr(importlib.import_module(module), attr, None)
            if isinstance(cmd, click.Command):
                self.add_command(cmd, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group("scanner", cls=_ScannerGroup)
def command() -> None:
    """Scanner: index images and keep vulnerability data current."""


@command.command("index")
@click.argument("image")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json", "spdx-json", "cyclonedx-json"]),
    default="table",
    show_default=True,
)
@click.option("--platform", default="linux/amd64", show_default=True, help="os/arch[/variant].")
@click.option(
    "--insecure-registry",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Allow plain HTTP / unverified TLS for this registry (repeatable).",
)
@click.option("--username", envvar="STOCKADE_REGISTRY_USERNAME", default=None)
@click.option(
    "--password-stdin", is_flag=True, help="Read the registry password from standard input."
)
@click.option(
    "--db-url",
    envvar="STOCKADE_SCANNER_DB_URL",
    default=None,
    help="Scanner DB (postgresql://...) for the layer cache; or STOCKADE_SCANNER_DB_URL.",
)
def index(
    image: str,
    output: str,
    platform: str,
    insecure_registry: tuple[str, ...],
    username: str | None,
    password_stdin: bool,
    db_url: str | None,
) -> None:
    """Index IMAGE and print its distribution and packages."""
    credentials: dict[str, tuple[str, str]] = {}
    if username:
        password = (
            sys.stdin.readline().rstrip("\n")
            if password_stdin
            else os.environ.get("STOCKADE_REGISTRY_PASSWORD", "")
        )
        if image.startswith(("oci:", "docker-archive:")):
            raise ConfigError("--username applies to registry images only.")
        credentials[parse_reference(image).registry] = (username, password)
    try:
        plat = Platform.parse(platform)
    except ImageSourceError as exc:
        raise ConfigError(f"--platform {platform!r} is not of the form os/arch[/variant].") from exc
    source = open_source(
        image,
        platform=plat,
        registry=RegistryOptions(insecure=frozenset(insecure_registry), credentials=credentials),
    )
    store = PostgresStore(db_url) if db_url else None
    try:
        report = Indexer(store).index(source)
    finally:
        source.close()
        if store is not None:
            store.close()
    click.echo(render(report, output))


@command.command("indexer")
@service_options("127.0.0.1:8443")
@click.option(
    "--db-url",
    envvar="STOCKADE_SCANNER_DB_URL",
    default=None,
    help="Scanner DB (postgresql://...); without it reports live in memory only.",
)
@click.option(
    "--allow-local-images",
    is_flag=True,
    help="Let clients index oci:/docker-archive: paths on this host.",
)
def indexer(
    listen: str,
    tls_cert: str | None,
    tls_key: str | None,
    tls_ca: str | None,
    client_ous: tuple[str, ...],
    db_url: str | None,
    allow_local_images: bool,
) -> None:
    """Serve the IndexerService (gRPC, mutual TLS)."""
    service = importlib.import_module("stockade.scanner.indexer.service")
    grpc_server = importlib.import_module("stockade.scanner.grpc_server")
    paths = tls_paths(tls_cert, tls_key, tls_ca)
    tls = service.TLSFiles.load(*paths) if paths else None
    store = PostgresStore(db_url) if db_url else MemoryStore()

    async def serve() -> None:
        servicer = service.IndexerServicer(store, allow_local_images=allow_local_images)
        server, port = await service.start_server(
            servicer, listen, tls, client_ous=frozenset(client_ous)
        )
        click.echo(f"IndexerService listening on {listen.rsplit(':', 1)[0]}:{port}", err=True)
        await grpc_server.serve_until_signalled(server)

    asyncio.run(serve())


def render(report: IndexReport, output: str) -> str:
    if output == "json":
        return json.dumps(report_to_dict(report), indent=2)
    if output in ("spdx-json", "cyclonedx-json"):
        sbom = importlib.import_module("stockade.scanner.indexer.sbom")
        return str(sbom.to_spdx(report) if output == "spdx-json" else sbom.to_cyclonedx(report))
    return _table(report)


def _table(report: IndexReport) -> str:
    dist = report.distribution
    lines = [
        f"Image:        {report.image}",
        f"Manifest:     {report.manifest_digest}",
        "Distribution: "
        + (
            f"{dist.pretty_name or dist.name} ({dist.did} {dist.version_id})" if dist else "unknown"
        ),
        f"Packages:     {len(report.packages)} in {len(report.layers)} layers",
        "",
    ]
    layer_no = {layer.diff_id: i for i, layer in enumerate(report.layers)}
    rows = [("NAME", "VERSION", "TYPE", "LAYER", "PATH")]
    for p in sorted(report.packages, key=lambda p: (p.ecosystem.value, p.name.lower(), p.version)):
        rows.append((p.name, p.version, p.ecosystem.value, str(layer_no.get(p.layer, "?")), p.path))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        lines.append(
            "  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
        )
    return "\n".join(lines)

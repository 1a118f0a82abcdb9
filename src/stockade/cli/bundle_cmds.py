"""``stockade scanner update``, ``stockade scanner bundle export|import`` and
``stockade scanner match REPORT``.

``update``, ``bundle`` and ``match`` are click commands the ``scanner`` group adds;
``command`` groups them for registration on their own. The Scanner DB is named by ``--db-url`` or
``STOCKADE_SCANNER_DB_URL``. Exit codes: 0 every source updated (or unchanged), 3 at least
one source failed (the others were still updated), 2 usage. ``match`` exits 3 when the store
holds no vulnerability data (its report says so rather than showing an empty result).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from stockade.core.errors import ConfigError
from stockade.model.index_report import report_from_dict
from stockade.scanner.matcher.bundle import bundle_updaters, export_bundle
from stockade.scanner.matcher.match import Matcher, ReportStatus
from stockade.scanner.matcher.match import report_to_dict as match_report_to_dict
from stockade.scanner.matcher.sources import make_updater, names
from stockade.scanner.matcher.sources.base import Updater
from stockade.scanner.matcher.store import UpdateRun, VulnerabilityStore

_DB = click.option(
    "--db-url",
    envvar="STOCKADE_SCANNER_DB_URL",
    required=True,
    help="Scanner DB URL (postgresql://...); or STOCKADE_SCANNER_DB_URL.",
)


def _store(db_url: str) -> VulnerabilityStore:
    store = VulnerabilityStore(db_url)
    store.migrate()
    return store


def _report(ctx: click.Context, runs: list[UpdateRun]) -> None:
    for run in runs:
        line = f"{run.source:<20} {run.status:<10} {run.records:>8}"
        if run.error:
            line += f"  {run.error}"
        click.echo(line)
    failed = [r.source for r in runs if r.status == "failed"]
    if failed:
        click.echo(f"error: {len(failed)} source(s) failed: {', '.join(failed)}", err=True)
        ctx.exit(3)


def _parse_offline(values: tuple[str, ...]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"--offline expects NAME=PATH, got {value!r}")
        out[name] = Path(path)
    return out


@click.command("update")
@_DB
@click.option("--source", "sources", multiple=True, help="Update only this source (repeatable).")
@click.option(
    "--offline",
    "offline",
    multiple=True,
    metavar="NAME=PATH",
    help="Read source NAME from a file or directory instead of its upstream (repeatable).",
)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.pass_context
def update(
    ctx: click.Context,
    db_url: str,
    sources: tuple[str, ...],
    offline: tuple[str, ...],
    workdir: Path | None,
) -> None:
    """Update the vulnerability store from the sources (online, or offline files)."""
    paths = _parse_offline(offline)
    # the manual source has no upstream: it runs only when given a file (--offline manual=...)
    selected = list(sources) or (list(paths) if paths else [n for n in names() if n != "manual"])
    updaters: list[Updater] = [make_updater(n, offline=paths.get(n)) for n in selected]
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    _report(ctx, _store(db_url).update_all(updaters, workdir))


@click.group("bundle")
def bundle() -> None:
    """Move vulnerability data between stores as one file (air-gapped Matchers)."""


@bundle.command("export")
@_DB
@click.option("--source", "sources", multiple=True, help="Export only this source.")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def bundle_export(db_url: str, sources: tuple[str, ...], out: Path) -> None:
    """Write every source's records, a manifest and checksums into OUT."""
    manifest = export_bundle(_store(db_url), out, list(sources) or None)
    total = sum(e.records for e in manifest.sources)
    click.echo(f"wrote {out}: {len(manifest.sources)} sources, {total} records")


@bundle.command("import")
@_DB
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def bundle_import(ctx: click.Context, db_url: str, file: Path) -> None:
    """Load a bundle into the store; each source is replaced atomically."""
    updaters: list[Updater] = list(bundle_updaters(file))
    _report(ctx, _store(db_url).update_all(updaters))


@click.command("match")
@_DB
@click.argument("report", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def match(ctx: click.Context, db_url: str, report: Path, output: str) -> None:
    """Match an index report (JSON, as ``stockade scanner index -o json`` prints it)."""
    try:
        index = report_from_dict(json.loads(report.read_text()))
    except FileNotFoundError as exc:
        raise ConfigError(f"{report} does not exist") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{report.name} is not an index report ({exc})") from exc
    result = Matcher(_store(db_url).records()).match(index)
    if output == "json":
        click.echo(json.dumps(match_report_to_dict(result), indent=2))
    else:
        for note in result.notes:
            click.echo(f"note: {note}")
        for f in result.findings:
            fixed = f.fixed_version or f"({f.state.value})"
            click.echo(f"{f.package:<30} {f.version:<22} {f.id:<22} {f.severity.value:<10} {fixed}")
        click.echo(f"{len(result.findings)} findings")
    if result.status is ReportStatus.NO_VULNERABILITY_DATA:
        ctx.exit(3)


@click.group("vulndb")
def command() -> None:
    """Vulnerability data: update from the sources, export and import bundles."""


command.add_command(update)
command.add_command(bundle)
command.add_command(match)

"""``stockade policy import|export|lint``: policies in the product's JSON format.

Offline, the policy set is Stockade's defaults plus a directory of policy files (the same
``--policies DIR`` the check commands read). ``import`` validates files and writes each policy
into that directory; ``export`` writes the set as one ``{"policies": [...]}`` document; ``lint``
validates files and reports every problem.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import click

from stockade.cli.check_cmds import local_policies, read_input, require_local
from stockade.core.errors import ConfigError
from stockade.policy import PolicyError, dumps_policies, load_policies, validate_policy


@click.group("policy")
def command() -> None:
    """Import, export and lint policies."""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80] or "policy"


@command.command("lint")
@click.argument("files", nargs=-1, required=True)
def lint(files: Sequence[str]) -> None:
    """Validate policy files; exit 1 if any policy is invalid."""
    problems = 0
    checked = 0
    for path in files:
        try:
            policies = load_policies(read_input(path), where=path)
        except PolicyError as exc:
            click.echo(f"{path}: {exc.message}", err=True)
            problems += 1
            continue
        for p in policies:
            checked += 1
            try:
                validate_policy(p)
            except PolicyError as exc:
                click.echo(f"{path}: {exc.message}", err=True)
                problems += 1
    click.echo(f"{checked} policies checked, {problems} problem(s).")
    click.get_current_context().exit(1 if problems else 0)


@command.command("import")
@click.argument("files", nargs=-1, required=True)
@click.option("--local", is_flag=True, help="Import into a local policy directory.")
@click.option("-e", "--endpoint", envvar="STOCKADE_ENDPOINT", help="Central endpoint.")
@click.option("--into", "into", type=click.Path(file_okay=False), help="Local policy directory.")
@click.option("--overwrite", is_flag=True, help="Replace policies of the same name.")
def import_(
    files: Sequence[str], local: bool, endpoint: str | None, into: str | None, overwrite: bool
) -> None:
    """Validate policy files and add their policies to a local policy directory."""
    require_local(local or into is not None, endpoint)
    if into is None:
        raise ConfigError("--into DIR is required to import locally")
    target = Path(into)
    target.mkdir(parents=True, exist_ok=True)
    policies = []
    for path in files:
        for p in load_policies(read_input(path), where=path):
            validate_policy(p)
            policies.append(p)
    written = 0
    for p in policies:
        dest = target / f"{_slug(p.name)}.json"
        if dest.exists() and not overwrite:
            raise ConfigError(f"{dest} exists; pass --overwrite to replace policy {p.name!r}")
        dest.write_text(dumps_policies(p), encoding="utf-8")
        written += 1
    click.echo(f"Imported {written} policies into {target}.")


@command.command("export")
@click.option("--local", is_flag=True, help="Export the local policy set.")
@click.option("-e", "--endpoint", envvar="STOCKADE_ENDPOINT", help="Central endpoint.")
@click.option("--policies", "policy_dir", type=click.Path(file_okay=False),
              help="Directory of policy files to include.")  # fmt: skip
@click.option("--no-defaults", is_flag=True, help="Leave out Stockade's default policies.")
@click.option("--name", "names", multiple=True, help="Export only these policies (repeatable).")
@click.option("-O", "--out", "out", type=click.Path(dir_okay=False), help="Write to a file.")
def export(
    local: bool,
    endpoint: str | None,
    policy_dir: str | None,
    no_defaults: bool,
    names: Sequence[str],
    out: str | None,
) -> None:
    """Write policies as one {"policies": [...]} document."""
    require_local(local, endpoint)
    policies = sorted(local_policies(policy_dir, not no_defaults), key=lambda p: p.name)
    if names:
        missing = set(names) - {p.name for p in policies}
        if missing:
            raise ConfigError(f"no policy named {sorted(missing)[0]!r}")
        policies = [p for p in policies if p.name in names]
    text = dumps_policies(policies)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"Exported {len(policies)} policies to {out}.", err=True)
    else:
        click.echo(text, nl=False)

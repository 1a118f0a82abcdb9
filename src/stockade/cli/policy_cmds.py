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
from typing import Any

import click

from stockade.cli.central_client import client_options, make_client
from stockade.cli.check_cmds import local_policies, read_input
from stockade.core.errors import ConfigError
from stockade.policy import (
    PolicyError,
    dumps_policies,
    load_policies,
    policy_to_json,
    validate_policy,
)


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
@click.option("--into", "into", type=click.Path(file_okay=False), help="Local policy directory.")
@click.option("--overwrite", is_flag=True, help="Replace policies of the same name.")
@client_options
@click.pass_context
def import_(
    ctx: click.Context,
    /,
    files: Sequence[str],
    local: bool,
    into: str | None,
    overwrite: bool,
    **conn: Any,
) -> None:
    """Validate policy files and add their policies to Central, or (--local --into DIR) to a
    local policy directory."""
    if not local and into is None:
        _import_into_central(ctx, files, overwrite, conn)
        return
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
@click.option("--policies", "policy_dir", type=click.Path(file_okay=False),
              help="Directory of policy files to include.")  # fmt: skip
@click.option("--no-defaults", is_flag=True, help="Leave out Stockade's default policies.")
@click.option("--name", "names", multiple=True, help="Export only these policies (repeatable).")
@click.option("-O", "--out", "out", type=click.Path(dir_okay=False), help="Write to a file.")
@client_options
def export(
    local: bool,
    policy_dir: str | None,
    no_defaults: bool,
    names: Sequence[str],
    out: str | None,
    **conn: Any,
) -> None:
    """Write policies (Central's, or with --local the local set) as one {"policies": [...]}
    document."""
    if local:
        policies = sorted(local_policies(policy_dir, not no_defaults), key=lambda p: p.name)
    else:
        if policy_dir or no_defaults:
            raise ConfigError("--policies and --no-defaults only apply with --local")
        doc = make_client(**conn).json("POST", "/v1/policies/export", {"policyIds": []})
        policies = sorted(load_policies(doc, where="Central's export"), key=lambda p: p.name)
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


def _import_into_central(
    ctx: click.Context, files: Sequence[str], overwrite: bool, conn: dict[str, Any]
) -> None:
    """Send the files' policies to Central; each succeeds or fails on its own (exit 3 if any
    failed)."""
    docs: list[object] = []
    for path in files:
        for p in load_policies(read_input(path), where=path):
            validate_policy(p)  # refuse locally what Central would refuse, naming the file
            docs.append(policy_to_json(p))
    client = make_client(**conn)
    answer = client.json(
        "POST", "/v1/policies/import", {"policies": docs, "metadata": {"overwrite": overwrite}}
    )
    failed = 0
    for item in answer.get("responses", []):
        name = (item.get("policy") or {}).get("name", "?")
        if item.get("succeeded"):
            click.echo(f"imported {name}")
        else:
            failed += 1
            errors = "; ".join(e.get("message", "") for e in item.get("errors", []))
            click.echo(f"failed {name}: {errors}", err=True)
    click.echo(f"Imported {len(docs) - failed} of {len(docs)} policies into Central.")
    ctx.exit(3 if failed else 0)

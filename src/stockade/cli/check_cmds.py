"""``stockade deployment check`` and ``stockade image check``.

Offline (``--local``): Stockade's built-in default policies plus any in ``--policies DIR``,
evaluated in this process. Exit codes: 0 nothing enforced failed, 1 a policy with an
enforcement action for this stage failed, 2 usage error, 3 could not evaluate.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from stockade.cli.policy_report import FORMATS, CheckedObject, CheckReport, policies_tuple, render
from stockade.core.errors import ConfigError, StockadeError
from stockade.model.image import Image, image_from_json
from stockade.policy import (
    LifecycleStage,
    Policy,
    compile_policies,
    load_default_policies,
    load_policies,
)
from stockade.policy.errors import PolicyError
from stockade.workload import load_deployments

MAX_INPUT_BYTES = 8 * 1024 * 1024


class InputError(StockadeError):
    """An input file could not be read or understood."""

    exit_code = 3


def read_input(path: str) -> bytes:
    if path == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    else:
        p = Path(path)
        try:
            if p.stat().st_size > MAX_INPUT_BYTES:
                raise InputError(f"{path} is larger than {MAX_INPUT_BYTES // 2**20} MiB")
            data = p.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{path} is larger than {MAX_INPUT_BYTES // 2**20} MiB")
    return data


def local_policies(policy_dir: str | None, use_defaults: bool) -> list[Policy]:
    """Defaults (unless disabled) overlaid by every *.json policy file in ``policy_dir``."""
    by_name: dict[str, Policy] = {}
    if use_defaults:
        by_name.update((p.name, p) for p in load_default_policies())
    if policy_dir:
        d = Path(policy_dir)
        if not d.is_dir():
            raise ConfigError(f"--policies {policy_dir} is not a directory")
        for f in sorted(d.glob("*.json")):
            for p in load_policies(read_input(str(f)), where=f.name):
                by_name[p.name] = p
    return list(by_name.values())


def load_image(path: str) -> Image:
    try:
        data = json.loads(read_input(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("image"), dict):
        data = data["image"]
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected an image object")
    try:
        return image_from_json(data)
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(f"{path}: not a usable image description ({exc})") from exc


def central_options(f: click.decorators.FC) -> click.decorators.FC:
    f = click.option(
        "--local", is_flag=True, help="Evaluate offline with built-in and --policies policies."
    )(f)
    f = click.option(
        "-e", "--endpoint", envvar="STOCKADE_ENDPOINT", help="Central endpoint (host:port)."
    )(f)
    f = click.option("--token-file", envvar="STOCKADE_TOKEN_FILE", type=click.Path(dir_okay=False),
                     help="File holding a Central API token.")(f)  # fmt: skip
    f = click.option("--policies", "policy_dir", type=click.Path(file_okay=False),
                     help="Directory of policy JSON files to add (offline mode).")(f)  # fmt: skip
    f = click.option(
        "--no-defaults", is_flag=True, help="Do not load Stockade's default policies."
    )(f)
    f = click.option("-o", "--output", type=click.Choice(FORMATS), default="table",
                     show_default=True, help="Output format.")(f)  # fmt: skip
    return f


def require_local(local: bool, endpoint: str | None) -> None:
    if not local:
        hint = f" ({endpoint} was given)" if endpoint else ""
        raise ConfigError(
            "checks against Central are not available yet; run with --local to evaluate "
            f"offline{hint}"
        )


def finish(ctx: click.Context, report: CheckReport, fmt: str) -> None:
    click.echo(render(report, fmt), nl=False)
    ctx.exit(1 if report.any_failing else 0)


@click.group("deployment")
def deployment_group() -> None:
    """Check workloads against deploy-time policies."""


@deployment_group.command("check")
@click.option("-f", "--file", "files", multiple=True, required=True,
              help="Manifest file (YAML/JSON, multi-document, List, helm template output); '-' reads stdin.")  # fmt: skip  # noqa: E501
@click.option("--image-json", "image_files", multiple=True,
              help="Image facts (JSON) for images the manifests use; repeatable.")  # fmt: skip
@click.option("-n", "--namespace", default="default", show_default=True,
              help="Namespace for objects that do not name one.")  # fmt: skip
@central_options
@click.pass_context
def deployment_check(
    ctx: click.Context,
    files: Sequence[str],
    image_files: Sequence[str],
    namespace: str,
    local: bool,
    endpoint: str | None,
    token_file: str | None,
    policy_dir: str | None,
    no_defaults: bool,
    output: str,
) -> None:
    """Evaluate deploy-stage policies against Kubernetes manifests."""
    require_local(local, endpoint)
    policies = local_policies(policy_dir, not no_defaults)
    engine = compile_policies(policies)
    images: dict[str, Image] = {}
    for path in image_files:
        img = load_image(path)
        images[img.name.full_name] = img
        if img.id:
            images[img.id] = img
    objects = []
    for path in files:
        deployments = load_deployments(read_input(path), where=path, default_namespace=namespace)
        for dep in deployments:
            violations = engine.evaluate_deployment(dep, images)
            objects.append(
                CheckedObject("deployment", dep.name, dep.namespace, path, tuple(violations))
            )
    evaluated = policies_tuple(
        [cp.policy for cp in engine.policies if LifecycleStage.DEPLOY in cp.policy.lifecycle_stages]
    )
    finish(ctx, CheckReport(LifecycleStage.DEPLOY, evaluated, tuple(objects)), output)


@click.group("image")
def image_group() -> None:
    """Image checks (and, with Central, scans)."""


@image_group.command("check")
@click.option("--image-json", "image_files", multiple=True, required=True,
              help="Image facts as JSON (name, metadata, components, CVEs).")  # fmt: skip
@central_options
@click.pass_context
def image_check(
    ctx: click.Context,
    image_files: Sequence[str],
    local: bool,
    endpoint: str | None,
    token_file: str | None,
    policy_dir: str | None,
    no_defaults: bool,
    output: str,
) -> None:
    """Evaluate build-stage policies against images."""
    require_local(local, endpoint)
    engine = compile_policies(local_policies(policy_dir, not no_defaults))
    objects = []
    for path in image_files:
        img = load_image(path)
        violations = engine.evaluate_image(img)
        objects.append(CheckedObject("image", img.name.full_name, "", path, tuple(violations)))
    evaluated = policies_tuple(
        [cp.policy for cp in engine.policies if LifecycleStage.BUILD in cp.policy.lifecycle_stages]
    )
    finish(ctx, CheckReport(LifecycleStage.BUILD, evaluated, tuple(objects)), output)


__all__ = ["PolicyError", "deployment_group", "image_group"]

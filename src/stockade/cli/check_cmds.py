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

from stockade.cli.central_client import client_options, make_client
from stockade.cli.policy_report import FORMATS, CheckedObject, CheckReport, policies_tuple, render
from stockade.core.errors import ConfigError, StockadeError
from stockade.model.image import Image, image_from_json
from stockade.policy import (
    LifecycleStage,
    Policy,
    Violation,
    compile_policies,
    load_default_policies,
    load_policies,
    policy_from_json,
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


def check_options(f: click.decorators.FC) -> click.decorators.FC:
    f = click.option(
        "--local", is_flag=True, help="Evaluate offline with built-in and --policies policies."
    )(f)
    f = client_options(f)
    f = click.option("--policies", "policy_dir", type=click.Path(file_okay=False),
                     help="Directory of policy JSON files to add (offline mode).")(f)  # fmt: skip
    f = click.option(
        "--no-defaults", is_flag=True, help="Do not load Stockade's default policies (offline)."
    )(f)
    f = click.option("-o", "--output", type=click.Choice(FORMATS), default="table",
                     show_default=True, help="Output format.")(f)  # fmt: skip
    return f


def require_local(local: bool, endpoint: str | None) -> None:
    """For commands that only work offline so far."""
    if not local:
        hint = f" ({endpoint} was given)" if endpoint else ""
        raise ConfigError(
            "this command works on local policy files only so far; run it with --local" + hint
        )


def central_or_local(
    local: bool, endpoint: str | None, policy_dir: str | None, no_defaults: bool
) -> bool:
    """True for Central mode; checks the flags fit the mode."""
    if local:
        return False
    if not endpoint:
        raise ConfigError("give Central's endpoint with -e host:port, or run offline with --local")
    if policy_dir or no_defaults:
        raise ConfigError("--policies and --no-defaults only apply with --local")
    return True


def alerts_to_violations(alerts: object, where: str) -> tuple[Violation, ...]:
    """Central's alert JSON back into violations (policy + messages)."""
    if not isinstance(alerts, list):
        raise InputError(f"{where}: Central's answer has no alert list")
    out = []
    for a in alerts:
        if not isinstance(a, dict) or not isinstance(a.get("policy"), dict):
            raise InputError(f"{where}: Central's answer has an alert without a policy")
        messages = tuple(
            str(m.get("message", "")) for m in a.get("violations") or [] if isinstance(m, dict)
        )
        out.append(Violation(policy_from_json(a["policy"], where), messages=messages))
    return tuple(out)


def _seen_policies(objects: Sequence[CheckedObject]) -> tuple[Policy, ...]:
    by_name = {v.policy.name: v.policy for o in objects for v in o.violations}
    return policies_tuple(list(by_name.values()))


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
              help="Image facts (JSON) for the images used (offline); repeatable.")  # fmt: skip
@click.option("-n", "--namespace", default="default", show_default=True,
              help="Namespace for objects that do not name one.")  # fmt: skip
@check_options
@click.pass_context
def deployment_check(
    ctx: click.Context,
    files: Sequence[str],
    image_files: Sequence[str],
    namespace: str,
    local: bool,
    endpoint: str | None,
    token_file: str | None,
    ca: str | None,
    insecure_skip_tls_verify: bool,
    plaintext: bool,
    policy_dir: str | None,
    no_defaults: bool,
    output: str,
) -> None:
    """Evaluate deploy-stage policies against Kubernetes manifests."""
    objects: list[CheckedObject] = []
    if central_or_local(local, endpoint, policy_dir, no_defaults):
        client = make_client(endpoint, token_file, ca, insecure_skip_tls_verify, plaintext)
        for path in files:
            text = read_input(path).decode("utf-8", errors="replace")
            answer = client.json(
                "POST", "/v1/detect/deploy/yaml", {"yaml": text, "namespace": namespace}
            )
            runs = answer.get("runs") if isinstance(answer, dict) else None
            for run in runs if isinstance(runs, list) else []:
                alerts = run.get("alerts") or []
                ns = next(
                    (
                        a["deployment"].get("namespace", namespace)
                        for a in alerts
                        if "deployment" in a
                    ),
                    namespace,
                )
                objects.append(
                    CheckedObject(
                        "deployment", str(run.get("name", "")), ns, path,
                        alerts_to_violations(alerts, path),
                    )
                )  # fmt: skip
        finish(
            ctx, CheckReport(LifecycleStage.DEPLOY, _seen_policies(objects), tuple(objects)), output
        )
        return
    engine = compile_policies(local_policies(policy_dir, not no_defaults))
    images: dict[str, Image] = {}
    for path in image_files:
        img = load_image(path)
        images[img.name.full_name] = img
        if img.id:
            images[img.id] = img
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
@click.option("--image-json", "image_files", multiple=True,
              help="Image facts as JSON (name, metadata, components, CVEs).")  # fmt: skip
@click.option("-i", "--image", "image_names", multiple=True,
              help="Image name for Central to scan and check; repeatable.")  # fmt: skip
@check_options
@click.pass_context
def image_check(
    ctx: click.Context,
    image_files: Sequence[str],
    image_names: Sequence[str],
    local: bool,
    endpoint: str | None,
    token_file: str | None,
    ca: str | None,
    insecure_skip_tls_verify: bool,
    plaintext: bool,
    policy_dir: str | None,
    no_defaults: bool,
    output: str,
) -> None:
    """Evaluate build-stage policies against images."""
    if not image_files and not image_names:
        raise ConfigError("give --image-json FILE (or, with Central, -i NAME)")
    objects: list[CheckedObject] = []
    if central_or_local(local, endpoint, policy_dir, no_defaults):
        client = make_client(endpoint, token_file, ca, insecure_skip_tls_verify, plaintext)
        bodies: list[tuple[str, str, dict[str, object]]] = []
        for path in image_files:
            img = load_image(path)
            data = json.loads(read_input(path))
            data = data.get("image", data) if isinstance(data, dict) else data
            bodies.append((img.name.full_name, path, {"image": data}))
        bodies.extend((name, name, {"imageName": name}) for name in image_names)
        for name, source, body in bodies:
            answer = client.json("POST", "/v1/detect/build", body)
            alerts = answer.get("alerts") if isinstance(answer, dict) else None
            objects.append(
                CheckedObject("image", name, "", source, alerts_to_violations(alerts, source))
            )
        finish(
            ctx, CheckReport(LifecycleStage.BUILD, _seen_policies(objects), tuple(objects)), output
        )
        return
    if image_names:
        raise ConfigError(
            "-i/--image needs Central (it scans the image); offline give --image-json"
        )
    engine = compile_policies(local_policies(policy_dir, not no_defaults))
    for path in image_files:
        img = load_image(path)
        violations = engine.evaluate_image(img)
        objects.append(CheckedObject("image", img.name.full_name, "", path, tuple(violations)))
    evaluated = policies_tuple(
        [cp.policy for cp in engine.policies if LifecycleStage.BUILD in cp.policy.lifecycle_stages]
    )
    finish(ctx, CheckReport(LifecycleStage.BUILD, evaluated, tuple(objects)), output)


__all__ = ["PolicyError", "deployment_group", "image_group"]

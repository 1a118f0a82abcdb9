"""Policy engine throughput: enabled deploy-stage default policies vs ten CEL twins.

    .venv/bin/python bench/policy.py [--deployments 10000] [--images 500] [--components 300]

Generates realistic deployments (1-5 containers, 3 on average) drawn from a pool of images
with ~300 components each and their CVEs (seeded, reproducible). Prints, for all enabled
deploy-stage default policies, deployments/s and µs per deployment, cold (image cache emptied
before every deployment, so every image is seen for the first time) and warm (image facts
cached by digest). Then runs ten of the checks written as CEL expressions (PyPI
``common-expression-language``; each compiled once, each deployment converted once into a CEL
context shared by the ten) on the same deployments, next to the same check as a one-policy
Stockade set, and prints the ratio per check. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import cel

from stockade.model.deployment import Container, Deployment, EnvVar, EnvVarSource, Port, Volume
from stockade.model.image import (
    Component,
    DockerfileLine,
    Image,
    ImageName,
    Severity,
    Vulnerability,
)
from stockade.policy import LifecycleStage, compile_policies, load_default_policies
from stockade.policy.evaluator import CompiledPolicySet

NOW = dt.datetime.now(dt.UTC)
SYSTEM_NS = "kube-system|kube-public|kube-node-lease|istio-system|openshift-.*"

BASE_PACKAGES = [
    "libc6", "openssl", "libssl3", "zlib1g", "bash", "coreutils", "tar", "gzip", "libcurl4",
    "ca-certificates", "tzdata", "libstdc++6", "libgcc-s1", "ncurses-base", "sed", "grep",
    "perl-base", "libsystemd0", "libudev1", "libzstd1", "liblzma5", "libbz2-1.0", "libpcre2-8-0",
    "libgnutls30", "libgmp10", "libnettle8", "libidn2-0", "libffi8", "libsqlite3-0", "libxml2",
]  # fmt: skip
RISKY = ["apk-tools", "dpkg", "apt", "rpm", "dnf", "curl", "wget", "log4j-core", "spring-beans"]


def make_image(rng: random.Random, i: int, n_components: int) -> Image:
    comps = []
    for k in range(n_components):
        if k < len(BASE_PACKAGES):
            name = BASE_PACKAGES[k]
        elif rng.random() < 0.01:
            name = rng.choice(RISKY)
        else:
            name = f"lib{rng.choice(['foo', 'bar', 'net', 'img', 'xml', 'json', 'py', 'go'])}{k}-{i % 37}"
        vulns = []
        if rng.random() < 0.12:
            for _ in range(rng.randint(1, 4)):
                sev = rng.choices(list(Severity), weights=[1, 4, 6, 3, 1])[0]
                vulns.append(
                    Vulnerability(
                        cve=f"CVE-20{rng.randint(15, 25)}-{rng.randint(1000, 99999)}",
                        cvss=round(rng.uniform(1.0, 10.0), 1),
                        severity=sev,
                        fixed_by=f"{rng.randint(1, 9)}.{rng.randint(0, 20)}"
                        if rng.random() < 0.5
                        else "",
                        published=NOW - dt.timedelta(days=rng.randint(1, 2000)),
                    )
                )
        if name == "log4j-core" and rng.random() < 0.5:
            vulns.append(
                Vulnerability("CVE-2021-44228", 10.0, severity=Severity.CRITICAL, fixed_by="2.15.0")
            )
        comps.append(
            Component(
                name,
                f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
                "dpkg",
                vulnerabilities=tuple(vulns),
            )
        )
    tag = "latest" if rng.random() < 0.08 else f"v{rng.randint(1, 5)}.{rng.randint(0, 20)}"
    dockerfile = [DockerfileLine("FROM", "debian:12-slim")]
    dockerfile += [
        DockerfileLine(
            "RUN",
            rng.choice(
                [
                    "apt-get update",
                    "apt-get install -y curl",
                    "make build",
                    "pip install -r req.txt",
                ]
            ),
        )
        for _ in range(rng.randint(2, 8))
    ]
    dockerfile += [
        DockerfileLine("COPY", "app /app"),
        DockerfileLine("EXPOSE", rng.choice(["8080/tcp", "22/tcp", "443/tcp"])),
        DockerfileLine("CMD", "/app/run"),
    ]
    return Image(
        name=ImageName(registry="registry.example.com", remote=f"team{i % 20}/svc{i}", tag=tag),
        id=f"sha256:{i:064x}",
        created=NOW - dt.timedelta(days=rng.randint(1, 400)),
        user=rng.choice(["", "root", "0", "1000", "app"]),
        labels={"maintainer": f"team{i % 20}"},
        dockerfile=tuple(dockerfile),
        os="debian:12",
        scanned=NOW - dt.timedelta(days=rng.randint(0, 60)),
        components=tuple(comps),
    )


def make_deployment(rng: random.Random, i: int, images: list[Image]) -> Deployment:
    containers = []
    for c in range(rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5])):
        img = rng.choice(images)
        env = [
            EnvVar(
                rng.choice(["LOG_LEVEL", "PORT", "DB_HOST", "API_SECRET", "DB_PASSWORD", "MODE"]),
                "x",
            )
            for _ in range(rng.randint(0, 5))
        ]
        if rng.random() < 0.2:
            env.append(EnvVar("TOKEN", "", EnvVarSource.SECRET_KEY))
        vols = [Volume("data", "pvc-data", "/data", "PersistentVolumeClaim")]
        if rng.random() < 0.05:
            vols.append(
                Volume(
                    "sock", rng.choice(["/var/run/docker.sock", "/etc/ssl"]), "/host", "HostPath"
                )
            )
        containers.append(
            Container(
                name=f"c{c}",
                image=img.name,
                image_id=img.id,
                privileged=rng.random() < 0.05,
                allow_privilege_escalation=rng.random() < 0.3,
                read_only_root_filesystem=rng.random() < 0.5,
                add_capabilities=tuple(
                    rng.sample(["NET_ADMIN", "SYS_ADMIN", "NET_BIND_SERVICE"], rng.randint(0, 1))
                ),
                drop_capabilities=("ALL",) if rng.random() < 0.5 else (),
                cpu_request=rng.choice([0.0, 0.1, 0.5]),
                cpu_limit=rng.choice([0.0, 1.0]),
                memory_request=rng.choice([0.0, 128.0]),
                memory_limit=rng.choice([0.0, 256.0, 512.0]),
                env=tuple(env),
                volumes=tuple(vols),
                ports=(Port(rng.choice([8080, 22, 443, 9090]), "TCP"),),
                liveness_probe=rng.random() < 0.7,
                readiness_probe=rng.random() < 0.7,
            )
        )
    return Deployment(
        name=f"dep-{i}",
        namespace=rng.choice(["shop", "payments", "search", "kube-system", "default"]),
        labels={"app": f"dep-{i}"},
        service_account=rng.choice(["default", "app"]),
        automount_service_account_token=rng.random() < 0.5,
        host_network=rng.random() < 0.03,
        host_pid=rng.random() < 0.02,
        host_ipc=rng.random() < 0.02,
        replicas=rng.randint(1, 5),
        containers=tuple(containers),
    )


# ---- CEL twins ------------------------------------------------------------------------------

NOT_SYSTEM = f"!d.namespace.matches('^(?:{SYSTEM_NS})$')"
CEL_CHECKS: dict[str, str] = {
    "Latest tag": "d.containers.exists(c, c.image.tag.matches('^(?i:latest)$'))",
    "Privileged Container": "d.containers.exists(c, c.privileged)",
    "Docker CIS 5.9 and 5.20: Ensure that the host's network namespace is not shared": "d.hostNetwork",
    "CAP_SYS_ADMIN capability added": "d.containers.exists(c, c.addCapabilities.exists(x, x.matches('^(?i:sys_admin)$')))",
    "No CPU request or memory limit specified": "d.containers.exists(c, c.cpuRequest == 0.0 || c.memoryLimit == 0.0)",
    "Environment Variable Contains Secret": "d.containers.exists(c, c.env.exists(e, e.source == 'RAW' && e.name.matches('^(?i:.*SECRET.*|.*PASSWORD.*)$')))",
    "Mount Container Runtime Socket": "d.containers.exists(c, c.volumes.exists(v, v.source.matches('^(?i:/var/run/docker.sock|/var/run/crio/crio.sock|/run/crio/crio.sock)$')))",
    "Secure Shell (ssh) Port Exposed": "d.containers.exists(c, c.ports.exists(p, p.containerPort == 22 && p.protocol.matches('^(?i:tcp)$')))",
    "Fixable Severity at least Important": "d.containers.exists(c, c.image.components.exists(k, k.vulns.exists(v, v.fixedBy.matches('^(?i:.+)$') && v.severity >= 3)))",
    "Alpine Linux Package Manager (apk) in Image": "d.containers.exists(c, c.image.components.exists(k, k.name.matches('^(?i:apk-tools)$')))",
}


def to_cel(dep: Deployment, images: dict[str, Image]) -> dict[str, Any]:
    def image(c: Container) -> dict[str, Any]:
        img = images[c.image_id]
        return {
            "tag": c.image.tag,
            "remote": c.image.remote,
            "components": [
                {"name": k.name, "version": k.version,
                 "vulns": [{"cve": v.cve, "cvss": v.cvss, "severity": int(v.severity), "fixedBy": v.fixed_by} for v in k.vulnerabilities]}
                for k in img.components
            ],
        }  # fmt: skip

    return {
        "name": dep.name,
        "namespace": dep.namespace,
        "hostNetwork": dep.host_network,
        "containers": [
            {
                "name": c.name,
                "privileged": c.privileged,
                "addCapabilities": list(c.add_capabilities),
                "cpuRequest": c.cpu_request,
                "memoryLimit": c.memory_limit,
                "env": [
                    {"name": e.name, "value": e.value, "source": e.source.value} for e in c.env
                ],
                "volumes": [{"source": v.source} for v in c.volumes],
                "ports": [
                    {"containerPort": p.container_port, "protocol": p.protocol} for p in c.ports
                ],
                "image": image(c),
            }
            for c in dep.containers
        ],
    }


def timed(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def calibrate() -> float:
    """µs per trivial Python function call on this machine right now (for context)."""

    def f(x: int) -> int:
        return x + 1

    start = time.process_time()
    for i in range(1_000_000):
        f(i)
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deployments", type=int, default=10_000)
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--components", type=int, default=300)
    ap.add_argument("--cold-sample", type=int, default=1_000, help="deployments timed cold")
    ap.add_argument("--cel-sample", type=int, default=1_000,
                    help="deployments (the first N) for the ten-check comparison")  # fmt: skip
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    print(
        f"timings are CPU time of this process; a trivial Python call costs {calibrate():.3f} µs here"
    )

    t = time.process_time()
    pool = [make_image(rng, i, args.components) for i in range(args.images)]
    images = {img.id: img for img in pool}
    deployments = [make_deployment(rng, i, pool) for i in range(args.deployments)]
    n_ctr = sum(len(d.containers) for d in deployments)
    n_cve = sum(len(k.vulnerabilities) for img in pool for k in img.components)
    print(f"generated {len(deployments):,} deployments ({n_ctr / len(deployments):.2f} containers each), "
          f"{len(pool)} images x {args.components} components, {n_cve:,} CVEs in {time.process_time() - t:.1f}s")  # fmt: skip

    defaults = load_default_policies()
    deploy = [p for p in defaults if not p.disabled and LifecycleStage.DEPLOY in p.lifecycle_stages]
    engine = compile_policies(deploy, now=lambda: NOW)
    print(f"\nall {len(deploy)} enabled deploy-stage default policies")

    sample = deployments[: args.cold_sample]
    cold_times = []
    violations = 0
    for dep in sample:
        engine.clear_image_cache()  # every image seen for the first time
        s = time.process_time()
        violations += len(engine.evaluate_deployment(dep, images))
        cold_times.append(time.process_time() - s)
    cold = statistics.fmean(cold_times)
    print(f"  cold: {1 / cold:10,.0f} deployments/s  {cold * 1e6:8.1f} µs/deployment "
          f"(p99 {sorted(cold_times)[int(len(cold_times) * 0.99)] * 1e6:.0f} µs, {len(sample):,} sampled)")  # fmt: skip

    for dep in deployments:  # prime: every image seen once
        engine.evaluate_deployment(dep, images)
    warm_times = []
    total_violations = 0
    for dep in deployments:
        s = time.process_time()
        total_violations += len(engine.evaluate_deployment(dep, images))
        warm_times.append(time.process_time() - s)
    warm = statistics.fmean(warm_times)
    print(f"  warm: {1 / warm:10,.0f} deployments/s  {warm * 1e6:8.1f} µs/deployment "
          f"(p99 {sorted(warm_times)[int(len(warm_times) * 0.99)] * 1e6:.0f} µs); "
          f"{total_violations:,} violations")  # fmt: skip
    goal_warm, goal_cold = warm * 1e6 <= 200, cold * 1e6 <= 2000
    print(
        f"  goals: warm <= 200 µs {'met' if goal_warm else 'MISSED'}, cold <= 2 ms {'met' if goal_cold else 'MISSED'}"
    )

    # ---- ten checks: Stockade (one-policy set, warm) vs CEL (compiled once, shared context)
    deployments = deployments[: args.cel_sample]
    print(f"\nten checks, Stockade vs CEL on the same {len(deployments):,} deployments")
    t = time.process_time()
    contexts = []
    for dep in deployments:
        ctx = cel.Context()
        ctx.add_variable("d", to_cel(dep, images))
        contexts.append(ctx)
    convert = time.process_time() - t
    print(
        f"  CEL conversion (once per deployment, shared by the ten): {convert / len(deployments) * 1e6:.1f} µs/deployment, not counted below"
    )
    by_name = {p.name: p for p in defaults}
    # a policy's exclusions are part of its meaning: the twin skips the same namespaces
    twins = {
        name: (f"{NOT_SYSTEM} && ({expr})" if by_name[name].exclusions else expr)
        for name, expr in CEL_CHECKS.items()
    }
    print(f"  {'check':58} {'stockade µs':>11} {'CEL µs':>8} {'CEL/stockade':>12} agree")
    all_faster = True
    for name, expr in twins.items():
        program = cel.compile(expr)
        single: CompiledPolicySet = compile_policies(
            [by_name[name]], now=lambda: NOW, include_disabled=True
        )
        for dep in deployments:
            single.evaluate_deployment(dep, images)
        ours_hits = [False] * len(deployments)
        cel_hits = [False] * len(deployments)

        def run_ours(single: CompiledPolicySet = single, hits: list[bool] = ours_hits) -> None:
            for i, dep in enumerate(deployments):
                hits[i] = bool(single.evaluate_deployment(dep, images))

        def run_cel(program: Any = program, hits: list[bool] = cel_hits) -> None:
            for i, ctx in enumerate(contexts):
                hits[i] = bool(program.execute(ctx))

        ours = min(timed(run_ours) for _ in range(2)) / len(deployments)
        theirs = min(timed(run_cel) for _ in range(2)) / len(deployments)
        agree = sum(a == b for a, b in zip(ours_hits, cel_hits, strict=True)) / len(deployments)
        ratio = theirs / ours
        all_faster &= ratio > 1
        print(
            f"  {name[:58]:58} {ours * 1e6:11.1f} {theirs * 1e6:8.1f} {ratio:11.1f}x {agree:6.1%}"
        )
    print(f"  every check faster than its CEL twin: {'yes' if all_faster else 'NO'}")


if __name__ == "__main__":
    main()

"""Seed a Central for portal tests: clusters, deployments, scanned images with CVEs linked
to the deployments that run them, and deploy- and build-stage violations."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import psycopg

from stockade.central.store.alerts import DeploymentRef
from stockade.model.image import (
    Component,
    DockerfileLine,
    Image,
    ImageName,
    Severity,
    Vulnerability,
)
from stockade.policy import LifecycleStage, Violation

NAMESPACES = ("shop", "payments", "ops", "data")
SEVERITIES = (Severity.CRITICAL, Severity.IMPORTANT, Severity.MODERATE, Severity.LOW)
CVSS = {Severity.CRITICAL: 9.8, Severity.IMPORTANT: 7.5, Severity.MODERATE: 5.3, Severity.LOW: 3.1}


@dataclass
class Seeded:
    images: dict[str, str]  # digest -> name
    deployments: dict[str, str]  # "cluster/ns/name" -> id
    known_cve: str  # a critical, known-exploited CVE with no fix, present in several images


def _cves(rng: random.Random, n: int) -> list[Vulnerability]:
    out = []
    for i in range(n):
        sev = SEVERITIES[i % 4]
        out.append(
            Vulnerability(
                f"CVE-2024-{10000 + i}",
                cvss=CVSS[sev],
                severity=sev,
                fixed_by="9.9.9" if i % 3 else "",
                kev=i % 17 == 0,
                epss=round(rng.random(), 3),
            )
        )
    return out


async def seed_portal(central: Any, seed_inventory: Any, images: int = 40) -> Seeded:
    rng = random.Random(7)
    layout = {
        "prod": {
            "namespaces": {
                ns: {"deployments": [f"{ns}-app{i}" for i in range(images // 8 + 1)]}
                for ns in NAMESPACES
            }
        },
        "staging": {"namespaces": {"shop": {"deployments": ["web", "db"]}}},
    }
    deployments = seed_inventory(central.db_url, layout)
    pool = _cves(rng, 300)
    store = central.central.images
    now = dt.datetime.now(dt.UTC)
    seeded: dict[str, str] = {}
    dep_keys = sorted(k for k in deployments if k.count("/") == 2)
    links = []
    for n in range(images):
        digest = "sha256:" + f"{n:064x}"
        name = f"quay.io/acme/svc{n}:1.{n % 5}"
        comps = [
            Component(
                f"lib{j}",
                f"1.{j}.{n % 3}",
                "dpkg" if j % 2 else "python",
                "var/lib/dpkg/status" if j % 2 else f"/app/lib{j}/METADATA",
                j % 3,
                tuple(rng.sample(pool, rng.randint(0, 12))),
            )
            for j in range(6)
        ]
        await store.save_scan(
            Image(
                name=ImageName.parse(name),
                id=digest,
                os="debian:12",
                components=tuple(comps),
                scanned=now,
                dockerfile=(
                    DockerfileLine("ADD", "file:deadbeef in /"),
                    DockerfileLine("RUN", "apt-get update && apt-get install -y libfoo"),
                    DockerfileLine("COPY", "app /app"),
                ),
            )
        )
        seeded[digest] = name
        dep = dep_keys[n % len(dep_keys)]
        links.append((deployments[dep], name, digest))
    with psycopg.connect(central.db_url) as conn:
        for dep_id, name, digest in links:
            conn.execute(
                "INSERT INTO deployment_images (deployment_id, container, image_name, image_id)"
                " VALUES (%s, %s, %s, %s)",
                (dep_id, name.rsplit("/", 1)[1].split(":")[0], name, digest),
            )
    policies = {p.name: p for p in await central.central.policies.all()}
    latest, priv = policies["Latest tag"], policies["Privileged Container"]
    alerts = central.central.alerts
    for i, key in enumerate(dep_keys):
        cluster, ns, name = key.split("/")
        ref = DeploymentRef(deployments[key], name, ns, deployments[cluster], cluster)
        found = [Violation(latest, (f"Container 'main' has image tag 'latest' ({name})",))]
        if i % 3 == 0:
            found.append(Violation(priv, (f"Container 'main' of {name} is privileged",)))
        await alerts.record_deployment(ref, LifecycleStage.DEPLOY, found)
    await alerts.record_image(
        "quay.io/acme/svc0:latest",
        [Violation(latest, ("Image quay.io/acme/svc0:latest has tag 'latest'",))],
    )
    return Seeded(seeded, deployments, pool[0].cve)

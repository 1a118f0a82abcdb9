"""Retention pruning and exception expiry, run by Central's maintenance pass."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from stockade.central.maintenance import Retention, prune
from stockade.central.store.alerts import DeploymentRef
from stockade.model.image import Component, Image, ImageName, Severity, Vulnerability
from stockade.policy import LifecycleStage, Violation

pytestmark = pytest.mark.integration


async def test_retention_prunes_only_what_has_aged_out(central, seed_inventory) -> None:
    ids = seed_inventory(central.db_url, {"c": {"namespaces": {"n": {"deployments": ["a", "b"]}}}})
    refs = {
        name: DeploymentRef(ids[f"c/n/{name}"], name, "n", ids["c"], "c") for name in ("a", "b")
    }
    latest = next(p for p in await central.central.policies.all() if p.name == "Latest tag")
    store = central.central.alerts
    for ref in refs.values():
        await store.record_deployment(ref, LifecycleStage.DEPLOY, [Violation(latest, ("x",))])
    await store.record_deployment(refs["a"], LifecycleStage.DEPLOY, [])  # resolves a's alert
    images = central.central.images
    cve = Vulnerability("CVE-2020-1", cvss=5.0, severity=Severity.MODERATE)
    for digest, name in (("sha256:" + "1" * 64, "r/used:1"), ("sha256:" + "2" * 64, "r/old:1")):
        await images.save_scan(
            Image(
                name=ImageName.parse(name),
                id=digest,
                components=(Component("z", "1", "dpkg", vulnerabilities=(cve,)),),
                scanned=dt.datetime.now(dt.UTC),
            )
        )
    with psycopg.connect(central.db_url) as conn:
        conn.execute(
            "INSERT INTO deployment_images VALUES (%s, 'c', 'r/used:1', %s)",
            (ids["c/n/b"], "sha256:" + "1" * 64),
        )
        conn.execute("INSERT INTO cves (id) VALUES ('CVE-ORPHAN')")
        conn.execute("UPDATE alerts SET updated_at = now() - interval '10 days'")
        conn.execute("UPDATE images SET last_updated = now() - interval '10 days'")

    counts = await prune(central.central.db, Retention(), batch=1)  # batch=1: loops
    assert counts == {
        "resolved_alerts": 1,
        "deleted_deployment_alerts": 0,
        "unused_images": 1,
        "empty_cve_buckets": 0,
        "orphaned_cves": 1,
    }
    with psycopg.connect(central.db_url) as conn:
        assert conn.execute("SELECT state FROM alerts").fetchall() == [("ACTIVE",)]
        assert conn.execute("SELECT name FROM images").fetchall() == [("docker.io/r/used:1",)]
        assert conn.execute("SELECT id FROM cves").fetchall() == [("CVE-2020-1",)]
        conn.execute("DELETE FROM deployments WHERE id = %s", (ids["c/n/b"],))
    counts = await prune(central.central.db, Retention())
    assert counts["deleted_deployment_alerts"] == 1
    # a second Central's pass waits its turn instead of pruning twice
    assert await central.central.maintenance.run_once() is not None


async def test_recent_data_is_kept(central, seed_inventory) -> None:
    ids = seed_inventory(central.db_url, {"c": {"namespaces": {"n": {"deployments": ["a"]}}}})
    ref = DeploymentRef(ids["c/n/a"], "a", "n", ids["c"], "c")
    latest = next(p for p in await central.central.policies.all() if p.name == "Latest tag")
    await central.central.alerts.record_deployment(
        ref, LifecycleStage.DEPLOY, [Violation(latest, ("x",))]
    )
    await central.central.alerts.record_deployment(ref, LifecycleStage.DEPLOY, [])  # resolved now
    await central.central.images.save_scan(
        Image(
            name=ImageName.parse("r/unused:1"),
            id="sha256:" + "3" * 64,
            components=(Component("z", "1", "dpkg"),),
            scanned=dt.datetime.now(dt.UTC),
        )
    )
    counts = await prune(central.central.db, Retention())
    assert counts == {
        "resolved_alerts": 0,
        "deleted_deployment_alerts": 0,
        "unused_images": 0,
        "empty_cve_buckets": 0,
        "orphaned_cves": 0,
    }
    with psycopg.connect(central.db_url) as conn:
        assert conn.execute("SELECT state FROM alerts").fetchall() == [("RESOLVED",)]
        assert conn.execute("SELECT count(*) FROM images").fetchone()[0] == 1


async def test_a_pass_is_skipped_while_another_replica_holds_the_lock(central) -> None:
    from stockade.central.maintenance import MAINTENANCE_LOCK_KEY

    maintenance = central.central.maintenance
    with psycopg.connect(central.db_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (MAINTENANCE_LOCK_KEY,))
        assert await maintenance.run_once() is None
        other.execute("SELECT pg_advisory_unlock(%s)", (MAINTENANCE_LOCK_KEY,))
    counts = await maintenance.run_once()
    assert counts is not None and "unused_images" in counts
    # the pass holds its lock outside any transaction: nothing is left idle in one
    with psycopg.connect(central.db_url) as conn:
        stuck = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'idle in transaction'"
        ).fetchone()
    assert stuck == (0,)

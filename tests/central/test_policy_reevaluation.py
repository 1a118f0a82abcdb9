"""A policy change re-evaluates stored images and the deployments Central knows, in the
background: alerts follow the edit without a rescan or a Sensor report."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

import psycopg

from stockade.central.reevaluation import REEVALUATION_LOCK_KEY
from stockade.model.image import Component, Image, ImageName, Severity, Vulnerability

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
IMAGE = "quay.io/acme/web:1.0"
URLLIB3 = Component(
    name="urllib3",
    version="1.26.4",
    source="python",
    vulnerabilities=(Vulnerability(cve="CVE-2021-33503", cvss=7.5, severity=Severity.IMPORTANT),),
)


def _policy(name: str, stages: list[str], field: str, value: str) -> dict[str, object]:
    return {
        "name": name,
        "severity": "HIGH_SEVERITY",
        "lifecycleStages": stages,
        "categories": ["Vulnerability Management"],
        "policySections": [{"policyGroups": [{"fieldName": field, "values": [{"value": value}]}]}],
    }


async def _store_images(central) -> None:
    now = dt.datetime.now(dt.UTC)
    images = central.central.images
    await images.save_scan(
        Image(name=ImageName.parse(IMAGE), id=DIGEST, components=(URLLIB3,), scanned=now)
    )
    clean = Component(name="certifi", version="2024.2.2", source="python")
    await images.save_scan(
        Image(
            name=ImageName.parse("quay.io/acme/db:2.0"), id=OTHER, components=(clean,), scanned=now
        )
    )


def _no_rescans(central) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("re-evaluation must not fetch or index an image")

    central.central.scanner.backend.index = refuse
    central.central.scanner.backend.match = refuse


async def _alerts(central, policy_name: str) -> list[dict[str, object]]:
    r = await central.admin("GET", "/v1/alerts?pagination.limit=100")
    assert r.status_code == 200, r.text
    return [a for a in r.json()["alerts"] if a["policy"]["name"] == policy_name]


async def _states(central, policy_id: str) -> list[tuple[str, str]]:
    with psycopg.connect(central.db_url) as conn:
        rows = conn.execute(
            "SELECT state, image_name FROM alerts WHERE policy_id = %s ORDER BY image_name",
            (policy_id,),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


async def test_edit_raises_then_resolves_a_build_alert_without_rescan(central) -> None:
    await _store_images(central)
    _no_rescans(central)
    policy = _policy("No urllib3", ["BUILD"], "Image Component", "nothing-like-this=")
    r = await central.admin("POST", "/v1/policies", json=policy)
    assert r.status_code == 200, r.text
    pid = r.json()["id"]
    await central.central.reevaluation.wait()
    assert await _states(central, pid) == []

    policy["policySections"][0]["policyGroups"][0]["values"] = [{"value": "urllib3="}]
    assert (await central.admin("PUT", f"/v1/policies/{pid}", json=policy)).status_code == 200
    await central.central.reevaluation.wait()
    assert await _states(central, pid) == [("ACTIVE", IMAGE)]  # the clean image stays clean
    (alert,) = await _alerts(central, "No urllib3")
    assert alert["state"] == "ACTIVE" and alert["image"]["name"]["fullName"] == IMAGE

    policy["policySections"][0]["policyGroups"][0]["values"] = [{"value": "nothing-like-this="}]
    assert (await central.admin("PUT", f"/v1/policies/{pid}", json=policy)).status_code == 200
    await central.central.reevaluation.wait()
    assert await _states(central, pid) == [("RESOLVED", IMAGE)]

    # disabled, then enabled again: the alert comes back (as a new one)
    policy["policySections"][0]["policyGroups"][0]["values"] = [{"value": "urllib3="}]
    assert (await central.admin("PUT", f"/v1/policies/{pid}", json=policy)).status_code == 200
    await central.central.reevaluation.wait()
    r = await central.admin("PATCH", f"/v1/policies/{pid}", json={"disabled": True})
    assert r.status_code == 200
    assert [s for s, _ in await _states(central, pid)] == ["RESOLVED", "RESOLVED"]
    r = await central.admin("PATCH", f"/v1/policies/{pid}", json={"disabled": False})
    await central.central.reevaluation.wait()
    assert sorted(s for s, _ in await _states(central, pid)) == ["ACTIVE", "RESOLVED", "RESOLVED"]


def _lock_holders_and_waiters(db_url: str) -> list[tuple[bool, str, str | None]]:
    """(granted, state, wait event type) of every session at the re-evaluation lock."""
    high, low = REEVALUATION_LOCK_KEY >> 32, REEVALUATION_LOCK_KEY & 0xFFFFFFFF
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT l.granted, a.state, a.wait_event_type FROM pg_locks l"
            " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'"
            " AND l.classid = %s::oid AND l.objid = %s::oid AND a.pid <> pg_backend_pid()",
            (high, low),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


async def test_import_reevaluates_and_the_answer_does_not_wait(central) -> None:
    await _store_images(central)
    central.central.reevaluation.retry_seconds = 0.2
    # another replica is re-evaluating: this one's run retries later, the API does not wait
    holder = await psycopg.AsyncConnection.connect(central.db_url, autocommit=True)
    try:
        await holder.execute("SELECT pg_advisory_lock(%s)", (REEVALUATION_LOCK_KEY,))
        body = {"policies": [_policy("Imported urllib3", ["BUILD"], "CVE", "CVE-2021-33503")]}
        r = await asyncio.wait_for(
            central.admin("POST", "/v1/policies/import", json=body), timeout=10
        )
        assert r.status_code == 200 and r.json()["allSucceeded"], r.text
        await asyncio.sleep(0.5)
        assert await _alerts(central, "Imported urllib3") == []  # still waiting its turn
        # ... without a connection of Central's blocked inside the lock call meanwhile
        assert _lock_holders_and_waiters(central.db_url) == [(True, "idle", "Client")]
    finally:
        await holder.execute("SELECT pg_advisory_unlock(%s)", (REEVALUATION_LOCK_KEY,))
        await holder.close()
    await asyncio.wait_for(central.central.reevaluation.wait(), timeout=60)
    assert [a["state"] for a in await _alerts(central, "Imported urllib3")] == ["ACTIVE"]


async def test_a_run_holds_the_lock_outside_any_transaction(central) -> None:
    await _store_images(central)
    images = central.central.images
    loading, go_on = asyncio.Event(), asyncio.Event()
    load = images.load

    async def paused_load(image_id: str) -> Image:
        loading.set()
        await go_on.wait()
        return await load(image_id)

    images.load = paused_load
    body = {"policies": [_policy("Imported urllib3", ["BUILD"], "CVE", "CVE-2021-33503")]}
    r = await central.admin("POST", "/v1/policies/import", json=body)
    assert r.status_code == 200, r.text
    await asyncio.wait_for(loading.wait(), timeout=30)
    try:
        # mid-run: the lock's connection is idle, not idle in a transaction
        assert _lock_holders_and_waiters(central.db_url) == [(True, "idle", "Client")]
    finally:
        go_on.set()
    await asyncio.wait_for(central.central.reevaluation.wait(), timeout=60)
    assert _lock_holders_and_waiters(central.db_url) == []  # released
    assert [a["state"] for a in await _alerts(central, "Imported urllib3")] == ["ACTIVE"]


def _use_images(db_url: str, ids: dict[str, str], uses: dict[str, tuple[str, str | None]]) -> None:
    with psycopg.connect(db_url) as conn:
        for key, (image_name, image_id) in uses.items():
            conn.execute(
                "INSERT INTO deployment_images (deployment_id, container, image_name, image_id)"
                " VALUES (%s, 'app', %s, %s)",
                (uuid.UUID(ids[key]), image_name, image_id),
            )


async def test_deploy_policy_on_an_image_cve_alerts_once_per_deployment(
    central, seed_inventory, caplog
) -> None:
    await _store_images(central)
    _no_rescans(central)
    ids = seed_inventory(
        central.db_url,
        {
            "prod-cluster": {
                "namespaces": {
                    "shop": {"deployments": ["web", "web-canary", "db"]},
                    "tools": {"deployments": ["web-copy"]},
                }
            }
        },
    )
    _use_images(
        central.db_url,
        ids,
        {
            "prod-cluster/shop/web": (IMAGE, DIGEST),
            "prod-cluster/shop/web-canary": (IMAGE, DIGEST),
            "prod-cluster/shop/db": ("quay.io/acme/db:2.0", OTHER),
            "prod-cluster/tools/web-copy": (IMAGE, DIGEST),
        },
    )
    caplog.set_level(logging.INFO, logger="stockade.central.reevaluation")
    policy = _policy("urllib3 CVE in a deployment", ["DEPLOY"], "CVE", "CVE-2021-33503")
    policy["scope"] = [{"namespace": "shop"}]
    r = await central.admin("POST", "/v1/policies", json=policy)
    assert r.status_code == 200, r.text
    # one needing spec facts Central does not have yet: not judged on defaults
    privileged = _policy("Privileged anywhere", ["DEPLOY"], "Privileged Container", "true")
    assert (await central.admin("POST", "/v1/policies", json=privileged)).status_code == 200
    await central.central.reevaluation.wait()

    alerts = await _alerts(central, "urllib3 CVE in a deployment")
    assert sorted(a["deployment"]["name"] for a in alerts) == ["web", "web-canary"]
    assert {a["deployment"]["clusterName"] for a in alerts} == {"prod-cluster"}
    assert all(a["lifecycleStage"] == "DEPLOY" and a["state"] == "ACTIVE" for a in alerts)
    assert await _alerts(central, "Privileged anywhere") == []
    assert any(
        getattr(rec, "skipped_needing_full_spec", None) == ["Privileged anywhere"]
        for rec in caplog.records
    )

    # the scope widened: the deployment in the other namespace is flagged too, still once each
    policy["scope"] = []
    pid = r.json()["id"]
    assert (await central.admin("PUT", f"/v1/policies/{pid}", json=policy)).status_code == 200
    await central.central.reevaluation.wait()
    alerts = await _alerts(central, "urllib3 CVE in a deployment")
    assert sorted(a["deployment"]["name"] for a in alerts) == ["web", "web-canary", "web-copy"]

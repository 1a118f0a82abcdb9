"""Alerts: one active alert per (policy, deployment) updated in place, resolved when the
violation is gone, ATTEMPTED per admission denial; the API lists, counts, summarises and
resolves them within the caller's scope."""

from __future__ import annotations

import asyncio

import pytest

from stockade.central.store.alerts import DeploymentRef
from stockade.policy import LifecycleStage, Violation

pytestmark = pytest.mark.integration

LAYOUT = {
    "prod": {
        "namespaces": {"shop": {"deployments": ["web", "db"]}, "ops": {"deployments": ["agent"]}}
    },
}


async def policies_by_name(c) -> dict:
    return {p.name: p for p in await c.central.policies.all()}


def refs(c, ids) -> dict[str, DeploymentRef]:
    return {
        key.rsplit("/", 1)[1]: DeploymentRef(
            id=dep_id,
            name=key.rsplit("/", 1)[1],
            namespace=key.split("/")[1],
            cluster_id=ids["prod"],
            cluster_name="prod",
        )
        for key, dep_id in ids.items()
        if key.count("/") == 2
    }


async def test_one_active_alert_per_policy_and_deployment(central, seed_inventory) -> None:
    ids = seed_inventory(central.db_url, LAYOUT)
    web = refs(central, ids)["web"]
    pol = await policies_by_name(central)
    latest, priv = pol["Latest tag"], pol["Privileged Container"]
    store = central.central.alerts

    first = await store.record_deployment(
        web,
        LifecycleStage.DEPLOY,
        [
            Violation(latest, ("Container 'web' has image tag 'latest'",)),
            Violation(priv, ("Container 'web' is privileged",)),
        ],
    )
    assert len(first.created) == 2 and not first.updated
    again = await store.record_deployment(
        web, LifecycleStage.DEPLOY, [Violation(latest, ("Container 'web' has image tag 'latest'",))]
    )
    assert again.created == [] and len(again.updated) == 1  # updated in place
    assert len(again.resolved) == 1  # the privileged one is gone, so resolved
    r = await central.admin("GET", "/v1/alerts?query=Violation%20State:ACTIVE")
    active = r.json()["alerts"]
    assert [a["policy"]["name"] for a in active] == ["Latest tag"]
    assert active[0]["deployment"]["name"] == "web"
    detail = (await central.admin("GET", f"/v1/alerts/{active[0]['id']}")).json()
    assert detail["violations"][0]["message"] == "Container 'web' has image tag 'latest'"
    assert (await central.admin("GET", "/v1/alertscount")).json() == {"count": 2}


async def test_concurrent_recording_keeps_a_single_active_alert(central, seed_inventory) -> None:
    ids = seed_inventory(central.db_url, LAYOUT)
    web = refs(central, ids)["web"]
    latest = (await policies_by_name(central))["Latest tag"]
    v = [Violation(latest, ("tag latest",))]
    await asyncio.gather(
        *(central.central.alerts.record_deployment(web, LifecycleStage.DEPLOY, v) for _ in range(8))
    )
    r = await central.admin("GET", "/v1/alertscount?query=Violation%20State:ACTIVE")
    assert r.json() == {"count": 1}


async def test_attempted_runtime_and_withdrawn_policy(central, seed_inventory) -> None:
    ids = seed_inventory(central.db_url, LAYOUT)
    r_ = refs(central, ids)
    pol = await policies_by_name(central)
    store = central.central.alerts
    priv = pol["Privileged Container"]
    await store.record_attempted(r_["db"], [Violation(priv, ("privileged",))])
    await store.record_attempted(r_["db"], [Violation(priv, ("privileged",))])
    r = await central.admin("GET", "/v1/alertscount?query=Violation%20State:ATTEMPTED")
    assert r.json() == {"count": 2}  # one per attempt
    shell = next(p for p in pol.values() if "RUNTIME" in [s.value for s in p.lifecycle_stages])
    await store.record_deployment(
        r_["agent"], LifecycleStage.RUNTIME, [Violation(shell, ("bash ran",))]
    )
    await store.record_deployment(
        r_["agent"], LifecycleStage.RUNTIME, [Violation(shell, ("sh ran",))]
    )
    r = await central.admin("GET", "/v1/alerts?query=Lifecycle%20Stage:RUNTIME")
    (alert,) = r.json()["alerts"]
    detail = (await central.admin("GET", f"/v1/alerts/{alert['id']}")).json()
    assert sorted(v["message"] for v in detail["violations"]) == ["bash ran", "sh ran"]
    # disabling the policy resolves its active alerts
    r = await central.admin("PATCH", f"/v1/policies/{shell.id}", json={"disabled": True})
    assert r.status_code == 200
    detail = (await central.admin("GET", f"/v1/alerts/{alert['id']}")).json()
    assert detail["state"] == "RESOLVED"


async def test_scope_summary_and_resolve(central, seed_inventory) -> None:
    ids = seed_inventory(central.db_url, LAYOUT)
    r_ = refs(central, ids)
    pol = await policies_by_name(central)
    store = central.central.alerts
    for name in ("web", "db", "agent"):
        await store.record_deployment(
            r_[name], LifecycleStage.DEPLOY, [Violation(pol["Latest tag"], ("latest",))]
        )
    r = await central.admin(
        "POST",
        "/v1/simpleaccessscopes",
        json={
            "name": "ops",
            "rules": {"includedNamespaces": [{"clusterName": "prod", "namespaceName": "ops"}]},
        },
    )
    r = await central.admin(
        "POST",
        "/v1/roles/ops-analyst",
        json={
            "permissionSetId": "io.stockade.permissionset.analyst",
            "accessScopeId": r.json()["id"],
        },
    )
    ops = await central.token_for("ops-analyst")
    r = await central.as_token(ops, "GET", "/v1/alerts")
    assert [a["deployment"]["name"] for a in r.json()["alerts"]] == ["agent"]
    shop_alert = (await central.admin("GET", "/v1/alerts?query=Deployment:web")).json()["alerts"][0]
    r = await central.as_token(ops, "GET", f"/v1/alerts/{shop_alert['id']}")
    assert r.status_code == 404  # another namespace's alert does not exist for this user
    summary = (await central.as_token(ops, "GET", "/v1/alerts/summary/counts")).json()
    counts = {c["severity"]: c["count"] for c in summary["groups"][0]["counts"]}
    assert sum(int(v) for v in counts.values()) == 1
    by_cluster = (await central.admin("GET", "/v1/alerts/summary/counts?groupBy=CLUSTER")).json()
    assert by_cluster["groups"][0]["group"] == "prod"
    # analysts may not resolve; admins may
    r = await central.as_token(ops, "PATCH", f"/v1/alerts/{shop_alert['id']}/resolve")
    assert r.status_code == 403
    r = await central.admin("PATCH", f"/v1/alerts/{shop_alert['id']}/resolve", json={})
    assert r.status_code == 200
    r = await central.admin("PATCH", "/v1/alerts/resolve", json={"query": "Namespace:shop"})
    assert r.json() == {"numResolved": 1}
    r = await central.admin("GET", "/v1/alertscount?query=Violation%20State:ACTIVE")
    assert r.json() == {"count": 1}

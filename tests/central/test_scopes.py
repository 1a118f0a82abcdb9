"""Access scopes filter every list, count and search in the database: a user scoped to one
namespace never sees another namespace's objects, not even in counts."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

LAYOUT = {
    "prod": {
        "labels": {"env": "prod"},
        "namespaces": {
            "payments": {"labels": {"team": "pay"}, "deployments": ["api", "worker", "ledger"]},
            "web": {"labels": {"team": "web"}, "deployments": ["frontend", "api"]},
        },
    },
    "dev": {
        "labels": {"env": "dev"},
        "namespaces": {
            "payments": {"labels": {"team": "pay"}, "deployments": ["api"]},
            "sandbox": {"labels": {}, "deployments": ["toy"]},
        },
    },
}


async def scoped_token(central, name: str, rules: dict) -> str:
    r = await central.admin(
        "POST", "/v1/simpleaccessscopes", json={"name": f"scope-{name}", "rules": rules}
    )
    assert r.status_code == 200, r.text
    scope_id = r.json()["id"]
    r = await central.admin(
        "POST",
        f"/v1/roles/{name}",
        json={"permissionSetId": "io.stockade.permissionset.analyst", "accessScopeId": scope_id},
    )
    assert r.status_code == 200, r.text
    return await central.token_for(name)


async def names(central, token: str, path: str, key: str) -> list[str]:
    r = await central.as_token(token, "GET", path)
    assert r.status_code == 200, r.text
    return sorted(d["name"] if "name" in d else d["metadata"]["name"] for d in r.json()[key])


async def test_namespace_scoped_analyst_sees_only_its_namespace(central, seed_inventory) -> None:
    seed_inventory(central.db_url, LAYOUT)
    token = await scoped_token(
        central,
        "pay-prod",
        {"includedNamespaces": [{"clusterName": "prod", "namespaceName": "payments"}]},
    )
    assert await names(central, token, "/v1/deployments", "deployments") == [
        "api",
        "ledger",
        "worker",
    ]
    # counts: the query matches "api" in three namespaces, the scoped user sees one
    r = await central.as_token(token, "GET", "/v1/deploymentscount?query=Deployment:api")
    assert r.json() == {"count": 1}
    admin = await central.admin("GET", "/v1/deploymentscount?query=Deployment:api")
    assert admin.json() == {"count": 3}
    r = await central.as_token(token, "GET", "/v1/deployments?query=Namespace:web")
    assert r.json() == {"deployments": [], "totalCount": 0}
    assert await names(central, token, "/v1/namespaces", "namespaces") == ["payments"]
    # the cluster holding the namespace is visible, the other cluster is not
    assert await names(central, token, "/v1/clusters", "clusters") == ["prod"]
    r = await central.as_token(token, "GET", "/v1/search?query=Deployment:")
    assert r.status_code == 400  # empty value is a syntax error, not a way around the scope
    r = await central.as_token(token, "GET", "/v1/search?query=Namespace:*")
    counts = {c["category"]: c["count"] for c in r.json()["counts"]}
    assert counts.pop("NAMESPACES") == 1 and counts.pop("DEPLOYMENTS") == 3
    assert set(counts.values()) <= {0}  # alerts, images: none in this namespace
    assert {x["location"] for x in r.json()["results"]} <= {"prod", "prod/payments"}


async def test_cluster_label_and_namespace_label_selectors(central, seed_inventory) -> None:
    seed_inventory(central.db_url, LAYOUT)
    dev = await scoped_token(
        central,
        "dev-only",
        {
            "clusterLabelSelectors": [
                {"requirements": [{"key": "env", "op": "IN", "values": ["dev"]}]}
            ]
        },
    )
    assert await names(central, dev, "/v1/deployments", "deployments") == ["api", "toy"]
    pay = await scoped_token(
        central,
        "team-pay",
        {
            "namespaceLabelSelectors": [
                {"requirements": [{"key": "team", "op": "IN", "values": ["pay"]}]}
            ]
        },
    )
    r = await central.as_token(pay, "GET", "/v1/deployments?query=Cluster:dev")
    assert [d["name"] for d in r.json()["deployments"]] == ["api"]
    r = await central.as_token(pay, "GET", "/v1/deploymentscount")
    assert r.json() == {"count": 4}
    not_in = await scoped_token(
        central,
        "not-pay",
        {
            "namespaceLabelSelectors": [
                {"requirements": [{"key": "team", "op": "NOT_IN", "values": ["pay"]}]}
            ]
        },
    )
    # NOT_IN also selects namespaces without the label (sandbox), as in Kubernetes
    assert await names(central, not_in, "/v1/deployments", "deployments") == [
        "api",
        "frontend",
        "toy",
    ]


async def test_deny_all_scope_sees_nothing_and_unknown_ops_are_rejected(
    central, seed_inventory
) -> None:
    seed_inventory(central.db_url, LAYOUT)
    r = await central.admin(
        "POST",
        "/v1/roles/nothing",
        json={
            "permissionSetId": "io.stockade.permissionset.analyst",
            "accessScopeId": "io.stockade.accessscope.denyall",
        },
    )
    assert r.status_code == 200
    token = await central.token_for("nothing")
    r = await central.as_token(token, "GET", "/v1/deploymentscount")
    assert r.json() == {"count": 0}
    r = await central.admin(
        "POST",
        "/v1/simpleaccessscopes",
        json={
            "name": "bad",
            "rules": {
                "clusterLabelSelectors": [
                    {"requirements": [{"key": "a", "op": "GREATER", "values": []}]}
                ]
            },
        },
    )
    assert r.status_code == 400
    assert "GREATER" in r.json()["message"]


async def test_builtin_roles_cannot_be_changed(central) -> None:
    r = await central.admin("DELETE", "/v1/roles/Admin")
    assert r.status_code == 400
    r = await central.admin("GET", "/v1/roles")
    assert {x["name"] for x in r.json()["roles"]} >= {
        "Admin",
        "Analyst",
        "Continuous Integration",
        "Sensor Creator",
        "None",
        "Vulnerability Management Requester",
        "Vulnerability Management Approver",
    }

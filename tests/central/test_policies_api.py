"""Policies through Central's API: defaults seeded once, CRUD with validation naming the
problem, the product's export files imported as they are, and build/deploy detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stockade.policy import load_default_policies

pytestmark = pytest.mark.integration

CORPUS = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "rhacs-default-policies"
)

CUSTOM = {
    "name": "No busybox",
    "severity": "HIGH_SEVERITY",
    "categories": ["Custom"],
    "lifecycleStages": ["BUILD", "DEPLOY"],
    "enforcementActions": ["FAIL_BUILD_ENFORCEMENT"],
    "policySections": [
        {
            "sectionName": "s1",
            "policyGroups": [
                {
                    "fieldName": "Image Remote",
                    "booleanOperator": "OR",
                    "values": [{"value": ".*busybox.*"}],
                }
            ],
        }
    ],
}


async def test_default_policies_are_seeded_once(start_central, database_url) -> None:
    c = await start_central(database_url)
    r = await c.admin("GET", "/v1/policies?pagination.limit=1000")
    assert r.status_code == 200
    defaults = load_default_policies()
    assert r.json()["totalCount"] == len(defaults)
    latest = next(p for p in r.json()["policies"] if p["name"] == "Latest tag")
    assert latest["isDefault"] and not latest["disabled"]
    assert (await c.admin("DELETE", f"/v1/policies/{latest['id']}")).status_code == 200
    await c.central.stop()
    c2 = await start_central(
        database_url, data_dir=c.data_dir
    )  # a restart does not bring a deleted default back
    r = await c2.admin("GET", "/v1/policies?query=Policy:%22Latest%20tag%22")
    assert r.json()["totalCount"] == 0


async def test_create_validate_disable_and_search(central) -> None:
    r = await central.admin("POST", "/v1/policies", json=CUSTOM)
    assert r.status_code == 200, r.text
    pid = r.json()["id"]
    assert (await central.admin("POST", "/v1/policies", json=CUSTOM)).status_code == 409
    bad = json.loads(json.dumps(CUSTOM))
    bad["name"] = "Bad field"
    bad["policySections"][0]["policyGroups"][0]["fieldName"] = "Colour"
    r = await central.admin("POST", "/v1/policies", json=bad)
    assert r.status_code == 400
    msg = r.json()["message"]
    assert "Bad field" in msg and "Colour" in msg
    r = await central.admin("PATCH", f"/v1/policies/{pid}", json={"disabled": True})
    assert r.status_code == 200
    r = await central.admin("GET", "/v1/policies?query=Category:Custom%2BDisabled:true")
    assert [p["name"] for p in r.json()["policies"]] == ["No busybox"]
    r = await central.admin("GET", "/v1/policies?query=Severity:>=HIGH_SEVERITY%2BDefault:false")
    assert [p["name"] for p in r.json()["policies"]] == ["No busybox"]
    cats = (await central.admin("GET", "/v1/policycategories")).json()["categories"]
    assert "Custom" in {c["name"] for c in cats}
    analyst = await central.token_for("Analyst")
    r = await central.as_token(analyst, "POST", "/v1/policies", json={**CUSTOM, "name": "x"})
    assert r.status_code == 403


async def test_product_export_files_import_and_export_back(central) -> None:
    files = sorted(CORPUS.glob("*.json"))
    assert len(files) >= 80
    docs = [json.loads(f.read_text()) for f in files]
    r = await central.admin(
        "POST", "/v1/policies/import", json={"policies": docs, "metadata": {"overwrite": True}}
    )
    assert r.status_code == 200
    failures = [x for x in r.json()["responses"] if not x["succeeded"]]
    assert failures == [] and r.json()["allSucceeded"]
    ids = [d["id"] for d in docs]
    exported = (await central.admin("POST", "/v1/policies/export", json={"policyIds": ids})).json()[
        "policies"
    ]
    by_id = {p["id"]: p for p in exported}
    for d in docs:
        got = by_id[d["id"]]
        assert got["name"] == d["name"]
        assert got["policySections"] == d["policySections"]
        assert got["lifecycleStages"] == d["lifecycleStages"]


async def test_import_reports_each_failure_and_keeps_the_rest(central) -> None:
    r = await central.admin(
        "POST",
        "/v1/policies/import",
        json={
            "policies": [
                {**CUSTOM, "name": "Good one"},
                {**CUSTOM, "name": "Bad one", "lifecycleStages": ["SOMETIME"]},
            ]
        },
    )
    results = r.json()["responses"]
    assert [x["succeeded"] for x in results] == [True, False]
    assert "SOMETIME" in results[1]["errors"][0]["message"]
    assert (await central.admin("GET", "/v1/policies?query=Policy:Good")).json()["totalCount"] == 1


async def test_detect_build_with_a_ci_token(central) -> None:
    await central.admin("POST", "/v1/policies", json=CUSTOM)
    ci = await central.token_for("Continuous Integration")
    image = {"name": "docker.io/library/busybox:latest", "components": []}
    r = await central.as_token(ci, "POST", "/v1/detect/build", json={"image": image})
    assert r.status_code == 200, r.text
    alerts = {a["policy"]["name"]: a for a in r.json()["alerts"]}
    assert "Latest tag" in alerts
    assert "enforcement" not in alerts["Latest tag"]
    assert alerts["No busybox"]["enforcement"]["action"] == "FAIL_BUILD_ENFORCEMENT"
    assert alerts["No busybox"]["violations"][0]["message"]
    r = await central.as_token(
        ci, "POST", "/v1/detect/build", json={"image": {"name": "quay.io/acme/app:1.2"}}
    )
    assert "Latest tag" not in {a["policy"]["name"] for a in r.json()["alerts"]}
    r = await central.as_token(ci, "POST", "/v1/detect/build", json={})
    assert r.status_code == 400


async def test_detect_deploy_yaml(central) -> None:
    manifest = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: calm}
spec:
  containers:
  - name: app
    image: registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000
    resources: {limits: {cpu: 100m, memory: 64Mi}, requests: {cpu: 50m, memory: 32Mi}}
"""
    r = await central.admin("POST", "/v1/detect/deploy/yaml", json={"yaml": manifest})
    assert r.status_code == 200, r.text
    runs = {x["name"]: x for x in r.json()["runs"]}
    web = {a["policy"]["name"] for a in runs["web"]["alerts"]}
    calm = {a["policy"]["name"] for a in runs["calm"]["alerts"]}
    assert "Privileged Container" in web
    assert "Privileged Container" not in calm
    r = await central.admin("POST", "/v1/detect/deploy/yaml", json={"yaml": "a: [1"})
    assert r.status_code == 400


async def test_stage_and_category_match_any_element(central) -> None:
    await central.admin(
        "POST",
        "/v1/policies",
        json={
            **CUSTOM,
            "name": "Two stages two categories",
            "categories": ["Zeta", "Custom"],
            "lifecycleStages": ["BUILD", "DEPLOY"],
        },
    )
    r = await central.admin(
        "GET", "/v1/policies?query=Lifecycle%20Stage:DEPLOY%2BCategory:Custom%2BDefault:false"
    )
    assert {p["name"] for p in r.json()["policies"]} == {"Two stages two categories"}
    r = await central.admin("GET", "/v1/policies?query=Category:zet%2BDefault:false")
    assert {p["name"] for p in r.json()["policies"]} == {"Two stages two categories"}


async def test_concurrent_exclusions_on_one_policy_all_survive(central) -> None:
    """Exclusions added at once (two analysts excluding two violations) are each kept: the
    policy is read, changed and written with its row locked."""
    import asyncio

    from stockade.central.api.policies import add_exclusion
    from stockade.policy.model import Exclusion

    latest = next(p for p in await central.central.policies.all() if p.name == "Latest tag")
    images = [f"quay.io/acme/app{n}:latest" for n in range(8)]
    await asyncio.gather(
        *(
            add_exclusion(
                latest.id,
                Exclusion(name=f"image {i}", image_name=i, has_image=True),
                central.central,
            )
            for i in images
        ),
        central.central.policies.set_disabled(latest.id, False),
    )
    stored = await central.central.policies.get(latest.id)
    assert sorted(e.image_name for e in stored.exclusions if e.has_image) == images
    # adding one that is there already changes nothing
    again = await add_exclusion(
        latest.id,
        Exclusion(name=f"image {images[0]}", image_name=images[0], has_image=True),
        central.central,
    )
    assert again == stored

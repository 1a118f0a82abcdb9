"""Actions on a violation's page and an image's page: exclude (the policy gains an exclusion
through the policies API's code path, the alert is resolved as excluded and the next
evaluation leaves the target alone) and the SBOM download's refusal when no index report
is stored."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from stockade.central.store.alerts import DeploymentRef
from stockade.model.deployment import Container, Deployment
from stockade.model.image import Image, ImageName
from stockade.policy import LifecycleStage

from .seed import seed_portal
from .test_portal import CSRF, logged_in

pytestmark = pytest.mark.integration

LATEST = 'Policy:"Latest tag"'
UNRESTRICTED = "io.stockade.accessscope.unrestricted"


async def _active_latest_alerts(central: Any, extra: str) -> list[dict[str, Any]]:
    q = quote(f"{LATEST}+Violation State:ACTIVE+{extra}", safe=":")
    r = await central.admin("GET", f"/v1/alerts?query={q}")
    assert r.status_code == 200, r.text
    alerts: list[dict[str, Any]] = r.json()["alerts"]
    return alerts


def _names(violations: list[Any]) -> set[str]:
    return {v.policy.name for v in violations}


async def test_exclude_a_deployment_from_the_violation_page(central, seed_inventory) -> None:
    seeded = await seed_portal(central, seed_inventory, images=8)
    b = await logged_in(central)
    alerts = await _active_latest_alerts(central, "Lifecycle Stage:DEPLOY+Namespace:shop")
    assert len(alerts) >= 2
    target, other = alerts[0], alerts[1]
    alert_id, dep = target["id"], target["deployment"]

    page = await b.get(f"/main/violations/{alert_id}")
    assert f'href="/main/violations/{alert_id}/exclude"' in page.text
    confirm = await b.get(f"/main/violations/{alert_id}/exclude")
    assert confirm.status_code == 200
    assert dep["name"] in confirm.text and "Confirm exclusion" in confirm.text
    token = CSRF.search(confirm.text).group(1)  # type: ignore[union-attr]

    # without the form's token nothing changes
    r = await b.post(f"/main/violations/{alert_id}/exclude", {"csrf_token": "forged"})
    assert r.status_code == 403
    assert (await central.admin("GET", f"/v1/alerts/{alert_id}")).json()["state"] == "ACTIVE"

    r = await b.post(f"/main/violations/{alert_id}/exclude", {"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"/main/violations/{alert_id}"
    got = (await central.admin("GET", f"/v1/alerts/{alert_id}")).json()
    assert (got["state"], got["resolution"]) == ("RESOLVED", "EXCLUDED")
    page = await b.get(f"/main/violations/{alert_id}")
    assert 'id="alert-resolution">Excluded from the policy<' in page.text
    assert "exclude-link" not in page.text

    policy_id = target["policy"]["id"]
    policy = (await central.admin("GET", f"/v1/policies/{policy_id}")).json()
    added = [e for e in policy["exclusions"] if e.get("deployment", {}).get("name") == dep["name"]]
    assert added == [
        {
            "name": f"{dep['name']} in {dep['namespace']}",
            "deployment": {"name": dep["name"], "scope": {"namespace": dep["namespace"]}},
        }
    ]
    events = (await central.admin("GET", "/v1/auditlog")).json()["events"]
    audit = next(e for e in events if e["path"] == f"/main/violations/{alert_id}/exclude")
    assert (audit["principal"], audit["authMethod"], audit["status"]) == ("admin", "session", 303)

    # the background re-evaluation of the changed policy leaves the resolution as it is
    assert central.central.reevaluation is not None
    await central.central.reevaluation.wait()
    got = (await central.admin("GET", f"/v1/alerts/{alert_id}")).json()
    assert (got["state"], got["resolution"]) == ("RESOLVED", "EXCLUDED")

    # re-evaluation: the excluded deployment no longer fires; its neighbour still does
    _, compiled = await central.central.policies.compiled()
    latest = (Container("main", ImageName.parse("quay.io/acme/app:latest")),)
    excluded = Deployment(dep["name"], dep["namespace"], containers=latest)
    neighbour = Deployment(other["deployment"]["name"], dep["namespace"], containers=latest)
    assert "Latest tag" not in _names(compiled.evaluate_deployment(excluded))
    assert "Latest tag" in _names(compiled.evaluate_deployment(neighbour))
    ref = DeploymentRef(dep["id"], dep["name"], dep["namespace"], dep["clusterId"], "prod")
    await central.central.alerts.record_deployment(
        ref, LifecycleStage.DEPLOY, compiled.evaluate_deployment(excluded)
    )
    assert await _active_latest_alerts(central, f"Deployment:{dep['name']}") == []
    assert seeded.images  # the seed ran


async def test_exclude_an_image_through_the_api_resolve_with_whitelist(
    central, seed_inventory
) -> None:
    await seed_portal(central, seed_inventory, images=4)
    (build,) = await _active_latest_alerts(central, "Lifecycle Stage:BUILD")
    image = build["image"]["name"]["fullName"]
    # resolving alerts is not enough: excluding changes the policy, which needs its own right
    ps = await central.admin(
        "POST",
        "/v1/permissionsets",
        json={"name": "Alert triage", "resourceToAccess": {"Alert": "READ_WRITE_ACCESS"}},
    )
    assert ps.status_code == 200, ps.text
    role = {"permissionSetId": ps.json()["id"], "accessScopeId": UNRESTRICTED}
    assert (await central.admin("POST", "/v1/roles/Triage", json=role)).status_code == 200
    triage = await central.token_for("Triage")
    r = await central.as_token(
        triage, "PATCH", f"/v1/alerts/{build['id']}/resolve", json={"whitelist": True}
    )
    assert r.status_code == 403 and "WorkflowAdministration" in r.text
    assert (await central.admin("GET", f"/v1/alerts/{build['id']}")).json()["state"] == "ACTIVE"
    r = await central.admin("PATCH", f"/v1/alerts/{build['id']}/resolve", json={"whitelist": True})
    assert r.status_code == 200, r.text
    assert (await central.admin("GET", f"/v1/alerts/{build['id']}")).json()["resolution"] == (
        "EXCLUDED"
    )
    policy = (await central.admin("GET", f"/v1/policies/{build['policy']['id']}")).json()
    assert {"name": f"image {image}", "image": {"name": image}} in policy["exclusions"]

    _, compiled = await central.central.policies.compiled()
    assert "Latest tag" not in _names(compiled.evaluate_image(Image(ImageName.parse(image))))
    other = Image(ImageName.parse("quay.io/acme/other:latest"))
    assert "Latest tag" in _names(compiled.evaluate_image(other))


async def test_sbom_download_without_a_stored_index_report_says_so(central, seed_inventory) -> None:
    seeded = await seed_portal(central, seed_inventory, images=2)
    b = await logged_in(central)
    digest, name = next(iter(seeded.images.items()))
    page = await b.get(f"/main/vulnerabilities/images/{digest}")
    assert f'href="/main/vulnerabilities/images/{digest}/sbom"' in page.text
    r = await b.get(f"/main/vulnerabilities/images/{digest}/sbom")
    assert r.status_code == 400 and "content-disposition" not in r.headers
    assert f"no index report is stored for {name}" in r.text
    r = await b.get("/main/vulnerabilities/images/sha256:feed/sbom")
    assert r.status_code == 404

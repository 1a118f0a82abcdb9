"""A violation's page lists its events oldest first: raised, what matched at its own time,
resolved."""

from __future__ import annotations

import html
import re

import pytest
from tests.central.portal.test_portal import logged_in

from stockade.central.store.alerts import DeploymentRef
from stockade.policy import LifecycleStage, Violation

pytestmark = pytest.mark.integration

MATCHED = "Container 'web' uses image tag latest"
ITEM = re.compile(r'<li><time datetime="([^"]+)">[^<]*</time> ([^<]*)</li>')


def timeline(page: str) -> list[tuple[str, str]]:
    section = page.split('id="timeline"', 1)[1].split("</ol>", 1)[0]
    return [(when, html.unescape(what)) for when, what in ITEM.findall(section)]


async def test_timeline_orders_raise_matches_and_resolution(central, seed_inventory) -> None:
    ids = seed_inventory(central.db_url, {"c": {"namespaces": {"n": {"deployments": ["web"]}}}})
    ref = DeploymentRef(ids["c/n/web"], "web", "n", ids["c"], "c")
    latest = next(p for p in await central.central.policies.all() if p.name == "Latest tag")
    await central.central.alerts.record_deployment(
        ref, LifecycleStage.DEPLOY, [Violation(latest, (MATCHED,))]
    )
    alerts = (await central.admin("GET", "/v1/alerts")).json()["alerts"]
    alert_id = next(a["id"] for a in alerts if a["policy"]["name"] == "Latest tag")
    b = await logged_in(central)
    page = await b.get(f"/main/violations/{alert_id}")
    assert page.status_code == 200
    events = timeline(page.text)
    assert [what for _, what in events] == ["Violation raised", MATCHED]

    r = await central.admin("PATCH", f"/v1/alerts/{alert_id}/resolve", json={})
    assert r.status_code == 200, r.text
    page = await b.get(f"/main/violations/{alert_id}")
    events = timeline(page.text)
    assert [what for _, what in events] == ["Violation raised", MATCHED, "Violation resolved"]
    detail = (await central.admin("GET", f"/v1/alerts/{alert_id}")).json()
    assert events[0][0] == detail["firstOccurred"] and events[-1][0] == detail["resolvedAt"]
    assert [when for when, _ in events] == sorted(when for when, _ in events)

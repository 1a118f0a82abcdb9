"""Alerts recorded by Central notify the notifiers their policy names, once per alert."""

from __future__ import annotations

import dataclasses
from typing import Any

from stockade.central.store.alerts import DeploymentRef
from stockade.policy import LifecycleStage, Violation

from .conftest import CentralHandle, create, eventually
from .receivers import HttpReceiver


async def test_new_alert_notifies_its_policys_notifiers_once(
    fast_central: CentralHandle, http_receiver: HttpReceiver, seed_inventory: Any
) -> None:
    ids = seed_inventory(
        fast_central.db_url, {"prod": {"namespaces": {"shop": {"deployments": ["web"]}}}}
    )
    web = DeploymentRef(ids["prod/shop/web"], "web", "shop", ids["prod"], "prod")
    used = await create(
        fast_central,
        {"name": "used", "type": "generic", "generic": {"endpoint": http_receiver.url + "/a"}},
    )
    await create(
        fast_central,
        {"name": "unused", "type": "generic", "generic": {"endpoint": http_receiver.url + "/b"}},
    )
    policies = {p.name: p for p in await fast_central.central.policies.all()}
    priv = dataclasses.replace(policies["Privileged Container"], notifiers=(used["id"],))
    quiet = policies["Latest tag"]  # names no notifier
    store = fast_central.central.alerts
    svc = fast_central.central.notifications

    first = await store.record_deployment(
        web,
        LifecycleStage.DEPLOY,
        [Violation(priv, ("Container 'web' is privileged",)), Violation(quiet, ("latest",))],
    )
    assert await svc.notify_alerts(first.created) == 1
    await eventually(lambda: http_receiver.requests, what="the webhook call")
    body = http_receiver.requests[0].json()["alert"]
    assert http_receiver.requests[0].path == "/a"
    assert body["policy"]["name"] == "Privileged Container"
    assert body["policy"]["severity"] == priv.severity.value
    assert body["policy"]["remediation"] == priv.remediation
    assert body["lifecycleStage"] == "DEPLOY" and body["state"] == "ACTIVE"
    assert body["deployment"] == {
        "id": ids["prod/shop/web"],
        "name": "web",
        "namespace": "shop",
        "clusterId": ids["prod"],
        "clusterName": "prod",
    }
    assert [v["message"] for v in body["violations"]] == ["Container 'web' is privileged"]
    assert body["id"] in first.created

    again = await store.record_deployment(
        web, LifecycleStage.DEPLOY, [Violation(priv, ("Container 'web' is privileged",))]
    )
    assert again.created == []  # updated in place: no new notification
    assert await svc.notify_alerts(first.created) == 0  # the same alert twice: queued once

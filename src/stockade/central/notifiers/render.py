"""Words every notifier uses to describe an alert: a title, a severity, a link, the body."""

from __future__ import annotations

import datetime as dt
import uuid

from stockade import __version__
from stockade.central.notifiers.base import AlertPayload, Common

SEVERITY_LABELS = {
    "CRITICAL_SEVERITY": "Critical",
    "HIGH_SEVERITY": "High",
    "MEDIUM_SEVERITY": "Medium",
    "LOW_SEVERITY": "Low",
}

PRODUCT = "Stockade"
VERSION = __version__


def severity(alert: AlertPayload) -> str:
    raw = alert.get("policy", {}).get("severity", "")
    return SEVERITY_LABELS.get(raw, raw.replace("_SEVERITY", "").title() or "Unset")


def subject(alert: AlertPayload) -> str:
    """What is wrong, in one line."""
    policy = alert.get("policy", {}).get("name", "unnamed policy")
    dep = alert.get("deployment")
    if dep:
        where = "/".join(p for p in (dep.get("clusterName"), dep.get("namespace")) if p)
        suffix = f" in {where}" if where else ""
        return f"Deployment {dep.get('name', '?')}{suffix} violates policy {policy!r}"
    image = alert.get("image", {}).get("name", {}).get("fullName")
    if image:
        return f"Image {image} violates policy {policy!r}"
    return f"Policy {policy!r} was violated"


def link(common: Common, alert: AlertPayload) -> str:
    base = common.ui_endpoint.rstrip("/")
    if not base or not alert.get("id"):
        return ""
    return f"{base}/main/violations/{alert['id']}"


def violation_messages(alert: AlertPayload) -> list[str]:
    return [v.get("message", "") for v in alert.get("violations", []) if v.get("message")]


def body_lines(common: Common, alert: AlertPayload) -> list[str]:
    """A plain-text description: what, where, why, what to do."""
    policy = alert.get("policy", {})
    lines = [subject(alert), ""]
    url = link(common, alert)
    if url:
        lines.append(f"Alert: {url}")
    lines += [
        f"Alert ID: {alert.get('id', '')}",
        f"Time: {alert.get('time', '')}",
        f"Severity: {severity(alert)}",
        f"Lifecycle stage: {alert.get('lifecycleStage', '')}",
    ]
    if policy.get("categories"):
        lines.append(f"Categories: {', '.join(policy['categories'])}")
    dep = alert.get("deployment")
    if dep:
        lines += [
            f"Cluster: {dep.get('clusterName', '')}",
            f"Namespace: {dep.get('namespace', '')}",
            f"Deployment: {dep.get('name', '')}",
        ]
    image = alert.get("image", {}).get("name", {}).get("fullName")
    if image:
        lines.append(f"Image: {image}")
    for title, key in (
        ("Description", "description"),
        ("Rationale", "rationale"),
        ("Remediation", "remediation"),
    ):
        text = policy.get(key, "")
        if text:
            lines += ["", f"{title}:", str(text)]
    messages = violation_messages(alert)
    if messages:
        lines += ["", "Violations:"] + [f"  - {m}" for m in messages]
    enforcement = alert.get("enforcement")
    if enforcement and enforcement.get("action"):
        lines += ["", f"Enforcement: {enforcement['action']} {enforcement.get('message', '')}"]
    return lines


def test_alert() -> AlertPayload:
    """The alert a 'test' call sends: obviously a test, shaped like a real one."""
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    return {
        "id": str(uuid.uuid4()),
        "policy": {
            "id": "stockade-notifier-test",
            "name": "Stockade notifier test",
            "severity": "LOW_SEVERITY",
            "categories": ["Test"],
            "description": "A test message sent when a notifier is tested.",
            "rationale": "Checks that Stockade can reach this notifier.",
            "remediation": "Nothing to do.",
        },
        "lifecycleStage": "DEPLOY",
        "state": "ACTIVE",
        "deployment": {
            "id": "00000000-0000-0000-0000-000000000000",
            "name": "notifier-test",
            "namespace": "stockade",
            "clusterName": "test",
        },
        "violations": [{"message": "This is a test notification from Stockade."}],
        "time": now,
    }


def epoch_seconds(alert: AlertPayload) -> float:
    text = alert.get("time", "")
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return dt.datetime.now(dt.UTC).timestamp()


def routed_target(common: Common, alert: AlertPayload) -> str:
    """Where to send (a mailbox, a Slack webhook): the deployment's or its namespace's
    annotation named by ``labelKey`` when present, else ``labelDefault`` (the product's
    routing rule)."""
    if common.label_key:
        dep = alert.get("deployment", {})
        for source in (dep.get("annotations", {}), dep.get("namespaceAnnotations", {})):
            value = source.get(common.label_key, "").strip()
            if value:
                return value
    return common.label_default

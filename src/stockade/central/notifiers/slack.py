"""Slack incoming webhook: a message with a coloured attachment per alert. The webhook URL
is ``labelDefault``; a deployment or namespace annotation named by ``labelKey`` overrides
it (the product's routing rule)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stockade.central.notifiers import render, webhttp
from stockade.central.notifiers.base import (
    AlertPayload,
    Common,
    DeliveryFailed,
    DeliveryOptions,
    InvalidNotifier,
    Notification,
)
from stockade.central.notifiers.fields import http_url, is_local_host

COLORS = {
    "Critical": "#a30000",
    "High": "#ec7a08",
    "Medium": "#f0ab00",
    "Low": "#8bc1f7",
}


@dataclass(frozen=True)
class SlackConfig:
    common: Common


def message(common: Common, alert: AlertPayload) -> dict[str, Any]:
    sev = render.severity(alert)
    policy = alert.get("policy", {})
    title = render.subject(alert)
    fields = [
        {"title": "Severity", "value": sev, "short": True},
        {"title": "Lifecycle stage", "value": alert.get("lifecycleStage", ""), "short": True},
    ]
    dep = alert.get("deployment")
    if dep:
        fields += [
            {"title": "Cluster", "value": dep.get("clusterName", ""), "short": True},
            {"title": "Namespace", "value": dep.get("namespace", ""), "short": True},
        ]
    for key, label in (("description", "Description"), ("remediation", "Remediation")):
        text = policy.get(key, "")
        if text:
            fields.append({"title": label, "value": str(text), "short": False})
    violations = "\n".join(f"• {m}" for m in render.violation_messages(alert)[:20])
    attachment: dict[str, Any] = {
        "fallback": title,
        "color": COLORS.get(sev, "#6a6e73"),
        "title": title,
        "text": violations,
        "fields": fields,
        "mrkdwn_in": ["text", "fields"],
        "footer": f"{render.PRODUCT} alert {alert.get('id', '')}",
        "ts": int(render.epoch_seconds(alert)),
    }
    url = render.link(common, alert)
    if url:
        attachment["title_link"] = url
    return {"text": title, "attachments": [attachment]}


class SlackWebhook:
    name = "slack"
    section = ""
    secret_fields: tuple[str, ...] = ()
    dependent_fields: tuple[str, ...] = ()

    def parse(self, common: Common, section: Mapping[str, Any]) -> SlackConfig:
        if not common.label_default:
            raise InvalidNotifier("labelDefault", "is required: the Slack webhook URL")
        http_url(common.label_default, "labelDefault")
        return SlackConfig(common)

    async def send(self, config: SlackConfig, note: Notification, options: DeliveryOptions) -> None:
        target = render.routed_target(config.common, note.alert)
        try:
            url = http_url(target, "webhook")
        except InvalidNotifier as exc:
            raise DeliveryFailed(
                f"the webhook from annotation {config.common.label_key!r} is not a valid URL",
                retryable=False,
            ) from exc
        if not options.allow_local_endpoints and is_local_host(url.host):
            raise DeliveryFailed(
                f"the webhook from annotation {config.common.label_key!r}"
                " points at a local address",
                retryable=False,
            )
        await webhttp.post_json(
            url.url,
            url.host,
            message(config.common, note.alert),
            timeout=options.timeout,
            idempotency_key=note.idempotency_key,
        )

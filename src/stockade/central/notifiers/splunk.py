"""Splunk HTTP Event Collector: the alert as the ``event`` of a HEC event, with the
notifier's sourcetype, authenticated with the HEC token."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stockade.central.notifiers import render, webhttp
from stockade.central.notifiers.base import (
    AlertPayload,
    Common,
    DeliveryFailed,
    DeliveryOptions,
    Notification,
)
from stockade.central.notifiers.fields import Fields, http_url, pem_certificates

DEFAULT_SOURCETYPE = "stockade-alert"
DEFAULT_TRUNCATE = 10_000


@dataclass(frozen=True)
class SplunkConfig:
    common: Common
    endpoint: str
    host: str
    token: str
    insecure: bool
    truncate: int
    sourcetype: str
    ca_cert: str


def event(config: SplunkConfig, note: Notification) -> dict[str, Any]:
    alert: AlertPayload = note.alert
    doc = {
        "time": render.epoch_seconds(alert),
        "source": "stockade",
        "sourcetype": config.sourcetype,
        "event": alert,
        "fields": {"idempotency_key": note.idempotency_key},
    }
    if config.truncate and len(json.dumps(doc)) > config.truncate:
        # over the size limit: keep the alert, drop violations from the end
        kept = list(alert.get("violations", []))
        while kept and len(json.dumps(doc)) > config.truncate:
            kept.pop()
            trimmed = dict(alert)
            trimmed["violations"] = [*kept, {"message": "(more violations truncated)"}]
            doc["event"] = trimmed
    return doc


class SplunkHec:
    name = "splunk"
    section = "splunk"
    secret_fields: tuple[str, ...] = ("httpToken",)
    dependent_fields: tuple[str, ...] = ("httpEndpoint",)

    def parse(self, common: Common, section: Mapping[str, Any]) -> SplunkConfig:
        f = Fields(section, "splunk")
        endpoint = f.string("httpEndpoint", required=True)
        url = http_url(endpoint, f.path("httpEndpoint"))
        token = f.string("httpToken", required=True)
        types = f.string_map("sourceTypes")
        ca = f.string("caCert")  # Stockade's addition: a private CA for the collector
        if ca:
            pem_certificates(ca, f.path("caCert"))
        return SplunkConfig(
            common,
            endpoint,
            url.host,
            token,
            f.boolean("insecure"),
            f.integer("truncate", DEFAULT_TRUNCATE),
            types.get("alert") or DEFAULT_SOURCETYPE,
            ca,
        )

    async def send(
        self, config: SplunkConfig, note: Notification, options: DeliveryOptions
    ) -> None:
        response = await webhttp.post_json(
            config.endpoint,
            config.host,
            event(config, note),
            headers={"Authorization": f"Splunk {config.token}"},
            ca_pem=config.ca_cert,
            skip_verify=config.insecure,
            timeout=options.timeout,
            idempotency_key=note.idempotency_key,
        )
        try:
            answer = response.json()
        except ValueError:
            return
        if isinstance(answer, dict) and answer.get("code", 0) != 0:
            raise DeliveryFailed(
                f"{config.host} refused the event (HEC code {answer.get('code')})",
                retryable=False,
            )

"""Generic webhook: the alert as JSON (``{"alert": ..., <extra fields>}``) POSTed to an
endpoint, with custom headers, optional basic auth and an optional CA certificate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stockade.central.notifiers import webhttp
from stockade.central.notifiers.base import (
    Common,
    DeliveryOptions,
    InvalidNotifier,
    Notification,
)
from stockade.central.notifiers.fields import Fields, http_url, pem_certificates


@dataclass(frozen=True)
class GenericConfig:
    common: Common
    endpoint: str
    host: str
    skip_tls_verify: bool
    ca_cert: str
    username: str
    password: str
    headers: tuple[tuple[str, str], ...]
    extra_fields: tuple[tuple[str, str], ...]


class GenericWebhook:
    name = "generic"
    section = "generic"
    # header values are sealed too: they usually carry a token
    secret_fields: tuple[str, ...] = ("password", "headers")
    dependent_fields: tuple[str, ...] = ("endpoint", "username")

    def parse(self, common: Common, section: Mapping[str, Any]) -> GenericConfig:
        f = Fields(section, "generic")
        endpoint = f.string("endpoint", required=True)
        url = http_url(endpoint, f.path("endpoint"))
        ca = f.string("caCert")
        if ca:
            pem_certificates(ca, f.path("caCert"))
        username, password = f.string("username"), f.string("password")
        if bool(username) != bool(password):
            missing = "password" if username else "username"
            raise InvalidNotifier(f.path(missing), "is required when the other credential is given")
        extra = f.pairs("extraFields")
        if any(k == "alert" for k, _ in extra):
            raise InvalidNotifier(f.path("extraFields"), '"alert" is reserved for the alert')
        return GenericConfig(
            common,
            endpoint,
            url.host,
            f.boolean("skipTLSVerify"),
            ca,
            username,
            password,
            f.pairs("headers", header_names=True),
            extra,
        )

    async def send(
        self, config: GenericConfig, note: Notification, options: DeliveryOptions
    ) -> None:
        body: dict[str, Any] = dict(config.extra_fields)
        body["alert"] = note.alert
        await webhttp.post_json(
            config.endpoint,
            config.host,
            body,
            headers=dict(config.headers),
            auth=(config.username, config.password) if config.username else None,
            ca_pem=config.ca_cert,
            skip_verify=config.skip_tls_verify,
            timeout=options.timeout,
            idempotency_key=note.idempotency_key,
        )

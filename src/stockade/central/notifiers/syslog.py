"""Syslog: RFC 5424 messages over TCP (octet-counted framing, RFC 6587), TCP with TLS
(RFC 5425) or UDP (RFC 5426); the message is the alert as JSON with its key facts as
structured data, or an ArcSight CEF line (``messageFormat: CEF``).

Written with the standard library: no maintained asyncio syslog client exists (the stdlib
``SysLogHandler`` is blocking, speaks RFC 3164 framing only and has no TLS), and the
format is small. Each delivery opens a connection, writes the frame, waits until the
kernel has taken all of it (``drain``) and closes: a receiver that is down shows as a
refused connection instead of a write into a dead socket. Over UDP a message that is lost
cannot be noticed (no acknowledgement exists); prefer TCP for alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stockade.central.notifiers import render
from stockade.central.notifiers.base import (
    AlertPayload,
    Common,
    DeliveryFailed,
    DeliveryOptions,
    InvalidNotifier,
    Notification,
)
from stockade.central.notifiers.fields import Fields, check_host, check_port, pem_certificates
from stockade.central.notifiers.webhttp import ssl_context

FACILITIES = tuple(f"LOCAL{i}" for i in range(8))
FORMATS = ("LEGACY", "CEF")
APP_NAME = "stockade"
# SD-IDs of our own need "@" and an IANA enterprise number; Stockade has none registered, so
# it uses 32473, the number RFC 5612 sets aside for documentation and examples.
SD_ID = "stockadeAlert@32473"
# RFC 5424 severities: 2 critical, 3 error, 4 warning, 5 notice, 6 informational
SEVERITY_CODES = {
    "CRITICAL_SEVERITY": 2,
    "HIGH_SEVERITY": 3,
    "MEDIUM_SEVERITY": 4,
    "LOW_SEVERITY": 5,
}
CEF_SEVERITY = {
    "CRITICAL_SEVERITY": 10,
    "HIGH_SEVERITY": 8,
    "MEDIUM_SEVERITY": 5,
    "LOW_SEVERITY": 3,
}
MAX_UDP = 65000


@dataclass(frozen=True)
class SyslogConfig:
    common: Common
    host: str
    port: int
    transport: str  # tcp, udp
    use_tls: bool
    skip_tls_verify: bool
    ca_cert: str
    facility: int  # 16..23 (local0..local7)
    message_format: str
    extra_fields: tuple[tuple[str, str], ...]


# --- RFC 5424


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _sd_name(name: str) -> str:
    """PARAM-NAME: printable US-ASCII without '=', ' ', ']', '"', at most 32 characters."""
    cleaned = "".join(c for c in name if 33 <= ord(c) <= 126 and c not in '= ]"')
    return cleaned[:32] or "field"


def _header(config: SyslogConfig, alert: AlertPayload, msgid: str) -> str:
    sev = SEVERITY_CODES.get(alert.get("policy", {}).get("severity", ""), 6)
    pri = config.facility * 8 + sev
    ts = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = socket.gethostname()[:255] or "-"
    return f"<{pri}>1 {ts} {host} {APP_NAME} - {msgid}"


def structured_data(config: SyslogConfig, note: Notification) -> str:
    alert = note.alert
    dep = alert.get("deployment", {})
    params = [
        ("alertId", alert.get("id", "")),
        ("policy", alert.get("policy", {}).get("name", "")),
        ("severity", alert.get("policy", {}).get("severity", "")),
        ("lifecycleStage", alert.get("lifecycleStage", "")),
        ("cluster", dep.get("clusterName", "")),
        ("namespace", dep.get("namespace", "")),
        ("deployment", dep.get("name", "")),
        ("image", alert.get("image", {}).get("name", {}).get("fullName", "")),
        ("idempotencyKey", note.idempotency_key),
        *config.extra_fields,
    ]
    inner = " ".join(f'{_sd_name(k)}="{_sd_escape(v)}"' for k, v in params if v)
    return f"[{SD_ID} {inner}]"


def rfc5424(config: SyslogConfig, note: Notification) -> bytes:
    alert = note.alert
    if config.message_format == "CEF":
        return f"{_header(config, alert, 'CEF')} - {cef(config, note)}".encode()
    body = json.dumps(alert, separators=(",", ":"), ensure_ascii=False)
    # MSG starts with a BOM: RFC 5424 says the text is UTF-8
    head = f"{_header(config, alert, 'alert')} {structured_data(config, note)} "
    return head.encode() + b"\xef\xbb\xbf" + body.encode()


# --- CEF (ArcSight Common Event Format, version 0)


def _cef_header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _cef_ext(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def cef(config: SyslogConfig, note: Notification) -> str:
    alert = note.alert
    policy = alert.get("policy", {})
    dep = alert.get("deployment", {})
    header = "|".join(
        [
            "CEF:0",
            _cef_header(render.PRODUCT),
            _cef_header(render.PRODUCT),
            _cef_header(render.VERSION),
            _cef_header(policy.get("id", "") or policy.get("name", "")),
            _cef_header(render.subject(alert)),
            str(CEF_SEVERITY.get(policy.get("severity", ""), 0)),
        ]
    )
    labelled = [
        ("policy", policy.get("name", "")),
        ("cluster", dep.get("clusterName", "")),
        ("namespace", dep.get("namespace", "")),
        ("deployment", dep.get("name", "")),
        ("lifecycleStage", alert.get("lifecycleStage", "")),
        ("image", alert.get("image", {}).get("name", {}).get("fullName", "")),
    ]
    ext: list[tuple[str, str]] = [
        ("rt", str(int(render.epoch_seconds(alert) * 1000))),
        ("externalId", alert.get("id", "")),
        ("msg", "; ".join(render.violation_messages(alert))),
    ]
    for i, (label, value) in enumerate(labelled, start=1):  # cs1..cs6: CEF's custom strings
        if value:
            ext += [(f"cs{i}Label", label), (f"cs{i}", value)]
    ext += [("cat", ",".join(policy.get("categories", []))), *config.extra_fields]
    return header + "|" + " ".join(f"{k}={_cef_ext(v)}" for k, v in ext if v)


# --- transport


async def _send_tcp(config: SyslogConfig, frame: bytes, timeout: float) -> None:
    tls: ssl.SSLContext | None = None
    if config.use_tls:
        tls = ssl_context(config.ca_cert, config.skip_tls_verify)
    reader_writer = await asyncio.wait_for(
        asyncio.open_connection(
            config.host, config.port, ssl=tls, server_hostname=config.host if tls else None
        ),
        timeout,
    )
    writer = reader_writer[1]
    try:
        writer.write(b"%d " % len(frame) + frame)
        await asyncio.wait_for(writer.drain(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), timeout)


async def _send_udp(config: SyslogConfig, frame: bytes) -> None:
    if len(frame) > MAX_UDP:
        raise DeliveryFailed("the message is too large for one UDP datagram", retryable=False)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=(config.host, config.port)
    )
    try:
        transport.sendto(frame)
    finally:
        transport.close()


class SyslogNotifier:
    name = "syslog"
    section = "syslog"
    secret_fields: tuple[str, ...] = ()
    dependent_fields: tuple[str, ...] = ()

    def parse(self, common: Common, section: Mapping[str, Any]) -> SyslogConfig:
        f = Fields(section, "syslog")
        tcp = f.section("tcpConfig")
        udp = f.section("udpConfig")  # Stockade's addition beside the product's tcpConfig
        if (tcp is None) == (udp is None):
            raise InvalidNotifier("syslog.tcpConfig", "give exactly one of tcpConfig, udpConfig")
        endpoint = tcp or udp
        assert endpoint is not None
        host = check_host(endpoint.string("hostname", required=True), endpoint.path("hostname"))
        port = check_port(endpoint.doc.get("port"), endpoint.path("port"))
        use_tls = endpoint.boolean("useTls") if tcp is not None else False
        ca = endpoint.string("caCert")
        if ca:
            pem_certificates(ca, endpoint.path("caCert"))
        facility = f.choice("localFacility", FACILITIES, "LOCAL0")
        return SyslogConfig(
            common,
            host,
            port,
            "tcp" if tcp is not None else "udp",
            use_tls,
            endpoint.boolean("skipTlsVerify"),
            ca,
            16 + FACILITIES.index(facility),
            f.choice("messageFormat", FORMATS, "LEGACY"),
            f.pairs("extraFields"),
        )

    async def send(
        self, config: SyslogConfig, note: Notification, options: DeliveryOptions
    ) -> None:
        frame = rfc5424(config, note)
        where = f"{config.host}:{config.port}"
        try:
            if config.transport == "udp":
                await _send_udp(config, frame)
            else:
                await _send_tcp(config, frame, options.timeout)
        except TimeoutError as exc:
            raise DeliveryFailed(f"{where} did not answer within {options.timeout:g} s") from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryFailed(
                f"cannot connect to {where}: certificate not trusted ({exc.verify_message})"
            ) from exc
        except ssl.SSLError as exc:
            raise DeliveryFailed(f"cannot connect to {where}: TLS handshake failed") from exc
        except ConnectionRefusedError as exc:
            raise DeliveryFailed(f"cannot connect to {where}: connection refused") from exc
        except OSError as exc:
            reason = (exc.strerror or type(exc).__name__).lower()
            raise DeliveryFailed(f"cannot send to {where}: {reason}") from exc

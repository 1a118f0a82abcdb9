"""The notifier form: which fields each notifier type shows, and the product JSON a posted
form becomes. Input names are the fields' JSON paths (``generic.endpoint``), which are also
the paths the API's validation errors start with, so an error lands beside its field."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.datastructures import FormData

from stockade.central.notifiers.base import MASK
from stockade.central.notifiers.mail import AUTH_METHODS
from stockade.central.notifiers.syslog import FACILITIES, FORMATS

Kind = Literal["text", "url", "secret", "bool", "number", "choice", "pem"]


@dataclass(frozen=True)
class Field:
    path: str  # JSON path in the notifier document
    label: str
    kind: Kind = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    hint: str = ""
    virtual: bool = False  # shapes the document but is not a field of it

    @property
    def dom_id(self) -> str:
        return "f-" + self.path.replace(".", "-")


_NAME = Field("name", "Name", required=True)
_UI = Field("uiEndpoint", "Portal address in messages", "url", hint="Links in messages use it.")
_CA = "PEM certificate of a private CA (optional)"

FIELDS: dict[str, tuple[Field, ...]] = {
    "generic": (
        _NAME,
        Field("generic.endpoint", "Endpoint URL", "url", True),
        Field("generic.username", "User name"),
        Field("generic.password", "Password", "secret"),
        Field("generic.skipTLSVerify", "Skip TLS verification", "bool"),
        Field("generic.caCert", "CA certificate", "pem", hint=_CA),
        _UI,
    ),
    "slack": (
        _NAME,
        Field("labelDefault", "Webhook URL", "url", True),
        Field(
            "labelKey",
            "Annotation key for a per-deployment webhook",
            hint="Deployments annotated with this key send to the URL it holds.",
        ),
        _UI,
    ),
    "email": (
        _NAME,
        Field("email.server", "Mail server", required=True, hint="host or host:port"),
        Field("email.sender", "Sender address", required=True),
        Field("email.from", "From name"),
        Field("email.username", "User name"),
        Field("email.password", "Password", "secret"),
        Field(
            "email.startTLSAuthMethod", "STARTTLS authentication", "choice", choices=AUTH_METHODS
        ),
        Field("email.disableTLS", "Disable TLS", "bool"),
        Field("email.allowUnauthenticatedSmtp", "Allow unauthenticated SMTP", "bool"),
        Field("email.caCert", "CA certificate", "pem", hint=_CA),
        _UI,
    ),
    "syslog": (
        _NAME,
        Field("syslog.transport", "Transport", "choice", choices=("TCP", "UDP"), virtual=True),
        Field("syslog.tcpConfig.hostname", "Host", required=True),
        Field("syslog.tcpConfig.port", "Port", "number", True),
        Field("syslog.tcpConfig.useTls", "Use TLS (TCP only)", "bool"),
        Field("syslog.tcpConfig.skipTlsVerify", "Skip TLS verification (TCP only)", "bool"),
        Field("syslog.localFacility", "Facility", "choice", choices=FACILITIES),
        Field("syslog.messageFormat", "Message format", "choice", choices=FORMATS),
        _UI,
    ),
    "splunk": (
        _NAME,
        Field("splunk.httpEndpoint", "HTTP Event Collector URL", "url", True),
        Field("splunk.httpToken", "HTTP Event Collector token", "secret", True),
        Field("splunk.insecure", "Skip TLS verification", "bool"),
        Field("splunk.truncate", "Truncate events at (bytes)", "number"),
        Field("splunk.caCert", "CA certificate", "pem", hint=_CA),
        _UI,
    ),
}
TYPE_LABELS = {
    "generic": "Generic webhook",
    "slack": "Slack",
    "email": "Email",
    "syslog": "Syslog",
    "splunk": "Splunk",
}


def _get(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


_TCP, _UDP = "tcpConfig", "udpConfig"


def form_values(kind: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the form shows for a stored notifier: secrets never (their fields stay empty)."""
    out: dict[str, Any] = {}
    syslog = doc.get("syslog")
    if kind == "syslog" and isinstance(syslog, Mapping) and _UDP in syslog:
        # the form's host and port fields are written for TCP; a UDP endpoint fills them
        doc = {**doc, "syslog": {**syslog, _TCP: syslog[_UDP]}}
        out["syslog.transport"] = "UDP"
    for f in FIELDS[kind]:
        if f.virtual:
            out.setdefault(f.path, f.choices[0] if f.choices else "")
            continue
        value = _get(doc, f.path)
        if f.kind == "secret":
            out[f.path] = ""
        elif f.kind == "bool":
            out[f.path] = bool(value)
        else:
            out[f.path] = "" if value is None else str(value)
    return out


def has_secret(doc: Mapping[str, Any], path: str) -> bool:
    return bool(_get(doc, path) == MASK)


def document(
    kind: str, form: FormData, stored: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the notifier JSON to send to the API, the values to show again in the form).

    Editing starts from the stored document, so fields this form does not show (headers,
    extra fields) are kept; a secret left blank stays ``******``, which the API reads as
    "keep the stored value"."""
    doc: dict[str, Any] = copy.deepcopy(dict(stored)) if stored else {}
    doc["type"] = kind
    shown: dict[str, Any] = {}
    for f in FIELDS[kind]:
        raw = form.get(f.path)
        text = raw.strip() if isinstance(raw, str) else ""
        if f.virtual:
            shown[f.path] = text
            continue
        if f.kind == "bool":
            shown[f.path] = text == "true"
            _put(doc, f.path, text == "true")
            continue
        shown[f.path] = "" if f.kind == "secret" else text
        if f.kind == "secret" and not text:
            if stored is not None and has_secret(stored, f.path):
                _put(doc, f.path, MASK)
            else:
                _put(doc, f.path, "")
            continue
        if f.kind == "number" and text.isdigit():
            _put(doc, f.path, int(text))
            continue
        _put(doc, f.path, text)
    if kind == "syslog":
        _syslog_transport(doc, shown.get("syslog.transport", "TCP"))
    return doc, shown


def _syslog_transport(doc: dict[str, Any], transport: str) -> None:
    """Put the endpoint the form filled in under tcpConfig or udpConfig (exactly one)."""
    section = doc["syslog"]
    endpoint = dict(section.pop(_TCP, {}) or {})
    section.pop(_UDP, None)
    if transport == "UDP":
        for key in ("useTls", "skipTlsVerify", "caCert"):  # TCP-only settings
            endpoint.pop(key, None)
        section[_UDP] = endpoint
    else:
        section[_TCP] = endpoint


def form_path(path: str) -> str:
    """The form field an API error path belongs to (a UDP endpoint uses the TCP fields)."""
    return path.replace(f".{_UDP}.", f".{_TCP}.")

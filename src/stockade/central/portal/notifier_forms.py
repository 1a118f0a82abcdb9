"""The notifier form: which fields each notifier type shows, and the product JSON a posted
form becomes. Input names are the fields' JSON paths (``generic.endpoint``), which are also
the paths the API's validation errors start with, so an error lands beside its field.

Key/value lists (generic webhook headers, extra fields) are rows named ``<path>.<i>.key`` and
``<path>.<i>.value``; rows are added and removed by posting the form back (``action`` is
``add:<path>`` or ``remove:<path>:<i>``). Header values are secrets: a stored one is never
shown, and a row whose value is left blank keeps it."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.datastructures import FormData

from stockade.central.notifiers.base import MASK
from stockade.central.notifiers.mail import AUTH_METHODS
from stockade.central.notifiers.splunk import DEFAULT_SOURCETYPE
from stockade.central.notifiers.syslog import FACILITIES, FORMATS
from stockade.central.portal.common import form_str

Kind = Literal["text", "url", "secret", "bool", "number", "choice", "pem", "pairs", "secret_pairs"]


@dataclass(frozen=True)
class Field:
    path: str  # JSON path in the notifier document
    label: str
    kind: Kind = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    hint: str = ""
    virtual: bool = False  # shapes the document but is not a field of it
    row_label: str = ""  # pairs: what one row is called ("header")

    @property
    def dom_id(self) -> str:
        return dom_id(self.path)


_NAME = Field("name", "Name", required=True)
# Splunk's own structured source types besides Stockade's: _json and httpevent index the
# event's JSON fields; a custom sourcetype needs its own props on the Splunk side.
SOURCE_TYPES = (DEFAULT_SOURCETYPE, "_json", "httpevent")
_UI = Field("uiEndpoint", "Portal address in messages", "url", hint="Links in messages use it.")
_CA = "PEM certificate of a private CA (optional)"
_EXTRA = "Added to every message as key and value."

FIELDS: dict[str, tuple[Field, ...]] = {
    "generic": (
        _NAME,
        Field("generic.endpoint", "Endpoint URL", "url", True),
        Field("generic.username", "User name"),
        Field("generic.password", "Password", "secret"),
        Field("generic.skipTLSVerify", "Skip TLS verification", "bool"),
        Field("generic.caCert", "CA certificate", "pem", hint=_CA),
        Field(
            "generic.headers",
            "Custom headers",
            "secret_pairs",
            hint="Sent with every request. Values are stored sealed and never shown again;"
            " leave a stored value blank to keep it.",
            row_label="header",
        ),
        Field(
            "generic.extraFields",
            "Extra fields",
            "pairs",
            hint="Added to the JSON body beside the alert.",
            row_label="field",
        ),
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
        Field("labelDefault", "Recipient address", required=True, hint="Where alerts are mailed."),
        Field(
            "labelKey",
            "Annotation key for a per-deployment recipient",
            hint="Deployments annotated with this key are mailed at the address it holds.",
        ),
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
        Field("syslog.tcpConfig.caCert", "CA certificate (TCP with TLS only)", "pem", hint=_CA),
        Field("syslog.localFacility", "Facility", "choice", choices=FACILITIES),
        Field("syslog.messageFormat", "Message format", "choice", choices=FORMATS),
        Field("syslog.extraFields", "Extra fields", "pairs", hint=_EXTRA, row_label="field"),
        _UI,
    ),
    "splunk": (
        _NAME,
        Field("splunk.httpEndpoint", "HTTP Event Collector URL", "url", True),
        Field("splunk.httpToken", "HTTP Event Collector token", "secret", True),
        Field("splunk.insecure", "Skip TLS verification", "bool"),
        Field("splunk.truncate", "Truncate events at (bytes)", "number"),
        Field(
            "splunk.sourceTypes.alert",
            "Source type for alerts",
            choices=SOURCE_TYPES,  # suggestions: any sourcetype may be typed
            hint=f"The sourcetype of each event; {DEFAULT_SOURCETYPE} unless chosen.",
        ),
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
        if f.kind in PAIRS:
            out[f.path] = _stored_rows(f, value)
        elif f.kind == "secret":
            out[f.path] = ""
        elif f.kind == "bool":
            out[f.path] = bool(value)
        else:
            out[f.path] = "" if value is None else str(value)
    return out


PAIRS = ("pairs", "secret_pairs")


def _stored_rows(f: Field, value: Any) -> list[dict[str, Any]]:
    """A stored key/value list as form rows; a secret value is never shown, only whether
    one is stored."""
    rows = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, Mapping):
            continue
        stored = item.get("value", "")
        secret = f.kind == "secret_pairs"
        rows.append(
            {
                "key": str(item.get("key", "")),
                "value": "" if secret else str(stored),
                "stored": secret and stored == MASK,
            }
        )
    return rows


def _posted_rows(
    f: Field, form: FormData, stored: Mapping[str, Any] | None
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """(the key/value list for the document, the rows to show again). A row with neither
    key nor value is dropped; a secret row left blank keeps its key's stored value."""
    row = re.compile(re.escape(f.path) + r"\.(\d+)\.(?:key|value)")
    indexes = sorted({int(m.group(1)) for k in form if (m := row.fullmatch(k))})
    kept = {
        r["key"] for r in _stored_rows(f, _get(stored, f.path) if stored else None) if r["stored"]
    }
    pairs: list[dict[str, str]] = []
    shown: list[dict[str, Any]] = []
    for i in indexes:
        key = form_str(form, f"{f.path}.{i}.key")
        value = form_str(form, f"{f.path}.{i}.value")
        if not key and not value:
            continue
        keep = f.kind == "secret_pairs" and not value and key in kept
        pairs.append({"key": key, "value": MASK if keep else value})
        secret = f.kind == "secret_pairs"
        shown.append({"key": key, "value": "" if secret else value, "stored": keep})
    return pairs, shown


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
        if f.kind in PAIRS:
            pairs, shown[f.path] = _posted_rows(f, form, stored)
            _put(doc, f.path, pairs)
            continue
        text = form_str(form, f.path)
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
    """The form field an API error path belongs to (a UDP endpoint uses the TCP fields;
    ``headers[2].key`` is the input ``headers.2.key``)."""
    return re.sub(r"\[(\d+)\]", r".\1", path.replace(f".{_UDP}.", f".{_TCP}."))


def edit_rows(kind: str, shown: dict[str, Any], action: str) -> bool:
    """Apply a post-back ``add:<path>`` or ``remove:<path>:<i>`` to the rows shown;
    False when ``action`` is neither."""
    verb, _, rest = action.partition(":")
    path, _, index = rest.partition(":")
    lists = {f.path for f in FIELDS[kind] if f.kind in PAIRS}
    if verb not in ("add", "remove") or path not in lists:
        return False
    rows: list[dict[str, Any]] = shown.setdefault(path, [])
    if verb == "add":
        rows.append({"key": "", "value": "", "stored": False})
    elif index.isdigit() and int(index) < len(rows):
        del rows[int(index)]
    return True


def dom_id(path: str) -> str:
    return "f-" + path.replace(".", "-")

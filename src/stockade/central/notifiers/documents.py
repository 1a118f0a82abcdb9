"""A notifier's JSON as the API sees it, and as Central stores it.

Stored: the product's JSON with every secret field emptied (header keys stay, their values
go), plus the secrets as one JSON object sealed with the credential vault. Returned by the
API: the stored JSON with each secret that is set shown as ``******``. On an update, a secret
given as ``******`` (or, with ``updatePassword: false``, every secret) keeps its stored
value — but only while the fields it is sent to (endpoint, server, user name) stay the same.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stockade.central.notifiers.base import MASK, Common, InvalidNotifier, NotifierType
from stockade.central.notifiers.fields import Fields, http_url, is_local_host
from stockade.central.notifiers.registry import NOTIFIER_TYPES

MAX_NAME = 256


@dataclass(frozen=True)
class Parsed:
    """A notifier that passed validation: what to store and how to send."""

    common: Common
    plugin: NotifierType[Any]
    doc: dict[str, Any]  # the product's JSON, secrets included
    config: Any  # the plugin's own frozen config


# Product fields Stockade accepts (so exported notifiers import) but does not act on: audit
# log forwarding is not implemented; Splunk's derivedSourceType gave way to sourceTypes.
ACCEPTED_UNUSED: dict[str, set[str]] = {
    "generic": {"auditLoggingEnabled"},
    "splunk": {"auditLoggingEnabled", "derivedSourceType"},
}


class _Seen(Mapping[str, Any]):
    """A section that remembers which keys its plugin read."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self._doc = doc
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self._doc[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return self._doc.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._doc)

    def __len__(self) -> int:
        return len(self._doc)


def plugin_for(doc: Mapping[str, Any]) -> NotifierType[Any]:
    kind = doc.get("type")
    if not isinstance(kind, str) or not kind:
        raise InvalidNotifier("type", f"is required; one of {', '.join(NOTIFIER_TYPES)}")
    plugin = NOTIFIER_TYPES.get(kind)
    if plugin is None:
        raise InvalidNotifier(
            "type", f"{kind!r} is not supported; use one of {', '.join(NOTIFIER_TYPES)}"
        )
    return plugin


# Where each HTTP-based type sends: checked against local addresses when saving, so that
# a notifier cannot make Central call services on its own host or link (the product's
# "no local endpoint" rule). Email and syslog may use a relay on the node.
HTTP_ENDPOINTS = {
    "generic": ("generic", "endpoint"),
    "splunk": ("splunk", "httpEndpoint"),
    "slack": ("", "labelDefault"),
}


def parse(doc: Any, notifier_id: str, *, allow_local: bool = True) -> Parsed:
    """Validate a full notifier document (secrets in clear); raise InvalidNotifier.
    ``allow_local=False`` also refuses HTTP endpoints on local addresses."""
    if not isinstance(doc, Mapping):
        raise InvalidNotifier("notifier", "must be a JSON object")
    plugin = plugin_for(doc)
    f = Fields(doc, "")
    name = f.string("name", required=True).strip()
    if len(name) > MAX_NAME:
        raise InvalidNotifier("name", f"must be at most {MAX_NAME} characters")
    ui = f.string("uiEndpoint")
    if ui:
        http_url(ui, "uiEndpoint")
    common = Common(
        notifier_id,
        name,
        plugin.name,
        ui,
        f.string("labelKey").strip(),
        f.string("labelDefault").strip(),
    )
    section: Mapping[str, Any] = {}
    if plugin.section:
        sec = f.section(plugin.section, required=True)
        assert sec is not None
        section = sec.doc
    seen = _Seen(section)
    config = plugin.parse(common, seen)
    unknown = sorted(set(section) - seen.read - ACCEPTED_UNUSED.get(plugin.name, set()))
    if unknown:
        # a misspelt field would otherwise be dropped silently (and a secret put in an
        # unknown field would be stored unsealed)
        raise InvalidNotifier(f"{plugin.section}.{unknown[0]}", "is not a field of this type")
    if not allow_local and plugin.name in HTTP_ENDPOINTS:
        in_section, key = HTTP_ENDPOINTS[plugin.name]
        url = section.get(key) if in_section else doc.get(key)
        where = f"{in_section}.{key}" if in_section else key
        if isinstance(url, str) and is_local_host(http_url(url, where).host):
            raise InvalidNotifier(where, "must not point at this host or a link-local address")
    clean: dict[str, Any] = {
        "id": notifier_id,
        "name": name,
        "type": plugin.name,
        "uiEndpoint": ui,
        "labelKey": common.label_key,
        "labelDefault": common.label_default,
    }
    if plugin.section:
        clean[plugin.section] = copy.deepcopy(dict(section))
    return Parsed(common, plugin, clean, config)


def split_secrets(parsed: Parsed) -> tuple[dict[str, Any], dict[str, Any]]:
    """(document without secrets, the secrets) for storage."""
    doc = copy.deepcopy(parsed.doc)
    secrets: dict[str, Any] = {}
    if not parsed.plugin.section:
        return doc, secrets
    section = doc[parsed.plugin.section]
    for key in parsed.plugin.secret_fields:
        value = section.get(key)
        if key == "headers":
            pairs = value or []
            secrets[key] = {p["key"]: p.get("value", "") for p in pairs}
            section[key] = [{"key": p["key"], "value": ""} for p in pairs]
        elif value:
            secrets[key] = value
            section[key] = ""
    return doc, secrets


def join_secrets(
    plugin: NotifierType[Any], doc: Mapping[str, Any], secrets: Mapping[str, Any]
) -> dict[str, Any]:
    """The stored document with its secrets put back (for delivery)."""
    full = copy.deepcopy(dict(doc))
    if not plugin.section:
        return full
    section = full.setdefault(plugin.section, {})
    for key in plugin.secret_fields:
        if key == "headers":
            values = secrets.get(key, {})
            section[key] = [
                {"key": p["key"], "value": values.get(p["key"], "")} for p in section.get(key) or []
            ]
        elif key in secrets:
            section[key] = secrets[key]
    return full


def masked(
    plugin: NotifierType[Any], doc: Mapping[str, Any], secrets: Mapping[str, Any]
) -> dict[str, Any]:
    """What the API returns: each secret that is set shown as ``******``."""
    out = copy.deepcopy(dict(doc))
    if not plugin.section:
        return out
    section = out.setdefault(plugin.section, {})
    for key in plugin.secret_fields:
        if key == "headers":
            values = secrets.get(key, {})
            section[key] = [
                {"key": p["key"], "value": MASK if values.get(p["key"]) else ""}
                for p in section.get(key) or []
            ]
        elif secrets.get(key):
            section[key] = MASK
    return out


def merge_stored(
    new: Any,
    stored_doc: Mapping[str, Any],
    stored_secrets: Mapping[str, Any],
    *,
    keep_all: bool,
) -> Any:
    """The update ``new`` with stored secrets filled in where it asks to keep them.

    Refused (400) when a kept secret would go to a different place than before."""
    if not isinstance(new, Mapping):
        return new
    plugin = plugin_for(new)
    if not plugin.section or new.get("type") != stored_doc.get("type"):
        return new
    doc = copy.deepcopy(dict(new))
    section = doc.get(plugin.section)
    if not isinstance(section, dict):
        return doc
    kept = False
    for key in plugin.secret_fields:
        if key == "headers":
            values = stored_secrets.get(key, {})
            pairs = section.get(key)
            if not isinstance(pairs, list):
                continue
            for p in pairs:
                if isinstance(p, dict) and (keep_all or p.get("value") == MASK):
                    k = p.get("key")
                    if isinstance(k, str) and k in values:
                        p["value"] = values[k]
                        kept = True
                    elif p.get("value") == MASK:
                        raise InvalidNotifier(
                            f"{plugin.section}.{key}", f"header {k!r} has no stored value to keep"
                        )
        elif keep_all or section.get(key) == MASK:
            if key in stored_secrets:
                section[key] = stored_secrets[key]
                kept = True
            elif section.get(key) == MASK:
                raise InvalidNotifier(f"{plugin.section}.{key}", "has no stored value to keep")
    if kept:
        old_section = stored_doc.get(plugin.section, {})
        for key in plugin.dependent_fields:
            if section.get(key, "") != old_section.get(key, ""):
                raise InvalidNotifier(
                    f"{plugin.section}.{key}",
                    "changed, so the stored credentials cannot be kept: give them again",
                )
    return doc


def dumps_secrets(secrets: Mapping[str, Any]) -> str:
    return json.dumps(secrets, sort_keys=True, separators=(",", ":"))

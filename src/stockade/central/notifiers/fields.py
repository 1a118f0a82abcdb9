"""Reading and checking notifier fields; every failure names the field's path."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from stockade.central.notifiers.base import InvalidNotifier

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class Fields:
    """Typed access to one section of a notifier's JSON, ``where`` being its path."""

    def __init__(self, doc: Mapping[str, Any], where: str) -> None:
        self.doc = doc
        self.where = where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def string(self, key: str, *, required: bool = False, default: str = "") -> str:
        value = self.doc.get(key)
        if value is None or value == "":
            if required:
                raise InvalidNotifier(self.path(key), "is required")
            return default
        if not isinstance(value, str):
            raise InvalidNotifier(self.path(key), "must be a string")
        if "\x00" in value:
            raise InvalidNotifier(self.path(key), "must not contain NUL characters")
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.doc.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise InvalidNotifier(self.path(key), "must be true or false")
        return value

    def integer(self, key: str, default: int = 0, *, minimum: int = 0) -> int:
        value = self.doc.get(key, default)
        if value is None or value == "":
            return default
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)  # the product's gateway sends int64 as a string
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidNotifier(self.path(key), "must be an integer")
        if value < minimum:
            raise InvalidNotifier(self.path(key), f"must be at least {minimum}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.doc.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(choices):
            return choices[value]  # proto enums may arrive as numbers
        if value is None or value == "":
            return default
        if not isinstance(value, str) or value.upper() not in choices:
            raise InvalidNotifier(self.path(key), f"must be one of {', '.join(choices)}")
        return value.upper()

    def section(self, key: str, *, required: bool = False) -> Fields | None:
        value = self.doc.get(key)
        if value is None:
            if required:
                raise InvalidNotifier(self.path(key), "is required")
            return None
        if not isinstance(value, Mapping):
            raise InvalidNotifier(self.path(key), "must be an object")
        return Fields(value, self.path(key))

    def pairs(self, key: str, *, header_names: bool = False) -> tuple[tuple[str, str], ...]:
        """A list of {"key", "value"} (the product's KeyValuePair)."""
        value = self.doc.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise InvalidNotifier(self.path(key), 'must be a list of {"key", "value"}')
        out = []
        for i, item in enumerate(value):
            where = f"{self.path(key)}[{i}]"
            if not isinstance(item, Mapping):
                raise InvalidNotifier(where, 'must be {"key", "value"}')
            k, v = item.get("key"), item.get("value", "")
            if not isinstance(k, str) or not k:
                raise InvalidNotifier(f"{where}.key", "is required")
            if not isinstance(v, str):
                raise InvalidNotifier(f"{where}.value", "must be a string")
            if header_names and not _HEADER_NAME.match(k):
                raise InvalidNotifier(f"{where}.key", "is not a valid HTTP header name")
            if any(c in v for c in "\r\n\x00"):
                raise InvalidNotifier(f"{where}.value", "must not contain line breaks")
            out.append((k, v))
        return tuple(out)

    def string_map(self, key: str) -> dict[str, str]:
        value = self.doc.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise InvalidNotifier(self.path(key), "must be an object of strings")
        return dict(value)


def check_host(host: str, where: str) -> str:
    host = host.strip()
    if not host:
        raise InvalidNotifier(where, "has no host")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        if not _HOSTNAME.match(bare):
            raise InvalidNotifier(where, f"host {bare!r} is not a valid host name") from None
    return bare


def is_local_host(host: str) -> bool:
    """This machine or its link: localhost names, loopback, link-local (cloud metadata
    services live there) and unspecified addresses."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified


def check_port(port: object, where: str) -> int:
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidNotifier(where, "port must be a number from 1 to 65535")
    return port


@dataclass(frozen=True)
class HttpUrl:
    url: str
    host: str


def http_url(value: str, where: str) -> HttpUrl:
    """An http(s) URL with a host and, if given, a valid port."""
    if any(c.isspace() for c in value):
        raise InvalidNotifier(where, "must be a URL without spaces")
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise InvalidNotifier(where, "is not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{parts.scheme!r} " if parts.scheme else ""
        raise InvalidNotifier(where, f"URL scheme {shown}is not supported; use https or http")
    if parts.username is not None or parts.password is not None:
        raise InvalidNotifier(where, "must not carry credentials; use the credential fields")
    try:
        port = parts.port
    except ValueError:
        raise InvalidNotifier(where, "port must be a number from 1 to 65535") from None
    if port == 0:
        raise InvalidNotifier(where, "port must be a number from 1 to 65535")
    host = check_host(parts.hostname or "", where)
    return HttpUrl(value, host)


def host_port(value: str, where: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port``."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise InvalidNotifier(where, "has an unclosed [ in the host")
        host, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            raise InvalidNotifier(where, "must be host or host:port")
        port_text = rest[1:] if rest else ""
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    else:
        host, port_text = value, ""
    host = check_host(host, where)
    port = check_port(port_text, where) if port_text else default_port
    return host, port


def email_address(value: str, where: str) -> str:
    _name, addr = parseaddr(value)
    if not addr or "@" not in addr:
        raise InvalidNotifier(where, f"{value!r} is not an email address")
    try:
        Address(addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise InvalidNotifier(where, f"{value!r} is not an email address") from exc
    return addr


def pem_certificates(value: str, where: str) -> str:
    try:
        certs = x509.load_pem_x509_certificates(value.encode())
    except ValueError as exc:
        raise InvalidNotifier(where, "is not a PEM certificate") from exc
    if not certs:
        raise InvalidNotifier(where, "is not a PEM certificate")
    return value

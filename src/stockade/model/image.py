"""An image as the policy engine sees it: name, metadata, layers, components and their CVEs.

Central builds these from scanner output; the CLI reads them from JSON (``image_from_json``).
All types are frozen so one image can be cached by digest and shared between evaluations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TypedDict, cast


class Severity(IntEnum):
    """Vulnerability severity, ordered so comparators (``>= IMPORTANT``) work on the value."""

    UNKNOWN = 0
    LOW = 1
    MODERATE = 2
    IMPORTANT = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        name = text.strip().upper().removesuffix("_VULNERABILITY_SEVERITY")
        aliases = {"MEDIUM": "MODERATE", "HIGH": "IMPORTANT", "NEGLIGIBLE": "LOW", "": "UNKNOWN"}
        name = aliases.get(name, name)
        try:
            return cls[name]
        except KeyError as exc:
            raise ValueError(f"unknown severity {text!r}") from exc


@dataclass(frozen=True, slots=True)
class ImageName:
    """``registry/remote:tag@digest`` split into its parts."""

    registry: str = ""
    remote: str = ""
    tag: str = ""
    digest: str = ""
    _full: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = f"{self.registry}/{self.remote}" if self.registry else self.remote
        if self.tag:
            name += f":{self.tag}"
        if self.digest:
            name += f"@{self.digest}"
        object.__setattr__(self, "_full", name)

    @property
    def full_name(self) -> str:
        return self._full

    @classmethod
    def parse(cls, reference: str) -> ImageName:
        """Split an image reference the way container runtimes do (docker.io default)."""
        ref = reference.strip()
        digest = ""
        if "@" in ref:
            ref, digest = ref.split("@", 1)
        tag = ""
        slash = ref.rfind("/")
        colon = ref.rfind(":")
        if colon > slash:
            ref, tag = ref[:colon], ref[colon + 1 :]
        first, _, rest = ref.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            registry, remote = first, rest
        else:
            registry, remote = "docker.io", ref
        if registry == "docker.io" and "/" not in remote:
            remote = f"library/{remote}"
        if not tag and not digest:
            tag = "latest"
        return cls(registry=registry, remote=remote, tag=tag, digest=digest)


@dataclass(frozen=True, slots=True)
class DockerfileLine:
    """One instruction of the image history, e.g. ``RUN`` + ``apt-get update``."""

    instruction: str
    value: str


@dataclass(frozen=True, slots=True)
class Vulnerability:
    """One CVE found in one component."""

    cve: str
    cvss: float = 0.0
    nvd_cvss: float | None = None
    severity: Severity = Severity.UNKNOWN
    fixed_by: str = ""
    published: dt.datetime | None = None
    fix_available_since: dt.datetime | None = None
    first_seen_in_image: dt.datetime | None = None
    first_seen_in_system: dt.datetime | None = None
    epss: float | None = None
    kev: bool = False

    @property
    def fixable(self) -> bool:
        return bool(self.fixed_by)


@dataclass(frozen=True, slots=True)
class Component:
    """A package found in the image (OS package or language dependency)."""

    name: str
    version: str = ""
    source: str = ""  # e.g. "dpkg", "rpm", "apk", "python", "java"
    location: str = ""
    layer_index: int | None = None
    vulnerabilities: tuple[Vulnerability, ...] = ()


@dataclass(frozen=True, slots=True)
class Image:
    """Everything the policy engine may ask about an image."""

    name: ImageName
    id: str = ""  # image digest (sha256:...) used as the cache key
    created: dt.datetime | None = None
    user: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    dockerfile: tuple[DockerfileLine, ...] = ()
    os: str = ""
    scanned: dt.datetime | None = None  # None: never scanned
    components: tuple[Component, ...] = ()
    signature_verified_by: tuple[str, ...] = ()

    _cache_key: str = field(default="", init=False, repr=False, compare=False)

    @property
    def cache_key(self) -> str:
        """Identity of these facts: digest plus scan time (a rescan must bring a new time),
        the signature integrations that verified it, and a fingerprint of its components
        and findings — an approved exception or new vulnerability data changes those
        without a rescan. Computed on first use, once per object."""
        if not self._cache_key:
            ident = self.id or self.name.digest or self.name.full_name
            key = f"{ident}@{self.scanned.isoformat()}" if self.scanned else ident
            if self.signature_verified_by:
                key += "#" + ",".join(sorted(self.signature_verified_by))
            if self.components:
                key += f"~{hash(self.components) & 0xFFFFFFFFFFFFFFFF:016x}"
            object.__setattr__(self, "_cache_key", key)
        return self._cache_key


# ---- JSON (the CLI's --image-json and test fixtures) ------------------------------------


class VulnerabilityJSON(TypedDict, total=False):
    cve: str
    cvss: float
    nvdCvss: float
    severity: str
    fixedBy: str
    publishedOn: str
    fixAvailableSince: str
    firstImageOccurrence: str
    firstSystemOccurrence: str
    epss: float
    kev: bool


class ComponentJSON(TypedDict, total=False):
    name: str
    version: str
    source: str
    location: str
    layerIndex: int
    vulns: list[VulnerabilityJSON]


class ImageJSON(TypedDict, total=False):
    name: str
    id: str
    created: str
    user: str
    labels: dict[str, str]
    env: list[str]
    entrypoint: list[str]
    cmd: list[str]
    exposedPorts: list[str]
    dockerfile: list[dict[str, str]]
    os: str
    scanTime: str
    components: list[ComponentJSON]
    signatureVerifiedBy: list[str]


def parse_time(text: object) -> dt.datetime | None:
    """RFC 3339 timestamp to an aware datetime; empty/None stays None."""
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise TypeError(f"expected a timestamp string, got {type(text).__name__}")
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _format_time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _str_tuple(value: object, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return tuple(cast(list[str], value))


def _vuln_from_json(data: Mapping[str, object]) -> Vulnerability:
    sev = data.get("severity", "")
    nvd = data.get("nvdCvss")
    epss = data.get("epss")
    return Vulnerability(
        cve=str(data["cve"]),
        cvss=float(cast(float, data.get("cvss", 0.0))),
        nvd_cvss=None if nvd is None else float(cast(float, nvd)),
        severity=Severity.parse(str(sev)),
        fixed_by=str(data.get("fixedBy", "") or ""),
        published=parse_time(data.get("publishedOn")),
        fix_available_since=parse_time(data.get("fixAvailableSince")),
        first_seen_in_image=parse_time(data.get("firstImageOccurrence")),
        first_seen_in_system=parse_time(data.get("firstSystemOccurrence")),
        epss=None if epss is None else float(cast(float, epss)),
        kev=bool(data.get("kev", False)),
    )


def _component_from_json(data: Mapping[str, object]) -> Component:
    vulns = data.get("vulns") or []
    if not isinstance(vulns, list):
        raise TypeError("component vulns must be a list")
    layer = data.get("layerIndex")
    return Component(
        name=str(data["name"]),
        version=str(data.get("version", "")),
        source=str(data.get("source", "")),
        location=str(data.get("location", "")),
        layer_index=None if layer is None else int(cast(int, layer)),
        vulnerabilities=tuple(_vuln_from_json(v) for v in vulns),
    )


def image_from_json(data: Mapping[str, object]) -> Image:
    """Build an Image from its JSON form; raises ValueError/KeyError on malformed input."""
    name_field = data.get("name")
    if not isinstance(name_field, str) or not name_field:
        raise ValueError("image JSON needs a non-empty 'name'")
    labels = data.get("labels") or {}
    if not isinstance(labels, dict):
        raise TypeError("labels must be an object")
    dockerfile = data.get("dockerfile") or []
    components = data.get("components")
    if not isinstance(dockerfile, list) or not (components is None or isinstance(components, list)):
        raise ValueError("dockerfile and components must be lists")
    scan_time = parse_time(data.get("scanTime"))
    if scan_time is None and components is not None:
        scan_time = dt.datetime.now(dt.UTC)
    return Image(
        name=ImageName.parse(name_field),
        id=str(data.get("id", "")),
        created=parse_time(data.get("created")),
        user=str(data.get("user", "")),
        labels={str(k): str(v) for k, v in labels.items()},
        env=_str_tuple(data.get("env"), "env"),
        entrypoint=_str_tuple(data.get("entrypoint"), "entrypoint"),
        cmd=_str_tuple(data.get("cmd"), "cmd"),
        exposed_ports=_str_tuple(data.get("exposedPorts"), "exposedPorts"),
        dockerfile=tuple(
            DockerfileLine(str(d.get("instruction", "")).upper(), str(d.get("value", "")))
            for d in dockerfile
        ),
        os=str(data.get("os", "")),
        scanned=scan_time,
        components=tuple(_component_from_json(c) for c in components or []),
        signature_verified_by=_str_tuple(data.get("signatureVerifiedBy"), "signatureVerifiedBy"),
    )


def image_to_json(image: Image) -> ImageJSON:
    out: ImageJSON = {"name": image.name.full_name}
    if image.id:
        out["id"] = image.id
    if image.created:
        out["created"] = cast(str, _format_time(image.created))
    if image.user:
        out["user"] = image.user
    if image.labels:
        out["labels"] = dict(image.labels)
    if image.env:
        out["env"] = list(image.env)
    if image.os:
        out["os"] = image.os
    if image.dockerfile:
        out["dockerfile"] = [
            {"instruction": d.instruction, "value": d.value} for d in image.dockerfile
        ]
    if image.scanned:
        out["scanTime"] = cast(str, _format_time(image.scanned))
        comps: list[ComponentJSON] = []
        for c in image.components:
            cj: ComponentJSON = {"name": c.name, "version": c.version}
            if c.vulnerabilities:
                cj["vulns"] = [
                    {
                        "cve": v.cve,
                        "cvss": v.cvss,
                        "severity": v.severity.name,
                        "fixedBy": v.fixed_by,
                    }
                    for v in c.vulnerabilities
                ]
            comps.append(cj)
        out["components"] = comps
    if image.signature_verified_by:
        out["signatureVerifiedBy"] = list(image.signature_verified_by)
    return out

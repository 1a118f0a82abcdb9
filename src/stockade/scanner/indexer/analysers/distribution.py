"""Distribution detection from os-release and the older release files.

Each release file found in a layer yields at most one :class:`Distribution`; the engine picks
the file that survives in the merged image with the highest priority (``PRIORITY``, os-release
first, following symbolic links). IDs are os-release IDs: debian, ubuntu, alpine, rhel,
centos, rocky, almalinux, ol, amzn, sles, opensuse-leap, opensuse-tumbleweed, photon, wolfi,
chainguard, ...
"""

from __future__ import annotations

import re

from stockade.model.index_report import Distribution
from stockade.scanner.indexer.analysers.base import Files

PRIORITY = (
    "etc/os-release",
    "usr/lib/os-release",
    "etc/oracle-release",
    "etc/centos-release",
    "etc/rocky-release",
    "etc/almalinux-release",
    "etc/redhat-release",
    "etc/system-release",
    "etc/SuSE-release",
    "etc/photon-release",
    "etc/lsb-release",
    "etc/alpine-release",
    "etc/debian_version",
)
_ALPINE = re.compile(r"\bv(\d+\.\d+)|\bedge\b")
_CODENAME = re.compile(r"\(([a-z]+)\)")
_RELEASE = re.compile(r"^(?P<name>.+?)\s+release\s+(?P<version>[\d.]+)(?:\s+\((?P<code>[^)]+)\))?")
_RELEASE_IDS = (
    ("Oracle", "ol", "Oracle Linux Server"),
    ("CentOS", "centos", "CentOS Linux"),
    ("Rocky", "rocky", "Rocky Linux"),
    ("AlmaLinux", "almalinux", "AlmaLinux"),
    ("Red Hat", "rhel", "Red Hat Enterprise Linux"),
    ("Amazon", "amzn", "Amazon Linux"),
    ("Fedora", "fedora", "Fedora Linux"),
)


def _unquote(value: str) -> str:
    """An os-release(5) value: double quotes with backslash escapes, single quotes, or bare."""
    value = value.strip()
    if value[:1] == '"':
        out, i = [], 1
        while i < len(value) and value[i] != '"':
            if value[i] == "\\" and i + 1 < len(value):
                i += 1
            out.append(value[i])
            i += 1
        return "".join(out)
    if value[:1] == "'":
        end = value.find("'", 1)
        return value[1:end] if end > 0 else value[1:]
    return value


def parse_os_release(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = _unquote(value)
    return out


def from_os_release(fields: dict[str, str]) -> Distribution | None:
    did = fields.get("ID", "").lower()
    if not did:
        return None
    version = fields.get("VERSION", "")
    codename = fields.get("VERSION_CODENAME") or fields.get("UBUNTU_CODENAME", "")
    if not codename and did == "debian":
        m = _CODENAME.search(version)
        codename = m.group(1) if m else ""
    pretty = fields.get("PRETTY_NAME", "")
    version_id = fields.get("VERSION_ID", "")
    if did == "alpine":
        m = _ALPINE.search(pretty)
        if m:
            version = m.group(1) or "edge"
        elif version_id.count(".") >= 2:
            version = ".".join(version_id.split(".")[:2])
    return Distribution(
        did=did,
        name=fields.get("NAME", ""),
        version=version,
        version_id=version_id,
        version_codename=codename,
        pretty_name=pretty,
        cpe=fields.get("CPE_NAME", ""),
        id_like=tuple(fields.get("ID_LIKE", "").split()),
        variant="distroless" if "distroless" in pretty.lower() else "",
    )


def from_release_line(text: str) -> Distribution | None:
    """``Red Hat Enterprise Linux Server release 7.4 (Maipo)`` and relatives."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    m = _RELEASE.match(line)
    if not m:
        return None
    for marker, did, name in _RELEASE_IDS:
        if marker in m.group("name"):
            return Distribution(
                did=did,
                name=name,
                version=m.group("version"),
                version_id=m.group("version"),
                version_codename=(m.group("code") or "").lower(),
                pretty_name=line,
            )
    return None


class DistributionDetector:
    name = "distribution"
    version = "2"
    patterns = tuple(re.escape(p) for p in PRIORITY)

    def analyse(self, files: Files) -> dict[str, list[Distribution]]:
        out: dict[str, list[Distribution]] = {}
        for path, data in files.items():
            dist = self.parse(path, data.decode("utf-8", "replace"))
            out[path] = [dist] if dist is not None else []
        return out

    def parse(self, path: str, text: str) -> Distribution | None:
        base = path.rsplit("/", 1)[-1]
        if base == "os-release":
            return from_os_release(parse_os_release(text))
        if base == "lsb-release":
            f = parse_os_release(text)
            did = f.get("DISTRIB_ID", "").lower()
            if not did:
                return None
            release = f.get("DISTRIB_RELEASE", "")
            return Distribution(
                did=did,
                name=f.get("DISTRIB_ID", ""),
                version=f.get("DISTRIB_DESCRIPTION", release),
                version_id=release,
                version_codename=f.get("DISTRIB_CODENAME", ""),
                pretty_name=f.get("DISTRIB_DESCRIPTION", ""),
            )
        if base == "alpine-release":
            v = text.strip()
            short = ".".join(v.split(".")[:2])
            return Distribution(did="alpine", name="Alpine Linux", version=short, version_id=v)
        if base == "debian_version":
            v = text.strip()
            return Distribution(did="debian", name="Debian GNU/Linux", version=v, version_id=v)
        if base == "photon-release":
            m = re.search(r"VMware Photon(?: OS)?(?: Linux)?\s*([\d.]+)", text)
            if not m:
                return None
            return Distribution(
                did="photon", name="VMware Photon OS", version=m.group(1), version_id=m.group(1)
            )
        if base == "SuSE-release":
            sv = re.search(r"VERSION\s*=\s*([\d.]+)", text)
            if not sv:
                return None
            did = "opensuse" if "opensuse" in text.lower() else "sles"
            return Distribution(
                did=did,
                name=text.splitlines()[0].strip(),
                version=sv.group(1),
                version_id=sv.group(1),
            )
        return from_release_line(text)

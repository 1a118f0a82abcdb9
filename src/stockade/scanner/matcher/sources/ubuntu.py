"""Ubuntu: the CVE tracker's text files, and Ubuntu's CVE OVAL (parsed by ``oval.py``).

A tracker file (``active/CVE-YYYY-NNNN``) is a header of ``Key: value`` fields (continuation
lines start with a space) followed by one block per source package: ``Patches_<pkg>:`` and
``<release>_<pkg>: <status> (<version or note>)``. ``released`` names the fixed version;
``needed``, ``pending``, ``active`` and ``deferred`` mean affected without a fix; ``ignored``
means it will not be fixed; ``DNE``, ``not-affected`` and ``needs-triage`` produce nothing.
``Priority`` (or ``Priority_<pkg>``) is the vendor severity.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stockade.model.vulnerability import (
    AffectedRange,
    FixState,
    Vulnerability,
    best_severity,
)
from stockade.scanner.matcher.sources.base import (
    Download,
    FeedUpdater,
    iter_files,
    rel,
)
from stockade.scanner.matcher.sources.cvss import parse_vector
from stockade.scanner.matcher.sources.errors import ParseError
from stockade.scanner.matcher.sources.oval import OvalDefinition, fixed_release, parse_oval

_STATUS = re.compile(
    r"^(?P<release>[a-z][\w./-]*)_(?P<pkg>[^\s:]+):\s*(?P<status>[\w-]*)\s*(?:[(\[](?P<note>[^)\]]*)[)\]])?"
)
_AFFECTED = {
    "needed": FixState.NOT_FIXED,
    "pending": FixState.NOT_FIXED,
    "active": FixState.NOT_FIXED,
    "deferred": FixState.NOT_FIXED,
    "ignored": FixState.WONT_FIX,
    "released": FixState.FIXED,
}
_SKIP_RELEASES = {"upstream", "devel", "snap", "product", "Patches", "Priority", "Tags"}
_PRIORITY_WORD = {
    "negligible": "low",
    "untriaged": "",
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "low": "low",
}


class UbuntuTrackerUpdater(FeedUpdater):
    name = "ubuntu-tracker"
    URL = "https://git.launchpad.net/ubuntu-cve-tracker/snapshot/ubuntu-cve-tracker-master.tar.gz"

    def downloads(self) -> list[Download]:
        return [Download(self.base_url, "ubuntu-cve-tracker.tar.gz", extract=True)]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        files = [path] if path.is_file() else sorted(path.rglob("CVE-*"))
        for file in files:
            if file.is_file() and "retired" not in file.parts and "ignored" not in file.parts:
                yield from self._parse_file(file, rel(file, path))

    def _parse_file(self, file: Path, name: str) -> Iterator[Vulnerability]:
        header: dict[str, list[str]] = {}
        statuses: list[tuple[int, re.Match[str]]] = []
        key = ""
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ParseError(self.name, name, "", f"unreadable ({exc})") from exc
        in_packages = False
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith(("#", "--")):
                continue
            if line[0] in " \t":
                if key and not in_packages:
                    header.setdefault(key, []).append(line.strip())
                continue
            if line.startswith("Patches_"):
                in_packages = True
                continue
            if in_packages and not line.startswith(("Priority_", "Tags_", "CVSS_")):
                m = _STATUS.match(line)
                if m is None:
                    raise ParseError(self.name, name, f"line {lineno}", "malformed status line")
                statuses.append((lineno, m))
                continue
            k, sep, v = line.partition(":")
            if not sep:
                raise ParseError(self.name, name, f"line {lineno}", "expected 'Field: value'")
            key = k.strip()
            header.setdefault(key, [])
            if v.strip():
                header[key].append(v.strip())
        cve = " ".join(header.get("Candidate", [])).strip()
        if not re.fullmatch(r"CVE-\d{4}-\d+", cve):
            raise ParseError(self.name, name, "Candidate", f"not a CVE id: {cve!r}")
        description = " ".join(header.get("Description", [])).strip()
        published = " ".join(header.get("PublicDate", [])).strip()
        links = tuple(u for u in header.get("References", []) if u.startswith("http"))
        cvss = tuple(
            c
            for entry in header.get("CVSS", [])
            if (
                c := parse_vector(
                    entry.split(":", 1)[1].strip() if ":" in entry else entry,
                    source=entry.split(":", 1)[0],
                )
            )
            is not None
        )
        default_priority = " ".join(header.get("Priority", [])).strip()
        for lineno, m in statuses:
            release = m["release"]
            if release in _SKIP_RELEASES:
                continue
            status = m["status"]
            state = _AFFECTED.get(status)
            if state is None:
                if status not in ("DNE", "not-affected", "needs-triage", ""):
                    raise ParseError(
                        self.name,
                        name,
                        f"{release}_{m['pkg']} (line {lineno})",
                        f"unknown status {status!r}",
                    )
                continue
            pkg = m["pkg"]
            fixed = (m["note"] or "").strip() if state is FixState.FIXED else ""
            if state is FixState.FIXED and not re.match(r"^[0-9]", fixed):
                # "released" with no version recorded: affected, fix version unknown
                state, fixed = FixState.NOT_FIXED, ""
            priority = " ".join(header.get(f"Priority_{pkg}", [])).strip() or default_priority
            yield Vulnerability(
                source=self.name,
                id=cve,
                package=pkg,
                distribution="ubuntu",
                release=release,
                version_scheme="dpkg",
                ranges=(AffectedRange(fixed=fixed),),
                state=state,
                description=description,
                vendor_severity=priority,
                severity=best_severity(_PRIORITY_WORD.get(priority, ""), cvss),
                cvss=cvss,
                links=(f"https://ubuntu.com/security/{cve}", *links),
                published=published,
            )


UBUNTU_RELEASES = ("focal", "jammy", "noble")
_OVAL_FILE = re.compile(r"com\.ubuntu\.(?P<release>[a-z]+)\.cve\.oval\.xml")


class UbuntuOvalUpdater(FeedUpdater):
    """Ubuntu's CVE OVAL, one file per release (``com.ubuntu.<codename>.cve.oval.xml.bz2``).

    Records are per binary package (the OVAL lists binaries through a constant variable); a
    package test without a state means "affected, no fix yet".
    """

    name = "ubuntu-oval"
    URL = "https://security-metadata.canonical.com/oval"

    def __init__(self, *, releases: tuple[str, ...] = UBUNTU_RELEASES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.releases = releases

    def downloads(self) -> list[Download]:
        return [
            Download(
                f"{self.base_url}/com.ubuntu.{r}.cve.oval.xml.bz2",
                f"com.ubuntu.{r}.cve.oval.xml.bz2",
            )
            for r in self.releases
        ]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "com.ubuntu.*.cve.oval.xml*"):
            m = _OVAL_FILE.search(file.name)
            if m is None:
                raise ParseError(
                    self.name, rel(file, path), "", "cannot tell the release from the name"
                )
            release = m["release"]
            yield from parse_oval(
                self.name,
                file,
                rel(file, path),
                distribution="ubuntu",
                version_scheme="dpkg",
                release_of=fixed_release(release),
                advisory_id=_first_cve,
            )


def _first_cve(d: OvalDefinition) -> str:
    return d.cves[0] if d.cves else d.id

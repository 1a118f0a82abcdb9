"""Debian: the security tracker's JSON, and the DSA/DLA advisory lists.

- ``DebianTrackerUpdater`` reads the tracker's JSON export
  (``{source package: {CVE: {description, releases: {codename: {status, fixed_version,
  urgency}}}}}``), streamed package by package. ``resolved`` with fixed version ``0`` means
  the release was never affected; ``open`` means affected with no fix; ``<end-of-life>``
  or ``ignored`` nodsa urgencies are reported as won't fix.
- ``DebianAdvisoryUpdater`` reads the tracker's ``data/DSA/list`` and ``data/DLA/list``: each
  advisory line, its ``{CVE ...}`` line and ``[codename] - package version`` lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import ijson

from stockade.model.vulnerability import (
    AffectedRange,
    FixState,
    Vulnerability,
    severity_from_vendor,
)
from stockade.scanner.matcher.sources.base import (
    Download,
    FeedUpdater,
    expect_dict,
    iter_files,
    record_context,
    rel,
)
from stockade.scanner.matcher.sources.errors import ParseError

_TRACKER = "https://security-tracker.debian.org/tracker"
_URGENCY = {
    "unimportant": "low",
    "low": "low",
    "low**": "low",
    "medium": "medium",
    "medium**": "medium",
    "high": "high",
    "high**": "high",
}


class DebianTrackerUpdater(FeedUpdater):
    name = "debian-tracker"
    URL = f"{_TRACKER}/data/json"

    def downloads(self) -> list[Download]:
        return [Download(self.base_url, "debian-tracker.json")]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "*.json"):
            name = rel(file, path)
            with file.open("rb") as fh:
                try:
                    for package, cves in ijson.kvitems(fh, ""):
                        yield from self._package(name, str(package), cves)
                except ijson.JSONError as exc:
                    raise ParseError(self.name, name, "", f"invalid JSON ({exc})") from exc

    def _package(self, name: str, package: str, cves: object) -> Iterator[Vulnerability]:
        with record_context(self.name, name, package):
            entries = expect_dict(cves, "package entry")
        for cve, body in entries.items():
            with record_context(self.name, name, f"{package}/{cve}"):
                info = expect_dict(body, "CVE entry")
                releases = expect_dict(info.get("releases", {}), "releases")
                description = str(info.get("description", ""))
                for codename, raw in releases.items():
                    rel_info = expect_dict(raw, f"releases.{codename}")
                    status = str(rel_info["status"])
                    fixed = str(rel_info.get("fixed_version", "") or "")
                    urgency = str(rel_info.get("urgency", ""))
                    if status == "resolved":
                        if fixed in ("", "0"):
                            continue
                        state = FixState.FIXED
                    elif status == "open":
                        fixed = ""
                        state = (
                            FixState.WONT_FIX
                            if urgency in ("end-of-life", "unimportant")
                            else FixState.NOT_FIXED
                        )
                    else:  # undetermined: not known to be affected
                        continue
                    vendor = _URGENCY.get(urgency, "")
                    yield Vulnerability(
                        source=self.name,
                        id=cve,
                        package=package,
                        distribution="debian",
                        release=codename,
                        version_scheme="dpkg",
                        ranges=(AffectedRange(fixed=fixed),),
                        state=state,
                        description=description,
                        vendor_severity=urgency,
                        severity=severity_from_vendor(vendor),
                        links=(f"{_TRACKER}/{cve}",),
                    )


_HEADER = re.compile(
    r"^\[(?P<date>\d{1,2} \w{3} \d{4})\] (?P<id>D[SL]A-\d+(?:-\d+)?) (?P<rest>.*)$"
)
_CVES = re.compile(r"^\s+\{(?P<ids>[^}]*)\}\s*$")
_FIX = re.compile(
    r"^\s+\[(?P<release>[a-z][\w-]*)\]\s+-\s+(?P<pkg>\S+)(?:\s+(?P<version>[^\s(]\S*))?"
    r"(?:\s+\((?P<note>[^)]*)\))?\s*$"
)


class DebianAdvisoryUpdater(FeedUpdater):
    name = "debian-advisories"
    URL = "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data"

    def downloads(self) -> list[Download]:
        return [
            Download(f"{self.base_url}/DSA/list", "DSA/list"),
            Download(f"{self.base_url}/DLA/list", "DLA/list"),
        ]

    def parse(self, path: Path) -> Iterator[Vulnerability]:
        for file in iter_files(path, "list"):
            yield from self._parse_list(file, rel(file, path))

    def _parse_list(self, file: Path, name: str) -> Iterator[Vulnerability]:
        current: dict[str, str] = {}
        cves: list[str] = []
        with file.open(encoding="utf-8", errors="replace") as fh:
            for lineno, raw_line in enumerate(fh, 1):
                line = raw_line.rstrip("\n")
                if not line.strip():
                    continue
                if m := _HEADER.match(line):
                    current = {"id": m["id"], "date": m["date"], "title": m["rest"]}
                    cves = []
                    continue
                if not current:
                    raise ParseError(
                        self.name, name, f"line {lineno}", "entry before the first advisory"
                    )
                record = f"{current['id']} (line {lineno})"
                stripped = line.strip()
                if stripped.startswith("NOTE:"):
                    continue
                if m := _CVES.match(line):
                    cves = m["ids"].split()
                    continue
                if m := _FIX.match(line):
                    version = m["version"] or ""
                    if not version:  # every entry names a version or a <tag>: cut short
                        raise ParseError(self.name, name, record, "package line without version")
                    if version.startswith("<"):
                        continue  # <not-affected>, <unfixed>, <removed>, ...
                    yield from self._records(
                        current, cves, m["release"], m["pkg"], version, m["note"] or ""
                    )
                    continue
                raise ParseError(self.name, name, record, f"unrecognised line {stripped[:60]!r}")

    def _records(
        self,
        advisory: dict[str, str],
        cves: list[str],
        release: str,
        package: str,
        version: str,
        note: str,
    ) -> Iterator[Vulnerability]:
        adv = advisory["id"]
        yield Vulnerability(
            source=self.name,
            id=adv,
            aliases=tuple(cves),
            package=package,
            distribution="debian",
            release=release,
            version_scheme="dpkg",
            ranges=(AffectedRange(fixed=version),),
            summary=advisory["title"],
            vendor_severity=note if note in _URGENCY else "",
            severity=severity_from_vendor(_URGENCY.get(note, "")),
            links=(f"{_TRACKER}/{adv}",),
            published=_iso_date(advisory["date"]),
        )


def _iso_date(text: str) -> str:
    try:
        return datetime.strptime(text, "%d %b %Y").date().isoformat()
    except ValueError:
        return text

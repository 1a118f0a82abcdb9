"""The match: an index report in, a vulnerability report out.

``Matcher`` holds the store's records in memory, indexed by where they apply (an OS release
and package name, or an ecosystem and package name) plus the enrichment records (NVD, KEV,
EPSS) by CVE id, so a warm match is a dictionary lookup and a few version comparisons per
package.

- OS packages are matched in the image's distribution release, by binary name and by source
  package name, with that distribution's version rules (dpkg, rpm, apk). Red Hat records are
  keyed by product CPE: an RPM whose repositories are known (content manifests) is matched on
  the CPEs Red Hat's repository-to-CPE mapping gives those repositories; without them, on the
  RHEL major release's base products (``enterprise_linux:N``).
- Language packages are matched by ecosystem and name (PyPI names normalized as PEP 503 says)
  with the ecosystem's version rules.
- Records for one package that share any id (an advisory and its CVE/GHSA aliases, across
  sources) become one finding carrying every id and every source that reported it.
- A report never passes off "nothing known" as "nothing found": with no data at all its status
  is ``no_vulnerability_data``; an unknown distribution or a release the store has no data for
  is said in ``notes`` and in ``os_status``.
"""

from __future__ import annotations

import enum
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stockade.model.index_report import Distribution, Ecosystem, IndexReport, Package, PackageKind
from stockade.model.vulnerability import (
    Cvss,
    Epss,
    FixState,
    KnownExploited,
    Severity,
    Vulnerability,
)
from stockade.scanner.matcher.errors import InvalidRangeError, InvalidVersionError
from stockade.scanner.matcher.versions import SCHEMES, VersionScheme

logger = logging.getLogger(__name__)

_SEVERITY_ORDER = {
    Severity.UNKNOWN: 0,
    Severity.LOW: 1,
    Severity.MODERATE: 2,
    Severity.IMPORTANT: 3,
    Severity.CRITICAL: 4,
}

#: purl type of an index-report package -> OSV ecosystem of the records
LANGUAGE_ECOSYSTEMS: dict[Ecosystem, str] = {
    Ecosystem.PYPI: "PyPI",
    Ecosystem.NPM: "npm",
    Ecosystem.GEM: "RubyGems",
    Ecosystem.MAVEN: "Maven",
    Ecosystem.GOLANG: "Go",
    Ecosystem.CARGO: "crates.io",
    Ecosystem.NUGET: "NuGet",
}

#: os-release ID -> (distribution in the records, version scheme)
OS_DISTRIBUTIONS: dict[str, tuple[str, str]] = {
    "alpine": ("alpine", "apk"),
    "debian": ("debian", "dpkg"),
    "ubuntu": ("ubuntu", "dpkg"),
    "rhel": ("rhel", "rpm"),
    "centos": ("rhel", "rpm"),
    "photon": ("photon", "rpm"),
    "ol": ("ol", "rpm"),
    "sles": ("sles", "rpm"),
    "amzn": ("amzn", "rpm"),
}
_DEBIAN_CODENAMES = {
    "7": "wheezy",
    "8": "jessie",
    "9": "stretch",
    "10": "buster",
    "11": "bullseye",
    "12": "bookworm",
    "13": "trixie",
}
_ADVISORY_CACHE = 200_000
REPO2CPE = "redhat-repo2cpe"


class ReportStatus(enum.StrEnum):
    OK = "ok"
    NO_VULNERABILITY_DATA = "no_vulnerability_data"


class OsStatus(enum.StrEnum):
    OK = "ok"
    NO_DISTRIBUTION = "no_distribution"  # no OS found in the image (scratch, distroless)
    UNSUPPORTED_DISTRIBUTION = "unsupported_distribution"
    NO_DATA_FOR_RELEASE = "no_data_for_release"


@dataclass(frozen=True, slots=True)
class Advisory:
    """What the sources say about one vulnerability, all of its ids merged."""

    id: str
    aliases: tuple[str, ...]
    fixed_version: str
    state: FixState
    severity: Severity
    vendor_severity: str
    cvss: tuple[Cvss, ...]
    summary: str
    description: str
    links: tuple[str, ...]
    sources: tuple[str, ...]
    published: str = ""
    known_exploited: KnownExploited | None = None
    epss: Epss | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerability (``advisory``) in one package of the image."""

    package: str
    version: str
    ecosystem: str  # OSV ecosystem, or the distribution for OS packages
    advisory: Advisory

    @property
    def id(self) -> str:
        return self.advisory.id

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.advisory.aliases

    @property
    def ids(self) -> tuple[str, ...]:
        return self.advisory.ids

    @property
    def fixed_version(self) -> str:
        return self.advisory.fixed_version

    @property
    def state(self) -> FixState:
        return self.advisory.state

    @property
    def severity(self) -> Severity:
        return self.advisory.severity

    @property
    def sources(self) -> tuple[str, ...]:
        return self.advisory.sources

    @property
    def known_exploited(self) -> KnownExploited | None:
        return self.advisory.known_exploited

    @property
    def epss(self) -> Epss | None:
        return self.advisory.epss


@dataclass(frozen=True, slots=True)
class VulnerabilityReport:
    manifest_digest: str
    status: ReportStatus
    os_status: OsStatus
    distribution: str
    release: str
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]


def distribution_release(dist: Distribution) -> tuple[str, str, str] | None:
    """(records' distribution, release, version scheme) for an os-release, or None."""
    entry = OS_DISTRIBUTIONS.get(dist.did)
    if entry is None:
        return None
    name, scheme = entry
    vid = dist.version_id
    if name == "alpine":
        # edge reports a development VERSION_ID such as 3.19_alpha20230901
        release = "edge" if "_alpha" in vid else ".".join(vid.split(".")[:2])
    elif name == "debian":
        release = dist.version_codename or _DEBIAN_CODENAMES.get(vid.split(".")[0], vid)
    elif name == "ubuntu":
        release = dist.version_codename
    elif name in ("rhel", "ol"):
        release = vid.split(".")[0]
    elif name == "photon":
        release = vid if "." in vid else f"{vid}.0"
    else:
        release = vid
    return name, release, scheme


def normalize_name(ecosystem: str, name: str) -> str:
    if ecosystem == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    return name


class Matcher:
    """Matches index reports against records held in memory (build once, match many)."""

    def __init__(self, records: Iterable[Vulnerability]) -> None:
        self._os: dict[tuple[str, str, str], list[Vulnerability]] = defaultdict(list)
        self._rhel: dict[tuple[str, str], list[Vulnerability]] = defaultdict(list)
        self._by_cpe: dict[tuple[str, str], list[Vulnerability]] = defaultdict(list)
        self._repo_cpes: dict[str, tuple[str, ...]] = {}
        self._lang: dict[tuple[str, str], list[Vulnerability]] = defaultdict(list)
        self._enrich: dict[str, list[Vulnerability]] = defaultdict(list)
        self._releases: set[tuple[str, str]] = set()
        self._ecosystems: set[str] = set()
        self._advisories: dict[tuple[int, ...], Advisory] = {}
        self.count = 0
        #: records held per source, for health and metadata ("no vulnerability data" when empty)
        self.source_counts: dict[str, int] = defaultdict(int)
        for rec in records:
            self.count += 1
            self.source_counts[rec.source] += 1
            if rec.source == REPO2CPE:
                self._repo_cpes[rec.id] = rec.cpes
            elif not rec.package:
                self._enrich[rec.id].append(rec)
            elif rec.distribution == "rhel":
                for cpe in rec.cpes:
                    self._by_cpe[(cpe, rec.package)].append(rec)
                    if m := re.match(r"cpe:/[ao]:redhat:enterprise_linux:(\d+)(?:::|$)", cpe):
                        self._rhel[(m.group(1), rec.package)].append(rec)
                        self._releases.add(("rhel", m.group(1)))
            elif rec.distribution:
                self._os[(rec.distribution, rec.release, rec.package)].append(rec)
                self._releases.add((rec.distribution, rec.release))
            elif rec.ecosystem:
                eco = rec.ecosystem.split(":", 1)[0]
                self._lang[(eco, normalize_name(eco, rec.package))].append(rec)
                self._ecosystems.add(eco)

    # -- the match ---------------------------------------------------------------------------
    def match(self, report: IndexReport) -> VulnerabilityReport:
        notes: list[str] = []
        if self.count == 0:
            return VulnerabilityReport(
                report.manifest_digest,
                ReportStatus.NO_VULNERABILITY_DATA,
                OsStatus.OK,
                "",
                "",
                (),
                ("no vulnerability data has been loaded; nothing was matched",),
            )
        os_pkgs = [p for p in report.packages if p.kind is PackageKind.OS]
        lang_pkgs = [p for p in report.packages if p.kind is PackageKind.LANGUAGE]
        findings: list[Finding] = []
        dist = report.distribution
        os_status, dist_name, release = OsStatus.OK, "", ""
        if dist is None:
            os_status = OsStatus.NO_DISTRIBUTION
            if os_pkgs:
                notes.append("OS packages found but no distribution: they were not matched")
        else:
            where = distribution_release(dist)
            if where is None:
                os_status = OsStatus.UNSUPPORTED_DISTRIBUTION
                dist_name, release = dist.did, dist.version_id
                notes.append(
                    f"unsupported distribution {dist.did} {dist.version_id}: "
                    "OS packages were not matched"
                )
            else:
                dist_name, release, scheme_name = where
                if (dist_name, release) not in self._releases:
                    os_status = OsStatus.NO_DATA_FOR_RELEASE
                    notes.append(
                        f"no vulnerability data for {dist_name} {release}: "
                        "OS packages were not matched"
                    )
                else:
                    scheme = SCHEMES[scheme_name]
                    for pkg in os_pkgs:
                        findings.extend(self._os_package(pkg, dist_name, release, scheme))
        missing: set[str] = set()
        for pkg in lang_pkgs:
            eco = LANGUAGE_ECOSYSTEMS.get(pkg.ecosystem)
            if eco is None or eco not in self._ecosystems:
                missing.add(eco or pkg.ecosystem.value)
                continue
            findings.extend(self._language_package(pkg, eco))
        notes.extend(
            f"no vulnerability data for the {eco} ecosystem: its packages were not matched"
            for eco in sorted(missing)
        )
        findings.sort(key=lambda f: (f.package, f.version, f.id))
        return VulnerabilityReport(
            report.manifest_digest,
            ReportStatus.OK,
            os_status,
            dist_name,
            release,
            tuple(findings),
            tuple(notes),
        )

    def _os_package(
        self, pkg: Package, dist: str, release: str, scheme: VersionScheme
    ) -> list[Finding]:
        candidates: list[tuple[Vulnerability, str]] = []
        if dist == "rhel":
            cpes = {c for repo in pkg.repository_ids for c in self._repo_cpes.get(repo, ())}
            if cpes:  # the repositories the RPM came from name the products to match
                seen: set[int] = set()
                for cpe in sorted(cpes):
                    for r in self._by_cpe.get((cpe, pkg.name), ()):
                        if id(r) not in seen:
                            seen.add(id(r))
                            candidates.append((r, pkg.version))
            else:  # no content manifest: the release's base products
                candidates = [(r, pkg.version) for r in self._rhel.get((release, pkg.name), ())]
        else:
            names = {pkg.name: pkg.version}
            if pkg.source_name and pkg.source_name != pkg.name:
                names[pkg.source_name] = pkg.source_version or pkg.version
            for name, version in names.items():
                candidates.extend((r, version) for r in self._os.get((dist, release, name), ()))
        hits = [r for r, v in candidates if _affected(r, v, scheme)]
        return self._group(pkg, dist, hits)

    def _language_package(self, pkg: Package, eco: str) -> list[Finding]:
        name = pkg.name
        if eco == "Maven" and ":" in pkg.source_name:
            name = pkg.source_name
        hits: list[Vulnerability] = []
        for rec in self._lang.get((eco, normalize_name(eco, name)), ()):
            scheme = SCHEMES.get(rec.version_scheme)
            if scheme is None:
                continue
            if _affected(rec, pkg.version, scheme):
                hits.append(rec)
        return self._group(pkg, eco, hits)

    def _group(self, pkg: Package, where: str, hits: Sequence[Vulnerability]) -> list[Finding]:
        """Merge the records that share any id into one finding each.

        The advisory part of a finding (ids, severity, scores, links, enrichment) is cached
        per group of records, so a warm Matcher builds it once per advisory set.
        """
        if not hits:
            return []
        if len(hits) == 1:
            groups: list[list[Vulnerability]] = [list(hits)]
        else:
            groups = _merge_by_ids(hits)
        out = []
        for recs in groups:
            key = tuple(id(r) for r in recs)
            advisory = self._advisories.get(key)
            if advisory is None:
                if len(self._advisories) > _ADVISORY_CACHE:
                    self._advisories.clear()
                advisory = self._advisories[key] = _advisory(recs, self._enrich)
            out.append(Finding(pkg.name, pkg.version, where, advisory))
        return out


def _affected(rec: Vulnerability, version: str, scheme: VersionScheme) -> bool:
    """Whether ``version`` is affected by ``rec`` under ``scheme`` (see the record model)."""
    try:
        if any(scheme.in_range(version, spec) for spec in rec.unaffected_specs):
            return False
        if rec.affected_spec:
            return scheme.in_range(version, rec.affected_spec)
        if not rec.ranges and not rec.versions:
            return bool(rec.unaffected_specs) or rec.state is not FixState.FIXED
        if version in rec.versions:
            return True
        vkey = scheme.key(version)
        for rng in rec.ranges:
            if rng.introduced and vkey < scheme.key(rng.introduced):
                continue
            if rng.fixed:
                if vkey < scheme.key(rng.fixed):
                    return True
            elif rng.last_affected:
                if not scheme.key(rng.last_affected) < vkey:
                    return True
            else:
                return True
    except (InvalidVersionError, InvalidRangeError) as exc:
        logger.debug("%s %s: %s", rec.source, rec.id, exc)
    return False


def _merge_by_ids(hits: Sequence[Vulnerability]) -> list[list[Vulnerability]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for rec in hits:
        ids = rec.all_ids
        for other in ids[1:]:
            parent[find(other)] = find(ids[0])
        find(ids[0])
    groups: dict[str, list[Vulnerability]] = defaultdict(list)
    for rec in hits:
        groups[find(rec.id)].append(rec)
    return list(groups.values())


def _advisory(recs: list[Vulnerability], enrich: dict[str, list[Vulnerability]]) -> Advisory:
    """What these records (sharing ids) say together, with the CVEs' enrichment."""
    ids = list(dict.fromkeys(i for r in recs for i in r.all_ids))
    primary = next((i for i in ids if not i.startswith("CVE-")), ids[0])
    extra = [e for i in ids if i.startswith("CVE-") for e in enrich.get(i, ())]
    nvd = [e for e in extra if e.source == "nvd"]
    kev = next((e.known_exploited for e in extra if e.known_exploited), None)
    epss_values = [e.epss for e in extra if e.epss is not None]
    cvss = tuple(
        dict.fromkeys([c for r in recs for c in r.cvss] + [c for e in nvd for c in e.cvss])
    )
    known = [r.severity for r in recs if r.severity is not Severity.UNKNOWN]
    severity: Severity = known[0] if known else Severity.UNKNOWN
    if not known:
        for e in nvd:
            if _SEVERITY_ORDER[e.severity] > _SEVERITY_ORDER[severity]:
                severity = e.severity
    fixed = next((r.fixed_version for r in recs if r.fixed_version), "")
    state = (
        FixState.FIXED
        if fixed
        else next((r.state for r in recs if r.state is not FixState.FIXED), FixState.NOT_FIXED)
    )
    return Advisory(
        id=primary,
        aliases=tuple(i for i in ids if i != primary),
        fixed_version=fixed,
        state=state,
        severity=severity,
        vendor_severity=next((r.vendor_severity for r in recs if r.vendor_severity), ""),
        cvss=cvss,
        summary=next((r.summary for r in recs if r.summary), ""),
        description=next((r.description for r in (*recs, *nvd) if r.description), ""),
        links=tuple(dict.fromkeys(link for r in recs for link in r.links)),
        sources=tuple(dict.fromkeys([r.source for r in recs] + [e.source for e in extra])),
        published=next((r.published for r in recs if r.published), ""),
        known_exploited=kev,
        epss=max(epss_values, key=lambda e: e.score, default=None),
    )


def report_to_dict(report: VulnerabilityReport) -> dict[str, object]:
    """The JSON shape of a vulnerability report (``stockade scanner match -o json``)."""
    return {
        "manifest_digest": report.manifest_digest,
        "status": report.status.value,
        "os_status": report.os_status.value,
        "distribution": report.distribution,
        "release": report.release,
        "notes": list(report.notes),
        "findings": [
            {
                "package": f.package,
                "version": f.version,
                "ecosystem": f.ecosystem,
                "id": f.id,
                "aliases": list(f.aliases),
                "fixed_version": f.fixed_version,
                "state": f.state.value,
                "severity": f.severity.value,
                "vendor_severity": f.advisory.vendor_severity,
                "cvss": [
                    {"version": c.version, "vector": c.vector, "score": c.score}
                    for c in f.advisory.cvss
                ],
                "summary": f.advisory.summary,
                "links": list(f.advisory.links),
                "sources": list(f.sources),
                "known_exploited": f.known_exploited is not None,
                "epss": None if f.epss is None else f.epss.score,
            }
            for f in report.findings
        ],
    }

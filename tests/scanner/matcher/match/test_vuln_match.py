"""The match, checked against expectations derived independently from the raw feed files
with reference comparators (``packaging`` for PyPI, ``dpkg --compare-versions`` for Debian).

Index reports are built directly here (the packages an image would hold); the Debian case
uses real bullseye source packages at older versions than the DSA fixes, as the issue asks
for, since the DSA snapshot has no bookworm entries.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.version import InvalidVersion, Version

from stockade.model.index_report import (
    Distribution,
    Ecosystem,
    IndexReport,
    Package,
    PackageKind,
)
from stockade.model.vulnerability import FixState, Vulnerability
from stockade.scanner.matcher.match import Matcher, OsStatus, ReportStatus
from stockade.scanner.matcher.sources import make_updater

SHARED = Path(__file__).parents[4] / ".." / "shared"
VULNDATA = SHARED / "vulndata"
CLAIRCORE = SHARED / "claircore-testdata"


def _pkg(
    name: str, version: str, eco: Ecosystem, *, source: str = "", src_ver: str = ""
) -> Package:
    kind = (
        PackageKind.OS
        if eco in (Ecosystem.DEB, Ecosystem.APK, Ecosystem.RPM)
        else (PackageKind.LANGUAGE)
    )
    return Package(
        name=name,
        version=version,
        kind=kind,
        ecosystem=eco,
        purl="",
        path="",
        analyser="test",
        analyser_version="1",
        source_name=source,
        source_version=src_ver,
    )


@cache
def _records(source: str, path: Path) -> tuple[Vulnerability, ...]:
    return tuple(make_updater(source).parse(path))


def _ids(report_findings: object) -> set[str]:
    return {i for f in report_findings for i in f.ids}  # type: ignore[attr-defined]


# -- PyPI ---------------------------------------------------------------------------------------

PYPI_IMAGE = {
    "requests": "2.25.1",
    "urllib3": "1.26.4",
    "Jinja2": "2.11.2",
    "Django": "3.2.4",
    "PyYAML": "5.3",
    "Flask": "1.0",
    "cryptography": "3.3.1",
    "setuptools": "65.5.0",
    "pip": "21.0",
    "no-such-package-here": "1.0",
}


def _pypi_expected(packages: dict[str, str]) -> set[str]:
    """Affected PYSEC ids straight from the YAML files, compared with ``packaging``."""
    norm = {re.sub(r"[-_.]+", "-", n).lower(): Version(v) for n, v in packages.items()}
    raw_versions = {re.sub(r"[-_.]+", "-", n).lower(): v for n, v in packages.items()}
    expected: set[str] = set()
    root = VULNDATA / "osv-pypi" / "vulns"
    dirs = [d for d in root.iterdir() if re.sub(r"[-_.]+", "-", d.name).lower() in norm]
    for file in (f for d in dirs for f in d.rglob("*.yaml")):
        # the database keeps one directory per package; the "affected" name is still checked
        doc = yaml.load(file.read_text(), Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
        if doc.get("withdrawn"):
            continue
        for aff in doc.get("affected", []):
            name = re.sub(r"[-_.]+", "-", aff["package"]["name"]).lower()
            if name not in norm:
                continue
            version = norm[name]
            hit = raw_versions[name] in aff.get("versions", [])
            for rng in aff.get("ranges", []):
                if rng["type"] != "ECOSYSTEM":
                    continue
                state = False
                for ev in rng["events"]:
                    try:
                        if "introduced" in ev:
                            state = (
                                state
                                or ev["introduced"] == "0"
                                or version >= Version(ev["introduced"])
                            )
                        elif ("fixed" in ev and version >= Version(ev["fixed"])) or (
                            "last_affected" in ev and version > Version(ev["last_affected"])
                        ):
                            state = False
                    except InvalidVersion:
                        continue
                hit = hit or state
            if hit:
                expected.add(doc["id"])
    return expected


def test_pypi_report_equals_independent_derivation() -> None:
    matcher = Matcher(_records("osv-pypi", VULNDATA / "osv-pypi" / "vulns"))
    report = matcher.match(
        IndexReport(
            manifest_digest="sha256:pypi",
            packages=tuple(_pkg(n, v, Ecosystem.PYPI) for n, v in PYPI_IMAGE.items()),
        )
    )
    got = {i for i in _ids(report.findings) if i.startswith("PYSEC-")}
    expected = _pypi_expected(PYPI_IMAGE)
    assert len(expected) > 20
    assert got == expected
    by_pkg: dict[str, set[str]] = {}
    for f in report.findings:
        by_pkg.setdefault(f.package, set()).add(f.id)
    assert "PYSEC-2023-74" in by_pkg["requests"]
    assert {"PYSEC-2021-108", "PYSEC-2023-192", "PYSEC-2023-212"} <= by_pkg["urllib3"]
    assert "PYSEC-2021-66" in by_pkg["Jinja2"]
    assert report.status is ReportStatus.OK
    assert report.os_status is OsStatus.NO_DISTRIBUTION


# -- Go -----------------------------------------------------------------------------------------


def test_go_binary_stdlib_and_modules() -> None:
    matcher = Matcher(_records("osv-go", VULNDATA / "osv-go" / "data" / "osv"))
    report = matcher.match(
        IndexReport(
            manifest_digest="sha256:go",
            packages=(
                _pkg("stdlib", "go1.18.5", Ecosystem.GOLANG),
                _pkg("golang.org/x/net", "v0.0.0-20220722155237-a158d28d115b", Ecosystem.GOLANG),
                _pkg("github.com/gin-gonic/gin", "v1.6.0", Ecosystem.GOLANG),
            ),
        )
    )
    stdlib = {f.id for f in report.findings if f.package == "stdlib"}
    net = {f.id for f in report.findings if f.package == "golang.org/x/net"}
    gin = {f.id for f in report.findings if f.package == "github.com/gin-gonic/gin"}
    assert "GO-2022-0969" in stdlib  # fixed in 1.18.6
    assert "GO-2022-0969" in net  # fixed in the 2022-09-06 pseudo-version
    assert "GO-2020-0001" not in gin  # fixed in 1.6.0 exactly
    fixed = next(f for f in report.findings if f.id == "GO-2022-0969" and f.package == "stdlib")
    assert fixed.fixed_version == "1.18.6"


# -- Debian (DSA list, dpkg as the reference) ------------------------------------------------------

DEBIAN_IMAGE = {  # source package -> installed (older) version, bullseye
    "xorg-server": "2:1.20.11-1+deb11u4",
    "apache2": "2.4.54-1~deb11u1",
    "curl": "7.74.0-1.3+deb11u3",
    "openssl": "1.1.1n-0+deb11u3",
    "tiff": "4.2.0-1+deb11u1",
    "git": "1:2.30.2-1",
    "bash": "5.1-2+deb11u1",
}


def _dpkg_lt(a: str, b: str) -> bool:
    return subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False).returncode == 0


def _debian_expected(packages: dict[str, str]) -> set[str]:
    expected: set[str] = set()
    current = ""
    for line in (VULNDATA / "debian-security-tracker/data/DSA/list").read_text().splitlines():
        if line.startswith("["):
            current = line.split()[3]
            continue
        m = re.match(r"^\s+\[bullseye\]\s+-\s+(\S+)\s+([^\s<(]\S*)", line)
        if m and m.group(1) in packages and _dpkg_lt(packages[m.group(1)], m.group(2)):
            expected.add(current)
    return expected


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is the reference comparator")
def test_debian_bullseye_report_equals_dsa_derivation() -> None:
    matcher = Matcher(_records("debian-advisories", VULNDATA / "debian-security-tracker" / "data"))
    bullseye = Distribution(
        did="debian", name="Debian GNU/Linux", version_id="11", version_codename="bullseye"
    )
    packages = tuple(
        _pkg(f"{src}-bin", ver, Ecosystem.DEB, source=src, src_ver=ver)
        for src, ver in DEBIAN_IMAGE.items()
    )
    report = matcher.match(
        IndexReport(manifest_digest="sha256:deb", distributions=(bullseye,), packages=packages)
    )
    expected = _debian_expected(DEBIAN_IMAGE)
    assert expected, "the DSA list must hold bullseye fixes newer than these versions"
    assert {i for i in _ids(report.findings) if i.startswith("DSA-")} == expected
    assert report.os_status is OsStatus.OK and (report.distribution, report.release) == (
        "debian",
        "bullseye",
    )


# -- statuses, aliases, enrichment -----------------------------------------------------------------


def test_no_data_is_not_no_vulnerabilities() -> None:
    report = Matcher([]).match(
        IndexReport(manifest_digest="sha256:x", packages=(_pkg("requests", "2.0", Ecosystem.PYPI),))
    )
    assert report.status is ReportStatus.NO_VULNERABILITY_DATA
    assert report.findings == ()
    assert dict(Matcher([]).source_counts) == {}
    assert "no vulnerability data" in report.notes[0]


def test_unsupported_distribution_and_release_without_data() -> None:
    matcher = Matcher(_records("alpine", CLAIRCORE / "alpine/testdata/fetch"))
    assert dict(matcher.source_counts) == {"alpine": 9}
    pkg = _pkg("botan", "2.8.0-r0", Ecosystem.APK, source="botan")
    weird = Distribution(did="plan9", name="Plan 9", version_id="4")
    report = matcher.match(IndexReport("sha256:a", distributions=(weird,), packages=(pkg,)))
    assert report.os_status is OsStatus.UNSUPPORTED_DISTRIBUTION
    assert "unsupported distribution plan9 4" in report.notes[0]
    old = Distribution(did="alpine", name="Alpine", version_id="3.2.1")
    report = matcher.match(IndexReport("sha256:a", distributions=(old,), packages=(pkg,)))
    assert report.os_status is OsStatus.NO_DATA_FOR_RELEASE
    good = Distribution(did="alpine", name="Alpine", version_id="3.10.5")
    report = matcher.match(IndexReport("sha256:a", distributions=(good,), packages=(pkg,)))
    assert report.os_status is OsStatus.OK
    assert {f.id for f in report.findings} == {"CVE-2018-20187"}  # fixed in 2.9.0-r0
    assert report.findings[0].fixed_version == "2.9.0-r0"


def test_missing_ecosystem_is_reported() -> None:
    matcher = Matcher(_records("osv-go", VULNDATA / "osv-go/data/osv/GO-2022-0969.json"))
    report = matcher.match(
        IndexReport("sha256:x", packages=(_pkg("left-pad", "1.0.0", Ecosystem.NPM),))
    )
    assert report.notes == (
        "no vulnerability data for the npm ecosystem: its packages were not matched",
    )


def test_aliases_merge_across_sources_with_enrichment() -> None:
    osv = _records("osv-pypi", VULNDATA / "osv-pypi/vulns/requests")
    manual = Vulnerability(
        source="manual",
        id="GHSA-j8r2-6x86-q33q",
        package="requests",
        ecosystem="PyPI",
        version_scheme="pep440",
        state=FixState.NOT_FIXED,
    )
    kev = Vulnerability(
        source="cisa-kev",
        id="CVE-2023-32681",
        known_exploited=_records("cisa-kev", CLAIRCORE / "enricher/kev/testdata")[
            0
        ].known_exploited,
    )
    report = Matcher([*osv, manual, kev]).match(
        IndexReport("sha256:x", packages=(_pkg("requests", "2.25.1", Ecosystem.PYPI),))
    )
    merged = [f for f in report.findings if "CVE-2023-32681" in f.ids]
    assert len(merged) == 1
    finding = merged[0]
    assert finding.id == "PYSEC-2023-74"
    assert set(finding.sources) == {"osv-pypi", "manual", "cisa-kev"}
    assert finding.known_exploited is not None
    assert finding.fixed_version == "2.31.0"


def test_rhel_packages_match_by_repository_cpes() -> None:
    vex = _records("redhat-vex", CLAIRCORE / "rhel/vex/testdata/cve-2023-38545.json")
    repo2cpe = _records(
        "redhat-repo2cpe", Path(__file__).parents[1] / "sources/data/redhat-repo2cpe"
    )
    matcher = Matcher([*vex, *repo2cpe])
    rhel9 = Distribution(did="rhel", name="Red Hat Enterprise Linux", version_id="9.2")

    def curl(version: str, repos: tuple[str, ...]) -> Package:
        return Package(
            name="curl",
            version=version,
            kind=PackageKind.OS,
            ecosystem=Ecosystem.RPM,
            purl="",
            path="",
            analyser="t",
            analyser_version="1",
            repository_ids=repos,
        )

    # from the EUS 9.0 repository: only the EUS fix applies
    eus = matcher.match(
        IndexReport(
            "sha256:r",
            distributions=(rhel9,),
            packages=(
                curl("0:7.76.1-14.el9_0.8", ("rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_0",)),
            ),
        )
    )
    assert [(f.id, f.fixed_version) for f in eus.findings] == [
        ("RHSA-2023:5700", "0:7.76.1-14.el9_0.9")
    ]
    assert "CVE-2023-38545" in eus.findings[0].aliases
    # the same build is fixed for EUS, so nothing there once it is at the fixed version
    fixed = matcher.match(
        IndexReport(
            "sha256:r",
            distributions=(rhel9,),
            packages=(
                curl("0:7.76.1-14.el9_0.9", ("rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_0",)),
            ),
        )
    )
    assert fixed.findings == ()
    # main BaseOS: the mainline fixes apply
    main = matcher.match(
        IndexReport(
            "sha256:r",
            distributions=(rhel9,),
            packages=(curl("0:7.76.1-14.el9_0.9", ("rhel-9-for-x86_64-baseos-rpms",)),),
        )
    )
    assert {i for f in main.findings for i in f.ids} >= {"CVE-2023-38545", "RHSA-2023:5763"}
    # no content manifest: the release's base products
    bare = matcher.match(
        IndexReport("sha256:r", distributions=(rhel9,), packages=(curl("0:7.76.1-14.el9_0.9", ()),))
    )
    assert "CVE-2023-38545" in {i for f in bare.findings for i in f.ids}


@pytest.mark.parametrize(
    ("did", "version_id", "codename", "want"),
    [
        ("alpine", "3.10.5", "", ("alpine", "3.10", "apk")),
        ("alpine", "3.19_alpha20230901", "", ("alpine", "edge", "apk")),
        ("debian", "11", "", ("debian", "bullseye", "dpkg")),
        ("debian", "12", "bookworm", ("debian", "bookworm", "dpkg")),
        ("ubuntu", "20.04", "focal", ("ubuntu", "focal", "dpkg")),
        ("rhel", "9.2", "", ("rhel", "9", "rpm")),
        ("ol", "8.7", "", ("ol", "8", "rpm")),
        ("sles", "15.4", "", ("sles", "15.4", "rpm")),
        ("photon", "3.0", "", ("photon", "3.0", "rpm")),
        ("amzn", "2023", "", ("amzn", "2023", "rpm")),
        ("plan9", "4", "", None),
    ],
)
def test_distribution_release_mapping(
    did: str, version_id: str, codename: str, want: tuple[str, str, str] | None
) -> None:
    from stockade.scanner.matcher.match import distribution_release

    dist = Distribution(did=did, name=did, version_id=version_id, version_codename=codename)
    assert distribution_release(dist) == want

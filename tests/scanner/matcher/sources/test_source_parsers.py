"""Every parser on real upstream records (golden files), plus facts checked by hand.

Inputs are the shared snapshots in ../shared/vulndata and ../shared/claircore-testdata. The
Debian tracker JSON sample (data/debian-tracker.json) is written by hand in the tracker's
published format: no snapshot of that feed exists here.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from stockade.model.vulnerability import FixState, Severity, Vulnerability
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.sources.base import FeedUpdater

SHARED = Path(__file__).parents[4] / ".." / "shared"
VULNDATA = SHARED / "vulndata"
CLAIRCORE = SHARED / "claircore-testdata"
DATA = Path(__file__).parent / "data"


def _parse(name: str, path: Path) -> list[Vulnerability]:
    updater: FeedUpdater = make_updater(name)
    return list(updater.parse(path))


GOLDEN_CASES: list[tuple[str, str, Path, int | None]] = [
    ("alpine-yaml", "alpine", VULNDATA / "alpine-secdb" / "v3.10" / "main.yaml", 12),
    ("alpine-json", "alpine", CLAIRCORE / "alpine" / "testdata" / "fetch", None),
    ("debian-dsa", "debian-advisories", VULNDATA / "debian-security-tracker/data/DSA/list", 8),
    ("debian-dla", "debian-advisories", VULNDATA / "debian-security-tracker/data/DLA/list", 5),
    ("debian-tracker-handwritten", "debian-tracker", DATA / "debian-tracker.json", None),
    (
        "ubuntu-tracker",
        "ubuntu-tracker",
        VULNDATA / "ubuntu-cve-tracker/active/CVE-2020-10018",
        None,
    ),
    ("osv-pypi", "osv-pypi", VULNDATA / "osv-pypi" / "vulns" / "requests", None),
    ("osv-go", "osv-go", VULNDATA / "osv-go/data/osv/GO-2022-0969.json", None),
    ("nodejs-wg", "nodejs-wg", VULNDATA / "nodejs-security-wg/vuln/npm/1.json", None),
    ("rubysec", "rubysec", VULNDATA / "rubysec" / "gems" / "RedCloth", None),
    ("redhat-vex", "redhat-vex", CLAIRCORE / "rhel/vex/testdata/cve-2024-24786-simple.json", None),
    ("redhat-vex-curl", "redhat-vex", CLAIRCORE / "rhel/vex/testdata/cve-2023-38545.json", 6),
    ("photon", "photon", CLAIRCORE / "photon/testdata/com.vmware.phsa-photon3.xml", 8),
    ("nvd", "nvd", CLAIRCORE / "enricher/cvss/testdata/feed.json", None),
    ("cisa-kev", "cisa-kev", CLAIRCORE / "enricher/kev/testdata", None),
    ("epss", "epss", CLAIRCORE / "enricher/epss/testdata/data.csv", 6),
    # hand-written samples in the published formats (see data/README.md)
    ("ubuntu-oval-handwritten", "ubuntu-oval", DATA / "ubuntu-oval", None),
    ("oracle-handwritten", "oracle", DATA / "oracle", None),
    ("suse-handwritten", "suse", DATA / "suse", None),
    ("amazon-handwritten", "amazon", DATA / "amazon", None),
    ("osv-npm-handwritten", "osv-npm", DATA / "osv-handwritten", None),
    ("osv-rubygems-handwritten", "osv-rubygems", DATA / "osv-handwritten", None),
    ("osv-maven-handwritten", "osv-maven", DATA / "osv-handwritten", None),
    ("manual-handwritten", "manual", DATA / "manual", None),
    ("redhat-repo2cpe-handwritten", "redhat-repo2cpe", DATA / "redhat-repo2cpe", None),
]


@pytest.mark.parametrize(
    ("golden", "source", "path", "limit"), GOLDEN_CASES, ids=[c[0] for c in GOLDEN_CASES]
)
def test_parser_golden(
    golden: str,
    source: str,
    path: Path,
    limit: int | None,
    check_golden: Callable[[str, list[Vulnerability]], None],
) -> None:
    updater = make_updater(source)
    records = list(itertools.islice(updater.parse(path), limit))
    assert records, "the sample must yield records"
    assert all(r.source == source for r in records)
    check_golden(golden, records)


def test_alpine_yaml_snapshot_counts_and_ids() -> None:
    records = _parse("alpine", VULNDATA / "alpine-secdb")
    assert len(records) == 12018
    releases = Counter(r.release for r in records)
    assert set(releases) == {f"3.{n}" for n in range(3, 12)}
    # "CVE-2017-8904 XSA-214" is one advisory with an alias, not two records
    xen = [r for r in records if r.package == "xen" and r.id == "CVE-2017-8904"]
    assert xen and all(r.aliases == ("XSA-214",) for r in xen)
    assert all(r.version_scheme == "apk" and r.fixed_version for r in records)


def test_debian_advisories_skip_not_affected_and_keep_cves() -> None:
    records = _parse("debian-advisories", VULNDATA / "debian-security-tracker" / "data")
    by_id = {(r.id, r.release, r.package): r for r in records}
    xorg = by_id[("DSA-5380-1", "bullseye", "xorg-server")]
    assert xorg.fixed_version == "2:1.20.11-1+deb11u6"
    assert xorg.aliases == ("CVE-2023-1393",)
    assert xorg.published == "2023-03-29"
    assert not any(r.fixed_version.startswith("<") for r in records)
    assert Counter(r.release for r in records)["bullseye"] > 300


def test_debian_tracker_states() -> None:
    records = _parse("debian-tracker", DATA / "debian-tracker.json")
    got = {(r.package, r.id, r.release): (r.state, r.fixed_version) for r in records}
    assert got == {
        ("curl", "CVE-2023-38545", "bookworm"): (FixState.FIXED, "7.88.1-10+deb12u4"),
        ("curl", "CVE-2023-38545", "sid"): (FixState.FIXED, "8.4.0-1"),
        ("curl", "CVE-2024-2379", "bookworm"): (FixState.WONT_FIX, ""),
        ("curl", "CVE-2024-2379", "trixie"): (FixState.NOT_FIXED, ""),
        ("openssl", "CVE-2023-0286", "bullseye"): (FixState.FIXED, "1.1.1n-0+deb11u4"),
    }


def test_ubuntu_tracker_statuses() -> None:
    records = _parse("ubuntu-tracker", VULNDATA / "ubuntu-cve-tracker" / "active")
    assert len(records) > 50000
    states = Counter(r.state for r in records)
    assert states[FixState.FIXED] > 10000 and states[FixState.NOT_FIXED] > 1000
    assert not any(r.release in ("upstream", "devel") for r in records)
    fixed = [r for r in records if r.state is FixState.FIXED]
    assert all(r.fixed_version[0].isdigit() for r in fixed)


def test_osv_pypi_requests_and_urllib3_facts() -> None:
    records = _parse("osv-pypi", VULNDATA / "osv-pypi" / "vulns")
    req = {r.id: r for r in records if r.package == "requests"}
    assert "PYSEC-2023-74" in req
    assert req["PYSEC-2023-74"].fixed_version == "2.31.0"
    assert "CVE-2023-32681" in req["PYSEC-2023-74"].aliases
    urllib3 = {r.id for r in records if r.package == "urllib3"}
    assert {"PYSEC-2021-108", "PYSEC-2023-192", "PYSEC-2023-212"} <= urllib3
    assert all(r.version_scheme == "pep440" for r in records)


def test_osv_go_stdlib_multiple_intervals() -> None:
    records = _parse("osv-go", VULNDATA / "osv-go/data/osv/GO-2022-0969.json")
    stdlib = next(r for r in records if r.package == "stdlib")
    assert [(x.introduced, x.fixed) for x in stdlib.ranges] == [
        ("", "1.18.6"),
        ("1.19.0-0", "1.19.1"),
    ]
    assert set(stdlib.aliases) == {"CVE-2022-27664", "GHSA-69cg-p879-7622"}


def test_rubysec_patched_and_unaffected_become_unaffected_specs() -> None:
    records = _parse("rubysec", VULNDATA / "rubysec" / "gems" / "RedCloth")
    redos = next(r for r in records if r.id == "CVE-2023-31606")
    assert redos.unaffected_specs == (">= 4.3.3", "< 4.0.0")
    assert redos.aliases == ("GHSA-qcm3-vfq5-wfr2",)
    assert redos.severity is Severity.IMPORTANT  # cvss_v3 7.5


def test_redhat_vex_fixed_per_cpe_and_no_source_rpms() -> None:
    records = _parse("redhat-vex", CLAIRCORE / "rhel/vex/testdata/cve-2023-38545.json")
    curl9 = [
        r
        for r in records
        if r.package == "curl" and r.cpes == ("cpe:/a:redhat:enterprise_linux:9::appstream",)
    ]
    assert curl9, "curl fixed for RHEL 9 AppStream"
    assert all(r.fixed_version.startswith("0:7.76.1-") for r in curl9)
    assert all("RHSA-" in a for r in records for a in r.aliases)


def test_redhat_vex_deleted_document_yields_nothing() -> None:
    assert _parse("redhat-vex", CLAIRCORE / "rhel/vex/testdata/delete_CVE-2023-0030.json") == []


def test_photon_oval_resolves_tests_objects_and_states() -> None:
    records = _parse("photon", CLAIRCORE / "photon/testdata")
    assert len(records) == 778  # one per "earlier than" criterion in the file
    first = records[0]
    assert (first.id, first.package, first.fixed_version, first.release) == (
        "PHSA-2020:00001",
        "sqlite",
        "0:3.27.2-5.ph3",
        "3.0",
    )
    assert first.aliases == ("CVE-2019-16168",)


def test_enrichment_values() -> None:
    nvd = _parse("nvd", CLAIRCORE / "enricher/cvss/testdata")
    coreutils = next(r for r in nvd if r.id == "CVE-2016-2781")
    assert {c.version for c in coreutils.cvss} >= {"3.1", "3.0", "2.0"}
    kev = _parse("cisa-kev", CLAIRCORE / "enricher/kev/testdata")
    assert {r.id for r in kev} == {"CVE-2017-3066", "CVE-2021-44228"}
    assert all(r.known_exploited and r.known_exploited.date_added for r in kev)
    epss = _parse("epss", CLAIRCORE / "enricher/epss/testdata")
    first = epss[0]
    assert first.epss is not None
    assert (first.id, first.epss.score, first.epss.date) == ("CVE-1999-0005", 0.91963, "2024-10-25")


def test_record_json_round_trip() -> None:
    records = _parse("osv-go", VULNDATA / "osv-go/data/osv/GO-2022-0969.json")
    records += _parse("cisa-kev", CLAIRCORE / "enricher/kev/testdata")
    for rec in records:
        assert Vulnerability.from_dict(rec.to_dict()) == rec


def test_ubuntu_oval_fixed_per_binary_and_unfixed() -> None:
    records = _parse("ubuntu-oval", DATA / "ubuntu-oval")
    got = {(r.id, r.package, r.release, r.state, r.fixed_version) for r in records}
    assert got == {
        (
            "CVE-2020-10018",
            "libjavascriptcoregtk-4.0-18",
            "focal",
            FixState.FIXED,
            "0:2.28.1-0ubuntu0.20.04.1",
        ),
        (
            "CVE-2020-10018",
            "libwebkit2gtk-4.0-37",
            "focal",
            FixState.FIXED,
            "0:2.28.1-0ubuntu0.20.04.1",
        ),
        ("CVE-2021-33323", "libsixel1", "focal", FixState.NOT_FIXED, ""),
    }


def test_oracle_release_from_criteria_and_elsa_id() -> None:
    records = _parse("oracle", DATA / "oracle")
    got = {(r.id, r.package, r.release, r.fixed_version) for r in records}
    assert got == {
        ("ELSA-2023-5763", "curl", "9", "0:7.76.1-23.el9_2.4"),
        ("ELSA-2023-5763", "libcurl", "9", "0:7.76.1-23.el9_2.4"),
    }
    assert records[0].aliases == ("CVE-2023-38545", "CVE-2023-38546")
    assert records[0].severity is Severity.IMPORTANT


def test_suse_one_definition_many_service_packs() -> None:
    records = _parse("suse", DATA / "suse")
    got = {(r.package, r.release, r.fixed_version) for r in records}
    assert got == {
        ("curl", "15.4", "0:7.79.1-150400.5.21.1"),
        ("libcurl4", "15.4", "0:7.79.1-150400.5.21.1"),
        ("curl", "15.5", "0:8.0.1-150400.5.32.1"),
    }  # the Desktop product's criterion is not a SLES release
    assert {r.id for r in records} == {"CVE-2023-38545"}


def test_amazon_security_updates_only() -> None:
    records = _parse("amazon", DATA / "amazon")
    got = {(r.id, r.package, r.release, r.fixed_version) for r in records}
    assert got == {
        ("ALAS2-2023-2287", "curl", "2", "0:8.3.0-1.amzn2.0.5"),
        ("ALAS2-2023-2287", "libcurl", "2", "0:8.3.0-1.amzn2.0.5"),
    }


def test_osv_split_by_ecosystem() -> None:
    maven = _parse("osv-maven", DATA / "osv-handwritten")
    assert [(r.id, r.package) for r in maven] == [
        ("GHSA-jfh8-c2jp-5v3q", "org.apache.logging.log4j:log4j-core")
    ]
    assert len(maven[0].ranges) == 3
    npm = _parse("osv-npm", DATA / "osv-handwritten")
    assert [(r.id, r.ranges[0].last_affected) for r in npm] == [("NSWG-ECO-1", "1.5.1")]


def test_manual_source_records() -> None:
    records = _parse("manual", DATA / "manual")
    assert [(r.id, r.package, r.state) for r in records] == [
        ("STOCKADE-2026-0001", "internal-lib", FixState.FIXED),
        ("STOCKADE-2026-0002", "base-files", FixState.NOT_FIXED),
    ]
    assert records[0].cvss[0].score == 7.5

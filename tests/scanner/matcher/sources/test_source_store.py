"""The vulnerability store on a real PostgreSQL: atomic per-source replacement, update runs,
and bad input (truncated file, wrong checksum, malformed record) failing only its source."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from stockade.model.vulnerability import Vulnerability
from stockade.scanner.matcher.sources import make_updater
from stockade.scanner.matcher.store import VulnerabilityStore

SHARED = Path(__file__).parents[4] / ".." / "shared"
VULNDATA = SHARED / "vulndata"
CLAIRCORE = SHARED / "claircore-testdata"


@pytest.fixture
def store(database_url: str) -> VulnerabilityStore:
    s = VulnerabilityStore(database_url)
    assert s.migrate() == ["0001_vulnerability_store.sql"]
    assert s.migrate() == []  # idempotent
    return s


def _alpine_copy(tmp_path: Path) -> Path:
    root = tmp_path / "alpine"
    shutil.copytree(CLAIRCORE / "alpine/testdata/fetch/v3.10", root / "v3.10")
    return root


def _kev_copy(tmp_path: Path) -> Path:
    root = tmp_path / "kev"
    shutil.copytree(CLAIRCORE / "enricher/kev/testdata", root)
    return root


def test_update_stores_records_and_records_runs(store: VulnerabilityStore, tmp_path: Path) -> None:
    alpine = make_updater("alpine", offline=_alpine_copy(tmp_path))
    run = store.update(alpine)
    assert (run.status, run.records, run.error) == ("updated", 9, "")
    stored = sorted(store.records("alpine"), key=lambda r: (r.package, r.id))
    assert stored == sorted(alpine.parse(tmp_path / "alpine"), key=lambda r: (r.package, r.id))
    again = store.update(alpine)
    assert (again.status, again.records) == ("unchanged", 9)
    runs = store.runs("alpine")
    assert [r.status for r in runs] == ["updated", "unchanged"]
    assert all(r.finished is not None and r.fingerprint for r in runs)
    state = store.source_state("alpine")
    assert state is not None and state.record_count == 9


def test_for_packages_queries(store: VulnerabilityStore) -> None:
    store.update(make_updater("osv-pypi", offline=VULNDATA / "osv-pypi/vulns/requests"))
    store.update(make_updater("alpine", offline=CLAIRCORE / "alpine/testdata/fetch"))
    found = store.for_packages(ecosystem="PyPI", packages=["requests", "nothing"])
    assert "PYSEC-2023-74" in {r.id for r in found}
    os_found = store.for_packages(distribution="alpine", release="3.10", packages=["botan"])
    assert {r.id for r in os_found} == {
        "CVE-2018-20187",
        "CVE-2018-12435",
        "CVE-2018-9860",
        "CVE-2018-9127",
    }
    assert store.for_packages(distribution="alpine", release="3.9", packages=["botan"]) == []


def _assert_failed_keeps_data(
    store: VulnerabilityStore, tmp_path: Path, root: Path, source: str, want: str
) -> None:
    """Update good data, break the input, update again: failure named, data kept."""
    kev_root = _kev_copy(tmp_path)
    good = store.update(make_updater(source, offline=root))
    assert good.status == "updated"
    before = sorted(r.to_json() for r in store.records(source))
    fp_before = store.source_state(source)
    _BREAKERS[want](root)
    runs = store.update_all(
        [make_updater(source, offline=root), make_updater("cisa-kev", offline=kev_root)]
    )
    failed, other = runs
    assert failed.status == "failed"
    assert other.status == "updated" and other.records == 2  # the other source still updated
    assert sorted(r.to_json() for r in store.records(source)) == before
    assert store.source_state(source) == fp_before
    assert store.runs(source)[-1].error == failed.error
    assert failed.error, "a failed run says why"
    _EXPECT[want](failed.error)


def _truncate(root: Path) -> None:
    f = root / "v3.10" / "community.json"
    f.write_bytes(f.read_bytes()[:700])


def _bad_checksum(root: Path) -> None:
    (root / "SHA256SUMS").write_text("ab" * 32 + "  v3.10/community.json\n")


def _malformed(root: Path) -> None:
    f = root / "v3.10" / "community.json"
    doc = json.loads(f.read_text())
    doc["packages"][1]["pkg"]["secfixes"] = ["3.12.2-r0"]  # a list where a mapping belongs
    f.write_text(json.dumps(doc))


_BREAKERS = {"truncated": _truncate, "checksum": _bad_checksum, "malformed": _malformed}
_EXPECT = {
    "truncated": lambda e: _match(e, r"^alpine: v3\.10/community\.json: invalid JSON at line \d+"),
    "checksum": lambda e: _match(e, r"^alpine: v3\.10/community\.json: checksum mismatch"),
    "malformed": lambda e: _match(
        e, r"^alpine: v3\.10/community\.json: record cfengine: secfixes must be a mapping$"
    ),
}


def _match(text: str, pattern: str) -> None:
    assert re.search(pattern, text), text


@pytest.mark.parametrize("breakage", ["truncated", "checksum", "malformed"])
def test_bad_input_fails_only_that_source(
    store: VulnerabilityStore, tmp_path: Path, breakage: str
) -> None:
    _assert_failed_keeps_data(store, tmp_path, _alpine_copy(tmp_path), "alpine", breakage)


def test_failure_mid_stream_rolls_back(store: VulnerabilityStore) -> None:
    good = Vulnerability(source="manual", id="CVE-1", package="a", ecosystem="PyPI")
    store.replace_source("manual", [good], "fp1")

    def broken() -> object:
        yield Vulnerability(source="manual", id="CVE-2", package="b", ecosystem="PyPI")
        raise ValueError("parser blew up")

    with pytest.raises(ValueError, match="blew up"):
        store.replace_source("manual", broken(), "fp2")  # type: ignore[arg-type]
    assert [r.id for r in store.records("manual")] == ["CVE-1"]
    state = store.source_state("manual")
    assert state is not None and state.fingerprint == "fp1"


def test_truncated_xml_and_yaml_name_the_file(store: VulnerabilityStore, tmp_path: Path) -> None:
    photon = tmp_path / "photon"
    photon.mkdir()
    data = (CLAIRCORE / "photon/testdata/com.vmware.phsa-photon3.xml").read_bytes()
    (photon / "com.vmware.phsa-photon3.xml").write_bytes(data[: len(data) // 2])
    run = store.update(make_updater("photon", offline=photon))
    assert run.status == "failed"
    assert run.error.startswith("photon: com.vmware.phsa-photon3.xml: invalid XML at line")
    pypi = tmp_path / "pypi"
    pypi.mkdir()
    src = (VULNDATA / "osv-pypi/vulns/requests/PYSEC-2023-74.yaml").read_text()
    (pypi / "PYSEC-2023-74.yaml").write_text(src[: src.index("affected:")] + "affected:\n- [\n")
    run = store.update(make_updater("osv-pypi", offline=pypi))
    assert run.status == "failed"
    assert run.error.startswith("osv-pypi: PYSEC-2023-74.yaml: invalid YAML at line")


def test_malformed_text_record_names_the_advisory(
    store: VulnerabilityStore, tmp_path: Path
) -> None:
    root = tmp_path / "debian"
    (root / "DSA").mkdir(parents=True)
    (root / "DSA" / "list").write_text(
        "[29 Mar 2023] DSA-5380-1 xorg-server - security update\n"
        "\t{CVE-2023-1393}\n"
        "\tbullseye xorg-server 2:1.20.11-1+deb11u6\n"
    )
    run = store.update(make_updater("debian-advisories", offline=root))
    assert run.status == "failed"
    assert run.error.startswith("debian-advisories: DSA/list: record DSA-5380-1 (line 3):")


def test_truncated_dsa_list_is_detected(store: VulnerabilityStore, tmp_path: Path) -> None:
    root = tmp_path / "debian"
    (root / "DSA").mkdir(parents=True)
    text = (VULNDATA / "debian-security-tracker/data/DSA/list").read_text()
    cut = text.index("[bullseye] - xorg-server 2:1.20.11-1+deb11u6") + len("[bullseye] - xorg-s")
    (root / "DSA" / "list").write_text(text[:cut])
    run = store.update(make_updater("debian-advisories", offline=root))
    assert run.status == "failed"
    assert run.error == (
        "debian-advisories: DSA/list: record DSA-5380-1 (line 3): package line without version"
    )

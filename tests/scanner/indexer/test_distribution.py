"""Distribution detection on the os-release / release files ClairCore tests with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stockade.model.index_report import Distribution
from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.oci_layout import OCILayoutSource

from .conftest import CLAIRCORE
from .imagebuilder import dpkg_status, make_layout

CASES = sorted(
    p.parent
    for pattern in (
        "*/testdata/dist/*/etc",
        "*/testdata/distroless_dist/*/etc",
        "alpine/testdata/*/etc",
        "rhel/testdata/releasefiles/*/etc",
    )
    for p in CLAIRCORE.glob(pattern)
)


def _detect(
    tmp_path: Path, case: Path, extra: dict[str, bytes] | None = None
) -> Distribution | None:
    tree: dict[str, bytes | None] = {
        str(f.relative_to(case)): f.read_bytes()
        for f in sorted((case / "etc").iterdir())
        if f.is_file()
    }
    tree.update(extra or {})
    root = make_layout(tmp_path / "img", [tree])  # type: ignore[list-item]
    return Indexer().index(OCILayoutSource(root, "test")).distribution


def _expected(case: Path) -> tuple[str, str]:
    """(os-release ID, the version prefix) the directory name promises."""
    family, name = case.parts[-4], case.name
    if family == "ubuntu":
        return ("debian", name) if name == "11" else ("ubuntu", name)
    if family == "debian":
        return "debian", name
    if name.startswith("oracle-"):
        return "ol", name.removeprefix("oracle-")
    if name == "atomichost-7":
        return "rhel", "7"
    if name == "hummingbird":
        return "hummingbird", "2025"
    return "rhel", name


def test_cases_were_found() -> None:
    assert len(CASES) > 50


@pytest.mark.parametrize("case", CASES, ids=lambda p: "/".join(p.parts[-4:]))
def test_claircore_release_files(tmp_path: Path, case: Path) -> None:
    dist = _detect(tmp_path, case)
    assert dist is not None
    want_file = case / "want"
    if want_file.exists():  # alpine: ClairCore's own expectation
        (want,) = json.loads(want_file.read_text())
        assert (dist.did, dist.name, dist.version, dist.pretty_name) == (
            want["did"],
            want["name"],
            want["version"],
            want["pretty_name"],
        )
        return
    did, version = _expected(case)
    assert dist.did == did
    assert dist.version_id.startswith(version)
    if "distroless" in case.parts[-3]:
        assert dist.variant == "distroless"


def test_distroless_without_os_release_is_found_from_status_d(tmp_path: Path) -> None:
    root = make_layout(
        tmp_path / "img",
        [{"var/lib/dpkg/status.d/base-files": dpkg_status(("base-files", "12.4"))}],
    )
    report = Indexer().index(OCILayoutSource(root, "test"))
    assert report.distribution is not None
    assert (report.distribution.did, report.distribution.variant) == ("debian", "distroless")
    assert [(p.name, p.version) for p in report.packages] == [("base-files", "12.4")]


@pytest.mark.parametrize(
    ("files", "did", "version_id"),
    [
        ({"etc/os-release": b'ID="rocky"\nVERSION_ID="9.3"\nNAME="Rocky Linux"\n'}, "rocky", "9.3"),
        ({"etc/os-release": b'ID="almalinux"\nVERSION_ID="8.9"\n'}, "almalinux", "8.9"),
        ({"etc/os-release": b'ID="centos"\nVERSION_ID="7"\n'}, "centos", "7"),
        ({"etc/centos-release": b"CentOS Linux release 7.9.2009 (Core)\n"}, "centos", "7.9.2009"),
        ({"etc/os-release": b'ID="amzn"\nVERSION_ID="2023"\n'}, "amzn", "2023"),
        ({"etc/system-release": b"Amazon Linux AMI release 2018.03\n"}, "amzn", "2018.03"),
        ({"etc/os-release": b'ID="sles"\nVERSION_ID="15.5"\n'}, "sles", "15.5"),
        ({"etc/os-release": b'ID="opensuse-leap"\nVERSION_ID="15.5"\n'}, "opensuse-leap", "15.5"),
        (
            {"etc/os-release": b'ID=photon\nVERSION_ID=5.0\nNAME="VMware Photon OS"\n'},
            "photon",
            "5.0",
        ),
        ({"etc/os-release": b'ID=wolfi\nVERSION_ID=20230201\nNAME="Wolfi"\n'}, "wolfi", "20230201"),
        ({"etc/os-release": b'ID=chainguard\nNAME="Chainguard"\n'}, "chainguard", ""),
        ({"etc/alpine-release": b"3.19.1\n"}, "alpine", "3.19.1"),
        ({"etc/debian_version": b"7.11\n"}, "debian", "7.11"),
        ({"etc/redhat-release": b"Red Hat Enterprise Linux release 8.9 (Ootpa)\n"}, "rhel", "8.9"),
    ],
)
def test_other_distributions(
    tmp_path: Path, files: dict[str, bytes], did: str, version_id: str
) -> None:
    root = make_layout(tmp_path / "img", [files])  # type: ignore[list-item]
    dist = Indexer().index(OCILayoutSource(root, "test")).distribution
    assert dist is not None
    assert (dist.did, dist.version_id) == (did, version_id)


def test_os_release_wins_over_older_files(tmp_path: Path) -> None:
    root = make_layout(
        tmp_path / "img",
        [{"etc/debian_version": b"12.4\n", "etc/os-release": b"ID=ubuntu\nVERSION_ID=22.04\n"}],
    )
    dist = Indexer().index(OCILayoutSource(root, "test")).distribution
    assert dist is not None and dist.did == "ubuntu"

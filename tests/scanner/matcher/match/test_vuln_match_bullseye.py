"""Debian end to end: a bullseye image from build-test-image.sh in which a few real packages
are set back to their bullseye release versions (written into the image's dpkg database
before packing, as the issue asks; the DSA/DLA snapshot has no bookworm entries). The image is
indexed, matched against the DSA/DLA lists, and the DSA ids are compared with the set derived
from the raw DSA list and the image's dpkg status file with ``dpkg --compare-versions``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.sources import open_source
from stockade.scanner.matcher.match import Matcher, OsStatus
from stockade.scanner.matcher.sources import make_updater

REPO = Path(__file__).resolve().parents[4]
SHARED = REPO / ".." / "shared"
DSA_LIST = SHARED / "vulndata" / "debian-security-tracker" / "data" / "DSA" / "list"
BUILD_SCRIPT = SHARED / "tools" / "build-test-image.sh"

#: binary package -> an older real bullseye version (the release's own), fixed by a later DSA
DOWNGRADE = {
    "gzip": "1.10-4",
    "zlib1g": "1:1.2.11.dfsg-2",
    "liblzma5": "5.2.5-2",
    "dpkg": "1.20.9",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is the reference comparator"),
]


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def _field(paragraph: str, name: str) -> str:
    m = re.search(rf"^{name}: (.*)$", paragraph, re.M)
    return m.group(1).strip() if m else ""


def _downgrade(status: Path) -> None:
    out = []
    for original in _paragraphs(status.read_text()):
        para = original
        pkg = _field(para, "Package")
        if pkg in DOWNGRADE:
            para = re.sub(r"^Version: .*$", f"Version: {DOWNGRADE[pkg]}", para, flags=re.M)
            # a Source field carrying its own version would otherwise keep the newer one
            para = re.sub(r"^(Source: \S+) \(.*\)$", r"\1", para, flags=re.M)
        out.append(para.strip("\n"))
    status.write_text("\n\n".join(out) + "\n")


@pytest.fixture(scope="module")
def image_dir() -> Path:
    if not BUILD_SCRIPT.exists():
        pytest.skip("build-test-image.sh is not available")
    digest = hashlib.sha256(BUILD_SCRIPT.read_bytes()).hexdigest()[:12]
    out = REPO / ".cache" / "matcher" / f"bullseye-{digest}"
    marker = out / "downgraded"
    if not marker.exists():
        if shutil.which("debootstrap") is None and os.geteuid() != 0:
            pytest.skip("debootstrap missing; run scripts/system-deps.sh")
        if not (out / "rootfs" / "var/lib/dpkg/status").exists():
            subprocess.run(
                ["bash", str(BUILD_SCRIPT), str(out), "bullseye"],
                check=True,
                timeout=900,
                capture_output=True,
            )
        _downgrade(out / "rootfs" / "var/lib/dpkg/status")
        # packs the edited root filesystem again (debootstrap is skipped when it exists)
        subprocess.run(
            ["bash", str(BUILD_SCRIPT), str(out), "bullseye"],
            check=True,
            timeout=900,
            capture_output=True,
        )
        marker.write_text("\n".join(f"{k} {v}" for k, v in DOWNGRADE.items()) + "\n")
    return out


def _installed_sources(status: Path) -> dict[str, set[str]]:
    """Source package -> versions installed, read from the dpkg status file."""
    out: dict[str, set[str]] = {}
    for para in _paragraphs(status.read_text()):
        if "installed" not in _field(para, "Status"):
            continue
        version = _field(para, "Version")
        src = _field(para, "Source") or _field(para, "Package")
        m = re.match(r"^(\S+)(?: \((.*)\))?$", src)
        assert m is not None
        out.setdefault(m.group(1), set()).add(m.group(2) or version)
    return out


def _expected(installed: dict[str, set[str]]) -> set[str]:
    expected = set()
    current = ""
    for line in DSA_LIST.read_text().splitlines():
        if line.startswith("["):
            current = line.split()[3]
            continue
        m = re.match(r"^\s+\[bullseye\]\s+-\s+(\S+)\s+([^\s<(]\S*)", line)
        if not m or m.group(1) not in installed:
            continue
        for version in installed[m.group(1)]:
            lt = (
                subprocess.run(
                    ["dpkg", "--compare-versions", version, "lt", m.group(2)], check=False
                ).returncode
                == 0
            )
            if lt:
                expected.add(current)
    return expected


def test_bullseye_dsa_findings_exact(image_dir: Path) -> None:
    index = Indexer().index(open_source(f"oci:{image_dir / 'oci'}:test"))
    assert index.distribution is not None and index.distribution.version_codename == "bullseye"
    matcher = Matcher(make_updater("debian-advisories").parse(DSA_LIST.parent.parent))
    report = matcher.match(index)
    assert report.os_status is OsStatus.OK
    installed = _installed_sources(image_dir / "rootfs" / "var/lib/dpkg/status")
    expected = _expected(installed)
    assert {"DSA-5122-1", "DSA-5111-1", "DSA-5218-1", "DSA-5123-1", "DSA-5147-1"} <= expected
    got = {i for f in report.findings for i in f.ids if i.startswith("DSA-")}
    assert got == expected

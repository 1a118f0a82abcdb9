"""End to end on the real test image (../shared/tools/build-test-image.sh): index it, match
it against the shared feeds, and compare with expected sets derived independently from the
raw feed files and the image's own files, with reference comparators: ``packaging`` for PyPI
and node-semver (the copy npm itself uses) for the Node.js security WG advisories.

The image is Debian bookworm, for which the DSA/DLA snapshot has no entries: the report must
say so (``no_data_for_release``) instead of showing the OS packages as clean.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from packaging.version import InvalidVersion, Version

from stockade.model.index_report import PackageKind
from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.sources import open_source
from stockade.scanner.matcher.match import Matcher, OsStatus, ReportStatus, VulnerabilityReport
from stockade.scanner.matcher.sources import make_updater

REPO = Path(__file__).resolve().parents[4]
SHARED = REPO / ".." / "shared"
VULNDATA = SHARED / "vulndata"
BUILD_SCRIPT = SHARED / "tools" / "build-test-image.sh"
NODE_SEMVER = Path("/usr/lib/node_modules/npm/node_modules/semver")  # npm's own node-semver

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def image_dir() -> Path:
    """The built image, cached where the Indexer suite caches it (same script hash)."""
    if not BUILD_SCRIPT.exists():
        pytest.skip("build-test-image.sh is not available")
    digest = hashlib.sha256(BUILD_SCRIPT.read_bytes()).hexdigest()[:12]
    out = REPO / ".cache" / "indexer" / f"test-image-{digest}"
    if not (out / "image.tar").exists():
        if shutil.which("debootstrap") is None and os.geteuid() != 0:
            pytest.skip("debootstrap missing; run scripts/system-deps.sh")
        subprocess.run(["bash", str(BUILD_SCRIPT), str(out)], check=True, timeout=900)
    return out


@pytest.fixture(scope="module")
def report(image_dir: Path) -> VulnerabilityReport:
    index = Indexer().index(open_source(f"oci:{image_dir / 'oci'}:test"))
    records = []
    for name, path in (
        ("osv-pypi", VULNDATA / "osv-pypi" / "vulns"),
        ("nodejs-wg", VULNDATA / "nodejs-security-wg" / "vuln"),
        ("debian-advisories", VULNDATA / "debian-security-tracker" / "data"),
    ):
        records.extend(make_updater(name).parse(path))
    result = Matcher(records).match(index)
    assert any(p.kind is PackageKind.OS for p in index.packages)
    return result


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _image_pypi(image_dir: Path) -> dict[str, str]:
    """Name -> version from the dist-info METADATA files in the image's app layer."""
    out = {}
    for meta in (image_dir / "app" / "app" / "py" / "site-packages").glob("*.dist-info/METADATA"):
        fields = dict(line.split(": ", 1) for line in meta.read_text().splitlines() if ": " in line)
        out[_norm(fields["Name"])] = fields["Version"]
    return out


def _pypi_expected(installed: dict[str, str]) -> set[str]:
    root = VULNDATA / "osv-pypi" / "vulns"
    expected = set()
    for d in (d for d in root.iterdir() if _norm(d.name) in installed):
        for file in d.glob("*.yaml"):
            doc = yaml.load(file.read_text(), Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
            for aff in doc.get("affected", []):
                name = _norm(aff["package"]["name"])
                if name not in installed:
                    continue
                v = Version(installed[name])
                hit = installed[name] in aff.get("versions", [])
                for rng in aff.get("ranges", []):
                    if rng["type"] != "ECOSYSTEM":  # GIT ranges name commits
                        continue
                    state = False
                    for ev in rng["events"]:
                        try:
                            if "introduced" in ev:
                                state = (
                                    state
                                    or ev["introduced"] == "0"
                                    or v >= Version(ev["introduced"])
                                )
                            elif "fixed" in ev and v >= Version(ev["fixed"]):
                                state = False
                        except InvalidVersion:
                            continue
                    hit = hit or state
                if hit:
                    expected.add(doc["id"])
    return expected


def test_pypi_findings_exact(report: VulnerabilityReport, image_dir: Path) -> None:
    installed = _image_pypi(image_dir)
    assert installed == {
        "requests": "2.25.1",
        "urllib3": "1.26.4",
        "jinja2": "2.11.2",
        "pyyaml": "5.3.1",
    }
    got = {i for f in report.findings for i in f.ids if i.startswith("PYSEC-")}
    assert got == _pypi_expected(installed)
    assert {
        "PYSEC-2023-74",
        "PYSEC-2021-108",
        "PYSEC-2023-192",
        "PYSEC-2023-212",
        "PYSEC-2021-66",
    } <= got


@pytest.mark.skipif(
    shutil.which("node") is None or not NODE_SEMVER.exists(),
    reason="node-semver (npm's copy) is the reference for npm ranges",
)
def test_npm_findings_exact(report: VulnerabilityReport, image_dir: Path) -> None:
    installed = {}
    for pkg_json in (image_dir / "app/app/node/node_modules").glob("*/package.json"):
        doc = json.loads(pkg_json.read_text())
        installed[doc["name"]] = doc["version"]
    advisories = []
    for file in (VULNDATA / "nodejs-security-wg/vuln/npm").glob("*.json"):
        doc = json.loads(file.read_text())
        if doc.get("module_name") in installed:
            advisories.append(
                {
                    "id": f"NSWG-ECO-{doc['id']}",
                    "version": installed[doc["module_name"]],
                    "vulnerable": doc["vulnerable_versions"],
                    "patched": doc.get("patched_versions") or "<0.0.0",
                }
            )
    script = (
        f"const semver = require({json.dumps(str(NODE_SEMVER))});"
        "const items = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(items.filter(a => semver.satisfies(a.version, a.vulnerable)"
        " && !semver.satisfies(a.version, a.patched)).map(a => a.id)));"
    )
    out = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(advisories),
        text=True,
        capture_output=True,
        check=True,
        timeout=60,
    )
    expected = set(json.loads(out.stdout))
    assert expected, "lodash 4.17.15 lies in a published vulnerable range"
    got = {i for f in report.findings for i in f.ids if i.startswith("NSWG-")}
    assert got == expected


def test_bookworm_os_packages_are_not_called_clean(report: VulnerabilityReport) -> None:
    assert report.status is ReportStatus.OK
    assert (report.distribution, report.release) == ("debian", "bookworm")
    assert report.os_status is OsStatus.NO_DATA_FOR_RELEASE
    assert any("no vulnerability data for debian bookworm" in n for n in report.notes)

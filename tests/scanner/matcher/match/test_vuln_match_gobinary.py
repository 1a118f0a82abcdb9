"""A real Go binary (built here from a two-line program with the machine's Go toolchain, so
its standard library is that toolchain's version) read by the Indexer's Go analyser and
matched against the Go vulnerability feed; the expected set is derived from the raw OSV files
with golang.org/x/mod/semver (Debian's golang-golang-x-mod-dev) as the comparator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stockade.model.index_report import IndexReport
from stockade.scanner.indexer.analysers.golang import GoAnalyser
from stockade.scanner.matcher.match import Matcher
from stockade.scanner.matcher.sources import make_updater

REPO = Path(__file__).resolve().parents[4]
OSV_GO = REPO / ".." / "shared" / "vulndata" / "osv-go" / "data" / "osv"
CACHE = REPO / ".cache" / "matcher" / "go"
PEER = REPO / "tests" / "scanner" / "matcher" / "versions" / "peers" / "gosemver" / "main.go"
GO_X_MOD = Path("/usr/share/gocode")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("go") is None or not (GO_X_MOD / "src/golang.org/x/mod").exists(),
        reason="needs the Go toolchain and golang-golang-x-mod-dev",
    ),
]

PROGRAM = 'package main\n\nimport (\n\t"fmt"\n\t"net/http"\n)\n\nfunc main() { fmt.Println(http.StatusOK) }\n'


def _go_build(source: Path, out: Path, gopath: Path) -> None:
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(gopath),
        "CGO_ENABLED": "0",
        "GOCACHE": str(CACHE / "gocache"),
        "GOFLAGS": "",
    }
    subprocess.run(
        ["go", "build", "-o", str(out), str(source)],
        check=True,
        env=env,
        timeout=300,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def binary() -> Path:
    out = CACHE / "hello"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / "hello.go").write_text(PROGRAM)
        _go_build(CACHE / "hello.go", out, CACHE / "gopath")
    return out


@pytest.fixture(scope="module")
def semver_cmp() -> Path:
    out = CACHE / "gosemver"
    if not out.exists() or out.stat().st_mtime < PEER.stat().st_mtime:
        CACHE.mkdir(parents=True, exist_ok=True)
        _go_build(PEER, out, GO_X_MOD)
    return out


def _expected(go_version: str, peer: Path) -> set[str]:
    """Advisory ids whose stdlib ranges hold ``go_version``, compared by x/mod/semver."""
    version = "v" + go_version.removeprefix("go")
    docs = []
    for file in OSV_GO.glob("*.json"):
        doc = json.loads(file.read_text())
        for aff in doc.get("affected", []):
            if aff["package"]["name"] == "stdlib":
                docs.append((doc["id"], aff.get("ranges", [])))
    queries = sorted(
        {
            ev_version
            for _, ranges in docs
            for rng in ranges
            if rng["type"] == "SEMVER"
            for ev in rng["events"]
            for ev_version in ev.values()
            if ev_version != "0"
        }
    )
    answers = subprocess.run(
        [str(peer)],
        input="".join(f"cmp\t{version}\tv{q}\n" for q in queries),
        text=True,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.split()
    cmp = dict(zip(queries, (int(a) for a in answers), strict=True))
    expected = set()
    for vid, ranges in docs:
        for rng in ranges:
            if rng["type"] != "SEMVER":
                continue
            affected = False
            for ev in rng["events"]:
                ((kind, at),) = ev.items()
                if kind == "introduced":
                    affected = affected or at == "0" or cmp[at] >= 0
                elif (kind == "fixed" and cmp[at] >= 0) or (
                    kind == "last_affected" and cmp[at] > 0
                ):
                    affected = False
            if affected:
                expected.add(vid)
    return expected


def test_go_binary_stdlib_findings_exact(binary: Path, semver_cmp: Path) -> None:
    packages = GoAnalyser().parse("usr/local/bin/hello", binary.read_bytes())
    stdlib = next(p for p in packages if p.name == "stdlib")
    report = Matcher(make_updater("osv-go").parse(OSV_GO)).match(
        IndexReport(manifest_digest="sha256:go", packages=tuple(packages))
    )
    got = {f.id for f in report.findings if f.package == "stdlib"}
    expected = _expected(stdlib.version, semver_cmp)
    assert len(expected) > 10, f"{stdlib.version} is old enough for many stdlib advisories"
    assert got == expected

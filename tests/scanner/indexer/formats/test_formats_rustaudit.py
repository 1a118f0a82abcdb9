"""cargo-auditable reader: an ELF with a .dep-v0 section added by objcopy (make_fixtures.sh;
Debian ships no cargo-auditable), plus payloads built in the test."""

from __future__ import annotations

import json
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from stockade.scanner.indexer.format_errors import FormatLimitError, RustAuditError
from stockade.scanner.indexer.rustaudit import RustCrate, parse_dep_v0, read_rust_audit

from ._paths import FIXTURES

RUST = FIXTURES / "rust"
BINARY = RUST / "auditable-linux-amd64"


def test_matches_embedded_json() -> None:
    want = json.loads((RUST / "auditable-linux-amd64.want.json").read_text())["packages"]
    info = read_rust_audit(BINARY)
    assert info is not None
    assert info.executable_format == "elf"
    assert [(c.name, c.version, c.source) for c in info.crates] == [
        (p["name"], p["version"], p["source"]) for p in want
    ]
    root = info.crates[0]
    assert root == RustCrate("stockade-fixture", "0.3.1", "local", "runtime", True, (1, 2, 4))
    assert [c.name for c in info.dependencies_of(root)] == ["serde", "regex", "private-helper"]
    assert info.crates[3].kind == "build"


@pytest.mark.skipif(shutil.which("objdump") is None, reason="binutils is not installed")
def test_section_is_what_objdump_sees() -> None:
    out = subprocess.run(
        ["objdump", "-h", str(BINARY)], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert ".dep-v0" in out


def test_binaries_without_the_section_give_none() -> None:
    assert read_rust_audit(FIXTURES / "go" / "hello-linux-amd64") is None
    assert read_rust_audit(b"plain text") is None


def _z(doc: object) -> bytes:
    return zlib.compress(json.dumps(doc).encode())


def test_defaults_for_optional_fields() -> None:
    crates = parse_dep_v0(_z({"packages": [{"name": "a", "version": "1.0.0"}]}))
    assert crates == (RustCrate("a", "1.0.0", "crates.io", "runtime", False, ()),)


@pytest.mark.parametrize(
    "payload",
    [
        b"not zlib",
        zlib.compress(b"{not json"),
        _z([1, 2]),
        _z({"packages": "x"}),
        _z({"packages": [1]}),
        _z({"packages": [{"name": "a"}]}),
        _z({"packages": [{"name": "a", "version": "1", "dependencies": [5]}]}),
        _z({"packages": [{"name": "a", "version": "1", "dependencies": [True]}]}),
        _z({"packages": [{"name": "a", "version": "1", "kind": "dev"}]}),
        zlib.compress(b"[" * 100_000 + b"]" * 100_000),
    ],
)
def test_malformed_payloads_raise_rust_audit_error(payload: bytes) -> None:
    with pytest.raises(RustAuditError):
        parse_dep_v0(payload)


def test_inflation_bomb_is_refused() -> None:
    bomb = zlib.compress(b'{"packages": [' + b" " * (16 << 20) + b"]}", 9)
    assert len(bomb) < 100_000
    with pytest.raises(FormatLimitError):
        parse_dep_v0(bomb)


def test_damaged_section_in_the_binary(tmp_path: Path) -> None:
    data = bytearray(BINARY.read_bytes())
    compressed = zlib.compress(
        (RUST / "auditable-linux-amd64.want.json").read_bytes(), 9
    )  # the payload make_fixtures.sh embedded
    at = data.find(compressed)
    assert at > 0
    data[at + 10 : at + 20] = b"\0" * 10
    with pytest.raises(RustAuditError):
        read_rust_audit(bytes(data))

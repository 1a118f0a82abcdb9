"""Go build information against `go version -m` on binaries built by Debian's Go toolchain."""

from __future__ import annotations

import ast
import io
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from stockade.scanner.indexer.format_errors import ExecutableError, FormatError, GoBuildInfoError
from stockade.scanner.indexer.gobinary import (
    GoBuildInfo,
    GoBuildSetting,
    GoModule,
    parse_modinfo,
    read_go_buildinfo,
)

from ._paths import FIXTURES

GO = FIXTURES / "go"
BINARIES = sorted(p.name for p in GO.iterdir() if not p.name.endswith(".txt"))
FORMATS = {
    "hello-darwin-arm64": "macho",
    "hello-linux-386": "elf",
    "hello-linux-amd64": "elf",
    "hello-windows-amd64.exe": "pe",
    "old-layout-linux-386": "elf",
    "old-layout-linux-amd64": "elf",
}


def _golden(text: str) -> tuple[str, list[list[str]]]:
    """`go version -m` output: the Go version and the tab-separated fields of each line."""
    first, *rest = text.splitlines()
    version = first.rsplit(": ", 1)[1]
    return version, [line[1:].split("\t") for line in rest if line.strip()]


def _flatten(info: GoBuildInfo) -> list[list[str]]:
    rows = [["path", info.path]]

    def mod(kind: str, m: GoModule) -> None:
        rows.append([kind, m.path, m.version, m.sum] if m.sum or kind == "mod" else
                    [kind, m.path, m.version])  # fmt: skip
        if m.replace is not None:
            r = m.replace
            rows.append(["=>", r.path, r.version, r.sum])

    if info.main is not None:
        mod("mod", info.main)
    for d in info.deps:
        mod("dep", d)
    for s in info.settings:
        rows.append(["build", f"{s.key}={s.value}"])
    return rows


def _normalise_golden(rows: list[list[str]]) -> list[list[str]]:
    out = []
    for row in rows:
        if row[0] == "build":
            key, _, value = row[1].partition("=")
            if value.startswith('"'):
                value = ast.literal_eval(value)
            out.append(["build", f"{key}={value}"])
        else:
            out.append(row)
    return out


def test_every_executable_format_is_covered() -> None:
    assert sorted(FORMATS) == BINARIES
    for name in BINARIES:
        assert (GO / name).stat().st_size < 2 * 1024 * 1024


@pytest.mark.parametrize("name", BINARIES)
def test_matches_go_version_m_golden(name: str) -> None:
    info = read_go_buildinfo(GO / name)
    assert info is not None
    version, rows = _golden((GO / f"{name}.want.txt").read_text())
    assert info.go_version == version
    assert _flatten(info) == _normalise_golden(rows)
    assert info.executable_format == FORMATS[name]
    assert info.pointer_format == name.startswith("old-layout")


@pytest.mark.skipif(shutil.which("go") is None, reason="Debian's golang-go is not installed")
@pytest.mark.parametrize("name", BINARIES)
def test_golden_is_what_go_version_m_prints_now(name: str) -> None:
    out = subprocess.run(
        ["go", "version", "-m", str(GO / name)], capture_output=True, text=True, check=True,
        timeout=60,
    ).stdout  # fmt: skip
    assert _golden(out) == _golden((GO / f"{name}.want.txt").read_text())


def test_fields_of_the_fixture_program() -> None:
    info = read_go_buildinfo((GO / "hello-linux-386").read_bytes())
    assert info is not None
    assert info.main == GoModule("example.org/stockade/hello", "(devel)", "")
    assert info.deps == (
        GoModule("example.org/stockade/greeting", "v1.2.3", "", GoModule("../lib", "(devel)", "")),
    )
    assert info.setting("-ldflags") == "-s -w -X main.unused=1"
    assert info.setting("-tags") == "stockade,fixture"
    assert info.setting("GOARCH") == "386"
    assert info.setting("missing") is None


def test_open_file_objects_are_accepted() -> None:
    with (GO / "hello-windows-amd64.exe").open("rb") as fh:
        assert read_go_buildinfo(fh) == read_go_buildinfo(GO / "hello-windows-amd64.exe")
    data = (GO / "hello-darwin-arm64").read_bytes()
    assert read_go_buildinfo(io.BytesIO(data)) == read_go_buildinfo(data)


def test_non_go_inputs_give_none() -> None:
    assert read_go_buildinfo(FIXTURES / "rust" / "auditable-linux-amd64") is None  # C ELF
    assert read_go_buildinfo(b"") is None
    assert read_go_buildinfo(b"#!/bin/sh\necho hi\n") is None
    assert read_go_buildinfo(b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\0" * 64) is None  # class


def test_missing_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(ExecutableError):
        read_go_buildinfo(tmp_path / "absent")


def test_pointer_layout_pointing_outside_is_an_error() -> None:
    data = bytearray((GO / "old-layout-linux-amd64").read_bytes())
    at = data.find(b"\xff Go buildinf:")
    struct.pack_into("<Q", data, at + 16, 0xDEAD_BEEF_0000)
    with pytest.raises(GoBuildInfoError):
        read_go_buildinfo(bytes(data))


def test_inline_layout_with_oversized_length_is_an_error() -> None:
    data = bytearray((GO / "hello-linux-amd64").read_bytes())
    at = data.find(b"\xff Go buildinf:")
    data[at + 32 : at + 37] = b"\xff\xff\xff\xff\x0f"  # a 4 GiB version string
    with pytest.raises(GoBuildInfoError):
        read_go_buildinfo(bytes(data))


def test_truncated_binaries_never_raise_untyped_errors() -> None:
    data = (GO / "hello-linux-amd64").read_bytes()
    for cut in (4, 20, 63, 64, 100, 4096, len(data) // 2, len(data) - 10):
        try:
            read_go_buildinfo(data[:cut])
        except FormatError:
            pass


def test_parse_modinfo_edge_cases() -> None:
    text = "\n".join(
        [
            "path\tcmd/tool",
            "mod\tcmd/tool\tv1.0.0\th1:abc=",
            "=>\t./local\t\t",
            "dep\tgolang.org/x/text\tv0.3.7\th1:def=",
            "dep\tgithub.com/a/b\tv1.2.0",
            "=>\tgithub.com/fork/b\tv1.2.1\th1:ghi=",
            'build\t-gcflags="all=-N -l"',
            'build\t"odd key"=plain',
            "build\tvcs.revision=0123abcd",
            "build\tno-equals-sign",
            "something\tunknown",
            "=>\tdangling\tv0",
        ]
    )
    path, main, deps, settings = parse_modinfo(text)
    assert path == "cmd/tool"
    assert main == GoModule("cmd/tool", "v1.0.0", "h1:abc=", GoModule("./local", "", ""))
    assert deps == (
        GoModule("golang.org/x/text", "v0.3.7", "h1:def="),
        GoModule(
            "github.com/a/b", "v1.2.0", "", GoModule("github.com/fork/b", "v1.2.1", "h1:ghi=")
        ),
    )
    assert settings == (
        GoBuildSetting("-gcflags", "all=-N -l"),
        GoBuildSetting("odd key", "plain"),
        GoBuildSetting("vcs.revision", "0123abcd"),
    )


def test_universal_mach_o_reads_its_first_slice() -> None:
    thin = (GO / "hello-darwin-arm64").read_bytes()
    offset = 1 << 14
    fat = struct.pack(">II", 0xCAFEBABE, 1) + struct.pack(">iiIII", 0x0100000C, 0, offset,
                                                           len(thin), 14)  # fmt: skip
    fat += b"\0" * (offset - len(fat)) + thin
    info = read_go_buildinfo(fat)
    assert info is not None
    assert info == read_go_buildinfo(thin)
    with pytest.raises(ExecutableError):
        read_go_buildinfo(fat[: offset + 100])


def test_elf_without_section_table_is_searched_by_segment() -> None:
    data = bytearray((GO / "hello-linux-amd64").read_bytes())
    struct.pack_into("<Q", data, 40, 0)  # e_shoff
    struct.pack_into("<HHH", data, 58, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
    assert read_go_buildinfo(bytes(data)) == read_go_buildinfo(GO / "hello-linux-amd64")

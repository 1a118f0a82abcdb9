"""rpm database readers against databases written by real rpm (see make_fixtures.sh)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sqlite3
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from stockade.scanner.indexer.format_errors import (
    FormatError,
    FormatLimitError,
    RpmDatabaseError,
    RpmHeaderError,
)
from stockade.scanner.indexer.rpmdb import (
    detect_format,
    parse_header,
    read_bdb,
    read_ndb,
    read_rpmdb,
    read_sqlite,
)

from ._paths import FIXTURES

RPM = FIXTURES / "rpm"
DATABASES = sorted(p.name for p in RPM.iterdir() if not p.name.endswith(".json"))
QF = (
    "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{VENDOR}\\t"
    "%{LICENSE}\\t%{MODULARITYLABEL}\\t[%{FILENAMES}|]\\n"
)


def _as_golden(packages: list[Any]) -> list[dict[str, Any]]:
    out = []
    for p in packages:
        d = dataclasses.asdict(p)
        d["files"] = list(d["files"])
        out.append(d)
    return sorted(out, key=lambda p: (p["name"], p["version"], p["release"], p["arch"]))


def test_fixture_set_covers_every_backend() -> None:
    kinds = {detect_format((RPM / name).read_bytes()) for name in DATABASES}
    assert kinds == {"sqlite", "bdb", "ndb"}


@pytest.mark.parametrize("name", DATABASES)
def test_database_matches_rpm_qa_golden(name: str) -> None:
    want = json.loads((RPM / f"{name}.want.json").read_text())
    got = read_rpmdb(RPM / name)
    assert detect_format((RPM / name).read_bytes()) == want["format"]
    assert _as_golden(got) == want["packages"]
    assert len(got) == 6


@pytest.mark.parametrize("name", DATABASES)
def test_bytes_and_path_give_the_same_packages(name: str) -> None:
    assert read_rpmdb((RPM / name).read_bytes()) == read_rpmdb(RPM / name)


def test_fields_of_a_modular_package_with_epoch() -> None:
    pkgs = {p.name: p for p in read_rpmdb(RPM / "rpmdb.sqlite")}
    perl = pkgs["perl-Thing"]
    assert perl.epoch == 4
    assert perl.evr == "4:1.30-1.module_el8.5.0+1"
    assert perl.nevra == "perl-Thing-4:1.30-1.module_el8.5.0+1.noarch"
    assert perl.modularity_label == "perl:5.30:8050020211112:b6a9a5d1"
    assert perl.source_rpm == "perl-Thing-1.30-1.module_el8.5.0+1.src.rpm"
    assert perl.vendor == "Red Hat, Inc."
    assert perl.license == "GPL+ or Artistic"
    assert pkgs["meta-empty"].files == ()
    assert pkgs["meta-empty"].epoch is None
    assert len(pkgs["bigfiles"].files) == 200 + 3  # the files, the binary, two directories
    assert read_rpmdb(RPM / "rpmdb.sqlite", with_files=False)[0].files == ()


def test_per_format_functions_and_directory_detection(tmp_path: Path) -> None:
    assert read_sqlite(RPM / "rpmdb.sqlite") == read_rpmdb(RPM / "rpmdb.sqlite")
    assert read_ndb(RPM / "Packages.db") == read_rpmdb(RPM / "Packages.db")
    assert read_bdb(RPM / "Packages-bdb-4096-1234") == read_rpmdb(RPM / "Packages-bdb-4096-1234")
    for src, dst in (("rpmdb.sqlite", "rpmdb.sqlite"), ("Packages.db", "Packages.db"),
                     ("Packages-bdb-512-1234", "Packages")):  # fmt: skip
        d = tmp_path / dst
        d.mkdir()
        shutil.copy(RPM / src, d / dst)
        assert read_rpmdb(d) == read_rpmdb(RPM / src)
    with pytest.raises(RpmDatabaseError):
        read_rpmdb(tmp_path / "rpmdb.sqlite" / "..")  # a directory with no database in it
    with pytest.raises(RpmDatabaseError):
        read_rpmdb(b"definitely not a database")


def _bdb_value_kinds(data: bytes) -> set[int]:
    order = "<" if struct.unpack_from("<I", data, 12)[0] == 0x061561 else ">"
    page_size = struct.unpack_from(order + "I", data, 20)[0]
    kinds = set()
    for pg in range(1, len(data) // page_size):
        base = pg * page_size
        if data[base + 25] in (2, 13):
            n = struct.unpack_from(order + "H", data, base + 20)[0]
            offs = struct.unpack_from(f"{order}{n}H", data, base + 26)
            kinds |= {data[base + offs[i]] for i in range(1, n, 2)}
    return kinds


def test_bdb_fixtures_exercise_inline_and_overflow_values() -> None:
    assert _bdb_value_kinds((RPM / "Packages-bdb-16384-1234").read_bytes()) == {1, 3}
    assert _bdb_value_kinds((RPM / "Packages-bdb-512-1234").read_bytes()) == {3}
    assert _bdb_value_kinds((RPM / "Packages-bdb-4096-4321").read_bytes()) == {3}


@pytest.mark.skipif(shutil.which("rpm") is None, reason="Debian's rpm is not installed")
@pytest.mark.parametrize(
    ("name", "backend"),
    [("rpmdb.sqlite", "sqlite"), ("Packages-bdb-4096-1234", "bdb_ro"),
     ("Packages-bdb-4096-4321", "bdb_ro"), ("Packages-bdb-16384-1234", "bdb_ro")],
)  # fmt: skip
def test_live_rpm_reads_the_same_packages(name: str, backend: str, tmp_path: Path) -> None:
    target = "rpmdb.sqlite" if backend == "sqlite" else "Packages"
    shutil.copy(RPM / name, tmp_path / target)
    out = subprocess.run(
        ["rpm", "--define", f"_db_backend {backend}", "--dbpath", str(tmp_path), "-qa",
         "--qf", "%{NAME}|%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}|%{SOURCERPM}\\n"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    want = sorted(out.splitlines())
    got = sorted(
        f"{p.name}|{p.epoch or 0}:{p.version}-{p.release}.{p.arch}|{p.source_rpm}"
        for p in read_rpmdb(RPM / name)
    )
    assert got == want


# --- malformed input --------------------------------------------------------------------


def _header(entries: list[tuple[int, int, int, int]], data: bytes) -> bytes:
    head = struct.pack(">ii", len(entries), len(data))
    return head + b"".join(struct.pack(">iIiI", *e) for e in entries) + data


def test_header_parsing_by_hand() -> None:
    data = b"name\x001.0\x002\x00x86_64\x00"
    blob = _header([(1000, 6, 0, 1), (1001, 6, 5, 1), (1002, 6, 9, 1), (1022, 6, 11, 1)], data)
    pkg = parse_header(blob)
    assert (pkg.name, pkg.version, pkg.release, pkg.arch, pkg.epoch) == (
        "name", "1.0", "2", "x86_64", None,
    )  # fmt: skip
    # The same blob with the 8-byte header magic in front reads the same.
    assert parse_header(b"\x8e\xad\xe8\x01\0\0\0\0" + blob) == pkg
    # A later ("dribble") entry replaces an earlier one of the same tag, as in rpm.
    data2 = data + b"renamed\0"
    blob2 = _header([(1000, 6, 0, 1), (1001, 6, 5, 1), (1000, 6, len(data), 1)], data2)
    assert parse_header(blob2).name == "renamed"


@pytest.mark.parametrize(
    ("blob", "error"),
    [
        (b"\0\0\0", RpmHeaderError),
        (struct.pack(">ii", 0x7FFFFFFF, 0), FormatLimitError),
        (struct.pack(">ii", 1, 0x7FFFFFFF), FormatLimitError),
        (struct.pack(">ii", 2, 10) + b"\0" * 16, RpmHeaderError),  # shorter than declared
        (_header([(1000, 6, 0, 1)], b"unterminated"), RpmHeaderError),
        (_header([(1000, 6, 50, 1)], b"x\0"), RpmHeaderError),
        (_header([(1000, 6, 0, 1), (1003, 4, 0, 0x40000000)], b"x\0"), RpmHeaderError),
        (_header([(1000, 77, 0, 1)], b"x\0"), RpmHeaderError),
        (_header([(1001, 6, 0, 1)], b"1.0\0"), RpmHeaderError),  # no name
        (
            _header([(1000, 6, 0, 1), (1117, 8, 0, 1), (1116, 4, 4, 2)], b"x\0\0\0\0\0\0\0\0\0"),
            RpmHeaderError,
        ),
    ],
)
def test_malformed_headers_raise_typed_errors(blob: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_header(blob)


def test_ndb_checksum_and_slot_damage_are_detected() -> None:
    data = bytearray((RPM / "Packages.db").read_bytes())
    # Find the first blob and flip one byte of its payload: the Adler-32 no longer matches.
    blkoff = struct.unpack_from("<I", data, 32 + 8)[0]
    data[blkoff * 16 + 40] ^= 0xFF
    with pytest.raises(RpmDatabaseError, match="checksum"):
        read_rpmdb(bytes(data))
    data = bytearray((RPM / "Packages.db").read_bytes())
    struct.pack_into("<I", data, 32 + 8, 0xFFFFFF)  # first slot points past the end
    with pytest.raises(RpmDatabaseError):
        read_rpmdb(bytes(data))
    data = bytearray((RPM / "Packages.db").read_bytes())
    struct.pack_into("<I", data, 12, 100_000)  # slot pages
    with pytest.raises(FormatLimitError):
        read_rpmdb(bytes(data))


def test_bdb_overflow_loop_is_detected() -> None:
    data = bytearray((RPM / "Packages-bdb-512-1234").read_bytes())
    page_size = 512
    # Point every overflow page's "next" at itself: a reader that follows chains blindly
    # would never finish.
    for pg in range(1, len(data) // page_size):
        base = pg * page_size
        if data[base + 25] == 7:
            struct.pack_into("<I", data, base + 16, pg)
    with pytest.raises(RpmDatabaseError, match="overflow chain"):
        read_rpmdb(bytes(data))


def test_bdb_rejects_encrypted_and_bad_page_size() -> None:
    data = bytearray((RPM / "Packages-bdb-4096-1234").read_bytes())
    data[24] = 1
    with pytest.raises(RpmDatabaseError, match="encrypted"):
        read_rpmdb(bytes(data))
    data = bytearray((RPM / "Packages-bdb-4096-1234").read_bytes())
    struct.pack_into("<I", data, 20, 1000)
    with pytest.raises(RpmDatabaseError, match="page size"):
        read_rpmdb(bytes(data))


def test_sqlite_without_packages_table_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "rpmdb.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE Other (x)")
    conn.close()
    with pytest.raises(RpmDatabaseError):
        read_rpmdb(path)
    # A truncated real database: a typed error, whatever page the cut lands on.
    data = (RPM / "rpmdb.sqlite").read_bytes()
    for cut in (100, 4096, 50_000):
        with contextlib.suppress(FormatError):
            read_rpmdb(data[:cut])


def test_zlib_is_the_ndb_checksum() -> None:
    # rpm's Adler-32 starts at 1 like zlib's: the first blob of the fixture verifies with it.
    data = (RPM / "Packages.db").read_bytes()
    blkoff, blkcnt = struct.unpack_from("<II", data, 32 + 8)
    start, end = blkoff * 16, (blkoff + blkcnt) * 16
    assert zlib.adler32(data[start : end - 12]) == struct.unpack_from("<I", data, end - 12)[0]


def test_skip_bad_headers_keeps_the_good_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rpmdb.sqlite"
    shutil.copy(RPM / "rpmdb.sqlite", path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE Packages SET blob = ? WHERE hnum = 1", (b"\0\0\0\1\0\0\0\0short",))
    conn.close()
    with pytest.raises(RpmHeaderError):
        read_rpmdb(path)
    got = read_rpmdb(path, skip_bad_headers=True)
    assert len(got) == 5
    assert "Skipped 1 malformed rpm header" in caplog.text


def test_records_sharing_pages_cannot_amplify_work() -> None:
    # Point every NDB slot at the first blob: each slot would parse the same bytes again.
    data = bytearray((RPM / "Packages.db").read_bytes())
    first = bytes(data[32:48])
    idx = struct.unpack_from("<I", first, 4)[0]
    for off in range(48, 4096, 16):
        data[off : off + 16] = first
    with pytest.raises(RpmDatabaseError, match="add up"):
        read_rpmdb(bytes(data))
    assert idx > 0

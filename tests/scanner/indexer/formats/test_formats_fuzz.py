"""Mutated real fixtures: every parser returns a result or raises its typed error, quickly.

Mutations are byte overwrites, truncations and insertions, half of them aimed at the places
the parsers read first (file headers, the Go build-info header, slot/page tables), so the
fuzzer spends its budget where the structure is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockade.scanner.indexer.format_errors import FormatError
from stockade.scanner.indexer.gobinary import parse_modinfo, read_go_buildinfo
from stockade.scanner.indexer.javaarchive import (
    parse_filename,
    parse_manifest,
    parse_properties,
    read_java_archive,
)
from stockade.scanner.indexer.rpmdb import parse_header, read_rpmdb
from stockade.scanner.indexer.rustaudit import read_rust_audit

from ._paths import FIXTURES

SECONDS_PER_INPUT = 5.0  # generous: CI shares two cores; a loop would never finish
FUZZ = settings(
    max_examples=60,
    deadline=None,  # measured below, with a bound that tolerates a loaded CI machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)


def _hot_spots(data: bytes) -> list[int]:
    spots = [0, 64, 512, 4096]
    for marker in (
        b"\xff Go buildinf:",
        b".dep-v0",
        b"BlbS",
        b"Slot",
        b"PK\x01\x02",
        b"PK\x05\x06",
    ):
        at = data.find(marker)
        if at >= 0:
            spots.append(at)
    return [s for s in spots if s < len(data)]


def mutated(data: bytes) -> st.SearchStrategy[bytes]:
    return _mutated(data, _hot_spots(data))


@st.composite
def _mutated(draw: st.DrawFn, data: bytes, spots: list[int]) -> bytes:
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 12))):
        if draw(st.booleans()):
            base = draw(st.sampled_from(spots))
            pos = min(len(buf) - 1, base + draw(st.integers(0, 255)))
        else:
            pos = draw(st.integers(0, len(buf) - 1))
        op = draw(st.sampled_from(["set", "set", "set", "insert", "delete"]))
        value = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x01, 0x10])) if draw(
            st.booleans()
        ) else draw(st.integers(0, 255))  # fmt: skip
        if op == "set":
            buf[pos] = value
        elif op == "insert":
            buf[pos:pos] = bytes([value]) * draw(st.integers(1, 16))
        else:
            del buf[pos : pos + draw(st.integers(1, 16))]
    if draw(st.integers(0, 9)) == 0:
        buf = buf[: draw(st.integers(0, len(buf)))]
    return bytes(buf)


def _check(parse: Callable[[bytes], Any], data: bytes) -> None:
    start = time.monotonic()
    try:
        parse(data)
    except FormatError:
        pass
    assert time.monotonic() - start < SECONDS_PER_INPUT


CASES = [
    ("rpm/rpmdb.sqlite", read_rpmdb),
    ("rpm/Packages.db", read_rpmdb),
    ("rpm/Packages-bdb-512-1234", read_rpmdb),
    ("rpm/Packages-bdb-16384-1234", read_rpmdb),
    ("rpm/Packages-bdb-4096-4321", read_rpmdb),
    ("go/hello-linux-amd64", read_go_buildinfo),
    ("go/hello-windows-amd64.exe", read_go_buildinfo),
    ("go/hello-darwin-arm64", read_go_buildinfo),
    ("go/old-layout-linux-amd64", read_go_buildinfo),
    ("go/old-layout-linux-386", read_go_buildinfo),
    ("rust/auditable-linux-amd64", read_rust_audit),
    ("java/store.ear", lambda d: read_java_archive(d, "store.ear")),
    ("java/payments-service-3.2.0.jar", lambda d: read_java_archive(d, "p.jar")),
]


@pytest.mark.slow
@pytest.mark.parametrize(("fixture", "parse"), CASES, ids=[c[0] for c in CASES])
def test_mutated_fixture(fixture: str, parse: Callable[[bytes], Any]) -> None:
    original = (FIXTURES / fixture).read_bytes()

    @FUZZ
    @given(mutated(original))
    def run(data: bytes) -> None:
        _check(parse, data)

    run()


def _first_header_blob() -> bytes:
    data = (FIXTURES / "rpm" / "Packages.db").read_bytes()
    import struct

    blkoff = struct.unpack_from("<I", data, 40)[0]
    length = struct.unpack_from("<I", data, blkoff * 16 + 12)[0]
    return data[blkoff * 16 + 16 : blkoff * 16 + 16 + length]


@settings(max_examples=100, deadline=None, derandomize=True)
@given(mutated(_first_header_blob()))
def test_mutated_header_blob(data: bytes) -> None:
    _check(parse_header, data)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(max_size=2000))
def test_text_parsers_never_raise(text: str) -> None:
    parse_manifest(text)
    parse_properties(text)
    parse_filename(text)
    try:
        parse_modinfo(text)
    except FormatError:
        pass


def test_go_golden_text_round_trips_through_fuzzed_modinfo() -> None:
    # Sanity for the fuzz target above: real module text parses to something non-empty.
    text = (FIXTURES / "go" / "hello-linux-amd64.want.txt").read_text()
    body = "\n".join(line[1:] for line in text.splitlines()[1:])
    path, main, deps, settings_ = parse_modinfo(body)
    assert path and main and deps and settings_
    assert Path(FIXTURES).is_dir()

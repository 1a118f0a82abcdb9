"""Alpine versions: no apk binary runs here, so the checks are (1) every version in the real
Alpine secdb snapshot, (2) a table of orderings between real secdb versions, each derived by
hand from apk-tools' version.c rules (token types, suffix ranks, leading-zero string
comparison), and (3) hypothesis properties that those rules imply for generated versions.
The total-order properties shared by every scheme are in test_version_order.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions import SCHEMES

from .refcheck import reference_settings
from .version_strategies import apk_versions

APK = SCHEMES["apk"]
SHARED = Path(__file__).parents[4] / ".." / "shared"

# Versions in the secdb snapshot that apk-tools itself rejects (a dot before "-r", a
# revision without "r", a letter followed by digits, "-" inside the version): typos in the
# feed. Sources must skip such a record with a message, not crash.
MALFORMED_IN_SECDB = {
    "0.12.5.-r0",
    "0.8.21.r2",
    "1.0.4.-r0",
    "1.11-20-r0",
    "1.18.-r2",
    "1.7.5.-r1",
    "10.2.22.r0",
    "10.2.24.r0",
    "10.2.26.r0",
    "2.15.r-r1",
    "2.7.16-33",
    "4.10-1-r1",
    "4.8.0.-r1",
    "57-1-r2",
    "6.6.2p1-r0",
}


def _secdb_versions() -> set[str]:
    versions: set[str] = set()
    root = SHARED / "vulndata" / "alpine-secdb"
    for path in root.rglob("*.json"):
        data = json.loads(path.read_text())
        for package in data.get("packages", []):
            versions.update(package["pkg"].get("secfixes", {}))
    for path in root.rglob("*.yaml"):
        for line in path.read_text().splitlines():
            match = re.match(r'\s+"?([0-9][^":]*)"?:\s*$', line)
            if match:
                versions.add(match.group(1))
    return versions


def test_every_secdb_version_parses_except_the_known_typos():
    versions = _secdb_versions()
    if not versions:
        pytest.skip("shared Alpine secdb snapshot not present")
    assert len(versions) > 1000
    rejected = {v for v in versions if not APK.is_valid(v)}
    assert rejected == MALFORMED_IN_SECDB
    # Sorting all of them must not fail and must be stable under re-sorting.
    ordered = sorted(versions - rejected, key=APK.key)
    assert sorted(reversed(ordered), key=APK.key) == ordered


@pytest.mark.parametrize(
    ("a", "b", "expected", "why"),
    [
        ("1.0.0_rc6-r1", "1.0.0_rc7", -1, "suffix numbers compare as numbers"),
        ("1.0.0_rc9", "1.0.0", -1, "a pre-release suffix sorts before the release"),
        ("1.6_rc2-r6", "1.6-r0", -1, "pre-release before revision"),
        ("0.99_beta19-r3", "0.100.1-r0", -1, "99 < 100 numerically"),
        ("1.0.2h-r4", "1.0.2i-r0", -1, "letters compare by character"),
        ("1.0.2t-r0", "1.1.1a-r0", -1, "numbers before letters decide"),
        ("0.15.1b-r9", "0.15.1-r9", 1, "a letter outranks the revision token"),
        ("7.5_p1-r0", "7.5-r0", 1, "_p is a post-release suffix"),
        ("1.8.20_p2-r0", "1.8.20-r5", 1, "post-release suffix beats any revision"),
        ("7.5_p1-r9", "7.5_p1-r10", -1, "revisions compare as numbers"),
        ("6.0_p20171125-r1", "6.1_p20180414-r0", -1, "6.0 < 6.1 first"),
        ("0.06-r0", "0.6-r0", -1, "leading zero: '06' < '6' as strings"),
        ("0.5.3.20180125-r0", "0.5.3-r0", 1, "another number outranks the revision"),
        ("0.60.6.1-r13", "0.60.6.1-r14", -1, "revision"),
        ("2.0.0_rc4-r0", "2.0.0_rc4-r0", 0, "equal"),
        ("1.2.3_alpha", "1.2.3_beta", -1, "alpha < beta"),
        ("1.2.3_rc1", "1.2.3_cvs1", -1, "pre-release < post-release"),
        ("1.2.3~abc", "1.2.3-r0", 1, "a commit hash outranks the revision token"),
    ],
)
def test_orderings_of_real_versions(a, b, expected, why):
    assert APK.compare(a, b) == expected, why
    assert APK.compare(b, a) == -expected, why


_PRE = ["alpha", "beta", "pre", "rc"]
_POST = ["cvs", "svn", "git", "hg", "p"]
_base = st.lists(st.integers(0, 30), min_size=1, max_size=4).map(lambda p: ".".join(map(str, p)))


@reference_settings(200)
@given(_base, st.integers(0, 20))
def test_suffix_and_revision_ranks(base, n):
    chain = [f"{base}_{s}{n}" for s in _PRE] + [base] + [f"{base}_{s}{n}" for s in _POST]
    assert sorted(chain, key=APK.key) == chain
    assert APK.compare(f"{base}-r{n}", f"{base}-r{n + 1}") == -1
    assert APK.compare(base, f"{base}-r{n}") == -1
    assert APK.compare(f"{base}.{n + 1}", f"{base}a") == 1


@reference_settings(200)
@given(st.integers(1, 10**6), st.integers(1, 10**6))
def test_numbers_without_leading_zeros_compare_numerically(x, y):
    assert APK.compare(f"1.{x}", f"1.{y}") == (x > y) - (x < y)
    assert APK.compare(f"{x}", f"{y}") == (x > y) - (x < y)


@reference_settings(200)
@given(apk_versions())
def test_generated_versions_are_valid_and_keys_are_cached(version):
    assert APK.is_valid(version)
    assert APK.key(version) is APK.key(version)


@pytest.mark.parametrize(
    "bad", ["", "a1", "1.2.", "1..2", "1.2_foo", "1.2-1", "1.2a1", "1_p.1", "1~XYZ"]
)
def test_invalid_versions_raise(bad):
    with pytest.raises(InvalidVersionError):
        APK.key(bad)

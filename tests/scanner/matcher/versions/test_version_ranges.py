"""Range logic shared by all schemes: OSV events and comparator lists."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from stockade.core.errors import StockadeError
from stockade.scanner.matcher.errors import InvalidRangeError, InvalidVersionError, MatcherError
from stockade.scanner.matcher.versions import (
    SCHEMES,
    OsvEvent,
    comparators_satisfied,
    get_scheme,
    osv_affected,
)

from .refcheck import reference_settings

PYPI = SCHEMES["pep440"]


def ev(kind, version):
    return OsvEvent(kind, version)


@pytest.mark.parametrize(
    ("scheme", "version", "events", "expected"),
    [
        # requests 2.25.1 vs PYSEC-2023-74 (introduced 2.3.0, fixed 2.31.0)
        ("pep440", "2.25.1", [ev("introduced", "2.3.0"), ev("fixed", "2.31.0")], True),
        ("pep440", "2.31.0", [ev("introduced", "2.3.0"), ev("fixed", "2.31.0")], False),
        ("pep440", "2.2.9", [ev("introduced", "2.3.0"), ev("fixed", "2.31.0")], False),
        # introduced "0" means every version, whatever the scheme accepts
        ("go", "0.0.1", [ev("introduced", "0"), ev("fixed", "0.1.0")], True),
        ("semver", "1.0.0", [ev("introduced", "0")], True),
        # last_affected is inclusive
        ("maven", "2.14.1", [ev("introduced", "2.0"), ev("last_affected", "2.14.1")], True),
        ("maven", "2.14.2", [ev("introduced", "2.0"), ev("last_affected", "2.14.1")], False),
        # several introduced/fixed pairs in any order
        (
            "semver",
            "3.1.0",
            [
                ev("fixed", "2.0.5"),
                ev("introduced", "3.0.0"),
                ev("introduced", "1.0.0"),
                ev("fixed", "3.2.0"),
            ],
            True,
        ),
        (
            "semver",
            "2.5.0",
            [
                ev("fixed", "2.0.5"),
                ev("introduced", "3.0.0"),
                ev("introduced", "1.0.0"),
                ev("fixed", "3.2.0"),
            ],
            False,
        ),
        # limit caps the range; "*" is no limit
        ("gem", "5.0", [ev("introduced", "0"), ev("limit", "4.0")], False),
        ("gem", "3.9", [ev("introduced", "0"), ev("limit", "4.0")], True),
        ("gem", "5.0", [ev("introduced", "0"), ev("limit", "*")], True),
        ("dpkg", "1.2-1", [ev("introduced", "0"), ev("fixed", "1.2-1+deb12u1")], True),
    ],
)
def test_osv_events(scheme, version, events, expected):
    assert osv_affected(SCHEMES[scheme], version, events) is expected


@reference_settings(200)
@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_osv_single_interval_is_half_open(introduced, fixed, probe):
    assume(introduced <= fixed)
    events = [ev("introduced", f"1.{introduced}"), ev("fixed", f"1.{fixed}")]
    expected = introduced <= probe < fixed
    assert osv_affected(PYPI, f"1.{probe}", events) is expected
    inclusive = [ev("introduced", f"1.{introduced}"), ev("last_affected", f"1.{fixed}")]
    assert osv_affected(PYPI, f"1.{probe}", inclusive) is (introduced <= probe <= fixed)


@pytest.mark.parametrize(
    ("scheme", "version", "spec", "expected"),
    [
        ("dpkg", "1.2-1", "< 1.2-2", True),
        ("dpkg", "1:1.0", "< 2.0", False),
        ("rpm", "2.28-151.el8", ">= 2.28-100.el8, < 2.28-164.el8", True),
        ("apk", "1.1.1k-r0", "< 1.1.1l-r0", True),
        ("go", "1.21.3", "< 1.21.4 || = 1.22.0", True),
        ("go", "1.22.0", "< 1.21.4 || = 1.22.0", True),
        ("go", "1.22.1", "< 1.21.4 || = 1.22.0", False),
        ("rpm", "1.0", "!= 1.0", False),
        ("rpm", "1.0", "1.0", True),
    ],
)
def test_comparator_lists(scheme, version, spec, expected):
    assert SCHEMES[scheme].in_range(version, spec) is expected


@pytest.mark.parametrize("spec", ["", "  ", "< 1.0,", ">> 1.0", "< not-a-version!", "< 1.0 ||"])
def test_bad_comparator_lists_raise(spec):
    with pytest.raises(InvalidRangeError) as info:
        comparators_satisfied(SCHEMES["dpkg"], "1.0", spec)
    assert "dpkg" in str(info.value)


def test_errors_are_stockade_errors_with_one_sentence():
    with pytest.raises(InvalidVersionError) as info:
        SCHEMES["rpm"].key("")
    assert isinstance(info.value, StockadeError)
    assert isinstance(info.value, MatcherError)
    assert str(info.value).endswith(".")
    with pytest.raises(MatcherError, match="Unknown version scheme"):
        get_scheme("cobol")
    assert get_scheme("gem") is SCHEMES["gem"]

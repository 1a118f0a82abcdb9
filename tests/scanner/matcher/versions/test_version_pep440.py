"""PEP 440 versions: the scheme delegates to ``packaging``; these tests pin that the key,
comparison and specifier handling agree with ``packaging`` itself on generated versions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from stockade.scanner.matcher.errors import InvalidRangeError, InvalidVersionError
from stockade.scanner.matcher.versions import SCHEMES

from .refcheck import reference_settings, sign
from .version_strategies import pep440_versions

PEP440 = SCHEMES["pep440"]


@reference_settings(200)
@given(pep440_versions(), pep440_versions())
def test_order_matches_packaging(a, b):
    expected = sign((Version(a) > Version(b)) - (Version(a) < Version(b)))
    assert PEP440.compare(a, b) == expected


@reference_settings(200)
@given(
    pep440_versions(),
    st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "~="]),
    pep440_versions(),
)
def test_specifiers_match_packaging(version, op, bound):
    spec = f"{op}{bound}"
    if op == "~=" and len(Version(bound).release) < 2:
        with pytest.raises(InvalidRangeError):
            PEP440.in_range(version, spec)
        return
    if "+" in bound and op not in ("==", "!="):
        with pytest.raises(InvalidRangeError):
            PEP440.in_range(version, spec)
        return
    expected = SpecifierSet(spec).contains(version, prereleases=True)
    assert PEP440.in_range(version, spec) is expected


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("2.25.1", "<2.31.0", True),  # requests, PYSEC-2023-74
        ("1.26.4", ">=1.25.4, <1.26.5", True),  # urllib3 GHSA form with spaces
        ("2.11.2", "<2.11.3", True),  # Jinja2, PYSEC-2021-66
        ("3.0.0rc1", "<3.0.1", True),  # pre-releases are considered ...
        ("3.0.0rc1", "<3.0.0", False),  # ... but PEP 440's "<V" excludes V's own pre-releases
        ("1.0", "<1.0 || ==1.0", True),
    ],
)
def test_in_range_examples(version, spec, expected):
    assert PEP440.in_range(version, spec) is expected


def test_invalid_input_raises_typed_errors():
    with pytest.raises(InvalidVersionError):
        PEP440.key("not a version")
    with pytest.raises(InvalidRangeError):
        PEP440.in_range("1.0", "<<1.0")

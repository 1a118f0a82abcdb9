"""NuGet versions. There is no .NET runtime in Debian to run NuGet.Versioning, so the
scheme is checked against NuGet's documented rules: a table of orderings and hypothesis
properties (the total order itself is in test_version_order.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions import SCHEMES

from .refcheck import reference_settings
from .version_strategies import nuget_versions

NUGET = SCHEMES["nuget"]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0", "1.0.0.0", 0),  # missing parts are zero
        ("1.01", "1.1", 0),  # leading zeros allowed in the numbers
        ("1.0.0.1", "1.0.0", 1),  # a fourth (revision) part counts
        ("1.0.0-beta", "1.0.0", -1),  # pre-release before release
        ("1.0.0-BETA", "1.0.0-beta", 0),  # labels ignore case
        ("1.0.0-alpha.2", "1.0.0-alpha.10", -1),  # numeric labels numerically
        ("1.0.0-alpha.1", "1.0.0-alpha.beta", -1),  # numbers before words
        ("1.0.0-alpha", "1.0.0-alpha.1", -1),  # fewer labels first
        ("1.0.0+build.1", "1.0.0+build.2", 0),  # metadata ignored
        ("4.0.0-preview1", "4.0.0-rc1", -1),
        ("13.0.1", "13.0.3", -1),  # Newtonsoft.Json, GHSA-5crp-9r3c-p9vr style
    ],
)
def test_known_orderings(a, b, expected):
    assert NUGET.compare(a, b) == expected


@reference_settings(200)
@given(nuget_versions(), st.sampled_from(["", "+meta", "+x.1"]))
def test_metadata_and_case_never_change_order(version, meta):
    base = version.split("+")[0]
    assert NUGET.compare(base + meta, base) == 0
    assert NUGET.compare(base.upper(), base.lower()) == 0


@reference_settings(200)
@given(st.lists(st.integers(0, 99), min_size=1, max_size=4), st.integers(0, 99))
def test_numbers_pad_with_zeros_and_compare_numerically(parts, extra):
    text = ".".join(map(str, parts))
    padded = ".".join(map(str, parts + [0] * (4 - len(parts))))
    assert NUGET.compare(text, padded) == 0
    bumped = ".".join(map(str, [*parts[:-1], parts[-1] + extra + 1]))
    assert NUGET.compare(text, bumped) == -1
    assert NUGET.compare(f"{text}-rc.1", text) == -1


@pytest.mark.parametrize(
    "bad", ["", "v1.0", "1.0.0.0.0", "1.0-", "1.0+", "1..0", "1.0-beta_1", "99999999999"]
)
def test_invalid_versions_raise(bad):
    with pytest.raises(InvalidVersionError):
        NUGET.key(bad)

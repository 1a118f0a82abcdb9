"""Maven versions and ranges against ComparableVersion / VersionRange from maven-artifact."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.scanner.matcher.errors import InvalidRangeError
from stockade.scanner.matcher.versions import SCHEMES
from stockade.scanner.matcher.versions.maven import maven_range_contains

from .refcheck import assert_answers_agree, assert_pairs_agree, reference_settings
from .version_strategies import maven_ranges, maven_versions, maven_wide

MAVEN = SCHEMES["maven"]


@reference_settings(100)
@given(st.lists(st.one_of(maven_versions(), maven_wide), min_size=2, max_size=12, unique=True))
def test_order_matches_comparable_version(maven_ref, versions):
    assert_pairs_agree(
        versions, MAVEN.compare, lambda pairs: maven_ref.ask([f"cmp\t{a}\t{b}" for a, b in pairs])
    )


def _ours(spec: str, version: str) -> str:
    try:
        return "1" if maven_range_contains(spec, version) else "0"
    except InvalidRangeError:
        return "ERR"


@reference_settings(80)
@given(
    st.lists(maven_ranges(), min_size=1, max_size=4),
    st.lists(maven_versions(), min_size=1, max_size=8),
)
def test_ranges_match_version_range(maven_ref, specs, versions):
    assert_answers_agree(maven_ref, [(s, v) for s in specs for v in versions], "range", _ours)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0-alpha1", "1.0", -1),
        ("1.0-SNAPSHOT", "1.0", -1),
        ("1.0.RELEASE", "1.0", 0),
        ("1.0-ga", "1.0", 0),
        ("1.0-sp1", "1.0", 1),
        ("1.0-rc1", "1.0-cr1", 0),
        ("2.13.4.2", "2.13.4", 1),  # jackson-databind style
        ("1.0.0.Final", "1.0.0", 0),
    ],
)
def test_known_orderings(a, b, expected):
    assert MAVEN.compare(a, b) == expected


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("2.14.1", "[2.0,2.15.0)", True),
        ("2.15.0", "[2.0,2.15.0)", False),
        ("1.2.17", "(,1.2.17]", True),
        ("2.0-beta9", ">= 2.0-beta9, < 2.15.0", True),  # GitHub advisory form
        ("2.17.1", ">= 2.0-beta9, < 2.15.0", False),
    ],
)
def test_in_range_examples(version, spec, expected):
    assert MAVEN.in_range(version, spec) is expected


def test_reference_itself_is_not_transitive(maven_ref):
    """Maven orders ".0." < ".a." < ".0.beta." yet ".0." > ".0.beta."; so do we.

    Likewise "1" < "1-sp" < "1.0.alpha-1" yet "1" > "1.0.alpha-1".

    Null padding compares an unknown qualifier ("a") as newer than a release but "beta" as
    older, while a number always beats a qualifier. Reproducing the reference exactly means
    reproducing this too; Stockade never sorts such strings for matching decisions.
    """
    for triple in (
        [(".0.", ".a."), (".a.", ".0.beta."), (".0.", ".0.beta.")],
        [("1", "1-sp"), ("1-sp", "1.0.alpha-1"), ("1", "1.0.alpha-1")],
    ):
        answers = maven_ref.ask([f"cmp\t{a}\t{b}" for a, b in triple])
        assert answers == ["-1", "-1", "1"]
        assert [MAVEN.compare(a, b) for a, b in triple] == [-1, -1, 1]

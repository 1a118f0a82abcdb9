"""SemVer versions and npm ranges against node-semver (installed from the npm registry)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.scanner.matcher.errors import InvalidRangeError, InvalidVersionError
from stockade.scanner.matcher.versions import SCHEMES
from stockade.scanner.matcher.versions.semver import satisfies

from .refcheck import assert_answers_agree, assert_pairs_agree, flag, reference_settings
from .version_strategies import npm_ranges, semver_noise, semvers

SEMVER = SCHEMES["semver"]


@reference_settings(80)
@given(st.lists(semvers(), min_size=2, max_size=12, unique=True))
def test_order_matches_node_semver(node_semver_ref, versions):
    assert_pairs_agree(
        versions,
        SEMVER.compare,
        lambda pairs: node_semver_ref.ask([f"cmp\t{a}\t{b}" for a, b in pairs]),
    )


@reference_settings(60)
@given(st.lists(st.one_of(semver_noise, semvers()), min_size=1, max_size=30))
def test_validity_matches_node_semver(node_semver_ref, texts):
    cases = [(t,) for t in texts]
    assert_answers_agree(node_semver_ref, cases, "valid", lambda t: flag(SEMVER.is_valid(t)))


def _ours(version: str, spec: str, include: str) -> str:
    try:
        return flag(satisfies(version, spec, include_prerelease=include == "1"))
    except InvalidRangeError:
        return "ERR"


@reference_settings(150)
@given(
    st.lists(npm_ranges(), min_size=1, max_size=4),
    st.lists(semvers(), min_size=1, max_size=8),
    st.booleans(),
)
def test_range_satisfaction_matches_node_semver(node_semver_ref, specs, versions, include):
    cases = [(v, s, flag(include)) for s in specs for v in versions]
    assert_answers_agree(node_semver_ref, cases, "sat", _ours)


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("4.17.20", "<4.17.21", True),  # lodash GHSA-35jh-r3h4-6jhm style
        ("4.17.21", "<4.17.21", False),
        ("1.2.4-beta.1", "<1.2.4", True),  # scheme ranges include pre-releases
        ("2.3.0", ">= 2.0.0, < 2.3.1", True),  # GitHub advisory comma form
        ("0.2.5", "^0.2.3", True),
        ("0.3.0", "^0.2.3", False),
        ("1.9.9", "1.x || >=2.5.0", True),
        ("2.0.0", "1.x || >=2.5.0", False),
    ],
)
def test_in_range_examples(version, spec, expected):
    assert SEMVER.in_range(version, spec) is expected


def test_strict_prerelease_rule_of_satisfies():
    assert not satisfies("1.2.4-beta.1", "<1.2.4")
    assert satisfies("1.2.4-beta.2", ">=1.2.4-beta.1 <1.3.0")


def test_build_metadata_is_ignored_and_errors_are_typed():
    assert SEMVER.compare("1.0.0+build.1", "1.0.0+other") == 0
    with pytest.raises(InvalidVersionError):
        SEMVER.key("1.0")
    with pytest.raises(InvalidRangeError):
        SEMVER.in_range("1.0.0", ">=1.0.0 <=nope")

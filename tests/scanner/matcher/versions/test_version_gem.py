"""RubyGems versions and requirements against Ruby's Gem::Version and Gem::Requirement."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.scanner.matcher.errors import InvalidRangeError, InvalidVersionError
from stockade.scanner.matcher.versions import SCHEMES
from stockade.scanner.matcher.versions.gem import requirement_satisfied

from .refcheck import assert_answers_agree, assert_pairs_agree, flag, reference_settings
from .version_strategies import gem_noise, gem_requirements, gem_versions, gem_wide

GEM = SCHEMES["gem"]


@reference_settings(80)
@given(st.lists(st.one_of(gem_versions(), gem_wide), min_size=2, max_size=12, unique=True))
def test_order_matches_gem_version(gem_ref, versions):
    assert_pairs_agree(
        versions, GEM.compare, lambda pairs: gem_ref.ask([f"cmp\t{a}\t{b}" for a, b in pairs])
    )


@reference_settings(40)
@given(st.lists(st.one_of(gem_noise, gem_versions()), min_size=1, max_size=30))
def test_validity_matches_gem_version(gem_ref, texts):
    assert_answers_agree(gem_ref, [(t,) for t in texts], "valid", lambda t: flag(GEM.is_valid(t)))


def _ours(version: str, spec: str) -> str:
    try:
        return "1" if requirement_satisfied(version, spec) else "0"
    except InvalidRangeError:
        return "ERR"


@reference_settings(100)
@given(
    st.lists(gem_requirements(), min_size=1, max_size=4),
    st.lists(gem_versions(), min_size=1, max_size=8),
)
def test_requirements_match_gem_requirement(gem_ref, specs, versions):
    assert_answers_agree(gem_ref, [(v, s) for s in specs for v in versions], "req", _ours)


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("1.2.5", "~> 1.2.3", True),
        ("1.3.0", "~> 1.2.3", False),
        ("5.2.4.3", ">= 5.2.0, < 5.2.4.4", True),  # rubysec style
        ("5.2.4.4", ">= 5.2.0, < 5.2.4.4", False),
        ("1.0.0.rc1", "< 1.0.0", True),
        ("2.0", "~> 1.0 || >= 2.0", True),
    ],
)
def test_in_range_examples(version, spec, expected):
    assert GEM.in_range(version, spec) is expected


def test_ordering_corners():
    assert GEM.compare("1.0", "1") == 0
    assert GEM.compare("1.0.rc1", "1.0") == -1
    assert GEM.compare("1.a.0.b", "1.a") == -1  # a string after padding zeros loses
    with pytest.raises(InvalidVersionError):
        GEM.key("1..2")

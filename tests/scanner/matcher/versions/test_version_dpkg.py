"""dpkg versions against ``dpkg --compare-versions``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions import SCHEMES

from .refcheck import assert_pairs_agree, reference_settings
from .version_strategies import dpkg_versions, dpkg_wide

DPKG = SCHEMES["dpkg"]


@reference_settings(60)
@given(st.lists(st.one_of(dpkg_versions(), dpkg_wide), min_size=2, max_size=6, unique=True))
def test_order_matches_dpkg(dpkg_ref, versions):
    assert_pairs_agree(
        versions, DPKG.compare, lambda pairs: dpkg_ref.ask([f"{a}\t{b}" for a, b in pairs])
    )


@reference_settings(100)
@given(st.lists(st.one_of(dpkg_versions(), dpkg_wide), min_size=2, max_size=12, unique=True))
def test_order_matches_dpkg_perl_in_volume(dpkg_perl_ref, versions):
    """dpkg itself costs a process per pair; libdpkg-perl's Dpkg::Version (the dpkg project's
    Perl implementation) answers ten times as many pairs in the same time."""
    assert_pairs_agree(
        versions, DPKG.compare, lambda pairs: dpkg_perl_ref.ask([f"{a}\t{b}" for a, b in pairs])
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0~rc1-1", "1.0-1", -1),  # tilde sorts before the end
        ("1.0-1", "1.0+dfsg-1", -1),
        ("1:1.0", "2.0", 1),  # epoch wins
        ("2.30-1ubuntu1", "2.30-1", 1),
        ("1.2.3-0ubuntu0.22.04.1", "1.2.3-0ubuntu0.20.04.1", 1),
        ("0:1.0", "1.0", 0),  # epoch 0 is the default
        ("1.0-0", "1.0", 0),  # as dpkg: revision "0" equals no revision
        ("1.01", "1.1", 0),  # numbers, not strings
        ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1),
    ],
)
def test_known_orderings(a, b, expected):
    assert DPKG.compare(a, b) == expected


@pytest.mark.parametrize("bad", ["", ":1.0", "a:1.0", "1.0-", "abc", "1.0_1", "1:", "1.0-1-é"])
def test_invalid_versions_raise(bad):
    with pytest.raises(InvalidVersionError) as info:
        DPKG.key(bad)
    assert "dpkg" in str(info.value)
    assert not DPKG.is_valid(bad)

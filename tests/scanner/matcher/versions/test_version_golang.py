"""Go versions against golang.org/x/mod/semver (Debian's golang-golang-x-mod-dev)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions import SCHEMES
from stockade.scanner.matcher.versions.golang import is_pseudo_version, is_valid_go_semver

from .refcheck import assert_answers_agree, assert_pairs_agree, flag, reference_settings
from .version_strategies import go_noise, go_versions

GO = SCHEMES["go"]


@reference_settings(80)
@given(st.lists(go_versions(), min_size=2, max_size=12, unique=True))
def test_order_matches_x_mod_semver(go_ref, versions):
    assert_pairs_agree(
        versions, GO.compare, lambda pairs: go_ref.ask([f"cmp\t{a}\t{b}" for a, b in pairs])
    )


@reference_settings(60)
@given(st.lists(st.one_of(go_noise, go_versions()), min_size=1, max_size=30))
def test_validity_and_pseudo_versions_match_x_mod(go_ref, texts):
    cases = [(t,) for t in texts]
    assert_answers_agree(go_ref, cases, "valid", lambda t: flag(is_valid_go_semver(t)))
    assert_answers_agree(go_ref, cases, "pseudo", lambda t: flag(is_pseudo_version(t)))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("v2.0.0+incompatible", "v2.0.0", 0),  # build metadata ignored
        ("v2.0.1+incompatible", "v2.0.0", 1),
        ("v0.0.0-20191109021931-daa7c04131f5", "v0.0.1", -1),  # pseudo-version of v0.0.0
        ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3", 1),  # pseudo after v1.2.3 ...
        ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4", -1),  # ... before v1.2.4
        ("1.21.3", "v1.21.3", 0),  # OSV writes Go versions without the v
        ("go1.21rc2", "v1.21.0-rc.2", 0),  # toolchain versions
        ("go1.21", "1.21.0", 0),
        ("go1.9beta1", "go1.9", -1),
        ("v1", "v1.0.0", 0),
    ],
)
def test_known_orderings(a, b, expected):
    assert GO.compare(a, b) == expected


@pytest.mark.parametrize("bad", ["", "v1.2.3.4", "v01.2.3", "1.2.3-01", "go1.x", "v1.2-pre"])
def test_invalid_versions_raise(bad):
    with pytest.raises(InvalidVersionError):
        GO.key(bad)

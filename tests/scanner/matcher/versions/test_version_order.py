"""Every scheme's ordering is a total order on generated versions: reflexive, antisymmetric,
transitive, and the sort key agrees with ``compare``."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.scanner.matcher.versions import SCHEMES, VersionScheme

from . import version_strategies as vs
from .refcheck import reference_settings


def _rpm_text(evr: tuple[str | None, str, str | None]) -> str:
    epoch, version, release = evr
    return f"{epoch + ':' if epoch else ''}{version}{'-' + release if release else ''}"


STRATEGIES: dict[str, st.SearchStrategy[str]] = {
    "dpkg": vs.dpkg_versions(),
    "rpm": vs.rpm_evrs().map(_rpm_text),
    "apk": vs.apk_versions(),
    "pep440": vs.pep440_versions(),
    "semver": vs.semvers(),
    "maven": vs.maven_release_versions(),  # ComparableVersion is not total on any string
    "go": vs.go_versions(),
    "gem": vs.gem_versions(),
    "composer": vs.composer_versions(),
    "nuget": vs.nuget_versions(),
}


def test_every_registered_scheme_is_covered_and_conforms():
    assert set(STRATEGIES) == set(SCHEMES)
    for name, scheme in SCHEMES.items():
        assert isinstance(scheme, VersionScheme)
        assert scheme.name == name


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_ordering_is_a_total_order(name):
    scheme: VersionScheme = SCHEMES[name]

    @reference_settings(100)
    @given(st.lists(STRATEGIES[name], min_size=3, max_size=8))
    def check(versions: list[str]) -> None:
        cmp = {(a, b): scheme.compare(a, b) for a in versions for b in versions}
        for a in versions:
            assert cmp[a, a] == 0
        for a, b in itertools.product(versions, repeat=2):
            assert cmp[a, b] == -cmp[b, a], (a, b)
            ka, kb = scheme.key(a), scheme.key(b)
            assert (ka < kb) == (cmp[a, b] < 0), (a, b)
        for a, b, c in itertools.product(versions, repeat=3):
            if cmp[a, b] <= 0 and cmp[b, c] <= 0:
                assert cmp[a, c] <= 0, (a, b, c)
        ordered = sorted(versions, key=scheme.key)
        for left, right in itertools.pairwise(ordered):
            assert cmp[left, right] <= 0

    check()

"""Composer (Packagist) versions against PHP's version_compare (Debian's php-cli)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions import SCHEMES

from .refcheck import assert_pairs_agree, reference_settings
from .version_strategies import composer_versions

COMPOSER = SCHEMES["composer"]


@reference_settings(100)
@given(st.lists(composer_versions(), min_size=2, max_size=12, unique=True))
def test_order_matches_php_version_compare(php_ref, versions):
    assert_pairs_agree(
        versions, COMPOSER.compare, lambda pairs: php_ref.ask([f"{a}\t{b}" for a, b in pairs])
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0.0-RC1", "1.0.0", -1),
        ("1.0.0-beta2", "1.0.0-RC1", -1),
        ("1.0.0-dev", "1.0.0-alpha", -1),
        ("1.0.0", "1.0.0-pl1", -1),  # patch level after the release
        ("1.0.0", "1.0.0.1", -1),
        ("v2.4.1", "2.4.1", 0),  # Composer drops the leading v
        ("5.4.47", "5.4.8", 1),
        ("1.0", "1.0.0", -1),  # as PHP: the longer one is newer
    ],
)
def test_known_orderings(a, b, expected):
    assert COMPOSER.compare(a, b) == expected


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("5.4.46", ">=5.0.0, <5.4.47", True),  # symfony/http-kernel GHSA style
        ("5.4.47", ">=5.0.0, <5.4.47", False),
        ("6.0.0-RC1", "<6.0.0", True),
    ],
)
def test_comparator_lists(version, spec, expected):
    assert COMPOSER.in_range(version, spec) is expected


@pytest.mark.parametrize(
    "bad", ["", "1.", "-1", "1..", "1.0 beta", "1.0#2", "v", "dev-main", "beta1"]
)
def test_invalid_versions_raise(bad):
    with pytest.raises(InvalidVersionError):
        COMPOSER.key(bad)

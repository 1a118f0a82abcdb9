"""RPM versions against python3-rpm's ``rpm.labelCompare``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions import SCHEMES
from stockade.scanner.matcher.versions.rpm import evr_key

from .refcheck import reference_settings, sign
from .version_strategies import rpm_evrs, rpm_wide_evrs

RPM = SCHEMES["rpm"]


def _cmp(a, b) -> int:
    ka, kb = evr_key(*a), evr_key(*b)
    return (ka > kb) - (ka < kb)


def _field(value):
    return "" if value is None else value


@reference_settings(80)
@given(st.lists(st.one_of(rpm_evrs(), rpm_wide_evrs), min_size=2, max_size=10, unique=True))
def test_order_matches_label_compare(rpm_ref, evrs):
    pairs = [(a, b) for a in evrs for b in evrs]
    requests = ["\t".join(_field(x) for x in (*a, *b)) for a, b in pairs]
    answers = rpm_ref.ask(requests)
    wrong = [
        (a, b, _cmp(a, b), answer)
        for (a, b), answer in zip(pairs, answers, strict=True)
        if _cmp(a, b) != sign(int(answer))
    ]
    assert not wrong, wrong[:10]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0~rc1", "1.0", -1),  # tilde: pre-release
        ("1.0^git1", "1.0", 1),  # caret: post-release ...
        ("1.0^git1", "1.0.1", -1),  # ... but before the next version
        ("1:1.0-1.el8", "2.0-1.el8", 1),
        ("2.28-151.el8", "2.28-164.el8", -1),
        ("1.0a", "1.0", 1),
        ("1.0", "1.0-1", -1),  # a missing release sorts first (labelCompare)
        ("1.010", "1.10", 0),
        ("1.0.", "1.0", 0),  # separators only separate
    ],
)
def test_known_orderings(a, b, expected):
    assert RPM.compare(a, b) == expected


@pytest.mark.parametrize("bad", ["", "x:1.0", "1.0-", ":1.0", "1.0 beta"])
def test_invalid_versions_raise(bad):
    with pytest.raises(InvalidVersionError):
        RPM.key(bad)

"""Debian (dpkg) versions: ``[epoch:]upstream[-revision]``.

Ordering is dpkg's ``verrevcmp``: each part is read as alternating runs of non-digits and
digits. Non-digit runs compare character by character with ``~`` before the end of the run,
the end before letters, letters before every other character; digit runs compare as
numbers. The key below encodes exactly that as nested tuples:

* a non-digit run becomes the tuple of its character weights followed by ``0`` (the weight
  of "end of run"), so ``"~"`` → ``(-1, 0)`` sorts before ``""`` → ``(0,)``;
* a part is a sequence of ``(run, number)`` pairs that ``verrevcmp`` compares as if the
  shorter one were padded with "nothing" pairs (empty run, 0). To keep plain tuple
  comparison exact, each pair that is not "nothing" is stored with the count of "nothing"
  pairs before it and whether it sorts above or below "nothing", and the part ends with a
  terminator that stands for "nothing from here on".
"""

from __future__ import annotations

import re
from functools import lru_cache

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions.base import BaseScheme, SortKey

__all__ = ["DpkgScheme", "dpkg_key"]

_EPOCH_MAX = 2**31 - 1  # dpkg stores the epoch in an int
_NOTHING: tuple[tuple[int, ...], int] = ((0,), 0)
_UPSTREAM_OK = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+-~:")
_REVISION_OK = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+~")

Pair = tuple[tuple[int, ...], int]
Item = tuple[int, int, Pair]
Part = tuple[Item, ...]
_BELOW, _END, _ABOVE = 0, 1, 2
_TERMINATOR: Item = (_END, 0, _NOTHING)
DpkgKey = tuple[int, Part, Part]


def _weight(c: str) -> int:
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


_WEIGHTS = {c: _weight(c) for c in _UPSTREAM_OK | _REVISION_OK if not c.isdigit()}
_RUNS = re.compile(r"([^0-9]*)([0-9]*)")


def _part_key(text: str) -> Part:
    weights = _WEIGHTS
    pairs: list[Pair] = [
        ((*(weights[c] for c in run), 0), int(digits) if digits else 0)
        for run, digits in _RUNS.findall(text)
        if run or digits
    ]
    # Encode against padding: a pair equal to "nothing" only counts towards the next real
    # pair, which records how many came before it and on which side of "nothing" it is.
    items: list[Item] = []
    gap = 0
    for pair in pairs:
        if pair == _NOTHING:
            gap += 1
        elif pair > _NOTHING:
            items.append((_ABOVE, -gap, pair))
            gap = 0
        else:
            items.append((_BELOW, gap, pair))
            gap = 0
    items.append(_TERMINATOR)
    return tuple(items)


@lru_cache(maxsize=65536)
def dpkg_key(version: str) -> DpkgKey:
    """Sort key of a Debian version; raises :class:`InvalidVersionError`."""
    text = version.strip()
    if not text:
        raise InvalidVersionError("dpkg", version, "it is empty")
    if not text.isascii():
        raise InvalidVersionError("dpkg", version, "it has non-ASCII characters")
    epoch = 0
    head, colon, rest = text.partition(":")
    if colon:
        if not head.isdigit():
            raise InvalidVersionError("dpkg", version, "the epoch is not a number")
        epoch = int(head)
        if epoch > _EPOCH_MAX:
            raise InvalidVersionError("dpkg", version, "the epoch is too big")
        text = rest
    upstream, hyphen, revision = text.rpartition("-")
    if not hyphen:
        upstream, revision = text, ""
    elif not revision:
        raise InvalidVersionError("dpkg", version, "the revision is empty")
    if not upstream:
        raise InvalidVersionError("dpkg", version, "the upstream version is empty")
    if not upstream[0].isdigit():
        raise InvalidVersionError("dpkg", version, "it does not start with a digit")
    if not set(upstream) <= _UPSTREAM_OK or not set(revision) <= _REVISION_OK:
        raise InvalidVersionError("dpkg", version, "it has characters dpkg does not allow")
    return (epoch, _part_key(upstream), _part_key(revision))


class DpkgScheme(BaseScheme):
    """Debian and Ubuntu package versions (``dpkg --compare-versions``)."""

    name = "dpkg"

    def key(self, version: str) -> SortKey:
        return dpkg_key(version)

"""RPM versions: ``[epoch:]version[-release]`` compared as ``rpm.labelCompare`` does.

``rpmvercmp`` splits a string into alphabetic and numeric segments (other characters only
separate them) plus the two special markers ``~`` and ``^``. Comparing segment by segment, the
possible tokens order as::

    "~" (pre-release)  <  end of string  <  "^" (post-release)  <  letters  <  digits

letters compare as strings, digits as numbers (leading zeros ignored). A key is the tuple of
``(rank, number, text)`` tokens closed by an end-of-string token, so plain tuple comparison
reproduces ``rpmvercmp``. The epoch compares as a number (absent = 0); an absent release
sorts before any release, as ``labelCompare`` treats ``None``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions.base import BaseScheme, SortKey

__all__ = ["RpmScheme", "evr_key", "rpm_key", "split_evr"]

_TILDE, _END, _CARET, _ALPHA, _NUM = 0, 1, 2, 3, 4
_END_TOKEN = (_END, 0, "")
_SEGMENT = re.compile(r"~|\^|[A-Za-z]+|[0-9]+")

Token = tuple[int, int, str]
Part = tuple[Token, ...]
RpmKey = tuple[int, Part, tuple[int, Part]]


def _part_key(text: str) -> Part:
    tokens: list[Token] = []
    for seg in _SEGMENT.findall(text):
        if seg == "~":
            tokens.append((_TILDE, 0, ""))
        elif seg == "^":
            tokens.append((_CARET, 0, ""))
        elif seg[0].isdigit():
            tokens.append((_NUM, int(seg), ""))
        else:
            tokens.append((_ALPHA, 0, seg))
    tokens.append(_END_TOKEN)
    return tuple(tokens)


def split_evr(version: str) -> tuple[str | None, str, str | None]:
    """Split ``[epoch:]version[-release]`` into its three parts (absent ones are ``None``)."""
    text = version.strip()
    epoch: str | None = None
    head, colon, rest = text.partition(":")
    if colon:
        epoch, text = head, rest
    ver, hyphen, release = text.rpartition("-")
    if not hyphen:
        return epoch, text, None
    return epoch, ver, release


def evr_key(epoch: str | None, version: str, release: str | None) -> RpmKey:
    """Sort key of an (epoch, version, release) triple as RPM headers store them."""
    shown = f"{epoch + ':' if epoch is not None else ''}{version}"
    shown += f"-{release}" if release is not None else ""
    if epoch is not None and not (epoch.isascii() and epoch.isdigit()):
        raise InvalidVersionError("rpm", shown, "the epoch is not a number")
    if not version:
        raise InvalidVersionError("rpm", shown, "the version is empty")
    if release is not None and not release:
        raise InvalidVersionError("rpm", shown, "the release is empty")
    if not (version + (release or "")).isascii():
        raise InvalidVersionError("rpm", shown, "it has non-ASCII characters")
    if any(c.isspace() for c in version + (release or "")):
        raise InvalidVersionError("rpm", shown, "it contains white space")
    rel: tuple[int, Part] = (0, ()) if release is None else (1, _part_key(release))
    return (int(epoch) if epoch else 0, _part_key(version), rel)


@lru_cache(maxsize=65536)
def rpm_key(version: str) -> RpmKey:
    """Sort key of an ``[epoch:]version[-release]`` string."""
    if not version.strip():
        raise InvalidVersionError("rpm", version, "it is empty")
    return evr_key(*split_evr(version))


class RpmScheme(BaseScheme):
    """Red Hat, SUSE, Oracle, Amazon, Photon package versions (``rpm.labelCompare``)."""

    name = "rpm"

    def key(self, version: str) -> SortKey:
        return rpm_key(version)

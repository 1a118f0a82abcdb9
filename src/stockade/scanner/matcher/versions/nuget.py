"""NuGet package versions, ordered as NuGet.Versioning's default ``VersionComparer``.

A version is ``Major[.Minor[.Patch[.Revision]]][-Label(.Label)*][+Metadata]``: up to four
numbers (missing ones are 0, leading zeros allowed, so ``1.0`` = ``1.0.0.0`` = ``1.00``),
then SemVer 2.0 pre-release labels. Order: the four numbers; a release after its
pre-releases; labels one by one, numeric labels numerically and before alphanumeric ones,
alphanumeric labels compared ignoring case; fewer labels first when all shared ones tie.
Metadata never counts.

No .NET runtime is available to run NuGet.Versioning here, so tests check this against the
rules above (documented NuGet behaviour) and the total-order properties.
"""

from __future__ import annotations

import re
from functools import lru_cache

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions.base import BaseScheme, SortKey

__all__ = ["NugetScheme", "nuget_key"]

_LABEL = r"[0-9A-Za-z-]+"
_VERSION = re.compile(
    rf"^([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:\.([0-9]+))?"
    rf"(?:-({_LABEL}(?:\.{_LABEL})*))?(?:\+({_LABEL}(?:\.{_LABEL})*))?$"
)
_INT_MAX = 2**31 - 1  # System.Version components are Int32

Label = tuple[int, int, str]
NugetKey = tuple[int, int, int, int, tuple[int, tuple[Label, ...]]]


def _label(text: str) -> Label:
    if text.isdigit():
        return (0, int(text), "")
    return (1, 0, text.upper())


@lru_cache(maxsize=65536)
def nuget_key(version: str) -> NugetKey:
    """Sort key of a NuGet version; raises :class:`InvalidVersionError`."""
    match = _VERSION.match(version.strip())
    if match is None:
        raise InvalidVersionError("nuget", version)
    numbers = [int(n) if n else 0 for n in match.group(1, 2, 3, 4)]
    if max(numbers) > _INT_MAX:
        raise InvalidVersionError("nuget", version, "a number is too large")
    labels = match.group(5)
    tail: tuple[int, tuple[Label, ...]] = (
        (0, tuple(_label(p) for p in labels.split("."))) if labels else (1, ())
    )
    return (numbers[0], numbers[1], numbers[2], numbers[3], tail)


class NugetScheme(BaseScheme):
    """NuGet package versions."""

    name = "nuget"

    def key(self, version: str) -> SortKey:
        return nuget_key(version)

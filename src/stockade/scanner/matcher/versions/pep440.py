"""Python package versions (PEP 440), delegated to ``packaging``.

``packaging.version.Version`` is the reference implementation pip itself uses; its objects
are already ordered, so the key is the parsed object (cached per string). Ranges are PEP 440
specifier sets (``">=1.0,<2.0"``, ``"~=1.4"``, ``"==1.2.*"``) as PyPI metadata and GitHub
advisories write them; pre-releases are always considered, because a vulnerable pre-release
is still vulnerable.
"""

from __future__ import annotations

from functools import lru_cache

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from stockade.scanner.matcher.errors import InvalidRangeError, InvalidVersionError
from stockade.scanner.matcher.versions.base import BaseScheme, SortKey

__all__ = ["Pep440Scheme", "pep440_key"]


@lru_cache(maxsize=65536)
def pep440_key(version: str) -> Version:
    """The parsed :class:`packaging.version.Version`; raises :class:`InvalidVersionError`."""
    try:
        return Version(version)
    except InvalidVersion as exc:
        raise InvalidVersionError("pep440", version) from exc


@lru_cache(maxsize=4096)
def _specifier_set(spec: str) -> SpecifierSet:
    try:
        return SpecifierSet(spec, prereleases=True)
    except InvalidSpecifier as exc:
        raise InvalidRangeError("pep440", spec) from exc


class Pep440Scheme(BaseScheme):
    """PyPI package versions."""

    name = "pep440"

    def key(self, version: str) -> SortKey:
        return pep440_key(version)

    def in_range(self, version: str, spec: str) -> bool:
        """PEP 440 specifiers (``">=1.0, <2.0"``), or ``||`` alternatives of them."""
        parsed = pep440_key(version)
        alternatives = spec.split("||")
        if any(not alt.strip() for alt in alternatives):
            raise InvalidRangeError("pep440", spec, "it has an empty alternative")
        return any(
            _specifier_set(alt.strip()).contains(parsed, prereleases=True) for alt in alternatives
        )

"""Version schemes: one module per ecosystem's version rules, all behind :class:`VersionScheme`.

``SCHEMES`` maps each scheme's name to its instance; :func:`get_scheme` looks one up.

    dpkg     Debian, Ubuntu                      (dpkg --compare-versions)
    rpm      Red Hat, SUSE, Oracle, Amazon, ...  (rpm.labelCompare; epoch, ~ and ^)
    apk      Alpine                              (apk-tools version.c)
    pep440   PyPI                                (packaging)
    semver   npm and other SemVer ecosystems     (node-semver, including npm ranges)
    maven    Maven                               (ComparableVersion, VersionRange)
    go       Go modules and toolchains           (golang.org/x/mod/semver)
    gem      RubyGems                            (Gem::Version, Gem::Requirement)
    composer Packagist                           (PHP version_compare, as Composer uses it)
    nuget    NuGet                               (NuGet.Versioning's rules; no runnable peer)
"""

from __future__ import annotations

from stockade.scanner.matcher.errors import InvalidRangeError, InvalidVersionError, MatcherError
from stockade.scanner.matcher.versions.apk import ApkScheme
from stockade.scanner.matcher.versions.base import (
    BaseScheme,
    OsvEvent,
    OsvEventKind,
    SortKey,
    VersionScheme,
    comparators_satisfied,
    osv_affected,
)
from stockade.scanner.matcher.versions.composer import ComposerScheme
from stockade.scanner.matcher.versions.dpkg import DpkgScheme
from stockade.scanner.matcher.versions.gem import GemScheme
from stockade.scanner.matcher.versions.golang import GoScheme
from stockade.scanner.matcher.versions.maven import MavenScheme
from stockade.scanner.matcher.versions.nuget import NugetScheme
from stockade.scanner.matcher.versions.pep440 import Pep440Scheme
from stockade.scanner.matcher.versions.rpm import RpmScheme
from stockade.scanner.matcher.versions.semver import SemverScheme

__all__ = [
    "SCHEMES",
    "BaseScheme",
    "InvalidRangeError",
    "InvalidVersionError",
    "OsvEvent",
    "OsvEventKind",
    "SortKey",
    "VersionScheme",
    "comparators_satisfied",
    "get_scheme",
    "osv_affected",
]

SCHEMES: dict[str, VersionScheme] = {
    scheme.name: scheme
    for scheme in (
        DpkgScheme(),
        RpmScheme(),
        ApkScheme(),
        Pep440Scheme(),
        SemverScheme(),
        MavenScheme(),
        GoScheme(),
        GemScheme(),
        ComposerScheme(),
        NugetScheme(),
    )
}


def get_scheme(name: str) -> VersionScheme:
    """The scheme called ``name``; raises :class:`MatcherError` for an unknown one."""
    try:
        return SCHEMES[name]
    except KeyError:
        known = ", ".join(sorted(SCHEMES))
        raise MatcherError(f"Unknown version scheme {name!r}; known schemes: {known}.") from None

"""Go module versions, ordered as ``golang.org/x/mod/semver`` orders them.

Go versions are semantic versions with a leading ``v``; ``v1`` and ``v1.2`` are shorthands
for ``v1.0.0`` and ``v1.2.0`` (without pre-release or build). Build metadata is ignored, which
is what makes ``v2.0.0+incompatible`` (a v2+ module without a go.mod) order as ``v2.0.0``.
Pseudo-versions (``v0.0.0-20191109021931-daa7c04131f5``, ``v1.2.4-0.2019...-abc``) are
pre-releases and need no special ordering; :func:`is_pseudo_version` recognises them.

Feeds write Go versions without the ``v`` (OSV: ``1.2.3``) and the standard library as Go
toolchain versions (``go1.21rc2``): both are accepted and normalised first.
"""

from __future__ import annotations

import re
from functools import lru_cache

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions.base import BaseScheme, SortKey

__all__ = ["GoScheme", "canonical", "go_key", "is_pseudo_version", "is_valid_go_semver"]

_NUM = r"0|[1-9][0-9]*"
_ID = r"[0-9A-Za-z-]+"
_GO_SEMVER = re.compile(
    rf"^v({_NUM})(?:\.({_NUM})(?:\.({_NUM})(?:-({_ID}(?:\.{_ID})*))?(?:\+({_ID}(?:\.{_ID})*))?)?)?$"
)
_TOOLCHAIN = re.compile(r"^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(alpha|beta|rc)(\d+))?$")
_PSEUDO = re.compile(
    r"^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)

Identifier = tuple[int, int, str]
GoKey = tuple[int, int, int, tuple[int, tuple[Identifier, ...]]]


def _from_toolchain(text: str) -> str | None:
    match = _TOOLCHAIN.match(text)
    if match is None:
        return None
    major, minor, patch, kind, number = match.groups()
    core = f"v{major}.{minor or 0}.{patch or 0}"
    return f"{core}-{kind}.{number}" if kind else core


def is_valid_go_semver(version: str) -> bool:
    """``semver.IsValid``: a ``v``-prefixed semantic version, shorthands allowed."""
    match = _GO_SEMVER.match(version)
    if match is None:
        return False
    pre = match.group(4)
    if pre and any(p.isdigit() and len(p) > 1 and p[0] == "0" for p in pre.split(".")):
        return False
    return not ((match.group(4) or match.group(5)) and match.group(3) is None)


@lru_cache(maxsize=65536)
def canonical(version: str) -> str:
    """The ``v``-prefixed semantic version a Go version stands for (build metadata kept)."""
    text = version.strip()
    if text.startswith("go"):
        converted = _from_toolchain(text)
        if converted is None:
            raise InvalidVersionError("go", version, "not a Go toolchain version")
        return converted
    if not text.startswith("v"):
        text = "v" + text
    if not is_valid_go_semver(text):
        raise InvalidVersionError("go", version)
    return text


@lru_cache(maxsize=65536)
def go_key(version: str) -> GoKey:
    """Sort key of a Go module or toolchain version; raises :class:`InvalidVersionError`."""
    match = _GO_SEMVER.match(canonical(version))
    assert match is not None  # canonical() validated it
    major, minor, patch, pre = match.group(1), match.group(2), match.group(3), match.group(4)
    if not pre:
        tail: tuple[int, tuple[Identifier, ...]] = (1, ())
    else:
        tail = (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    return (int(major), int(minor or 0), int(patch or 0), tail)


def is_pseudo_version(version: str) -> bool:
    """Whether ``version`` is a Go pseudo-version (``golang.org/x/mod/module.IsPseudoVersion``)."""
    return version.count("-") >= 2 and bool(_PSEUDO.match(version)) and is_valid_go_semver(version)


class GoScheme(BaseScheme):
    """Go modules and the Go standard library."""

    name = "go"

    def key(self, version: str) -> SortKey:
        return go_key(version)

"""RubyGems versions and requirements, as ``Gem::Version`` and ``Gem::Requirement`` read them.

A version is dot-separated numbers and letters (``1.2.0.rc1``; a ``-`` stands for
``.pre.``). It is split into segments — runs of digits (numbers) and runs of letters
(strings); letters make it a pre-release. Comparison uses the *canonical* segments: trailing
zeros dropped from the numeric release part and from the part after the first string; the
shorter side is padded with ``0``; a string sorts before any number.

Padding with ``0`` is awkward for plain tuple comparison (``1.a.0.b`` vs ``1.a``: the ``0``
ties with the padding and ``b`` then loses to it). The key therefore encodes each non-zero
segment with the count of zeros before it, and closes with a terminator that sorts between
strings and numbers, exactly where "only zeros from here on" sits.
"""

from __future__ import annotations

import re
from functools import lru_cache

from stockade.scanner.matcher.errors import InvalidRangeError, InvalidVersionError
from stockade.scanner.matcher.versions.base import BaseScheme, SortKey

__all__ = ["GemScheme", "gem_key", "requirement_satisfied"]

# Gem::Version::ANCHORED_VERSION_PATTERN
_VERSION = re.compile(
    r"^\s*([0-9]+(?>\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?\s*$"
)
_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.IGNORECASE)
_VERSION_TEXT = r"[0-9]+(?>\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
_REQUIREMENT = re.compile(rf"^\s*(=|!=|>|<|>=|<=|~>)?\s*({_VERSION_TEXT})\s*$")

Segment = int | str
GemKey = tuple[tuple[int, int, int, str], ...]
_STRING, _TERMINATOR, _NUMBER = 0, 1, 2
_TERMINATOR_ITEM = (_TERMINATOR, 0, 0, "")


@lru_cache(maxsize=65536)
def segments(version: str) -> tuple[Segment, ...]:
    """``Gem::Version#segments``; raises :class:`InvalidVersionError`."""
    if not _VERSION.match(version):
        raise InvalidVersionError("gem", version)
    text = version.strip() or "0"
    text = text.replace("-", ".pre.")
    return tuple(int(s) if s.isdigit() else s for s in _SEGMENT.findall(text))


def _drop_trailing_zeros(part: list[Segment]) -> list[Segment]:
    while part and part[-1] == 0:
        part.pop()
    return part


def canonical_segments(version: str) -> tuple[Segment, ...]:
    """``Gem::Version#canonical_segments``."""
    segs = list(segments(version))
    first_string = next((i for i, s in enumerate(segs) if isinstance(s, str)), len(segs))
    release, rest = segs[:first_string], segs[first_string:]
    return tuple(_drop_trailing_zeros(release) + _drop_trailing_zeros(rest))


@lru_cache(maxsize=65536)
def gem_key(version: str) -> GemKey:
    """Sort key of a RubyGems version."""
    items: list[tuple[int, int, int, str]] = []
    zeros = 0
    for seg in canonical_segments(version):
        if seg == 0:
            zeros += 1
        elif isinstance(seg, str):
            items.append((_STRING, zeros, 0, seg))
            zeros = 0
        else:
            items.append((_NUMBER, -zeros, seg, ""))
            zeros = 0
    items.append(_TERMINATOR_ITEM)
    return tuple(items)


def _is_prerelease(version: str) -> bool:
    return any(isinstance(s, str) for s in segments(version))


def _release(version: str) -> str:
    """``Gem::Version#release``: the version without its pre-release part."""
    if not _is_prerelease(version):
        return version
    segs = list(segments(version))
    while any(isinstance(s, str) for s in segs):
        segs.pop()
    return ".".join(str(s) for s in segs)


def _bump(version: str) -> str:
    """``Gem::Version#bump``: ``1.2.3`` → ``1.3``, ``1`` → ``2``."""
    segs = list(segments(version))
    while any(isinstance(s, str) for s in segs):
        segs.pop()
    if len(segs) > 1:
        segs.pop()
    last = segs[-1]
    assert isinstance(last, int)
    segs[-1] = last + 1
    return ".".join(str(s) for s in segs)


def _parse_requirement(text: str, spec: str) -> tuple[str, str]:
    match = _REQUIREMENT.match(text)
    if match is None:
        raise InvalidRangeError("gem", spec, f"cannot read requirement {text.strip()!r}")
    return match.group(1) or "=", match.group(2)


def _holds(op: str, version: str, target: str) -> bool:
    v, t = gem_key(version), gem_key(target)
    if op == "=":
        return v == t
    if op == "!=":
        return v != t
    if op == ">":
        return v > t
    if op == "<":
        return v < t
    if op == ">=":
        return v >= t
    if op == "<=":
        return v <= t
    # "~>": at least the target, below its bump (compared on the release part).
    return v >= t and gem_key(_release(version)) < gem_key(_bump(target))


def requirement_satisfied(version: str, spec: str) -> bool:
    """``Gem::Requirement.new(*spec.split(",")).satisfied_by?(Gem::Version.new(version))``."""
    gem_key(version)
    parts = spec.split(",")
    if not spec.strip() or any(not p.strip() for p in parts):
        raise InvalidRangeError("gem", spec, "it has an empty requirement")
    requirements = [_parse_requirement(p, spec) for p in parts]
    return all(_holds(op, version, target) for op, target in requirements)


class GemScheme(BaseScheme):
    """RubyGems versions; ranges are Gem requirements (``"~> 1.2, >= 1.2.3"``), ``||`` ORs."""

    name = "gem"

    def key(self, version: str) -> SortKey:
        return gem_key(version)

    def in_range(self, version: str, spec: str) -> bool:
        alternatives = spec.split("||")
        return any(requirement_satisfied(version, alt) for alt in alternatives)

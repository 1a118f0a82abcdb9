"""Semantic Versioning 2.0.0 and npm range strings, as node-semver (v7) reads them.

Versions: ``MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`` with an optional leading ``v``; build
metadata never affects order. Pre-release identifiers compare numerically when numeric,
as ASCII otherwise, numeric before alphanumeric, and a shorter list before a longer one with
the same prefix; a release sorts after its pre-releases.

Ranges follow node-semver's grammar: ``||`` alternatives of space-separated comparators,
where hyphen ranges (``1.2 - 2.3.4``), X-ranges (``1.x``, ``*``), tilde (``~1.2.3``) and caret
(``^0.2.3``) ranges are first rewritten ("desugared") into plain comparators exactly as
node-semver rewrites them. :func:`satisfies` reproduces ``semver.satisfies`` including its
rule that a pre-release only matches a comparator set naming a pre-release of the same
``MAJOR.MINOR.PATCH``; the scheme's :meth:`~SemverScheme.in_range` uses the
``includePrerelease`` behaviour, because for vulnerability matching a pre-release inside a
vulnerable range is vulnerable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from stockade.scanner.matcher.errors import InvalidRangeError, InvalidVersionError
from stockade.scanner.matcher.versions.base import BaseScheme, SortKey

__all__ = ["SemverScheme", "parse_semver", "satisfies", "semver_key"]

_MAX_LENGTH = 256
_MAX_SAFE_INTEGER = 2**53 - 1

# Regular expressions mirroring node-semver's internal/re.js (strict, not "loose").
_NUM = r"0|[1-9]\d*"
_NONNUM = r"\d*[a-zA-Z-][a-zA-Z0-9-]*"
_PRE_ID = rf"(?:{_NUM}|{_NONNUM})"
_PRERELEASE = rf"(?:-({_PRE_ID}(?:\.{_PRE_ID})*))"
_BUILD_ID = r"[0-9A-Za-z-]+"
_BUILD = rf"(?:\+({_BUILD_ID}(?:\.{_BUILD_ID})*))"
_FULLPLAIN = rf"v?({_NUM})\.({_NUM})\.({_NUM}){_PRERELEASE}?{_BUILD}?"
_FULL = re.compile(rf"^{_FULLPLAIN}$")
_GTLT = r"((?:<|>)?=?)"
_XID = rf"{_NUM}|x|X|\*"
_XRANGEPLAIN = rf"[v=\s]*({_XID})(?:\.({_XID})(?:\.({_XID})(?:{_PRERELEASE})?{_BUILD}?)?)?"
_XRANGE = re.compile(rf"^{_GTLT}\s*{_XRANGEPLAIN}$")
_HYPHENRANGE = re.compile(rf"^\s*({_XRANGEPLAIN})\s+-\s+({_XRANGEPLAIN})\s*$")
_PRE_ID_LOOSE = rf"(?:\d+|{_NONNUM})"
_LOOSEPLAIN = (
    rf"[v=\s]*(?:\d+)\.(?:\d+)\.(?:\d+)"
    rf"(?:-?(?:{_PRE_ID_LOOSE}(?:\.{_PRE_ID_LOOSE})*))?(?:{_BUILD})?"
)
_COMPARATORTRIM = re.compile(rf"(\s*){_GTLT}\s*({_LOOSEPLAIN}|{_XRANGEPLAIN})")
_TILDETRIM = re.compile(r"(\s*)(?:~>?)\s+")
_CARETTRIM = re.compile(r"(\s*)(?:\^)\s+")
_TILDE = re.compile(rf"^(?:~>?){_XRANGEPLAIN}$")
_CARET = re.compile(rf"^(?:\^){_XRANGEPLAIN}$")
_STAR = re.compile(r"(<|>)?=?\s*\*")
_BUILD_ANYWHERE = re.compile(_BUILD)
_GTE0 = re.compile(r"^\s*>=\s*0\.0\.0\s*$")
_GTE0PRE = re.compile(r"^\s*>=\s*0\.0\.0-0\s*$")
_COMPARATOR = re.compile(rf"^{_GTLT}\s*({_FULLPLAIN})$|^$")

Identifier = tuple[int, int, str]
SemverKey = tuple[int, int, int, tuple[int, tuple[Identifier, ...]]]


@dataclass(frozen=True, slots=True)
class SemVer:
    """A parsed semantic version."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...]
    build: tuple[str, ...]

    @property
    def key(self) -> SemverKey:
        return _key_of(self.major, self.minor, self.patch, self.prerelease)


def _key_of(major: int, minor: int, patch: int, pre: tuple[str, ...]) -> SemverKey:
    if not pre:
        return (major, minor, patch, (1, ()))
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre)
    return (major, minor, patch, (0, ids))


@lru_cache(maxsize=65536)
def parse_semver(version: str) -> SemVer:
    """Parse a strict semantic version (``v`` prefix allowed); raises InvalidVersionError."""
    text = version.strip()
    if len(text) > _MAX_LENGTH:
        raise InvalidVersionError("semver", version[:64] + "...", "it is too long")
    match = _FULL.match(text)
    if match is None:
        raise InvalidVersionError("semver", version)
    major, minor, patch = (int(match.group(i)) for i in (1, 2, 3))
    if max(major, minor, patch) > _MAX_SAFE_INTEGER:
        raise InvalidVersionError("semver", version, "a number is too large")
    pre = tuple(match.group(4).split(".")) if match.group(4) else ()
    build = tuple(match.group(5).split(".")) if match.group(5) else ()
    return SemVer(major, minor, patch, pre, build)


@lru_cache(maxsize=65536)
def semver_key(version: str) -> SemverKey:
    """Sort key of a semantic version (build metadata ignored)."""
    return parse_semver(version).key


# --- ranges ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Comparator:
    operator: str  # "", "<", "<=", ">", ">="
    version: SemVer | None  # None: matches anything

    def test(self, key: SemverKey) -> bool:
        if self.version is None:
            return True
        other = self.version.key
        op = self.operator
        if op == "":
            return key == other
        if op == "<":
            return key < other
        if op == "<=":
            return key <= other
        if op == ">":
            return key > other
        return key >= other


def _is_x(part: str | None) -> bool:
    return not part or part.lower() == "x" or part == "*"


def _inc(part: str | None) -> int:
    return int(part or 0) + 1


def _hyphen_replace(match: re.Match[str], include_pre: bool) -> str:
    g = match.groups()
    frm, f_major, f_minor, f_patch, f_pre = g[0], g[1], g[2], g[3], g[4]
    to, t_major, t_minor, t_patch, t_pre = g[6], g[7], g[8], g[9], g[10]
    z = "-0" if include_pre else ""
    if _is_x(f_major):
        frm = ""
    elif _is_x(f_minor):
        frm = f">={f_major}.0.0{z}"
    elif _is_x(f_patch):
        frm = f">={f_major}.{f_minor}.0{z}"
    elif f_pre:
        frm = f">={frm}"
    else:
        frm = f">={frm}{z}"
    if _is_x(t_major):
        to = ""
    elif _is_x(t_minor):
        to = f"<{_inc(t_major)}.0.0-0"
    elif _is_x(t_patch):
        to = f"<{t_major}.{_inc(t_minor)}.0-0"
    elif t_pre:
        to = f"<={t_major}.{t_minor}.{t_patch}-{t_pre}"
    elif include_pre:
        to = f"<{t_major}.{t_minor}.{_inc(t_patch)}-0"
    else:
        to = f"<={to}"
    return f"{frm} {to}".strip()


def _replace_tilde(comp: str) -> str:
    match = _TILDE.match(comp)
    if match is None:
        return comp
    major, minor, patch, pre = match.group(1), match.group(2), match.group(3), match.group(4)
    if _is_x(major):
        return ""
    if _is_x(minor):
        return f">={major}.0.0 <{_inc(major)}.0.0-0"
    if _is_x(patch):
        return f">={major}.{minor}.0 <{major}.{_inc(minor)}.0-0"
    if pre:
        return f">={major}.{minor}.{patch}-{pre} <{major}.{_inc(minor)}.0-0"
    return f">={major}.{minor}.{patch} <{major}.{_inc(minor)}.0-0"


def _replace_caret(comp: str, include_pre: bool) -> str:
    match = _CARET.match(comp)
    if match is None:
        return comp
    major, minor, patch, pre = match.group(1), match.group(2), match.group(3), match.group(4)
    z = "-0" if include_pre else ""
    if _is_x(major):
        return ""
    if _is_x(minor):
        return f">={major}.0.0{z} <{_inc(major)}.0.0-0"
    if _is_x(patch):
        if major == "0":
            return f">={major}.{minor}.0{z} <{major}.{_inc(minor)}.0-0"
        return f">={major}.{minor}.0{z} <{_inc(major)}.0.0-0"
    low = f">={major}.{minor}.{patch}-{pre}" if pre else f">={major}.{minor}.{patch}"
    if major == "0":
        if minor == "0":
            high = f"<{major}.{minor}.{_inc(patch)}-0"
        else:
            high = f"<{major}.{_inc(minor)}.0-0"
        return f"{low}{'' if pre else z} {high}"
    if pre:
        return f"{low} <{_inc(major)}.0.0-0"
    return f"{low} <{_inc(major)}.0.0-0"


def _replace_xrange(comp: str, include_pre: bool) -> str:
    comp = comp.strip()
    match = _XRANGE.match(comp)
    if match is None:
        return comp
    gtlt, major, minor, patch = match.group(1), match.group(2), match.group(3), match.group(4)
    x_major = _is_x(major)
    x_minor = x_major or _is_x(minor)
    x_patch = x_minor or _is_x(patch)
    any_x = x_patch
    if gtlt == "=" and any_x:
        gtlt = ""
    pr = "-0" if include_pre else ""
    if x_major:
        return "<0.0.0-0" if gtlt in (">", "<") else "*"
    if gtlt and any_x:
        n_major, n_minor, n_patch = int(major), 0 if x_minor else int(minor), 0
        if gtlt == ">":
            gtlt = ">="
            if x_minor:
                n_major, n_minor = n_major + 1, 0
            else:
                n_minor += 1
        elif gtlt == "<=":
            gtlt = "<"
            if x_minor:
                n_major += 1
            else:
                n_minor += 1
        if gtlt == "<":
            pr = "-0"
        return f"{gtlt}{n_major}.{n_minor}.{n_patch}{pr}"
    if x_minor:
        return f">={major}.0.0{pr} <{_inc(major)}.0.0-0"
    if x_patch:
        return f">={major}.{minor}.0{pr} <{major}.{_inc(minor)}.0-0"
    return comp


def _parse_comparator_text(comp: str, include_pre: bool) -> str:
    comp = _BUILD_ANYWHERE.sub("", comp)
    comp = " ".join(_replace_caret(c, include_pre) for c in comp.strip().split())
    comp = " ".join(_replace_tilde(c) for c in comp.strip().split())
    comp = " ".join(_replace_xrange(c, include_pre) for c in comp.split())
    return _STAR.sub("", comp.strip())


def _comparator(text: str, spec: str) -> _Comparator:
    match = _COMPARATOR.match(text)
    if match is None:
        raise InvalidRangeError("npm", spec, f"cannot read comparator {text!r}")
    operator = match.group(1) or ""
    if operator == "=":
        operator = ""
    if not match.group(2):
        return _Comparator("", None)
    try:
        return _Comparator(operator, parse_semver(match.group(2)))
    except InvalidVersionError as exc:
        raise InvalidRangeError("npm", spec, str(exc)) from exc


def _parse_set(part: str, include_pre: bool, spec: str) -> tuple[_Comparator, ...]:
    part = _HYPHENRANGE.sub(lambda m: _hyphen_replace(m, include_pre), part)
    part = _COMPARATORTRIM.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}", part)
    part = _TILDETRIM.sub(lambda m: f"{m.group(1)}~", part)
    part = _CARETTRIM.sub(lambda m: f"{m.group(1)}^", part)
    texts = " ".join(_parse_comparator_text(c, include_pre) for c in part.split(" ")).split()
    if not texts:
        texts = [""]
    gte0 = _GTE0PRE if include_pre else _GTE0
    texts = ["" if gte0.match(t) else t for t in texts]
    comparators = [_comparator(t, spec) for t in texts]
    if len(comparators) > 1:
        comparators = [c for c in comparators if c.version is not None] or comparators[:1]
    return tuple(comparators)


@lru_cache(maxsize=8192)
def _parse_range(spec: str, include_pre: bool) -> tuple[tuple[_Comparator, ...], ...]:
    raw = " ".join(spec.strip().split())
    if len(raw) > _MAX_LENGTH * 4:
        raise InvalidRangeError("npm", spec[:64] + "...", "it is too long")
    return tuple(_parse_set(part.strip(), include_pre, spec) for part in raw.split("||"))


def _set_allows(comparators: tuple[_Comparator, ...], version: SemVer, include_pre: bool) -> bool:
    key = version.key
    if not all(c.test(key) for c in comparators):
        return False
    if version.prerelease and not include_pre:
        for c in comparators:
            allowed = c.version
            if allowed is not None and allowed.prerelease:
                same = (allowed.major, allowed.minor, allowed.patch)
                if same == (version.major, version.minor, version.patch):
                    return True
        return False
    return True


def satisfies(version: str, spec: str, *, include_prerelease: bool = False) -> bool:
    """node-semver's ``satisfies(version, range, {includePrerelease})``.

    Unlike node-semver (which answers ``false``), an invalid version or range raises
    :class:`InvalidVersionError` / :class:`InvalidRangeError`.
    """
    parsed = parse_semver(version)
    sets = _parse_range(spec, include_prerelease)
    return any(_set_allows(s, parsed, include_prerelease) for s in sets)


class SemverScheme(BaseScheme):
    """Semantic versions (npm, crates.io, NuGet-style SemVer ecosystems); npm range syntax."""

    name = "semver"

    def key(self, version: str) -> SortKey:
        return semver_key(version)

    def in_range(self, version: str, spec: str) -> bool:
        """npm range semantics with ``includePrerelease``; also takes ``">= 1.0, < 2.0"``."""
        if "," in spec:
            spec = spec.replace(",", " ")
        return satisfies(version, spec, include_prerelease=True)

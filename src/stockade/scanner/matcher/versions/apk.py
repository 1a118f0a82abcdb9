"""Alpine (apk) versions, ordered as current apk-tools' ``version.c`` orders them.

Grammar: ``digits{.digits}[letter]{_suffix[digits]}[~hash][-r digits]`` where a suffix is a
pre-release one (``alpha beta pre rc``) or a post-release one (``cvs svn git hg p``) and the
hash is lower-case hexadecimal (a commit id).

apk-tools reads a version as tokens — initial number, dotted number, letter, suffix, suffix
number, commit hash, revision number, end — and walks two versions in step while the token
*types* agree, comparing values: numbers numerically, except that a dotted number with a
leading zero compares as a string (``1.01 < 1.1``, ``1.05 < 1.1``); letters and hashes as
text; suffixes by their rank above. At the first type mismatch, a pre-release suffix loses;
otherwise the token type that comes later in the grammar (end of string being last) loses,
so ``1.0 < 1.0a < 1.0.1`` and ``1.0_rc1 < 1.0 < 1.0_p1 < 1.0-r1``.

Each token becomes ``(class, flag, number, text)`` where ``class`` encodes the type rule
above, so plain tuple comparison gives apk's answer.
"""

from __future__ import annotations

from functools import lru_cache

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions.base import BaseScheme, SortKey

__all__ = ["ApkScheme", "apk_key"]

# Token types, in apk-tools' order.
_INITIAL_DIGIT, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _COMMIT_HASH, _REVISION_NO, _END = range(8)
# Suffix ranks; values below _SUFFIX_NONE are pre-releases.
_SUFFIXES = {
    "alpha": 1,
    "beta": 2,
    "pre": 3,
    "rc": 4,
    "cvs": 6,
    "svn": 7,
    "git": 8,
    "hg": 9,
    "p": 10,
}
_SUFFIX_NONE = 5
_PRE_RELEASE_CLASS = -100
_HEX = frozenset("0123456789abcdef")
_DIGITS = frozenset("0123456789")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")

Token = tuple[int, int, int, str]
ApkKey = tuple[Token, ...]


def _span(text: str, pos: int, allowed: frozenset[str]) -> int:
    end = pos
    while end < len(text) and text[end] in allowed:
        end += 1
    return end


def _digits_token(kind: int, text: str, pos: int) -> tuple[Token, int]:
    end = _span(text, pos, _DIGITS)
    if end == pos:
        raise ValueError("a number is missing")
    digits = text[pos:end]
    if kind == _DIGIT and digits[0] == "0":
        return (-kind, 0, 0, digits), end  # compared as a string
    return (-kind, 1, int(digits), ""), end


def _tokens(text: str) -> list[Token]:
    token, pos = _digits_token(_INITIAL_DIGIT, text, 0)
    out = [token]
    kind = _INITIAL_DIGIT
    n = len(text)
    while pos < n:
        c = text[pos]
        if "a" <= c <= "z":
            if kind > _DIGIT:
                raise ValueError(f"unexpected letter at offset {pos}")
            kind = _LETTER
            token, pos = (-_LETTER, 1, ord(c), ""), pos + 1
        elif c == "." or c.isdigit():
            if c == ".":
                if kind > _DIGIT:
                    raise ValueError(f"unexpected '.' at offset {pos}")
                pos += 1
            if kind in (_INITIAL_DIGIT, _DIGIT):
                kind = _DIGIT
            elif kind == _SUFFIX:
                kind = _SUFFIX_NO
            else:
                raise ValueError(f"unexpected digit at offset {pos}")
            token, pos = _digits_token(kind, text, pos)
        elif c == "_":
            if kind > _SUFFIX_NO:
                raise ValueError(f"unexpected '_' at offset {pos}")
            end = _span(text, pos + 1, _LOWER)
            rank = _SUFFIXES.get(text[pos + 1 : end])
            if rank is None:
                raise ValueError(f"unknown suffix {text[pos + 1 : end]!r}")
            kind = _SUFFIX
            klass = _PRE_RELEASE_CLASS if rank < _SUFFIX_NONE else -_SUFFIX
            token, pos = (klass, 1, rank, ""), end
        elif c == "~":
            if kind >= _COMMIT_HASH:
                raise ValueError(f"unexpected '~' at offset {pos}")
            end = _span(text, pos + 1, _HEX)
            if end == pos + 1:
                raise ValueError("the commit hash is empty")
            kind = _COMMIT_HASH
            token, pos = (-_COMMIT_HASH, 0, 0, text[pos + 1 : end]), end
        elif c == "-":
            if kind >= _REVISION_NO or not text.startswith("-r", pos):
                raise ValueError(f"unexpected '-' at offset {pos}")
            kind = _REVISION_NO
            token, pos = _digits_token(_REVISION_NO, text, pos + 2)
        else:
            raise ValueError(f"unexpected character {c!r}")
        out.append(token)
    out.append((-_END, 0, 0, ""))
    return out


@lru_cache(maxsize=65536)
def apk_key(version: str) -> ApkKey:
    """Sort key of an Alpine package version; raises :class:`InvalidVersionError`."""
    try:
        return tuple(_tokens(version))
    except ValueError as exc:
        raise InvalidVersionError("apk", version, str(exc)) from exc


class ApkScheme(BaseScheme):
    """Alpine Linux package versions."""

    name = "apk"

    def key(self, version: str) -> SortKey:
        return apk_key(version)

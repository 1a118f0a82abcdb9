"""Composer (Packagist) versions, ordered as PHP's ``version_compare``.

Composer's own ``Comparator`` hands non-branch versions to PHP's ``version_compare``, after
its parser has dropped a leading ``v``; this scheme does the same.

``version_compare`` first rewrites a version into dot-separated segments: ``-``, ``_``,
``+`` and any other non-alphanumeric character become a dot, and a dot is inserted wherever
digits and letters meet (``1.0rc1`` → ``1.0.rc.1``). Segments then compare one by one:
numbers numerically; words by their *special form*, matched as a prefix — ``dev`` <
``alpha``/``a`` < ``beta``/``b`` < ``RC``/``rc`` < (a number) < ``pl``/``p``, any other word
below ``dev``. When one side runs out, a following number makes the longer side newer and a
following word is compared with "a number" (so ``1.0 > 1.0rc1`` but ``1.0 < 1.0pl1``).

PHP's function has quirks on strings no package uses (``version_compare("1.", "1.")`` is
-1, so it is not even reflexive there): versions must start with a digit (after an optional
``v``), end with a letter or digit and use only letters, digits and ``. + _ -``; on those,
the order is a total order and the key is a plain tuple. Branches (``dev-main``), which
Composer never orders against versions, are rejected.
"""

from __future__ import annotations

import re
from functools import lru_cache

from stockade.scanner.matcher.errors import InvalidVersionError
from stockade.scanner.matcher.versions.base import BaseScheme, SortKey

__all__ = ["ComposerScheme", "composer_key", "php_version_compare"]

# (prefix, order) in PHP's lookup order; the first prefix that matches wins.
_SPECIAL_FORMS = (
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
)
_NUMBER_ORDER = 4
_ALLOWED = re.compile(r"^[0-9A-Za-z.+_-]+$")

Segment = tuple[int, int]  # (special-form order, number); numbers have order 4


def _form_order(word: str) -> int:
    for prefix, order in _SPECIAL_FORMS:
        if word.startswith(prefix):
            return order
    return -1


def _canonical(version: str) -> str:
    """``php_canonicalize_version``."""
    out = [version[0]]
    last = version[0]
    for c in version[1:]:
        previous_out = out[-1]
        if c in "-_+":
            if previous_out != ".":
                out.append(".")
        elif (c.isdigit() and not last.isdigit() and last != ".") or (
            not c.isdigit() and c != "." and last.isdigit()
        ):
            if previous_out != ".":
                out.append(".")
            out.append(c)
        elif not c.isalnum():
            if previous_out != ".":
                out.append(".")
        else:
            out.append(c)
        last = c
    return "".join(out)


_END: Segment = (_NUMBER_ORDER, -1)  # "nothing more": below any number, as "#N#" to words

ComposerKey = tuple[Segment, ...]


def _segment(text: str) -> Segment:
    if text[0].isdigit():
        return (_NUMBER_ORDER, int(text))
    return (_form_order(text), 0)


def _normalise(version: str) -> str:
    text = version.strip()
    if len(text) > 1 and text[0] in "vV" and text[1].isdigit():
        text = text[1:]
    if text.startswith("dev-"):
        raise InvalidVersionError("composer", version, "a branch is not an ordered version")
    if not _ALLOWED.match(text) or not text[0].isdigit() or not text[-1].isalnum():
        raise InvalidVersionError("composer", version)
    return text


@lru_cache(maxsize=65536)
def composer_key(version: str) -> ComposerKey:
    """Sort key of a Composer version; raises :class:`InvalidVersionError`.

    The canonical segments map to (special-form order, number) pairs closed by an end marker
    that sorts below every number and like a number against words, which is exactly how
    ``version_compare`` treats the side that runs out first.
    """
    text = _normalise(version)
    return (*(_segment(part) for part in _canonical(text).split(".")), _END)


def php_version_compare(a: str, b: str) -> int:
    """PHP's ``version_compare(a, b)`` for versions this scheme accepts: -1, 0 or 1."""
    ka, kb = composer_key(a), composer_key(b)
    return (ka > kb) - (ka < kb)


class ComposerScheme(BaseScheme):
    """Packagist (Composer) package versions."""

    name = "composer"

    def key(self, version: str) -> SortKey:
        return composer_key(version)

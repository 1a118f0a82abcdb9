"""Maven versions and version ranges, as Maven 3.8's ``ComparableVersion`` and ``VersionRange``.

``ComparableVersion`` reads a version (lower-cased) into a list of items: numbers, strings
(qualifiers) and nested lists. ``.`` separates items; ``-`` and a switch between letters and
digits open a nested list (``1.0-alpha1`` → ``[1, [alpha, [1]]]``); since Maven 3.8 a string
after a dot opens one too (``1.0.x1`` orders like ``1.0-x1``). Trailing "null" items (``0``,
``""``/``ga``/``final``/``release``, empty lists) are dropped. Comparing walks both lists,
treating a missing item as null: numbers beat lists beat strings; strings order by the
known qualifiers ``alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release
< sp`` and then any other qualifier alphabetically; ``a1``/``b1``/``m1`` mean alpha/beta/
milestone.

The nesting makes a flat tuple key impractical, so parsed versions are cached and compared
with a small recursive function; :class:`MavenKey` wraps that for sorting.

Ranges: Maven's bracket syntax (``[1.0,2.0)``, ``(,1.5]``, ``[1.2]``, unions
``[1,2),[3,)``) as ``VersionRange.containsVersion`` evaluates it; anything else is read as a
comparator list (``">= 1.0, < 2.0"``), the form GitHub advisories use for Maven.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from stockade.scanner.matcher.errors import InvalidRangeError, InvalidVersionError
from stockade.scanner.matcher.versions.base import BaseScheme, SortKey, comparators_satisfied

__all__ = ["MavenKey", "MavenScheme", "maven_compare", "maven_key", "maven_range_contains"]

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_RELEASE_INDEX = _QUALIFIERS.index("")


@dataclass(frozen=True, slots=True)
class _Str:
    value: str

    @property
    def order(self) -> tuple[int, str]:
        """``comparableQualifier``: known qualifiers by index, then others alphabetically.

        Java compares ``str(index)`` with ``"7-" + qualifier`` as strings; with seven known
        qualifiers every index is one digit below "7", so (index, "") / (7, name) agrees.
        """
        try:
            return (_QUALIFIERS.index(self.value), "")
        except ValueError:
            return (len(_QUALIFIERS), self.value)


Item = int | _Str | tuple["Item", ...]


def _is_null(item: Item) -> bool:
    if isinstance(item, int):
        return item == 0
    if isinstance(item, _Str):
        return item.order == (_RELEASE_INDEX, "")
    return len(item) == 0


def _string_item(text: str, followed_by_digit: bool) -> _Str:
    if followed_by_digit and len(text) == 1:
        text = {"a": "alpha", "b": "beta", "m": "milestone"}.get(text, text)
    return _Str(_ALIASES.get(text, text))


def _parse_item(is_digit: bool, text: str) -> Item:
    return int(text) if is_digit else _string_item(text, False)


class _List:
    """Mutable list used while parsing; frozen into a tuple afterwards."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Item | _List] = []


def _freeze(node: _List) -> tuple[Item, ...]:
    items: list[Item] = [_freeze(i) if isinstance(i, _List) else i for i in node.items]
    # ListItem.normalize(): drop null items from the end, stepping over trailing lists.
    i = len(items) - 1
    while i >= 0:
        last = items[i]
        if _is_null(last):
            del items[i]
        elif not isinstance(last, tuple):
            break
        i -= 1
    return tuple(items)


@lru_cache(maxsize=65536)
def maven_items(version: str) -> tuple[Item, ...]:
    """The parsed item list of ``version`` (``ComparableVersion.parseVersion``)."""
    text = version.lower()
    root = _List()
    current = root
    is_digit = False
    start = 0

    def open_list() -> None:
        nonlocal current
        child = _List()
        current.items.append(child)
        current = child

    for i, c in enumerate(text):
        if c in ".-":
            current.items.append(0 if i == start else _parse_item(is_digit, text[start:i]))
            start = i + 1
            if c == "-":
                open_list()
        elif c.isdecimal():
            if not is_digit and i > start:
                if current.items:
                    open_list()
                current.items.append(_string_item(text[start:i], True))
                start = i
                open_list()
            is_digit = True
        else:
            if is_digit and i > start:
                current.items.append(_parse_item(True, text[start:i]))
                start = i
                open_list()
            is_digit = False
    if len(text) > start:
        if not is_digit and current.items:
            open_list()
        current.items.append(_parse_item(is_digit, text[start:]))
    return _freeze(root)


def _compare_items(left: Item | None, right: Item | None) -> int:
    """``Item.compareTo`` with ``None`` standing for a missing item."""
    if left is None:
        return 0 if right is None else -_compare_items(right, None)
    if isinstance(left, int):
        if right is None:
            return 0 if left == 0 else 1
        if isinstance(right, int):
            return (left > right) - (left < right)
        return 1
    if isinstance(left, _Str):
        if right is None:
            lo, ro = left.order, (_RELEASE_INDEX, "")
            return (lo > ro) - (lo < ro)
        if isinstance(right, _Str):
            lo, ro = left.order, right.order
            return (lo > ro) - (lo < ro)
        return -1
    if right is None:
        for item in left:
            result = _compare_items(item, None)
            if result:
                return result
        return 0
    if isinstance(right, int):
        return -1
    if isinstance(right, _Str):
        return 1
    for index in range(max(len(left), len(right))):
        a = left[index] if index < len(left) else None
        b = right[index] if index < len(right) else None
        result = _compare_items(a, b) if a is not None else -_compare_items(b, a)
        if result:
            return result
    return 0


def maven_compare(a: str, b: str) -> int:
    """``new ComparableVersion(a).compareTo(new ComparableVersion(b))`` as -1, 0 or 1."""
    return _compare_items(maven_key(a).items, maven_key(b).items)


class MavenKey:
    """Sort key of a Maven version (ordered by :func:`maven_compare`)."""

    __slots__ = ("items", "version")

    def __init__(self, version: str, items: tuple[Item, ...]) -> None:
        self.version = version
        self.items = items

    def __lt__(self, other: MavenKey) -> bool:
        return _compare_items(self.items, other.items) < 0

    def __le__(self, other: MavenKey) -> bool:
        return _compare_items(self.items, other.items) <= 0

    def __gt__(self, other: MavenKey) -> bool:
        return _compare_items(self.items, other.items) > 0

    def __ge__(self, other: MavenKey) -> bool:
        return _compare_items(self.items, other.items) >= 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MavenKey):
            return NotImplemented
        return _compare_items(self.items, other.items) == 0

    def __hash__(self) -> int:
        return hash(self.items)

    def __repr__(self) -> str:
        return f"MavenKey({self.version!r})"


@lru_cache(maxsize=65536)
def maven_key(version: str) -> MavenKey:
    """Sort key of a Maven version; raises :class:`InvalidVersionError` for an empty one.

    ``ComparableVersion`` accepts any string; Stockade rejects only empty and blank ones
    and versions with white space inside, which no repository publishes.
    """
    if not version.strip() or any(c.isspace() for c in version):
        raise InvalidVersionError("maven", version, "it is empty or contains white space")
    return MavenKey(version, maven_items(version))


@dataclass(frozen=True, slots=True)
class _Restriction:
    lower: MavenKey | None
    lower_inclusive: bool
    upper: MavenKey | None
    upper_inclusive: bool

    def contains(self, version: MavenKey) -> bool:
        if self.lower is not None:
            cmp = _compare_items(self.lower.items, version.items)
            if cmp > 0 or (cmp == 0 and not self.lower_inclusive):
                return False
        if self.upper is not None:
            cmp = _compare_items(self.upper.items, version.items)
            if cmp < 0 or (cmp == 0 and not self.upper_inclusive):
                return False
        return True


def _bound(text: str, spec: str) -> MavenKey:
    try:
        return maven_key(text)
    except InvalidVersionError as exc:
        raise InvalidRangeError("maven", spec, str(exc)) from exc


def _restriction(text: str, spec: str) -> _Restriction:
    lower_inclusive = text.startswith("[")
    upper_inclusive = text.endswith("]")
    inner = text[1:-1].strip()
    if "," not in inner:
        if not (lower_inclusive and upper_inclusive):
            raise InvalidRangeError("maven", spec, "a single version must be in [ ]")
        version = _bound(inner, spec)
        return _Restriction(version, True, version, True)
    low_text, _, high_text = (p.strip() for p in inner.partition(","))
    low = _bound(low_text, spec) if low_text else None
    high = _bound(high_text, spec) if high_text else None
    if low is not None and high is not None:
        order = _compare_items(high.items, low.items)
        if order < 0 or (order == 0 and not (lower_inclusive and upper_inclusive)):
            raise InvalidRangeError("maven", spec, "its bounds are out of order")
    return _Restriction(low, lower_inclusive, high, upper_inclusive)


@lru_cache(maxsize=8192)
def _parse_range(spec: str) -> tuple[_Restriction, ...]:
    rest = spec.strip()
    restrictions: list[_Restriction] = []
    upper: MavenKey | None = None
    while rest.startswith(("[", "(")):
        close_paren, close_bracket = rest.find(")"), rest.find("]")
        index = close_bracket
        if (close_bracket < 0 or close_paren < close_bracket) and close_paren >= 0:
            index = close_paren
        if index < 0:
            raise InvalidRangeError("maven", spec, "a range is not closed")
        restriction = _restriction(rest[: index + 1], spec)
        if upper is not None and (restriction.lower is None or restriction.lower < upper):
            raise InvalidRangeError("maven", spec, "its ranges overlap")
        restrictions.append(restriction)
        upper = restriction.upper
        rest = rest[index + 1 :].strip()
        if rest.startswith(","):
            rest = rest[1:].strip()
    if rest:
        raise InvalidRangeError("maven", spec, "text after the ranges")
    if not restrictions:
        raise InvalidRangeError("maven", spec, "it has no range")
    return tuple(restrictions)


def maven_range_contains(spec: str, version: str) -> bool:
    """``VersionRange.createFromVersionSpec(spec).containsVersion(version)`` for bracketed specs."""
    key = maven_key(version)
    return any(r.contains(key) for r in _parse_range(spec))


class MavenScheme(BaseScheme):
    """Maven artifact versions."""

    name = "maven"

    def key(self, version: str) -> SortKey:
        return maven_key(version)

    def compare(self, a: str, b: str) -> int:
        return maven_compare(a, b)

    def in_range(self, version: str, spec: str) -> bool:
        if spec.lstrip().startswith(("[", "(")):
            return maven_range_contains(spec, version)
        return comparators_satisfied(self, version, spec)

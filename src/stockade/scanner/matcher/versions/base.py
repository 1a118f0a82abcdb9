"""The version-scheme plugin contract and the range logic every scheme shares.

A scheme turns a version string into a *sort key*: a value that orders exactly as the
ecosystem's own tool orders versions (``dpkg --compare-versions``, ``rpm.labelCompare``,
node-semver, ...). Keys are computed once per distinct string (each scheme caches its parser)
so matching compares plain Python tuples.

Ranges come in three shapes, all handled here or by the scheme:

* OSV ``events`` (introduced / fixed / last_affected / limit): :func:`osv_affected`;
* comparator lists as GitHub advisories and most feeds write them (``">= 1.2, < 1.4.1"``,
  ``"< 2.0 || = 3.1"``): :func:`comparators_satisfied`;
* a scheme's native syntax (npm ranges, Maven ``[1.0,2.0)``, RubyGems ``~> 1.2``, PEP 440
  specifiers): :meth:`VersionScheme.in_range`, which falls back to comparator lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Protocol, runtime_checkable

from stockade.scanner.matcher.errors import InvalidRangeError, InvalidVersionError

__all__ = [
    "BaseScheme",
    "OsvEvent",
    "OsvEventKind",
    "SortKey",
    "VersionScheme",
    "comparators_satisfied",
    "osv_affected",
]


class SortKey(Protocol):
    """Anything ordered by ``<``; keys of one scheme compare only with each other."""

    def __lt__(self, other: Any, /) -> bool: ...


@runtime_checkable
class VersionScheme(Protocol):
    """One ecosystem's version rules."""

    @property
    def name(self) -> str:
        """Short identifier, e.g. ``"dpkg"``; keys of :data:`SCHEMES`."""
        ...

    def key(self, version: str) -> SortKey:
        """Sort key of ``version``; raises :class:`InvalidVersionError` when it is not valid."""
        ...

    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1 as ``a`` is older than, equal to or newer than ``b``."""
        ...

    def is_valid(self, version: str) -> bool:
        """Whether ``version`` parses in this scheme."""
        ...

    def in_range(self, version: str, spec: str) -> bool:
        """Whether ``version`` satisfies ``spec`` in the scheme's range syntax.

        Raises :class:`InvalidRangeError` for a spec it cannot read.
        """
        ...

    def __hash__(self) -> int:
        """Schemes are stateless singletons, hashable so parsed ranges can be cached."""
        ...


OsvEventKind = Literal["introduced", "fixed", "last_affected", "limit"]


@dataclass(frozen=True, slots=True)
class OsvEvent:
    """One entry of an OSV ``ranges[].events`` list."""

    kind: OsvEventKind
    version: str


class BaseScheme:
    """Shared behaviour; a scheme defines ``name`` and ``key`` and may override the rest."""

    name: str = ""

    def key(self, version: str) -> SortKey:
        raise NotImplementedError

    def compare(self, a: str, b: str) -> int:
        ka, kb = self.key(a), self.key(b)
        if ka < kb:
            return -1
        if kb < ka:
            return 1
        return 0

    def is_valid(self, version: str) -> bool:
        try:
            self.key(version)
        except InvalidVersionError:
            return False
        return True

    def in_range(self, version: str, spec: str) -> bool:
        return comparators_satisfied(self, version, spec)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def osv_affected(scheme: VersionScheme, version: str, events: Sequence[OsvEvent]) -> bool:
    """Whether ``version`` lies in the OSV range described by ``events``.

    Follows the OSV schema's evaluation: events are sorted by version (``introduced: "0"``
    first); walking them, an ``introduced`` at or below the version turns "affected" on, a
    ``fixed`` at or below it or a ``last_affected`` below it turns it off. ``limit`` events
    cap the range: at or above every limit, nothing is affected (``"*"`` is no limit).
    """
    vkey = scheme.key(version)
    ordered: list[tuple[int, SortKey | None, OsvEvent]] = []
    limits: list[SortKey] = []
    for event in events:
        if event.kind == "limit":
            if event.version != "*":
                limits.append(scheme.key(event.version))
            continue
        if event.kind == "introduced" and event.version == "0":
            ordered.append((0, None, event))
        else:
            ordered.append((1, scheme.key(event.version), event))
    if limits and not any(vkey < limit for limit in limits):
        return False
    ordered.sort(key=_event_order)
    affected = False
    for _, ekey, event in ordered:
        if ekey is None:  # introduced "0"
            affected = True
        elif event.kind == "introduced":
            if not vkey < ekey:
                affected = True
        elif event.kind == "fixed":
            if not vkey < ekey:
                affected = False
        elif ekey < vkey:  # last_affected
            affected = False
    return affected


class _EventOrder:
    """Orders (rank, key) pairs; ``None`` keys only occur with rank 0."""

    __slots__ = ("key", "rank")

    def __init__(self, rank: int, key: SortKey | None) -> None:
        self.rank = rank
        self.key = key

    def __lt__(self, other: _EventOrder) -> bool:
        if self.rank != other.rank:
            return self.rank < other.rank
        if self.key is None or other.key is None:
            return False
        return bool(self.key < other.key)


def _event_order(item: tuple[int, SortKey | None, OsvEvent]) -> _EventOrder:
    return _EventOrder(item[0], item[1])


_COMPARATOR = re.compile(r"^\s*(==|=|!=|<=|>=|<|>)?\s*(\S+)\s*$")


def comparators_satisfied(scheme: VersionScheme, version: str, spec: str) -> bool:
    """Evaluate a comparator list such as ``">= 1.2, < 1.4.1"`` or ``"< 2 || = 3.1"``.

    ``,`` joins comparators that must all hold; ``||`` joins alternatives. A bare version
    means equality. Versions are compared with ``scheme``; the whole spec is read (and
    rejected with :class:`InvalidRangeError` if any part is unreadable) before evaluating.
    """
    vkey = scheme.key(version)
    return any(
        all(_holds(op, vkey, bound) for op, bound in alternative)
        for alternative in _parse_comparators(scheme, spec)
    )


Comparator = tuple[str, SortKey]


@lru_cache(maxsize=8192)
def _parse_comparators(scheme: VersionScheme, spec: str) -> tuple[tuple[Comparator, ...], ...]:
    if not spec.strip():
        raise InvalidRangeError(scheme.name, spec, "it is empty")
    alternatives: list[tuple[Comparator, ...]] = []
    for alternative in spec.split("||"):
        comparators: list[Comparator] = []
        for part in alternative.split(","):
            match = _COMPARATOR.match(part)
            if match is None:
                reason = (
                    f"cannot read comparator {part.strip()!r}"
                    if part.strip()
                    else ("it has an empty comparator")
                )
                raise InvalidRangeError(scheme.name, spec, reason)
            try:
                bound = scheme.key(match.group(2))
            except InvalidVersionError as exc:
                raise InvalidRangeError(scheme.name, spec, str(exc)) from exc
            comparators.append((match.group(1) or "=", bound))
        alternatives.append(tuple(comparators))
    return tuple(alternatives)


def _holds(op: str, vkey: SortKey, other: SortKey) -> bool:
    lt, gt = vkey < other, other < vkey
    if op in ("=", "=="):
        return not lt and not gt
    if op == "!=":
        return lt or gt
    if op == "<":
        return lt
    if op == "<=":
        return not gt
    if op == ">":
        return gt
    return not lt  # ">="

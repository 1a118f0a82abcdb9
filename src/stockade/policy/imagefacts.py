"""Per-image facts, extracted once and kept by digest.

The components, CVEs and Dockerfile lines of an image are laid out as flat lists, and each
criterion's values as a column over one of them, computed the first time any policy asks and
shared by every policy after that. Section groups are then evaluated column by column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter

from stockade.model.image import Component, DockerfileLine, Image, Vulnerability
from stockade.policy.criteria import FieldSpec, Level
from stockade.policy.values import PartMatcher, WordMatcher

Column = list[tuple[object, ...] | None]
# (field, the group's test, its single matcher when the group is a plain "any value matches")
GroupTest = tuple[FieldSpec, Callable[[tuple[object, ...] | None], bool], object]


# String fields read straight off the model (same values the extractors give, always present)
_DIRECT: dict[tuple[str, int | None], Callable[[object], str]] = {
    ("Image Component", 0): attrgetter("name"),
    ("Image Component", 1): attrgetter("version"),
    ("CVE", None): attrgetter("cve"),
}


class ImageFacts:
    __slots__ = ("_columns", "_lowered", "components", "cves", "lines", "owners")

    def __init__(self, image: Image | None) -> None:
        self.components: tuple[Component, ...] = image.components if image is not None else ()
        self.lines: tuple[DockerfileLine, ...] = image.dockerfile if image is not None else ()
        self.cves: list[Vulnerability] = []
        self.owners: list[int] = []  # index of the component each CVE belongs to
        for i, comp in enumerate(self.components):
            for v in comp.vulnerabilities:
                self.cves.append(v)
                self.owners.append(i)
        self._columns: dict[str, Column] = {}
        self._lowered: dict[str, list[str] | None] = {}

    def elements(self, level: Level) -> Sequence[object]:
        if level is Level.COMPONENT:
            return self.components
        if level is Level.CVE:
            return self.cves
        if level is Level.DOCKERFILE:
            return self.lines
        return ()

    def column(self, level: Level, spec: FieldSpec) -> Column:
        col = self._columns.get(spec.name)
        if col is None:
            extract = spec.extract
            col = [extract(e) for e in self.elements(level)]
            self._columns[spec.name] = col
        return col

    def lowered(self, level: Level, spec: FieldSpec, part: int | None) -> list[str] | None:
        """The field's string per element, lower-cased; None unless every one is plain ASCII."""
        key = f"{spec.name}\0{part}"
        if key in self._lowered:
            return self._lowered[key]
        direct = _DIRECT.get((spec.name, part))
        col: list[str] | None = None
        if direct is not None:
            raw = list(map(direct, self.elements(level)))
            if "".join(raw).isascii():
                col = [x.lower() for x in raw]
        self._lowered[key] = col
        return col

    def _words(self, level: Level, spec: FieldSpec, simple: object) -> list[bool] | None:
        """A mask from set lookups when the matcher is a plain word set."""
        part = None
        matcher = simple
        if isinstance(matcher, PartMatcher):
            part, matcher = matcher.part, matcher.inner
        if not isinstance(matcher, WordMatcher):
            return None
        low = self.lowered(level, spec, part)
        if low is None:
            return None
        words = matcher.words
        return [x in words for x in low]

    def mask(self, level: Level, groups: Sequence[GroupTest]) -> list[bool]:
        """For each element of ``level``: do all ``groups`` match it?"""
        result: list[bool] | None = None
        for spec, test, simple in groups:
            fast = self._words(level, spec, simple) if simple is not None else None
            if fast is not None:
                result = (
                    fast if result is None else [a and b for a, b in zip(result, fast, strict=True)]
                )
            elif result is None:
                result = [test(v) for v in self.column(level, spec)]
            else:
                col = self.column(level, spec)
                result = [ok and test(v) for ok, v in zip(result, col, strict=True)]
        return result if result is not None else [True] * len(self.elements(level))

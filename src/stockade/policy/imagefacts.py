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
WordIndex = tuple[dict[str, list[int]], list[int]]
GroupTest = tuple[FieldSpec, Callable[[tuple[object, ...] | None], bool], object]


# String fields read straight off the model (same values the extractors give, always present)
_DIRECT: dict[tuple[str, int | None], Callable[[object], str]] = {
    ("Image Component", 0): attrgetter("name"),
    ("Image Component", 1): attrgetter("version"),
    ("CVE", None): attrgetter("cve"),
}


class ImageFacts:
    __slots__ = ("_columns", "_indexes", "components", "cves", "lines", "owners")

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
        self._indexes: dict[str, WordIndex] = {}

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

    def index(self, level: Level, spec: FieldSpec, part: int | None) -> WordIndex:
        """Lower-cased single string value -> element indices, plus elements needing a test."""
        key = f"{spec.name}\0{part}"
        got = self._indexes.get(key)
        if got is None:
            by_word: dict[str, list[int]] = {}
            odd: list[int] = []
            direct = _DIRECT.get((spec.name, part))
            if direct is not None:
                for i, x in enumerate(map(direct, self.elements(level))):
                    if x.isascii():
                        by_word.setdefault(x.lower(), []).append(i)
                    else:
                        odd.append(i)
                got = self._indexes[key] = (by_word, odd)
                return got
            for i, values in enumerate(self.column(level, spec)):
                if values is None:
                    continue
                y: object = values[0] if len(values) == 1 else None
                if part is not None and isinstance(y, tuple):
                    y = y[part] if len(y) > part else None
                if isinstance(y, str) and y.isascii():
                    by_word.setdefault(y.lower(), []).append(i)
                else:
                    odd.append(i)
            got = self._indexes[key] = (by_word, odd)
        return got

    def _words(self, level: Level, spec: FieldSpec, simple: object) -> list[bool] | None:
        part = None
        matcher = simple
        if isinstance(matcher, PartMatcher):
            part, matcher = matcher.part, matcher.inner
        if not isinstance(matcher, WordMatcher):
            return None
        by_word, odd = self.index(level, spec, part)
        result = [False] * len(self.elements(level))
        for w in matcher.words:
            for i in by_word.get(w, ()):
                result[i] = True
        if odd:
            col = self.column(level, spec)
            assert callable(simple)
            for i in odd:
                values = col[i]
                result[i] = values is not None and any(map(simple, values))
        return result

    def mask(self, level: Level, groups: Sequence[GroupTest]) -> list[bool]:
        """For each element of ``level``: do all ``groups`` match it?"""
        result: list[bool] | None = None
        for spec, test, simple in groups:
            col = self.column(level, spec)
            fast = self._words(level, spec, simple) if simple is not None else None
            current: list[bool]
            if fast is not None:
                current = fast
            elif result is None:
                current = [test(v) for v in col]
            else:
                current = [ok and test(v) for ok, v in zip(result, col, strict=True)]
            if result is None:
                result = current
            else:
                result = [a and b for a, b in zip(result, current, strict=True)]
        return result if result is not None else [True] * len(self.elements(level))

"""Server-rendered charts: the numbers become SVG geometry here, the template draws it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

BAR_WIDTH = 320  # pixels for the largest bar


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    width: int  # 0..BAR_WIDTH, at least 2 for a non-zero count so it stays visible
    css: str  # a class name derived from the label (severity colours)


def bar_rows(items: Iterable[tuple[str, int]]) -> list[Bar]:
    rows = list(items)
    top = max((n for _, n in rows), default=0)
    out = []
    for label, n in rows:
        width = round(BAR_WIDTH * n / top) if top else 0
        css = "bar-" + "".join(ch if ch.isalnum() else "-" for ch in label.lower())
        out.append(Bar(label, n, max(width, 2) if n else 0, css))
    return out

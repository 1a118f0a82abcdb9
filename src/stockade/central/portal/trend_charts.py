"""Line charts of a count per day, as SVG geometry the template draws (no JavaScript): one
polyline per series on a shared scale, a few axis ticks, and the numbers themselves for the
text alternative (a table under the chart)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stockade.central.portal.common import ALERT_SEVERITIES

WIDTH = 520  # plot area, pixels
HEIGHT = 150
LEFT = 36  # room for the y-axis labels
TOP = 8
BOTTOM = 22  # room for the x-axis labels
MAX_SERIES = 6  # more lines than this cannot be told apart; the rest are left out


@dataclass(frozen=True)
class Series:
    label: str
    counts: tuple[int, ...]
    points: str  # "x,y x,y ..." for <polyline points>
    css: str  # class name for the stroke colour
    last: int  # today's count, for the legend and the description


@dataclass(frozen=True)
class Tick:
    pos: float  # x or y pixel
    text: str


@dataclass(frozen=True)
class TrendChart:
    days: tuple[str, ...]  # ISO dates, oldest first
    series: tuple[Series, ...]  # the lines drawn
    rows: tuple[tuple[str, tuple[int, ...]], ...]  # every series, for the table
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    width: int
    height: int
    left: int
    top: int
    plot_bottom: int
    left_out: int  # series not drawn (beyond MAX_SERIES)

    @property
    def description(self) -> str:
        """One sentence for assistive technology: the span and each line's latest value."""
        if not self.series:
            return f"No active violations from {self.days[0]} to {self.days[-1]}."
        latest = ", ".join(f"{s.label} {s.last}" for s in self.series)
        peak = max(max(s.counts) for s in self.series)
        return (
            f"Active violations per day from {self.days[0]} to {self.days[-1]}; on the last day:"
            f" {latest}; the highest daily count is {peak}. The table below has every number."
        )


def css_class(label: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in label.lower().removesuffix("_severity"))
    return "line-" + slug


def _nice_max(top: int) -> int:
    """A round axis maximum at or above ``top``: four ticks of 1, 2 or 5 times a power of
    ten (so every tick is a whole number)."""
    tick = 1
    while True:
        for m in (1, 2, 5):
            if 4 * m * tick >= top:
                return 4 * m * tick
        tick *= 10


def trend_chart(
    days: Sequence[str],
    groups: Mapping[str, Sequence[int]],
    order: Sequence[str] | None = None,
) -> TrendChart:
    """``groups`` label → count per day; ``order`` fixes the series order (severities),
    otherwise the largest series come first."""
    labels = [g for g in order if g in groups] if order is not None else list(groups)
    if order is None:
        labels.sort(key=lambda g: (-sum(groups[g]), g))
    drawn = labels[:MAX_SERIES]
    top = _nice_max(max((max(groups[g], default=0) for g in drawn), default=0))
    step = WIDTH / max(len(days) - 1, 1)
    bottom = TOP + HEIGHT

    def y(n: int) -> float:
        return round(bottom - HEIGHT * n / top, 1)

    series = tuple(
        Series(
            g,
            tuple(groups[g]),
            " ".join(f"{round(LEFT + i * step, 1)},{y(n)}" for i, n in enumerate(groups[g])),
            # severities keep their colours; other series take the palette in order
            css_class(g) if order is not None else f"line-c{i}",
            int(groups[g][-1]) if groups[g] else 0,
        )
        for i, g in enumerate(drawn)
    )
    y_ticks = tuple(Tick(y(top * k // 4), str(top * k // 4)) for k in range(5))
    # a label every 7 days, counted back from today so the last day is always labelled
    x_ticks = tuple(
        Tick(round(LEFT + i * step, 1), days[i][5:]) for i in range(len(days) - 1, -1, -7)
    )
    return TrendChart(
        tuple(days),
        series,
        tuple((g, tuple(groups[g])) for g in labels),
        y_ticks,
        tuple(reversed(x_ticks)),
        LEFT + WIDTH + 24,  # room for the last day's label
        bottom + BOTTOM,
        LEFT,
        TOP,
        bottom,
        len(labels) - len(drawn),
    )


def severity_label(severity: str) -> str:
    return severity.removesuffix("_SEVERITY").title()


def severity_trend(doc: Mapping[str, Any]) -> TrendChart:
    """The daily summary by severity (``/v1/alerts/summary/daily``) as a chart with one line
    per severity, most severe first, each severity shown even when it had none."""
    counts = {g["group"]: g["counts"] for g in doc["groups"]}
    zero = [0] * len(doc["days"])
    groups = {severity_label(s): counts.get(s, zero) for s in ALERT_SEVERITIES}
    return trend_chart(doc["days"], groups, [severity_label(s) for s in ALERT_SEVERITIES])

"""When a scheduled report runs: daily, on days of the week, or on days of the month, at
hour:minute UTC (the product's ``schedule`` object).

Days of the week count from Sunday = 0 to Saturday = 6, as the product's API does. A day of
the month a month does not have (the 31st in April) is skipped in that month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from stockade.central.reports.errors import InvalidReport

Interval = Literal["DAILY", "WEEKLY", "MONTHLY"]
INTERVALS: tuple[Interval, ...] = ("DAILY", "WEEKLY", "MONTHLY")
_SEARCH_DAYS = 400  # every allowed day of a month occurs within this many days


@dataclass(frozen=True)
class Schedule:
    interval: Interval
    hour: int
    minute: int
    days: tuple[int, ...] = ()  # WEEKLY: 0-6 from Sunday; MONTHLY: 1-31; DAILY: none

    def matches(self, day: dt.date) -> bool:
        if self.interval == "DAILY":
            return True
        if self.interval == "WEEKLY":
            return day.isoweekday() % 7 in self.days  # isoweekday: Monday 1 .. Sunday 7
        return day.day in self.days

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "intervalType": self.interval,
            "hour": self.hour,
            "minute": self.minute,
        }
        if self.interval == "WEEKLY":
            doc["daysOfWeek"] = {"days": list(self.days)}
        elif self.interval == "MONTHLY":
            doc["daysOfMonth"] = {"days": list(self.days)}
        return doc


def next_run(schedule: Schedule, after: dt.datetime) -> dt.datetime:
    """The first scheduled time strictly after ``after`` (UTC)."""
    after = after.astimezone(dt.UTC)
    day = after.date()
    for _ in range(_SEARCH_DAYS):
        if schedule.matches(day):
            at = dt.datetime(
                day.year, day.month, day.day, schedule.hour, schedule.minute, tzinfo=dt.UTC
            )
            if at > after:
                return at
        day += dt.timedelta(days=1)
    raise AssertionError(f"no run of {schedule} within {_SEARCH_DAYS} days")  # pragma: no cover


def _int(doc: Mapping[str, Any], key: str, path: str, low: int, high: int) -> int:
    value = doc.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidReport(f"{path}.{key}", f"must be a whole number from {low} to {high}")
    return value


def _days(doc: Mapping[str, Any], key: str, path: str, low: int, high: int) -> tuple[int, ...]:
    where = f"{path}.{key}.days"
    section = doc.get(key)
    days = section.get("days") if isinstance(section, Mapping) else None
    if not isinstance(days, list) or not days:
        raise InvalidReport(where, f"is required: a list of days from {low} to {high}")
    for d in days:
        if isinstance(d, bool) or not isinstance(d, int) or not low <= d <= high:
            raise InvalidReport(where, f"{d!r} is not a day from {low} to {high}")
    return tuple(sorted(set(days)))


def parse_schedule(doc: Any, path: str = "schedule") -> Schedule | None:
    """The product's schedule object; None when absent or ``intervalType`` is UNSET."""
    if doc is None:
        return None
    if not isinstance(doc, Mapping):
        raise InvalidReport(path, "must be an object")
    kind = doc.get("intervalType", "UNSET")
    if kind == "UNSET":
        return None
    if kind not in INTERVALS:
        raise InvalidReport(
            f"{path}.intervalType", f"{kind!r} is not one of UNSET, {', '.join(INTERVALS)}"
        )
    hour = _int(doc, "hour", path, 0, 23)
    minute = _int(doc, "minute", path, 0, 59)
    days: tuple[int, ...] = ()
    if kind == "WEEKLY":
        days = _days(doc, "daysOfWeek", path, 0, 6)
    elif kind == "MONTHLY":
        days = _days(doc, "daysOfMonth", path, 1, 31)
    return Schedule(kind, hour, minute, days)

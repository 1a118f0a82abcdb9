"""Next-run computation of report schedules: properties over random schedules and times,
the product's day numbering, and the checks that name the wrong field."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockade.central.reports.errors import InvalidReport
from stockade.central.reports.schedule import Schedule, next_run, parse_schedule

UTC = dt.UTC


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    kind = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]))
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    days: tuple[int, ...] = ()
    if kind == "WEEKLY":
        days = tuple(sorted(draw(st.sets(st.integers(0, 6), min_size=1))))
    elif kind == "MONTHLY":
        days = tuple(sorted(draw(st.sets(st.integers(1, 31), min_size=1, max_size=4))))
    return Schedule(kind, hour, minute, days)


times = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(UTC)
)


def _runs_on(s: Schedule, day: dt.date) -> dt.datetime | None:
    if s.interval == "WEEKLY" and (day.weekday() + 1) % 7 not in s.days:
        return None
    if s.interval == "MONTHLY" and day.day not in s.days:
        return None
    return dt.datetime(day.year, day.month, day.day, s.hour, s.minute, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(schedules(), times)
def test_next_run_is_the_first_scheduled_time_after(s: Schedule, after: dt.datetime) -> None:
    got = next_run(s, after)
    assert got > after
    assert _runs_on(s, got.date()) == got  # on a scheduled day, at hour:minute, second 0
    day = after.date()
    while day < got.date():  # no scheduled time is skipped in between
        at = _runs_on(s, day)
        assert at is None or at <= after, (at, after, got)
        day += dt.timedelta(days=1)


def test_examples_in_the_products_numbering() -> None:
    friday_noon = dt.datetime(2026, 1, 2, 12, 0, tzinfo=UTC)  # a Friday
    assert next_run(Schedule("DAILY", 12, 0), friday_noon) == dt.datetime(
        2026, 1, 3, 12, 0, tzinfo=UTC
    )
    assert next_run(Schedule("DAILY", 12, 1), friday_noon) == dt.datetime(
        2026, 1, 2, 12, 1, tzinfo=UTC
    )
    # Sunday = 0, Monday = 1
    assert next_run(Schedule("WEEKLY", 8, 30, (0,)), friday_noon) == dt.datetime(
        2026, 1, 4, 8, 30, tzinfo=UTC
    )
    assert next_run(Schedule("WEEKLY", 8, 30, (1,)), friday_noon) == dt.datetime(
        2026, 1, 5, 8, 30, tzinfo=UTC
    )
    # the 31st skips February (and April)
    assert next_run(Schedule("MONTHLY", 0, 0, (31,)), friday_noon) == dt.datetime(
        2026, 1, 31, tzinfo=UTC
    )
    assert next_run(
        Schedule("MONTHLY", 0, 0, (31,)), dt.datetime(2026, 1, 31, 0, 0, tzinfo=UTC)
    ) == dt.datetime(2026, 3, 31, tzinfo=UTC)
    # a time with another offset is taken as the same instant
    plus2 = dt.datetime(2026, 1, 2, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert next_run(Schedule("DAILY", 11, 30), plus2) == dt.datetime(2026, 1, 2, 11, 30, tzinfo=UTC)


def test_parse_schedule() -> None:
    assert parse_schedule(None) is None
    assert parse_schedule({"intervalType": "UNSET"}) is None
    assert parse_schedule(
        {"intervalType": "WEEKLY", "hour": 7, "minute": 5, "daysOfWeek": {"days": [5, 1, 1]}}
    ) == Schedule("WEEKLY", 7, 5, (1, 5))
    assert parse_schedule(
        {"intervalType": "MONTHLY", "daysOfMonth": {"days": [15, 1]}}
    ) == Schedule("MONTHLY", 0, 0, (1, 15))


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"intervalType": "HOURLY"}, "schedule.intervalType"),
        ({"intervalType": "DAILY", "hour": 24}, "schedule.hour"),
        ({"intervalType": "DAILY", "minute": -1}, "schedule.minute"),
        ({"intervalType": "DAILY", "hour": "3"}, "schedule.hour"),
        ({"intervalType": "WEEKLY"}, "schedule.daysOfWeek.days"),
        ({"intervalType": "WEEKLY", "daysOfWeek": {"days": [7]}}, "schedule.daysOfWeek.days"),
        ({"intervalType": "MONTHLY", "daysOfMonth": {"days": [0]}}, "schedule.daysOfMonth.days"),
        ("daily", "schedule"),
    ],
)
def test_bad_schedules_name_the_field(doc: object, field: str) -> None:
    with pytest.raises(InvalidReport) as err:
        parse_schedule(doc)
    assert err.value.field == field
    assert err.value.message.startswith(field + ": ")

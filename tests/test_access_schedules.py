"""Schedules: weekly windows, midnight, holidays, 调休 workdays, date ranges and DST."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.access.schedules import (
    ALWAYS,
    Plan,
    ScheduleError,
    is_open,
    parse_windows,
)

pytestmark = pytest.mark.db_independent

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-10-01 is a Thursday (国庆节); 2026-10-10 a Saturday.
HOLIDAYS = {dt.date(2026, 10, 1): "holiday", dt.date(2026, 10, 10): "workday"}


def kind_of(day: dt.date) -> str | None:
    return HOLIDAYS.get(day)


def plan(windows: Any, **kw: Any) -> Plan:
    return Plan(windows=tuple(parse_windows(windows)), **kw)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


WEEKDAYS_7_TO_22 = plan([{"days": [1, 2, 3, 4, 5], "start": "07:00", "end": "22:00"}])
NIGHTS = plan([{"days": [5], "start": "22:00", "end": "06:00"}])  # Friday night


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2026-10-05 06:59", False),  # Monday, a minute before
        ("2026-10-05 07:00", True),  # start is inclusive
        ("2026-10-05 21:59", True),
        ("2026-10-05 22:00", False),  # end is exclusive
        ("2026-10-04 12:00", False),  # Sunday
    ],
)
def test_a_weekday_window_opens_and_closes_on_the_minute(moment: str, open_: bool) -> None:
    assert is_open(WEEKDAYS_7_TO_22, at(moment), kind_of) is open_


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2026-10-09 21:59", False),  # Friday before
        ("2026-10-09 22:00", True),
        ("2026-10-09 23:59", True),
        ("2026-10-10 00:00", True),  # past midnight, still Friday's window
        ("2026-10-10 05:59", True),
        ("2026-10-10 06:00", False),
        ("2026-10-08 23:00", False),  # Thursday night: not in the window
        ("2026-10-03 02:00", True),  # Saturday 3rd: Friday 2nd is no holiday
    ],
)
def test_a_window_past_midnight_belongs_to_the_day_it_starts(moment: str, open_: bool) -> None:
    assert is_open(NIGHTS, at(moment), kind_of) is open_


def test_until_midnight_and_whole_days() -> None:
    late = plan([{"days": [1], "start": "20:00", "end": "24:00"}])
    assert is_open(late, at("2026-10-05 23:59"), kind_of)
    assert not is_open(late, at("2026-10-06 00:00"), kind_of)
    assert is_open(ALWAYS, at("2026-10-01 00:00"), kind_of)
    assert is_open(ALWAYS, at("2026-10-04 23:59"), kind_of)


def test_holidays_as_usual_closed_or_in_holiday_windows() -> None:
    thursday_holiday = at("2026-10-01 09:00")
    assert is_open(WEEKDAYS_7_TO_22, thursday_holiday, kind_of)  # as usual
    weekdays = [{"days": [1, 2, 3, 4, 5], "start": "07:00", "end": "22:00"}]
    closed = plan(weekdays, holiday_rule="closed")
    assert not is_open(closed, thursday_holiday, kind_of)
    assert is_open(closed, at("2026-10-02 09:00"), kind_of)  # the next day is no holiday
    short = plan(
        weekdays,
        holiday_rule="holiday_windows",
        holiday_windows=tuple(parse_windows([{"start": "10:00", "end": "12:00"}], with_days=False)),
    )
    assert not is_open(short, thursday_holiday, kind_of)
    assert is_open(short, at("2026-10-01 11:00"), kind_of)


def test_a_holiday_closes_a_night_window_it_starts_but_not_one_it_ends() -> None:
    closed_nights = plan(
        [{"days": [3, 4], "start": "22:00", "end": "06:00"}], holiday_rule="closed"
    )
    # Wednesday 30 Sept 22:00 → Thursday 1 Oct (holiday) 06:00: Wednesday's rules.
    assert is_open(closed_nights, at("2026-10-01 05:00"), kind_of)
    # Thursday 1 Oct (holiday) 22:00 → Friday 06:00: the holiday closes it.
    assert not is_open(closed_nights, at("2026-10-01 23:00"), kind_of)
    assert not is_open(closed_nights, at("2026-10-02 05:00"), kind_of)


def test_a_tiaoxiu_saturday_counts_as_a_monday() -> None:
    assert is_open(WEEKDAYS_7_TO_22, at("2026-10-10 09:00"), kind_of)  # workday Saturday
    assert not is_open(WEEKDAYS_7_TO_22, at("2026-10-17 09:00"), kind_of)  # plain Saturday


def test_a_date_range_limits_the_days() -> None:
    summer = plan(
        [{"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}],
        date_from=dt.date(2026, 7, 1),
        date_to=dt.date(2026, 8, 31),
    )
    assert not is_open(summer, at("2026-06-30 23:59"), kind_of)
    assert is_open(summer, at("2026-07-01 00:00"), kind_of)
    assert is_open(summer, at("2026-08-31 23:59"), kind_of)
    assert not is_open(summer, at("2026-09-01 00:00"), kind_of)


def test_daylight_saving_follows_the_wall_clock() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    early = plan([{"days": [7], "start": "02:00", "end": "03:00"}])
    # 29 March 2026, 02:00–03:00 does not exist in Berlin: 00:59:59 UTC is 01:59:59 CET,
    # one second later it is 03:00 CEST. The window never opens.
    before = dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=dt.UTC).astimezone(berlin)
    after = dt.datetime(2026, 3, 29, 1, 0, 0, tzinfo=dt.UTC).astimezone(berlin)
    assert (before.hour, after.hour) == (1, 3)
    assert not is_open(early, before, kind_of) and not is_open(early, after, kind_of)
    # 25 October 2026, 02:00–03:00 happens twice: open both times.
    autumn = plan([{"days": [7], "start": "02:00", "end": "03:00"}])
    first = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC).astimezone(berlin)
    second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC).astimezone(berlin)
    assert first.hour == second.hour == 2
    assert is_open(autumn, first, kind_of) and is_open(autumn, second, kind_of)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"days": [1]}, "windows"),
        ([{"days": [], "start": "07:00", "end": "08:00"}], "windows[0].days"),
        ([{"days": [8], "start": "07:00", "end": "08:00"}], "windows[0].days"),
        ([{"days": [True], "start": "07:00", "end": "08:00"}], "windows[0].days"),
        ([{"days": [1], "start": "7:00", "end": "08:00"}], "windows[0].start"),
        ([{"days": [1], "start": "07:00", "end": "24:01"}], "windows[0].end"),
        ([{"days": [1], "start": "24:00", "end": "08:00"}], "windows[0].start"),
        ([{"days": [1], "start": "08:00", "end": "08:00"}], "windows[0]"),
        ([{"days": [1], "start": "08:00", "end": "09:00", "x": 1}], "windows[0]"),
        (["07:00-08:00"], "windows[0]"),
    ],
)
def test_malformed_windows_name_their_fault(raw: object, field: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_windows(raw)
    assert caught.value.field == field


@given(
    start=st.integers(0, 1439),
    length=st.integers(1, 1439),
    minute=st.integers(0, 2 * 1440 - 1),
)
def test_a_window_is_open_for_exactly_its_length(start: int, length: int, minute: int) -> None:
    end = (start + length) % 1440 or 1440
    text = f"{end // 60:02d}:{end % 60:02d}"
    w = plan([{"days": [1], "start": f"{start // 60:02d}:{start % 60:02d}", "end": text}])
    monday = dt.datetime(2026, 10, 5, tzinfo=SHANGHAI)  # a Monday, no holiday around it
    moment = monday + dt.timedelta(minutes=minute)
    expected = start <= minute < start + length
    assert is_open(w, moment, kind_of) is expected

"""Whether a schedule is open at a moment: weekly windows, holidays, 调休 and date ranges.

Times are wall-clock times in the community's time zone. A window runs from ``start``
(inclusive) to ``end`` (exclusive); "24:00" ends at midnight. A window whose end is not
after its start runs past midnight and belongs to the day it starts on: a Friday
22:00–06:00 window opens Friday night and closes Saturday 06:00, by Friday's rules (a
holiday on Saturday does not cut it short, a holiday on Friday decides it).

On a public holiday a schedule is open as usual, closed, or open in its holiday windows.
A weekend day worked in exchange for a holiday (调休工作日) counts as a Monday.
Daylight-saving changes (where the zone has them) follow the wall clock: an hour skipped
in spring is skipped, an hour repeated in autumn is open or closed both times alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

from linli.access.choices import DayKind, HolidayRule

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
DAY_MINUTES = 24 * 60
WORKDAY_AS = 1  # a 调休 workday follows Monday's windows

DayKindOf = Callable[[dt.date], str | None]


@dataclasses.dataclass(frozen=True)
class Window:
    """One weekly window: ISO weekdays (1 = Monday) and minutes since midnight."""

    days: frozenset[int]
    start: int
    end: int  # 1…1440; not after ``start``: runs into the next day

    @property
    def crosses_midnight(self) -> bool:
        """Say whether the window runs into the next day."""
        return self.end <= self.start


@dataclasses.dataclass(frozen=True)
class Plan:
    """A schedule in the form the decision path evaluates."""

    windows: tuple[Window, ...]
    holiday_rule: str = HolidayRule.AS_USUAL
    holiday_windows: tuple[Window, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class ScheduleError(ValueError):
    """A schedule's windows are malformed; ``field`` names the offending part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _minutes(text: Any, field: str) -> int:
    if not isinstance(text, str) or not _HHMM.match(text):
        raise ScheduleError(field, "time must be HH:MM between 00:00 and 24:00")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def parse_windows(raw: Any, field: str = "windows", *, with_days: bool = True) -> list[Window]:
    """Check and parse stored windows; raise :class:`ScheduleError` naming the fault."""
    if not isinstance(raw, list):
        raise ScheduleError(field, "must be a list of windows")
    if len(raw) > 50:
        raise ScheduleError(field, "at most 50 windows")
    out = []
    for n, item in enumerate(raw):
        where = f"{field}[{n}]"
        if not isinstance(item, dict):
            raise ScheduleError(where, "must be an object with start and end")
        unknown = set(item) - {"days", "start", "end"}
        if unknown:
            raise ScheduleError(where, f"unknown keys: {', '.join(sorted(unknown))}")
        days: frozenset[int] = frozenset(range(1, 8))
        if with_days:
            raw_days = item.get("days")
            if (
                not isinstance(raw_days, list)
                or not raw_days
                or not all(isinstance(d, int) and not isinstance(d, bool) for d in raw_days)
                or not all(1 <= d <= 7 for d in raw_days)
            ):
                raise ScheduleError(f"{where}.days", "must list weekdays 1 (Monday) to 7")
            days = frozenset(raw_days)
        start = _minutes(item.get("start"), f"{where}.start")
        end = _minutes(item.get("end"), f"{where}.end")
        if start == DAY_MINUTES:
            raise ScheduleError(f"{where}.start", "a window cannot start at 24:00")
        if start == end:
            raise ScheduleError(where, "start and end are the same: the window is empty")
        out.append(Window(days, start, end))
    return out


def plan_of(schedule: Any) -> Plan:
    """Build the :class:`Plan` of a :class:`~linli.access.models.Schedule` row."""
    return Plan(
        windows=tuple(parse_windows(schedule.windows)),
        holiday_rule=schedule.holiday_rule,
        holiday_windows=tuple(
            parse_windows(schedule.holiday_windows, "holiday_windows", with_days=False)
        ),
        date_from=schedule.date_from,
        date_to=schedule.date_to,
    )


def _windows_starting(plan: Plan, day: dt.date, day_kind: DayKindOf) -> Sequence[Window]:
    """The windows that start on ``day`` (with the day's weekday already matched)."""
    if plan.date_from is not None and day < plan.date_from:
        return ()
    if plan.date_to is not None and day > plan.date_to:
        return ()
    kind = day_kind(day)
    weekday = day.isoweekday()
    if kind == DayKind.HOLIDAY:
        if plan.holiday_rule == HolidayRule.CLOSED:
            return ()
        if plan.holiday_rule == HolidayRule.HOLIDAY_WINDOWS:
            return plan.holiday_windows
    elif kind == DayKind.WORKDAY:
        weekday = WORKDAY_AS
    return [w for w in plan.windows if weekday in w.days]


def is_open(plan: Plan, local: dt.datetime, day_kind: DayKindOf) -> bool:
    """Say whether ``plan`` is open at the wall-clock time ``local``.

    ``day_kind(date)`` returns ``"holiday"``, ``"workday"`` (调休) or ``None``.
    """
    minute = local.hour * 60 + local.minute
    today = local.date()
    for w in _windows_starting(plan, today, day_kind):
        if w.crosses_midnight:
            if minute >= w.start:
                return True
        elif w.start <= minute < w.end:
            return True
    yesterday = today - dt.timedelta(days=1)
    return any(
        w.crosses_midnight and minute < w.end for w in _windows_starting(plan, yesterday, day_kind)
    )


ALWAYS = Plan(windows=(Window(frozenset(range(1, 8)), 0, DAY_MINUTES),))

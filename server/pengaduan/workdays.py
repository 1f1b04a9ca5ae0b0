"""Working-day deadlines, as LAPOR! counts them: weekends and listed holidays do not count."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

VERIFY_DAYS = 3
FOLLOW_UP_DAYS = 5


def is_working_day(day: dt.date, holidays: Collection[dt.date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: dt.date, days: int, holidays: Collection[dt.date]) -> dt.date:
    """The day by which `days` working days after `start` have passed; the start itself does
    not count (a report filed on Monday is due for verification on Thursday)."""
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, holidays):
            left -= 1
    return day


def is_overdue(due: dt.date | None, today: dt.date) -> bool:
    return due is not None and today > due

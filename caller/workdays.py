"""Working days of the hall: China's public holidays and make-up working days
(调休) from the maintained ``chinese-calendar`` package, plus the hall's own
closures and extra opening days from its config.

Deadlines counted in working days — a case's promised time limit (承诺时限),
a bad review's follow-up — all count here, so a hall never has two calendars.

Order of the rules for one day: a hall closure (``service_hours.closed_dates``)
closes it; a hall extra day (``extra_open_dates``) opens it; then the national
calendar decides (holidays closed, 调休 weekends open); for years the package
does not know yet, the hall's weekdays (``service_hours.days``) decide.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import chinese_calendar

from hall.config.queue import WEEKDAYS, ServiceHours


def is_working_day(day: dt.date, hours: ServiceHours) -> bool:
    if day in hours.closed_dates:
        return False
    if day in hours.extra_open_dates:
        return True
    national = _national(day)
    return WEEKDAYS[day.weekday()] in hours.days if national is None else national


@lru_cache(maxsize=4096)
def _national(day: dt.date) -> bool | None:
    """The national calendar's word on a day (None: a year it has no data for yet);
    cached, as supervision asks about the same few weeks for every open case."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


def add_working_days(start: dt.date, n: int, hours: ServiceHours) -> dt.date:
    """The ``n``-th working day after ``start`` (``start`` itself not counted);
    ``n`` = 0 gives ``start``."""
    day = start
    left = n
    for _ in range(3660):  # ten years of holidays: a config with no working day at all stops here
        if left == 0:
            return day
        day += dt.timedelta(days=1)
        if is_working_day(day, hours):
            left -= 1
    raise ValueError("service_hours has no working day within ten years")


def working_days_between(start: dt.date, end: dt.date, hours: ServiceHours) -> int:
    """Working days after ``start`` up to and including ``end`` (negative if ``end`` is earlier)."""
    if end < start:
        return -working_days_between(end, start, hours)
    n = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        n += is_working_day(day, hours)
    return n

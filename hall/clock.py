"""Time as an injected dependency: cores take ``now`` as an argument, shells ask a Clock."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> float:
        """Wall time, UNIX epoch seconds."""

    def monotonic(self) -> float:
        """For timeouts and backoff; never jumps."""


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told; used by simulations and tests."""

    def __init__(self, start: float):
        self._t = start
        self._m = 0.0

    def now(self) -> float:
        return self._t

    def monotonic(self) -> float:
        return self._m

    def advance(self, seconds: float) -> None:
        self._t += seconds
        self._m += seconds

    def set(self, epoch: float) -> None:
        self._m += max(0.0, epoch - self._t)
        self._t = epoch


def local_day(epoch: float, tz: str) -> str:
    """The hall's local ISO date at ``epoch``: the numbering day."""
    return dt.datetime.fromtimestamp(epoch, ZoneInfo(tz)).date().isoformat()


def local_dt(epoch: float, tz: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, ZoneInfo(tz))


def day_span(day: str, tz: str) -> tuple[float, float]:
    """[start, end) epochs of a local day (23 or 25 hours long across a DST change)."""
    zone = ZoneInfo(tz)
    d = dt.date.fromisoformat(day)
    start = dt.datetime.combine(d, dt.time(0), zone).timestamp()
    end = dt.datetime.combine(d + dt.timedelta(days=1), dt.time(0), zone).timestamp()
    return start, end

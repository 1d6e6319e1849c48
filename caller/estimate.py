"""Waiting estimates learned from served tickets.

Handling minutes per service (matter or bundle) start at the config's
``minutes`` and move by an exponential average of each finished ticket's
handling time, so the estimate follows the day's reality (slow staff, hard
cases) without a history table.  Outliers are clipped to 4× the expected time
so one forgotten "finish" cannot wreck the estimate.
"""

from __future__ import annotations

import math


class Estimator:
    def __init__(self, expected_min: dict[str, float], alpha: float):
        self._expected = dict(expected_min)
        self._learned: dict[str, float] = {}
        self.alpha = alpha

    def load(self, service: str, minutes: float) -> None:
        self._learned[service] = minutes

    def handle_min(self, service: str) -> float:
        return self._learned.get(service, self._expected.get(service, 10.0))

    def observe(self, service: str, seconds: float) -> float:
        """Learn from one finished ticket; returns the new average minutes."""
        minutes = max(0.5, seconds / 60.0)
        minutes = min(minutes, 4 * self._expected.get(service, 10.0))
        old = self.handle_min(service)
        new = old + self.alpha * (minutes - old)
        self._learned[service] = new
        return new

    def estimate_min(self, service: str, ahead: int, windows: int) -> int:
        """Minutes until a ticket with ``ahead`` tickets before it is called.

        ``windows`` is how many windows serve the service now (at least 1).
        The ticket itself waits on average for half a handling time of the
        window it ends up at, hence ``ahead + 0.5``.
        """
        return int(math.ceil((ahead + 0.5) * self.handle_min(service) / max(1, windows)))

    def learned(self, service: str) -> float | None:
        return self._learned.get(service)

    def forget(self, service: str, learned: float | None) -> None:
        """Put back what was learned before an observation that was undone."""
        if learned is None:
            self._learned.pop(service, None)
        else:
            self._learned[service] = learned

    def snapshot(self) -> dict[str, float]:
        return dict(self._learned)

    def set_expected(self, expected_min: dict[str, float], alpha: float) -> None:
        self._expected = dict(expected_min)
        self.alpha = alpha

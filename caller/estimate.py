"""What the forecast learns from the day: handling times and arrivals.

Handling time per service (matter or bundle) starts at the config's
``minutes`` and follows each finished ticket by an exponential average, both
its mean and its spread (the mean squared deviation), so the estimate and its
range follow the day's reality — slow staff, hard cases — without a history
table.  Outliers are clipped to 4× the expected time so one forgotten
"finish" cannot wreck the estimate.  The spread starts at 60 % of the mean,
what log-normal visit times of halls look like, until the day teaches better.

Arrivals per line (service or a window's own line) are an exponentially
decaying count with a 30-minute time constant: the forecast needs to know who
will still come and be called first (priority classes, higher skill weights).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

PRIOR_CV = 0.6
TAU_S = 1800.0


class Estimator:
    def __init__(self, expected_min: dict[str, float], alpha: float):
        self._expected = dict(expected_min)
        self._learned: dict[str, float] = {}
        self._var: dict[str, float] = {}  # minutes²
        self.alpha = alpha
        self.calls = 0
        self.noshows = 0

    def load(self, service: str, minutes: float) -> None:
        self._learned[service] = minutes

    def handle_min(self, service: str) -> float:
        return self._learned.get(service, self._expected.get(service, 10.0))

    def handle_s(self, service: str) -> float:
        return 60.0 * self.handle_min(service)

    def spread_s(self, service: str) -> float:
        """Standard deviation of one visit's handling time, in seconds."""
        var = self._var.get(service)
        if var is None:
            return 60.0 * PRIOR_CV * self.handle_min(service)
        return 60.0 * math.sqrt(var)

    def observe(self, service: str, seconds: float) -> float:
        """Learn from one finished ticket; returns the new average minutes."""
        minutes = max(0.5, seconds / 60.0)
        minutes = min(minutes, 4 * self._expected.get(service, 10.0))
        old = self.handle_min(service)
        new = old + self.alpha * (minutes - old)
        prior_var = (PRIOR_CV * old) ** 2
        var = self._var.get(service, prior_var)
        self._var[service] = var + self.alpha * ((minutes - old) ** 2 - var)
        self._learned[service] = new
        return new

    def observe_call(self, noshow: bool) -> None:
        self.calls += 1
        self.noshows += int(noshow)

    def unobserve_call(self, noshow: bool) -> None:
        self.calls -= 1
        self.noshows -= int(noshow)

    def show_factor(self) -> float:
        """Share of a mean visit a call costs: a no-show takes about a fifth of one."""
        p = (self.noshows + 1) / (self.calls + 20)  # starts near 5 %
        return 1.0 - 0.8 * p

    def learned(self, service: str) -> tuple[float | None, float | None]:
        """What is known of a service now (mean and spread), to put back with forget()."""
        return self._learned.get(service), self._var.get(service)

    def forget(self, service: str, learned: tuple[float | None, float | None]) -> None:
        """Put back what was learned before an observation that was undone."""
        for store, value in zip((self._learned, self._var), learned):
            if value is None:
                store.pop(service, None)
            else:
                store[service] = value

    def snapshot(self) -> dict[str, float]:
        return dict(self._learned)

    def set_expected(self, expected_min: dict[str, float], alpha: float) -> None:
        self._expected = dict(expected_min)
        self.alpha = alpha


class Arrivals:
    """Today's arrival rate per line and the share of each priority class in it."""

    def __init__(self) -> None:
        self._level: dict[str, float] = {}
        self._at: dict[str, float] = {}
        self._classes: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def clear(self) -> None:
        self._level.clear()
        self._at.clear()
        self._classes.clear()

    def observe(self, line: str, klass: str, now: float) -> None:
        self._level[line] = self._decayed(line, now) + 1.0
        self._at[line] = now
        self._classes[line][klass] += 1

    def unobserve(self, line: str, klass: str) -> None:
        """Take back the last observation (its command was undone)."""
        self._level[line] = max(0.0, self._level.get(line, 0.0) - 1.0)
        self._classes[line][klass] -= 1

    def _decayed(self, line: str, now: float) -> float:
        lvl = self._level.get(line, 0.0)
        if not lvl:
            return 0.0
        return lvl * math.exp(-max(0.0, now - self._at[line]) / TAU_S)

    def rate_per_min(self, line: str, now: float) -> float:
        return self._decayed(line, now) / (TAU_S / 60.0)

    def class_shares(self, line: str) -> list[tuple[str, float]]:
        c = self._classes.get(line)
        if not c:
            return []
        total = sum(c.values())
        return [(k, n / total) for k, n in c.items()]

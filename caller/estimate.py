"""What the forecast learns from the day: handling times and arrivals.

Handling time per service (matter or bundle) starts at the config's
``minutes`` and follows each finished ticket by an exponential average, both
its mean and its spread (the mean squared deviation), so the estimate and its
range follow the day's reality — slow staff, hard cases — without a history
table.  Outliers are clipped to 4× the expected time so one forgotten
"finish" cannot wreck the estimate.  The spread starts at 60 % of the mean,
what log-normal visit times of halls look like, until the day teaches better.

What a call costs a window besides the visit, learned as today's running
means (sums, so an undone command takes its observation back exactly): the
walk-up between the call and the start of the visit, the time a window loses
to a citizen who never comes, and how fast each window works against the
matters' means (a shrunk ratio: a clerk's first visits say little).  Also
how long a pause lasts and how late staff come back after a break.

Arrivals per line (service or a window's own line) are an exponentially
decaying count with a 30-minute time constant: the forecast needs to know who
will still come and be called first (priority classes, higher skill weights).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

PRIOR_CV = 0.6
TAU_S = 1800.0
# priors of the running means, as (value, weight in observations): what a hall
# looks like before the day has taught otherwise
NOSHOW_PRIOR = (120.0, 3.0)  # a window waits about two minutes for a citizen who never comes
PAUSE_PRIOR = (600.0, 2.0)  # a pause lasts about ten minutes
SPEED_PRIOR_S = 7200.0  # a window's speed is judged against two hours of expected work
LOGIN_WINDOW_S = 900.0  # a login this soon after a period's start is "coming back late"


class Running:
    """A running mean with a prior; ``add`` and ``remove`` are exact inverses."""

    __slots__ = ("total", "n", "prior", "weight")

    def __init__(self, prior: float = 0.0, weight: float = 0.0):
        self.total, self.n, self.prior, self.weight = 0.0, 0, prior, weight

    def add(self, x: float) -> None:
        self.total += x
        self.n += 1

    def remove(self, x: float) -> None:
        self.total -= x
        self.n -= 1

    def mean(self) -> float:
        den = self.n + self.weight
        return (self.total + self.prior * self.weight) / den if den else 0.0


class Estimator:
    def __init__(self, expected_min: dict[str, float], alpha: float):
        self._expected = dict(expected_min)
        self._learned: dict[str, float] = {}
        self._var: dict[str, float] = {}  # minutes²
        self.alpha = alpha
        self.calls = 0
        self.noshows = 0
        self.walk = Running()  # call → start of the visit (0 where staff never press start)
        self.noshow_cost = Running(*NOSHOW_PRIOR)  # call → no-show mark
        self.pause = Running(*PAUSE_PRIOR)
        self.login_late = Running()  # period start → login
        self._work: dict[str, list[float]] = {}  # window → [actual s, expected s]

    def clear_day(self) -> None:
        """What is learned of today's staff: it does not carry to tomorrow."""
        self.walk = Running()
        self.noshow_cost = Running(*NOSHOW_PRIOR)
        self.pause = Running(*PAUSE_PRIOR)
        self.login_late = Running()
        self._work.clear()

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

    def speed(self, window: str) -> float:
        """How long this window's visits take against the matters' means (1.0: as
        the hall), shrunk towards 1 until it has served a few hours."""
        w = self._work.get(window)
        if w is None:
            return 1.0
        return (w[0] + SPEED_PRIOR_S) / (w[1] + SPEED_PRIOR_S)

    def call_s(self, service: str, window: str | None = None) -> float:
        """What one call of this service costs a window, on average: the walk-up and
        the visit for a citizen who comes, the wait for one who does not."""
        p = self.noshow_share()
        visit = self.handle_s(service) * (self.speed(window) if window else 1.0)
        return (1.0 - p) * (self.walk.mean() + visit) + p * self.noshow_cost.mean()

    def observe(self, service: str, seconds: float, window: str | None = None,
                walk_s: float | None = None) -> float:
        """Learn from one finished ticket; returns the new average minutes."""
        minutes = max(0.5, seconds / 60.0)
        minutes = min(minutes, 4 * self._expected.get(service, 10.0))
        old = self.handle_min(service)
        if window is not None:
            w = self._work.setdefault(window, [0.0, 0.0])
            w[0] += 60.0 * minutes
            w[1] += 60.0 * old
        if walk_s is not None:
            self.walk.add(walk_s)
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

    def noshow_share(self) -> float:
        return (self.noshows + 1) / (self.calls + 20)  # starts near 5 %

    def show_factor(self) -> float:
        """Share of a mean visit a call costs: a no-show takes about a fifth of one."""
        return 1.0 - 0.8 * self.noshow_share()

    def learned(self, service: str, window: str | None = None) -> tuple:
        """What is known of a service (mean and spread) and of the window now, to put
        back with forget()."""
        w = self._work.get(window) if window else None
        return (self._learned.get(service), self._var.get(service), window,
                list(w) if w else None, self.walk.total, self.walk.n)

    def forget(self, service: str, learned: tuple) -> None:
        """Put back what was learned before an observation that was undone."""
        for store, value in zip((self._learned, self._var), learned[:2]):
            if value is None:
                store.pop(service, None)
            else:
                store[service] = value
        window, work = learned[2], learned[3]
        if window is not None:
            if work is None:
                self._work.pop(window, None)
            else:
                self._work[window] = work
        self.walk.total, self.walk.n = learned[4], learned[5]

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
        lvl = self._level.get(line, 0.0)  # _decayed, inline: this runs on every issue
        if lvl:
            lvl *= math.exp(-max(0.0, now - self._at[line]) / TAU_S)
        self._level[line] = lvl + 1.0
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

"""A simulated day of a hall: who arrives when, for what, and how staff work.

Pure and seeded: the demo and the benchmarks drive the real engine with it,
and tests can replay the same day.  Arrival rates follow the shape halls
report — a sharp peak from 09:00 to 10:30, a smaller one after lunch.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from hall.config import HallConfig

# visitors per hour by local hour (a hall of ~1,500 visitors a day)
HOURLY = {8: 120, 9: 330, 10: 260, 11: 150, 12: 20, 13: 110, 14: 190, 15: 170, 16: 120, 17: 40}


DESIGN_LOAD = 0.7  # share of a day's window time a hall is planned to fill


def open_minutes(cfg: HallConfig) -> float:
    """Minutes a hall's windows are open in a day (its periods)."""
    return sum((p.end.hour * 60 + p.end.minute) - (p.start.hour * 60 + p.start.minute)
               for p in cfg.service_hours.periods)


class SimClock:
    """Simulated wall time running ``speed`` times faster than real time."""

    def __init__(self, start_epoch: float, speed: float, real_monotonic):
        self.start = start_epoch
        self.speed = speed
        self._mono = real_monotonic
        self._m0 = real_monotonic()

    def now(self) -> float:
        return self.start + (self._mono() - self._m0) * self.speed

    def monotonic(self) -> float:
        return self._mono()

    def real_delay(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed


def next_working_morning(cfg: HallConfig, today: dt.date, hour: int = 8, minute: int = 30) -> float:
    """The first opening day from ``today`` on, at ``hour:minute`` local."""
    tz = ZoneInfo(cfg.hall.timezone)
    d = today
    for _ in range(30):
        probe = dt.datetime.combine(d, dt.time(10, 0), tz)
        if cfg.service_hours.is_open(probe):
            return dt.datetime.combine(d, dt.time(hour, minute), tz).timestamp()
        d += dt.timedelta(days=1)
    raise ValueError("the hall is never open in the next 30 days")


@dataclass
class Arrival:
    at: float
    matter: str | None
    bundle: str | None
    priority: str
    priority_code: str | None
    phone: str | None
    lang: str
    handle_s: float = 0.0  # drawn with the arrival: the same visit whatever the policy


class Day:
    """Arrivals and service times for one simulated day."""

    def __init__(self, cfg: HallConfig, seed: int = 1, scale: float = 1.0, skew: float = 0.5,
                 zone_skew: float = 0.0, priority_share: float = 1.0):
        """``scale`` 1.0 offers the hall its design load (DESIGN_LOAD of what its
        windows can serve in a day); ``skew`` is how far today's demand per
        matter strays from the hall's window plan, ``zone_skew`` per zone — a
        department's busy day (σ of log-normal factors).  ``priority_share`` scales
        the share of priority citizens (0: none), drawing the same random numbers."""
        self.cfg = cfg
        self.rng = random.Random(seed)
        self.tz = ZoneInfo(cfg.hall.timezone)
        # A hall staffs its windows for the demand it sees: a matter's share of the
        # day's work follows the share of window time the plan gives it (a window's
        # time split by its skill weights), times a factor of the day.
        minutes = {mt.id: mt.minutes for mt in cfg.matters}
        for b in cfg.bundles:  # a bundle is taken at one window, all its matters at once
            minutes[b.id] = sum(minutes[x] for x in b.matters)
        work: dict[str, float] = {k: 0.0 for k in minutes}
        for w in cfg.windows:
            own = {k: v for k, v in w.serves.items() if k in minutes}
            total = sum(own.values()) or 1
            for k, v in own.items():
                work[k] += v / total
        zone_of = {mt.id: mt.zone for mt in cfg.matters} | {b.id: b.zone for b in cfg.bundles}
        zone_f = {z.id: math.exp(self.rng.gauss(0.0, zone_skew)) for z in cfg.zones}
        visits = {k: work[k] * zone_f[zone_of[k]] * math.exp(self.rng.gauss(0.0, skew)) / minutes[k]
                  for k in work}
        ids = sorted(visits)
        self.matter_weights = [(k, visits[k]) for k in ids]
        mean_minutes = sum(visits[k] * minutes[k] for k in ids) / sum(visits.values())
        capacity_min = len(cfg.windows) * open_minutes(cfg)
        daily = sum(HOURLY.values())
        self.scale = scale * DESIGN_LOAD * capacity_min / (daily * mean_minutes)
        self.classes = {c.id: c for c in cfg.priority.classes}
        self.priority_share = priority_share

    def rate_per_s(self, epoch: float) -> float:
        hour = dt.datetime.fromtimestamp(epoch, self.tz).hour
        return HOURLY.get(hour, 0) * self.scale / 3600.0

    def arrivals(self, start: float, end: float) -> list[Arrival]:
        """Poisson arrivals between two epochs (thinning of the hourly rate)."""
        out = []
        t = start
        peak = max(HOURLY.values()) * self.scale / 3600.0
        while True:
            t += self.rng.expovariate(peak)
            if t >= end:
                return out
            if self.rng.random() < self.rate_per_s(t) / peak:
                out.append(self._visitor(t))

    def _visitor(self, at: float) -> Arrival:
        ids, ws = zip(*self.matter_weights)
        service = self.rng.choices(ids, ws)[0]
        matter, bundle = (None, service) if self.cfg.bundle(service) else (service, None)
        p = self.rng.random() / self.priority_share if self.priority_share else 1.0
        if not self.priority_share:
            self.rng.random()  # the same draws as with priority citizens: the same day otherwise
        klass, code = "normal", None
        if p < 0.08 and "elderly" in self.classes:
            klass = "elderly"
        elif p < 0.10 and "green" in self.classes and self.classes["green"].codes:
            klass, code = "green", self.classes["green"].codes[0]
        phone = f"13{self.rng.randrange(10**9):09d}" if self.rng.random() < 0.4 else None
        lang = "en" if self.rng.random() < 0.03 else "zh-CN"
        return Arrival(at, matter, bundle, klass, code, phone, lang,
                       handle_s=self.handle_seconds(matter or bundle or ""))

    def handle_seconds(self, service: str) -> float:
        m = self.cfg.matter(service)
        b = self.cfg.bundle(service)
        mean = m.minutes if m else sum(self.cfg.matter(x).minutes for x in b.matters)  # type: ignore[union-attr]
        # log-normal around the expected time: most visits short, a few long
        return 60.0 * mean * math.exp(self.rng.gauss(-0.18, 0.6))

    def shows_up(self) -> bool:
        return self.rng.random() > 0.05

    def recalls_before_show(self) -> int:
        return 0 if self.rng.random() < 0.8 else 1

    def rating(self) -> int | None:
        """None: the citizen walks off without pressing a key."""
        if self.rng.random() < 0.15:
            return None
        return self.rng.choices([5, 4, 3, 2, 1], [70, 18, 7, 3, 2])[0]

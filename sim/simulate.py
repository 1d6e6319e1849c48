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


class Day:
    """Arrivals and service times for one simulated day."""

    def __init__(self, cfg: HallConfig, seed: int = 1, scale: float = 1.0):
        self.cfg = cfg
        self.rng = random.Random(seed)
        self.scale = scale
        self.tz = ZoneInfo(cfg.hall.timezone)
        # popular matters are much more popular (Zipf-like), as in real halls
        ms = list(cfg.matters)
        self.rng.shuffle(ms)
        self.matter_weights = [(mt.id, 1.0 / (i + 1) ** 0.8) for i, mt in enumerate(ms)]
        self.classes = {c.id: c for c in cfg.priority.classes}

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
        r = self.rng.random()
        bundle = None
        matter = None
        if self.cfg.bundles and r < 0.06:
            bundle = self.rng.choice(self.cfg.bundles).id
        else:
            ids, ws = zip(*self.matter_weights)
            matter = self.rng.choices(ids, ws)[0]
        p = self.rng.random()
        klass, code = "normal", None
        if p < 0.08 and "elderly" in self.classes:
            klass = "elderly"
        elif p < 0.10 and "green" in self.classes and self.classes["green"].codes:
            klass, code = "green", self.classes["green"].codes[0]
        phone = f"13{self.rng.randrange(10**9):09d}" if self.rng.random() < 0.4 else None
        lang = "en" if self.rng.random() < 0.03 else "zh-CN"
        return Arrival(at, matter, bundle, klass, code, phone, lang)

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

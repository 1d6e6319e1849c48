"""Weeks of hall days through one real engine core, its real store and extensions.

:class:`sim.hallday.HallDay` runs one day through the core and forgets it;
reports need history.  :class:`HallHistory` keeps ONE engine across the days
(the day rolls at midnight as in production), commits its changes to a real
:class:`caller.store.Store` every few simulated minutes (a batch, as the
shell's group commit does), feeds the extensions exactly as the shell does
(its domain events after each request, ``tick`` every simulated minute), and
closes each day with caller/daystats.py.  Clerks also settle visits (办结,
受理, 补正, 不予受理) and citizens rate them, seeded, so the aggregates have
every column.

Used by tests/test_reports_month.py (a month of a small hall, seeded) and
``bench/web.py`` (90 days) — everything is derived from the seed.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from caller.daystats import DayStats
from caller.effects import Changes
from caller.engine import Engine
from caller.extension import ExtOut
from caller.store import Store
from hall import messages as m
from hall.clock import day_span
from hall.config import HallConfig

from .hallday import HallDay, Scenario

COMMIT_EVERY_S = 600.0  # a batch per ten simulated minutes: a month commits in seconds
OUTCOMES = (("done", 0.80), ("accepted", 0.10), ("correction", 0.07), ("rejected", 0.03))
LEVELS = ((5, 0.62), (4, 0.22), (3, 0.09), (2, 0.03), (1, 0.02), (None, 0.02))  # None: timed out


def _pick(rng: random.Random, table: tuple) -> Any:
    x = rng.random()
    for value, p in table:
        x -= p
        if x < 0:
            return value
    return table[-1][0]


class _Pending:
    """Changes of several requests, written as one batch."""

    def __init__(self):
        self.tickets: dict[str, Any] = {}
        self.windows: dict[str, Any] = {}
        self.ch = Changes()
        self.records: list[Any] = []

    def add(self, ch: Changes, xo: ExtOut) -> None:
        self.tickets.update((t.id, t) for t in ch.tickets)
        self.windows.update((w.id, w) for w in ch.windows)
        self.ch.counters.extend(ch.counters)
        self.ch.ratings.extend(ch.ratings)
        self.ch.estimates.update(ch.estimates)
        self.records.extend(xo.records)

    def flush(self, store: Store) -> None:
        ch = self.ch
        ch.tickets = list(self.tickets.values())
        ch.windows = list(self.windows.values())
        store.commit(ch, [], self.records)
        self.__init__()


class _Day(HallDay):
    """A HallDay on a shared engine whose every change reaches the store and the extensions."""

    def __init__(self, history: "HallHistory", date: dt.date, seed: int):
        super().__init__(history.cfg, history.scenario, seed=seed, date=date)
        self.h = history
        self.e = history.engine
        self.fate = random.Random(seed * 31 + 5)  # how visits end and how they are rated

    def _req(self, op: str, ident: str, now: float, **body):
        out = super()._req(op, ident, now, **body)
        self.h.feed(now)
        return out

    def _on_tick(self, now: float, _arg: str) -> None:
        super()._on_tick(now, _arg)  # the core's tick; its changes were drained there: none here
        self.h.tick(now)

    def _on_free(self, now: float, wid: str) -> None:
        w = self.e.windows[wid]
        t = self.e.tickets.get(w.current or "")
        if t is not None and t.state == "serving":
            kind = _pick(self.fate, OUTCOMES)
            outcome: dict = {"kind": kind}
            if kind == "correction":
                outcome["note"] = "缺少材料"
            elif kind == "rejected":
                outcome["reason"] = "不符合受理条件"
            self._req("window.finish", wid, now, outcome=outcome)
            level = _pick(self.fate, LEVELS)
            self._req("window.rate", wid, now, **({"level": level} if level else {"timeout": True}))
        super()._on_free(now, wid)


class HallHistory:
    """``run(first_day, days)``: that many days of the hall, stored and closed."""

    def __init__(self, cfg: HallConfig, scenario: Scenario, store: Store, seed: int = 1):
        self.cfg = cfg
        self.scenario = scenario
        self.store = store
        self.seed = seed
        self.engine = Engine(cfg)
        self.daystats = DayStats(cfg)
        self.extensions = [self.daystats]
        self.pending = _Pending()
        self._last_commit = -1e18
        self.days: list[str] = []

    def feed(self, now: float) -> None:
        ch = self.engine.drain()
        for x in self.extensions:  # as the shell does (caller/service.py)
            xo = x.on_events(ch.domain, self.engine, now)
            self.pending.add(ch, xo)
        if now - self._last_commit >= COMMIT_EVERY_S:
            self.commit(now)

    def tick(self, now: float) -> None:
        self.engine.tick(now)
        self.feed(now)
        for x in self.extensions:
            self.pending.add(Changes(), x.tick(self.engine, now))

    def commit(self, now: float) -> None:
        self.pending.flush(self.store)
        self._last_commit = now

    def run(self, first: dt.date, days: int) -> list[str]:
        tz = self.cfg.hall.timezone
        self.store.open()
        self.engine.restore([], [], [], {}, [], now=day_span(first.isoformat(), tz)[0] + 1)
        self.daystats.restore(self.store, self.engine, day_span(first.isoformat(), tz)[0] + 1)
        for i in range(days):
            date = first + dt.timedelta(days=i)
            start, end = day_span(date.isoformat(), tz)
            self.tick(start + 1)  # midnight: yesterday rolls…
            self.commit(start + 2)
            self.tick(start + 60)  # …and closes once its last batches are on disk
            if self.cfg.service_hours.is_open(dt.datetime.combine(date, dt.time(10, 0))):
                day = _Day(self, date, seed=self.seed * 1000 + i)
                day.run()
                last = max((t.finished_at or t.noshow_at or t.issued_at) for t in self.engine.tickets.values()) \
                    if self.engine.tickets else start
                for wid, w in self.engine.windows.items():  # the evening: everyone logs out
                    if w.status != "closed":
                        if w.current:
                            self._req_finish(wid, last + 60)
                        self.engine.handle("window.logout", wid, m.Plain(id=f"out-{date}-{wid}"), last + 120)
                self.feed(last + 120)
                self.days.append(date.isoformat())
            self.commit(end - 1)
        after = day_span((first + dt.timedelta(days=days)).isoformat(), tz)[0]
        self.tick(after + 1)  # the last day rolls…
        self.commit(after + 2)
        self.tick(after + 60)  # …and is closed once its last batches are committed
        self.commit(after + 60)
        return self.days

    def _req_finish(self, wid: str, now: float) -> None:
        self.engine.handle("window.finish", wid, m.FinishRequest(id=f"fin-{wid}-{now}"), now)

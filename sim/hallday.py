"""A whole hall day through the real engine core, in simulated time, in seconds.

The core (caller.engine.Engine) gets exactly the requests the shell would
give it — kiosks issue, windows log in, call, serve, mark no-shows, pause,
go to lunch — at the times a discrete-event schedule says, with the seeded
arrival and handling model of :mod:`sim.simulate`.  No broker, no SQLite,
no clock: one simulated day of the example hall runs in a few seconds, so
benchmarks can compare estimates and calling policies on the same trace.

A scenario (``sim/scenarios/*.yaml``) says how busy the day is and how the
staff behave; the arrival trace depends only on the seed and the scenario, so
two runs that differ in policy see the same citizens.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec
import yaml
from pydantic import BaseModel, ConfigDict, Field

from caller import forecast
from caller.engine import Engine
from hall import messages as m
from hall.config import HallConfig

from .simulate import Day

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


class Scenario(BaseModel):
    """How a simulated day goes (one YAML file under sim/scenarios/)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(description="Shown in benchmark results.")
    arrivals_scale: float = Field(1.0, gt=0, le=5, description="Load: 1.0 is the hall's design load.")
    demand_skew: float = Field(0.5, ge=0, le=2, description="How far demand per matter strays from the window plan.")
    zone_skew: float = Field(0.0, ge=0, le=2, description="How far a zone's demand strays (a department's busy day).")
    staffed_share: float = Field(1.0, gt=0, le=1, description="Share of attended windows with staff today.")
    noshow: float = Field(0.05, ge=0, le=0.5, description="Share of called citizens who never come.")
    pauses_per_window: float = Field(1.0, ge=0, le=10, description="Pauses per staffed window per day.")
    pause_minutes: float = Field(10, ge=0, le=120, description="Mean length of a pause.")
    late_login_minutes: float = Field(5, ge=0, le=120, description="Staff log in up to this late.")
    staff_pace: float = Field(0.0, ge=0, le=1, description="How far clerks' paces differ: σ of each "
                              "staffed window's log-normal factor on its visits' lengths (mean 1).")
    balance: Literal["off", "suggest", "auto"] = Field("off", description="The balancer's mode this day.")
    priority_share: float = Field(1.0, ge=0, le=5, description="Priority arrivals (elderly 8 %, green channel "
                                  "2 % of citizens) times this; 0: everyone is a normal citizen.")
    lunch: bool = Field(True, description="False: the hall's periods run into one (no lunch break), staff "
                        "work through; the same citizens come (none during the break).")
    noshows_take_numbers: bool = Field(True, description="False: the citizens who would not come when called "
                                       "never take a number (the others are the same).")


def load_scenario(name_or_path: str) -> Scenario:
    p = Path(name_or_path)
    if not p.exists():
        p = SCENARIOS / f"{name_or_path}.yaml"
    return Scenario(**yaml.safe_load(p.read_text(encoding="utf-8")))


def without_breaks(cfg: HallConfig) -> HallConfig:
    """The hall with its day's periods run into one, from the first start to the
    last end (a scenario without lunch)."""
    sh = cfg.service_hours
    one = sh.periods[0].model_copy(update={"end": sh.periods[-1].end})
    return cfg.model_copy(update={"service_hours": sh.model_copy(update={"periods": [one]})})


@dataclass
class TicketLog:
    number: str
    service: str
    zone: str
    priority: str
    issued_at: float
    est_min: int
    est_lo: int
    est_hi: int
    naive_min: int
    called_at: float | None = None

    @property
    def wait_min(self) -> float | None:
        return None if self.called_at is None else (self.called_at - self.issued_at) / 60.0


@dataclass
class DayResult:
    scenario: str
    seed: int
    tickets: list[TicketLog] = field(default_factory=list)
    estimate_cpu_us: list[float] = field(default_factory=list)
    balance_moves: int = 0
    wall_s: float = 0.0


class HallDay:
    """One simulated day: ``run()`` returns what every ticket was told and waited."""

    def __init__(self, cfg: HallConfig, scenario: Scenario, seed: int = 1, date: dt.date | None = None,
                 balance: str | None = None):
        mode = balance or scenario.balance
        q = cfg.queue
        cfg = cfg.model_copy(update={"queue": q.model_copy(update={
            "balance": q.balance.model_copy(update={"mode": mode})})})
        # the arrivals follow the hall as configured, breaks included, whatever the scenario
        self.day = Day(cfg, seed=seed, scale=scenario.arrivals_scale, skew=scenario.demand_skew,
                       zone_skew=scenario.zone_skew, priority_share=scenario.priority_share)
        self.breaks = [(a.end, b.start) for a, b in zip(cfg.service_hours.periods, cfg.service_hours.periods[1:])]
        if not scenario.lunch:
            cfg = without_breaks(cfg)
        self.cfg = cfg
        self.sc = scenario
        self.seed = seed
        self.tz = ZoneInfo(cfg.hall.timezone)
        self.date = date or dt.date(2026, 11, 23)  # a Monday
        self.rng = random.Random(seed * 7919 + 17)  # staff behaviour: apart from arrivals
        self.e = Engine(cfg)
        self._heap: list[tuple[float, int, str, str]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self.idle: set[str] = set()
        self.visit: dict[str, tuple[float, bool]] = {}  # ticket → (handling seconds, no-show)
        self.leaving: set[str] = set()  # lunch: finish the visit in hand, then log out
        self.evening = False  # after the last period: serve everyone who has a number
        self.staff: dict[str, str] = {}
        self.pace: dict[str, float] = {}  # window → factor on its visits' lengths
        self.log: dict[str, TicketLog] = {}
        self.result = DayResult(scenario.name, seed)
        self.now = 0.0  # the simulated present: the time of the event being handled

    # ------------------------------------------------------------ schedule --
    def at(self, when: float, kind: str, arg: str = "") -> None:
        heapq.heappush(self._heap, (when, next(self._seq), kind, arg))

    def _local(self, h: int, mi: int = 0) -> float:
        return dt.datetime.combine(self.date, dt.time(h, mi), self.tz).timestamp()

    def _req(self, op: str, ident: str, now: float, **body):
        typ = m.REQUEST_TYPES[op]
        req = msgspec.convert({"id": f"s{next(self._ids)}", **body}, typ)
        return self.e.handle(op, ident, req, now)

    def run(self) -> DayResult:
        t0 = time.perf_counter()
        periods = self.cfg.service_hours.periods
        opening = self._local(periods[0].start.hour, periods[0].start.minute)
        self.e.restore([], [], [], {}, [], now=opening - 600)
        closing = self._local(periods[-1].end.hour, periods[-1].end.minute)
        fate = random.Random(self.seed * 104729 + 3)  # who will not come when called
        breaks = [(self._local(b0.hour, b0.minute), self._local(b1.hour, b1.minute)) for b0, b1 in self.breaks]
        for a in self.day.arrivals(opening, closing):
            a.noshow = fate.random() < self.sc.noshow  # type: ignore[attr-defined]
            if a.noshow and not self.sc.noshows_take_numbers:
                continue
            if not self.sc.lunch and any(b0 <= a.at < b1 for b0, b1 in breaks):
                continue  # the hall with a break would have refused them: the same citizens
            self.at(a.at, "arrive", msgspec.json.encode(a.__dict__).decode())
        attended = [w.id for w in self.cfg.windows if w.attended]
        n_staffed = max(1, round(len(attended) * self.sc.staffed_share))
        staffed = sorted(self.rng.sample(attended, n_staffed), key=attended.index)  # who is off: seeded
        pace = random.Random(self.seed * 7907 + 5)  # apart from arrivals and staff hours
        sd = self.sc.staff_pace
        for i, wid in enumerate(staffed):
            self.staff[wid] = f"S{i:03d}"
            self.pace[wid] = math.exp(pace.gauss(-sd * sd / 2, sd)) if sd else 1.0
            for p in periods:
                start = self._local(p.start.hour, p.start.minute)
                self.at(start + self.rng.uniform(0, self.sc.late_login_minutes * 60), "login", wid)
                if p is not periods[-1]:
                    self.at(self._local(p.end.hour, p.end.minute), "leave", wid)
            for _ in range(self._poisson(self.sc.pauses_per_window)):
                self.at(self.rng.uniform(opening, closing), "pause", wid)
        for minute in range(int(opening), int(closing) + 3600, 60):
            self.at(float(minute), "tick")
        while self._heap:
            now, _, kind, arg = heapq.heappop(self._heap)
            self.now = now
            getattr(self, f"_on_{kind}")(now, arg)
        self.result.tickets = list(self.log.values())
        self.result.wall_s = time.perf_counter() - t0
        return self.result

    def _poisson(self, lam: float) -> int:
        n, p, limit = 0, 1.0, pow(2.718281828, -lam)
        while True:
            p *= self.rng.random()
            if p < limit:
                return n
            n += 1

    # -------------------------------------------------------------- events --
    def _on_arrive(self, now: float, arg: str) -> None:
        a = msgspec.json.decode(arg)
        body = {k: a[k] for k in ("matter", "bundle", "priority", "priority_code", "lang") if a.get(k)}
        out = self._req("kiosk.issue", "K01", now, **body)
        if out.error is not None:
            return
        info = out.data
        t = self.e.tickets[info.ticket]
        self.visit[t.id] = (a["handle_s"], a["noshow"])
        # the estimate's own cost, measured alone, in CPU time (other work on the
        # machine does not count)
        c1 = time.thread_time()
        self.e.info(t, now)
        self.result.estimate_cpu_us.append((time.thread_time() - c1) * 1e6)
        self.log[t.id] = TicketLog(t.number, t.service, t.zone, t.priority, now, info.estimate_min,
                                   info.estimate_lo_min, info.estimate_hi_min,
                                   forecast.naive_minutes(self.e, t))
        for wid in sorted(self.idle):
            if self.e.line_of(t) in self.e.routing.skills.get(wid, {}):
                self.idle.discard(wid)
                self._call(now, wid)
                break

    def _on_login(self, now: float, wid: str) -> None:
        if wid in self.leaving:  # a visit ran through the whole break: the clerk never left
            self.leaving.discard(wid)
            return
        if self._req("window.login", wid, now, staff=self.staff[wid]).error is None:
            self._call(now, wid)

    def _on_leave(self, now: float, wid: str) -> None:
        """Lunch: the visit in hand is finished first, then the window logs out.
        (At the evening close staff serve everyone who took a number: no event.)"""
        self.idle.discard(wid)
        w = self.e.windows[wid]
        if w.current and self.e.tickets[w.current].state in ("called", "serving"):
            self.leaving.add(wid)
            return
        self._req("window.logout", wid, now)

    def _on_pause(self, now: float, wid: str) -> None:
        w = self.e.windows[wid]
        if w.status != "open":
            return  # away anyway (lunch, evening, already paused)
        if w.current and self.e.tickets[w.current].state in ("called", "serving"):
            self.at(now + 120, "pause", wid)  # after this visit
            return
        self.idle.discard(wid)
        self._req("window.pause", wid, now)
        self.at(now + self.rng.expovariate(1 / max(1.0, self.sc.pause_minutes * 60)), "resume", wid)

    def _on_resume(self, now: float, wid: str) -> None:
        if self._req("window.resume", wid, now).error is None:
            self._call(now, wid)

    def _on_tick(self, now: float, _arg: str) -> None:
        self.e.tick(now)
        ch = self.e.drain()
        if ch.balance:
            self.result.balance_moves = self.e.balancer.moves_today
            for wid in sorted(self.idle):  # a window lent to a queue starts calling from it
                if self.e.routing.waiting_for_window(wid):
                    self.idle.discard(wid)
                    self._call(now, wid)

    def _on_free(self, now: float, wid: str) -> None:
        if wid in self.leaving:
            self.leaving.discard(wid)
            self._req("window.finish", wid, now)
            self._req("window.logout", wid, now)
            return
        if self.e.windows[wid].status == "open":
            self._call(now, wid)

    def _on_noshow(self, now: float, wid: str) -> None:
        self._req("window.noshow", wid, now)
        self._on_free(now, wid)

    def _call(self, now: float, wid: str) -> None:
        w = self.e.windows[wid]
        if w.status != "open":
            return
        out = self._req("window.next", wid, now)
        if out.error is not None or out.data.ticket is None:
            self.idle.add(wid)
            return
        tid = out.data.ticket.ticket
        rec = self.log.get(tid)
        if rec is not None and rec.called_at is None:
            rec.called_at = now
        handle_s, noshow = self.visit.get(tid, (600.0, False))
        handle_s *= self.pace.get(wid, 1.0)
        if noshow or self.e.tickets[tid].calls > 1:  # a no-show that re-queued: its fate is sealed
            self.at(now + self.noshow_wait_s(), "noshow", wid)
            return
        walk = self.walk_s(handle_s)
        # the clerk presses "start" when the citizen reaches the window: an event of its
        # own, so the engine hears it then and never a time ahead of the present
        self.at(now + walk, "start", f"{wid} {tid}")
        self.at(now + walk + self.visit_s(tid, now + walk, handle_s), "free", wid)

    def _on_start(self, now: float, arg: str) -> None:
        wid, tid = arg.split()
        if self.e.windows[wid].current == tid and self.e.tickets[tid].state == "called":
            self._req("window.start", wid, now)

    def visit_s(self, tid: str, start: float, handle_s: float) -> float:
        """How long the visit that starts at ``start`` lasts (what was drawn with the
        arrival; tests rewrite the future through it to show the forecast never sees it)."""
        return handle_s

    @staticmethod
    def walk_s(handle_s: float) -> float:
        return 20 + (handle_s % 70)  # 20–90 s to walk up, fixed per visit

    def noshow_wait_s(self) -> float:
        return 60.0 * (1 + self.e.cfg.queue.recall_limit)

    def true_call_s(self, tid: str, window: str, in_hand: bool = False) -> float | None:
        """What calling this ticket costs (``in_hand``: cost) its window: the
        simulator's future, for bench/estimate.py's oracle only (the engine never
        sees it)."""
        v = self.visit.get(tid)
        if v is None:
            return None
        handle_s, noshow = v
        t = self.e.tickets.get(tid)
        if noshow or (t is not None and t.calls > int(in_hand)):  # a re-queued no-show
            return self.noshow_wait_s()
        handle_s *= self.pace.get(window, 1.0)
        return self.walk_s(handle_s) + handle_s

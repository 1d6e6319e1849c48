"""Daily aggregates (hall/daystats.py) as the day closes, and today's per-window figures.

An engine extension (it reads the core's domain events, caller/domain.py).
Through the day it follows the windows' status changes and writes each stretch a window was open or paused as a :class:`Presence` row
(the only history the tickets do not already hold); from today's tickets it
keeps each window's served visits and handling, published as
``stats/hall/windows`` for the live console (served today, average handling,
idle and paused minutes, utilisation).

When the day has rolled (and a few seconds later, so the last batches of the
day are committed), it reads that day's tickets, ratings, presence and
decided cases from the store once and writes one :class:`DayStat` per
(scope, key) in the same transaction as whatever else the batch holds.
Reports read only those rows.  At start it also closes every earlier day that
has tickets but no aggregate (the engine was down at midnight, or the
database predates this table): the aggregate is a function of what is
stored, so writing it again gives the same rows.

Why in the engine's store rather than kept by the web process from the bus:
the engine already holds every ticket and rating durably; a day closed from
them is right whatever was running at midnight, is backed up with the rest
(``onewindow backup``), and needs no replay protocol for a web process that
was down.  Readers (``onewindow report``, the console) open the file read-only
and read only the ``day_stats`` table (reports/history.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Iterable

import msgspec

from hall import messages as m
from hall.clock import day_span, local_dt
from hall.config import HallConfig
from hall.daystats import DayStat

from . import domain as d
from .engine import Emit, Engine
from .extension import ExtOut
from .model import Rating, Ticket, WindowRec

if TYPE_CHECKING:
    from .store import Store

CLOSE_AFTER_S = 5.0  # the day's last batches are committed by then (the pipeline is two deep)
PUBLISH_EVERY_S = 30.0  # idle and paused minutes grow by themselves: refresh the dashboard


_HEEDED = frozenset((d.DayStarted, d.WindowStatusChanged, d.VisitFinished))

class Presence(msgspec.Struct, kw_only=True, gc=False):
    """A stretch of time a window was open (logged in) or paused, with its staff."""

    day: str
    window: str
    staff: str
    status: str  # "open" | "paused"
    start: float
    end: float


def service_span(cfg: HallConfig, day: str) -> tuple[float, float]:
    """[opening, closing) of ``day`` by the service periods: presence outside is not counted
    (a clerk who forgot to log out overnight is not 14 hours idle)."""
    periods = cfg.service_hours.periods
    d = dt.date.fromisoformat(day)
    from zoneinfo import ZoneInfo
    tz = ZoneInfo(cfg.hall.timezone)
    if not periods:
        return day_span(day, cfg.hall.timezone)
    return (dt.datetime.combine(d, min(p.start for p in periods), tz).timestamp(),
            dt.datetime.combine(d, max(p.end for p in periods), tz).timestamp())


def department_of(cfg: HallConfig, t: Ticket) -> str:
    """The department (its Chinese name, as cases name it) a ticket's matter belongs to;
    a bundle's is its first matter's."""
    mid = t.matter or (cfg.bundle(t.bundle).matters[0] if t.bundle and cfg.bundle(t.bundle) else None)
    mt = cfg.matter(mid) if mid else None
    return mt.department.get("zh-CN") if mt else "?"


def _hour(epoch: float, tz: str) -> int:
    return local_dt(epoch, tz).hour


class _Acc:
    """Plain counters for one (scope, key) while a day is added up."""

    __slots__ = ("d",)

    def __init__(self):
        self.d: dict[str, Any] = defaultdict(float)

    def count(self, field: str, k: Any, n: int = 1) -> None:
        sub = self.d.setdefault(field, {})
        sub[k] = sub.get(k, 0) + n


def aggregate(cfg: HallConfig, day: str, tickets: Iterable[Ticket], ratings: Iterable[Rating],
              presence: Iterable[Presence], cases: Iterable[Any] = ()) -> list[DayStat]:
    """The day's records for every scope (pure: the same inputs give the same rows)."""
    tz = cfg.hall.timezone
    accs: dict[tuple[str, str], _Acc] = defaultdict(_Acc)
    zone_of_window = {w.id: w.zone for w in cfg.windows}
    by_id: dict[str, Ticket] = {}
    lo, hi = service_span(cfg, day)  # presence and busy time count within service hours

    def keys_of(t: Ticket) -> list[tuple[str, str]]:
        ks = [("hall", "hall"), ("zone", t.zone), ("department", department_of(cfg, t)),
              ("matter", t.service)]
        if t.window:
            ks.append(("window", t.window))
        if t.staff:
            ks.append(("staff", t.staff))
        return ks

    for t in tickets:
        if t.day != day:
            continue
        by_id[t.id] = t
        ks = keys_of(t)
        for k in ks[:4]:  # a ticket is issued to a hall, zone, department and matter, not yet a window
            a = accs[k].d
            a["issued"] += 1
            accs[k].count("arrivals", _hour(t.issued_at, tz))
        for k in ks:
            acc = accs[k]
            a = acc.d
            if t.first_called_at is not None:
                a["called"] += 1
                wait = max(0.0, t.first_called_at - t.issued_at)
                a["wait_n"] += 1
                a["wait_s"] += wait
                acc.count("wait_hist", int(wait // 60))
            if t.state == "done":
                a["served"] += 1
                if t.finished_at and t.handle_start:
                    a["handle_n"] += 1
                    a["handle_s"] += t.finished_at - t.handle_start
                if t.finished_at and t.called_at:
                    a["busy_s"] += max(0.0, min(t.finished_at, hi) - max(t.called_at, lo))
            elif t.state == "noshow" or (t.state == "cancelled" and t.noshow_at is not None):
                a["noshow"] += 1  # a no-show that never came back is closed as cancelled at midnight
            elif t.state == "cancelled" or t.state in ("waiting", "called", "serving"):
                a["cancelled"] += 1
            if t.outcome is not None:
                acc.count("outcomes", t.outcome.kind)

    final: dict[str, int | None] = {}  # ticket → its final level (None: timed out, not rated later)
    for r in ratings:
        if r.day != day:
            continue
        if r.level is not None or r.ticket not in final:
            final[r.ticket] = r.level if r.level is not None else final.get(r.ticket)
    for tid, level in final.items():
        t = by_id.get(tid)
        if t is None:
            continue
        for k in keys_of(t):
            if level is None:
                accs[k].d["not_rated"] += 1
            else:
                accs[k].count("levels", level)

    for p in presence:
        if p.day != day:
            continue
        s = max(0.0, min(p.end, hi) - max(p.start, lo))
        if not s:
            continue
        field = "open_s" if p.status == "open" else "paused_s"
        ks = [("hall", "hall"), ("window", p.window), ("staff", p.staff)]
        if p.window in zone_of_window:
            ks.append(("zone", zone_of_window[p.window]))
        for k in ks:
            accs[k].d[field] += s

    start, end = day_span(day, tz)
    for c in cases:
        decided = next((st.at for st in c.steps if st.stage in ("ready", "collected", "denied")), None)
        if c.result is None or decided is None or not start <= decided < end:
            continue
        ks = [("hall", "hall"), ("department", c.department), ("matter", c.matter)]
        if c.steps and c.steps[0].handler:
            ks.append(("staff", c.steps[0].handler))
        if c.source in zone_of_window:
            ks.append(("window", c.source))
        for k in ks:
            accs[k].count("cases", c.result)

    out = []
    ints = ("issued", "called", "served", "noshow", "cancelled", "wait_n", "handle_n", "not_rated")
    for (scope, key), acc in sorted(accs.items()):
        d = dict(acc.d)
        for f in ints:
            if f in d:
                d[f] = int(d[f])
        for f in ("wait_s", "handle_s", "open_s", "paused_s", "busy_s"):
            if f in d:
                d[f] = round(d[f], 3)
        out.append(DayStat(day=day, scope=scope, key=key, **d))
    return out


class DayStats:
    """The engine extension: presence rows, today's per-window figures, the day's close."""

    name = "daystats"

    def __init__(self, cfg: Any):
        self.cfg = cfg
        self.day = ""
        self.store: Store | None = None
        # window → (status, staff, the record's since, where the current stretch began)
        self.seen: dict[str, tuple[str, str | None, float, float]] = {}
        self.done: dict[str, dict[str, float]] = {}  # window → served, handle_n, handle_s, busy_s
        self.counted: set[str] = set()  # tickets already in `done`
        self.stretches: dict[str, dict[str, float]] = {}  # window → open_s, paused_s (closed stretches)
        self.to_close: list[tuple[str, float]] = []  # (day, when its aggregate is due)
        self._dirty = True
        self._published = -1e18

    # ---------------------------------------------------------------- life --
    def restore(self, store: Store, engine: Engine, now: float) -> None:
        self.store = store
        self.day = engine.day
        for p in store.presence(engine.day):
            self._add_stretch(p)
        for w in engine.windows.values():
            self.seen[w.id] = (w.status, w.staff, w.since, max(w.since, day_span(engine.day, engine.tz)[0]))
        for t in engine.tickets.values():
            self._count_done(t)
        self.to_close = [(d, now) for d in store.days_to_close(engine.day)]

    def ops(self) -> dict[str, type]:
        return {}

    def handle(self, op, ident, req, engine, now):  # pragma: no cover - no ops
        raise NotImplementedError(op)

    def republish(self, engine: Engine, now: float) -> list[Emit]:
        return [self._view(engine, now)]

    # -------------------------------------------------------------- batches --
    def on_events(self, events: list[d.DomainEvent], engine: Engine, now: float) -> ExtOut:
        """A day started: cut the stretches at midnight; a window's status changed: the
        stretch it leaves (its times from the window's record); a visit finished: count it."""
        out = ExtOut()
        for ev in events:
            # by exact type (none of the three has a subclass): most events of a batch
            # are issues, which this skips after one look-up instead of three calls
            kind = type(ev)
            if kind not in _HEEDED:
                continue
            if kind is d.DayStarted:
                if self.day and ev.previous == self.day:
                    out.records.extend(self._roll(engine, now))
                self.day = ev.day
            elif kind is d.WindowStatusChanged:
                if ev.window in engine.windows:
                    rec = self._transition(engine.windows[ev.window])
                    if rec is not None:
                        out.records.append(rec)
            elif ev.ticket.day == self.day:  # VisitFinished
                self._count_done(ev.ticket)
        if not self.day:
            self.day = engine.day
        return out

    def tick(self, engine: Engine, now: float) -> ExtOut:
        out = ExtOut()
        due = [d for d, at in self.to_close if at <= now]
        if due and self.store is not None:
            self.to_close = [(d, at) for d, at in self.to_close if at > now]
            for day in due:
                out.records.extend(self.close(self.store, day))
        if self._dirty or now - self._published >= PUBLISH_EVERY_S:
            out.events.append(self._view(engine, now))
        return out

    def close(self, store: Store, day: str) -> list[DayStat]:
        """The day's aggregate rows, from what the store holds of it."""
        start, end = day_span(day, self.cfg.hall.timezone)
        return aggregate(self.cfg, day, store.tickets_of_day(day), store.ratings(day), store.presence(day),
                         store.cases_touched_since(start))

    # ----------------------------------------------------------------- pure --
    def _transition(self, w: WindowRec) -> Presence | None:
        """A window's status changed: the stretch it leaves, if it was open or paused.
        (Two changes of one window in one batch show only the last: the stretch
        between them joins the first.)"""
        before = self.seen.get(w.id)
        self.seen[w.id] = (w.status, w.staff, w.since, w.since)
        if before is None:
            return None
        status, staff, since, began = before
        if (status, staff, since) == (w.status, w.staff, w.since):
            self.seen[w.id] = before  # the current ticket changed, not the presence
            return None
        self._dirty = True
        if status not in ("open", "paused") or not staff or w.since <= began:
            return None
        p = Presence(day=self.day, window=w.id, staff=staff, status=status, start=began, end=w.since)
        self._add_stretch(p)
        return p

    def _roll(self, engine: Engine, now: float) -> list[Presence]:
        """Midnight: every open or paused stretch is cut at the old day's end."""
        old = self.day
        _start, end = day_span(old, engine.tz)
        out = []
        for wid, (status, staff, since, began) in self.seen.items():
            if status in ("open", "paused") and staff and began < end:
                out.append(Presence(day=old, window=wid, staff=staff, status=status, start=began, end=end))
            self.seen[wid] = (status, staff, since, max(began, end))
        self.to_close.append((old, now + CLOSE_AFTER_S))
        self.done, self.counted, self.stretches = {}, set(), {}
        self._dirty = True
        return out

    def _add_stretch(self, p: Presence) -> None:
        s = self.stretches.setdefault(p.window, {"open_s": 0.0, "paused_s": 0.0})
        s["open_s" if p.status == "open" else "paused_s"] += p.end - p.start

    def _count_done(self, t: Ticket) -> None:
        if t.state != "done" or not t.window or t.id in self.counted:
            return
        self.counted.add(t.id)
        d = self.done.setdefault(t.window, {"served": 0, "handle_n": 0, "handle_s": 0.0, "busy_s": 0.0})
        d["served"] += 1
        if t.finished_at and t.handle_start:
            d["handle_n"] += 1
            d["handle_s"] += t.finished_at - t.handle_start
        if t.finished_at and t.called_at:
            d["busy_s"] += max(0.0, t.finished_at - t.called_at)
        self._dirty = True

    def window_figures(self, wid: str, now: float) -> m.WindowDay:
        s = dict(self.stretches.get(wid) or {"open_s": 0.0, "paused_s": 0.0})
        status, staff, _since, began = self.seen.get(wid, ("closed", None, 0.0, 0.0))
        if status in ("open", "paused") and staff and now > began:
            s["open_s" if status == "open" else "paused_s"] += now - began
        d = self.done.get(wid) or {"served": 0, "handle_n": 0, "handle_s": 0.0, "busy_s": 0.0}
        staffed = s["open_s"] + s["paused_s"]
        return m.WindowDay(
            served=int(d["served"]),
            avg_handle_s=round(d["handle_s"] / d["handle_n"], 1) if d["handle_n"] else 0.0,
            open_min=round(s["open_s"] / 60, 1), paused_min=round(s["paused_s"] / 60, 1),
            idle_min=round(max(0.0, s["open_s"] - d["busy_s"]) / 60, 1),
            utilisation=round(min(1.0, d["busy_s"] / staffed), 4) if staffed else 0.0)

    def _view(self, engine: Engine, now: float) -> Emit:
        self._dirty = False
        self._published = now
        return Emit("stats.windows", "hall", m.WindowsToday(
            day=engine.day, windows={w.id: self.window_figures(w.id, now) for w in engine.cfg.windows}, at=now))

"""The queue engine's pure core: a state machine of tickets and windows.

``Engine.handle(op, ident, request, now)`` takes a validated request (a
:mod:`hall.messages` struct) and the time, applies it to memory as one change
set, and returns an :class:`Outcome` (reply data or a refusal, the events to
publish, and the command's :class:`Changes`).  It never touches MQTT, SQLite
or a clock: the shell (caller/service.py) persists what ``drain()`` reports
before it sends any reply or event.

A command applies whole or not at all: while a handler runs, the core's
mutators keep an undo log (a copy of each ticket or window record the command
touches, and one undo step per change of an index: queues, numbering, the
board's recent calls…).  A refusal or any exception replays the log
backwards, so nothing half-applied reaches the batch, the store or the bus,
whether the handler checked everything first or not (docs/design.md).
"""

from __future__ import annotations

import hmac
from bisect import bisect_left, insort
import logging
import os
from collections import Counter, deque
from typing import Any, Callable

from hall import messages as m
from hall.clock import day_span, local_day, local_dt
from hall.config import HallConfig
from hall.errors import ErrorCode as E

from . import domain as d
from . import forecast, kiosk_ops, settle, views, window_ops
from .effects import Changes, Emit, Outcome, Refused
from .balance import Balancer
from .estimate import Arrivals, Estimator
from .model import ACTIVE, Rating, Ticket, WindowRec
from .numbering import Numbering
from .routing import Routing, window_line

log = logging.getLogger("caller.engine")


def new_secret() -> str:
    """A ticket's secret: 64 random bits, hex (a keyboard-mode scanner types
    digits and a–f without Shift); ``secrets.token_hex(8)`` without its layers."""
    return os.urandom(8).hex()


class Engine:
    def __init__(self, cfg: HallConfig, secret: Callable[[], str] = new_secret):
        self.new_secret = secret  # injected: the core stays deterministic in tests
        self.cfg = cfg
        self.tz = cfg.hall.timezone
        self.day = ""
        self._day_id = ("", "")  # (day, "yyyymmdd"): the tickets' id prefix
        self._day_span = (0.0, 0.0)  # [start, end) epoch of self.day
        self.tickets: dict[str, Ticket] = {}
        self.by_number: dict[str, str] = {}
        self.windows: dict[str, WindowRec] = {w.id: WindowRec(id=w.id) for w in cfg.windows}
        self.routing = Routing(cfg)
        self._lookups(cfg)
        self.numbering = Numbering({g.prefix: g.digits for g in cfg.groups})
        self.estimator = Estimator(self._expected(cfg), cfg.queue.estimate_alpha)
        self.arrivals = Arrivals()
        self.hours = forecast.Hours(self)
        self.inflow = forecast.Inflow(self)
        self.shape = forecast.Shape(self.routing)
        self.balancer = Balancer(self)
        self.estimate_errors: list[float] = []  # today's (actual − estimate) minutes, for the stat
        self.estimate_abs: list[float] = []  # their sizes, sorted as they come (the summary's quantiles)
        self.estimate_inside = 0  # of them, how many fell inside the printed range
        self.recent: dict[str, deque[m.CallEntry]] = {
            z.id: deque(maxlen=cfg.queue.board_recent) for z in cfg.zones}
        self.waiting_zone_group: Counter[tuple[str, str]] = Counter()
        self.appointments: dict[str, tuple[m.Appointment, str | None]] = {}
        self.unattended: dict[str, float] = {}  # window -> since
        self.stats = Counter()  # issued, served, noshow, wait_s, wait_n, handle_s, handle_n
        self.by_kiosk: Counter[str] = Counter()  # today's tickets per kiosk and per phone (daily caps)
        self.by_phone: Counter[str] = Counter()
        self._qseq = 0
        self.ch = Changes()
        self._dirty_t: dict[str, Ticket] = {}
        self._dirty_w: set[str] = set()
        self._undo: list[Callable[[], None]] = []  # of the command being applied
        self._saved: dict[int, tuple[Any, Any]] = {}  # id(record) -> (record, its copy before)
        self._handlers: dict[str, Callable[[Engine, str, Any, float], Any]] = {
            **kiosk_ops.HANDLERS, **window_ops.HANDLERS}
        self.events: list[Emit] = []
        # a ticket's filled form: kept sealed by the forms extension (caller/forms.py),
        # which installs its reader here; the ticket record never holds it
        self.form_of: Callable[[Ticket], dict[str, str] | None] = lambda t: t.form

    def _lookups(self, cfg: HallConfig) -> None:
        """What every issue looks up in the config, as plain dicts (the config's own
        look-ups are three calls each): matter or bundle by id, priority class by id."""
        matters = self.matters = {mt.id: mt for mt in cfg.matters}
        bundles = self.bundles = {b.id: b for b in cfg.bundles}
        # service id -> (its matter, else its bundle; the matter's id or None; the bundle's id or None)
        self.services: dict[str, tuple[Any, str | None, str | None]] = {
            sid: (matters.get(sid) or bundles[sid], sid if sid in matters else None,
                  sid if sid in bundles else None) for sid in {**matters, **bundles}}
        self.classes = {c.id: c for c in cfg.priority.classes}

    @staticmethod
    def _expected(cfg: HallConfig) -> dict[str, float]:
        exp = {mt.id: mt.minutes for mt in cfg.matters}
        for b in cfg.bundles:
            exp[b.id] = sum(exp[x] for x in b.matters)
        return exp

    # ================================================================ API ==
    def handles(self, op: str) -> bool:
        return op in self._handlers

    def handle(self, op: str, ident: str, req: Any, now: float) -> Outcome:
        """Apply one command; a refusal returns an error and any other exception
        propagates, both with every change of the command undone."""
        span = self._day_span
        if not span[0] <= now < span[1]:
            self.roll_day(now)
        outer = (self.ch, self._dirty_t, self._dirty_w)
        self.ch, self._dirty_t, self._dirty_w = cmd, dirty_t, dirty_w = Changes(), {}, set()
        self.events, self._undo, self._saved = [], [], {}
        stats, qseq = dict(self.stats), self._qseq  # a plain dict copies in C; a Counter's copy is Python
        try:
            data = self._handlers[op](self, ident, req, now)
        except BaseException as exc:
            self._rollback(stats, qseq)
            self.ch, self._dirty_t, self._dirty_w = outer
            if isinstance(exc, Refused):
                return Outcome(error=(exc.code, exc.message))
            raise
        # records listed in the change set directly (roll_day's) go first, as in drain()
        listed_t = [(t.id, t) for t in cmd.tickets] if cmd.tickets else None
        listed_w = [w.id for w in cmd.windows] if cmd.windows else None
        cmd.tickets.extend(dirty_t.values())
        if dirty_w:
            cmd.windows.extend(map(self.windows.__getitem__, dirty_w))
        self.ch, self._dirty_t, self._dirty_w = outer
        if listed_t:
            outer[1].update(listed_t)
        outer[1].update(dirty_t)
        if listed_w:
            outer[2].update(listed_w)
        if dirty_w:
            outer[2].update(dirty_w)
        outer[0].absorb(cmd)
        self._undo, self._saved = [], {}
        return Outcome(data=data, events=self.events, changes=cmd)

    def _rollback(self, stats: dict, qseq: int) -> None:
        for step in reversed(self._undo):
            step()
        for rec, before in self._saved.values():
            if before is None:
                continue  # made by the command: its own undo step takes it away whole
            for f in rec.__struct_fields__:
                setattr(rec, f, getattr(before, f))
        self.stats, self._qseq = Counter(stats), qseq
        self.events, self._undo, self._saved = [], [], {}

    def edit(self, rec: Any) -> Any:
        """Note a ticket or window record the command is about to change (its
        first copy is what a rollback restores); returns the record."""
        if id(rec) not in self._saved:
            self._saved[id(rec)] = (rec, rec.__copy__())  # what copy.copy calls, without its look-ups
        return rec

    def on_undo(self, step: Callable[[], None]) -> None:
        """Register how to take back a change just made to an index."""
        self._undo.append(step)

    def happened(self, event: d.DomainEvent) -> None:
        """Record a domain event in the command's change set (gone with it if the command fails)."""
        self.ch.domain.append(event)

    def drain(self) -> Changes:
        ch = self.ch
        if ch.waiting_lines:
            ch.domain.append(d.LinesMoved(frozenset(ch.waiting_lines)))
        ch.tickets.extend(self._dirty_t.values())
        ch.windows.extend(self.windows[w] for w in self._dirty_w)
        self._dirty_t = {}
        self._dirty_w = set()
        self.ch = Changes()
        return ch

    # ----------------------------------------------------------- restore --
    def restore(self, tickets: list[Ticket], windows: list[WindowRec],
                counters: list[tuple[str, str, int]], estimates: dict[str, float],
                appointments: list[tuple[m.Appointment, str | None]], now: float) -> None:
        """Rebuild memory from the store after a start (or a crash)."""
        self.day = local_day(now, self.tz)
        for day, prefix, seq in counters:
            self.numbering.load(day, prefix, seq)
        for svc, minutes in estimates.items():
            self.estimator.load(svc, minutes)
        for w in windows:
            if w.id in self.windows:
                self.windows[w.id] = w
        for appt, tid in appointments:
            self.appointments[appt.code] = (appt, tid)
        for t in sorted(tickets, key=lambda t: t.qseq):
            if t.day != self.day:
                continue
            self._qseq = max(self._qseq, t.qseq)
            self.tickets[t.id] = t
            self.by_number[t.number] = t.id
            self.stats["issued"] += 1
            self._count_issuer(t, +1)
            if t.state == "waiting":
                self.enqueue(t)
            self._count_done(t)
        for w in self.windows.values():
            if w.current and w.current not in self.tickets:
                w.current = None  # its ticket belonged to an earlier day
        # tickets of an earlier day still open at the crash are closed by roll_day
        stale = [t for t in tickets if t.day < self.day and t.state in ("waiting", *ACTIVE, "noshow")]
        for t in stale:
            t.state = "cancelled"
            self._dirty_t[t.id] = t

    def _count_done(self, t: Ticket) -> None:
        settle.count(self.stats, t)
        if t.first_called_at is not None:
            self.stats["wait_s"] += t.first_called_at - t.issued_at
            self.stats["wait_n"] += 1
            self.judge_estimate(t, t.first_called_at)
        self.arrivals.observe(self.line_of(t), t.priority, t.issued_at)
        if t.state == "done":
            self.stats["served"] += 1
            if t.finished_at and t.handle_start:
                self.stats["handle_s"] += t.finished_at - t.handle_start
                self.stats["handle_n"] += 1
        elif t.state == "noshow":
            self.stats["noshow"] += 1

    # ----------------------------------------------------------- the day --
    def roll_day(self, now: float) -> None:
        """At the hall's local midnight: close yesterday, numbering starts again."""
        if self._day_span[0] <= now < self._day_span[1]:
            return  # the common case, without a time-zone conversion per request
        day = local_day(now, self.tz)
        self._day_span = day_span(day, self.tz)
        if day == self.day:
            return
        old = self.day
        self.day = day
        if not old:
            return
        self.happened(d.DayStarted(day=day, previous=old))
        for t in self.tickets.values():
            if t.state in ("waiting", *ACTIVE, "noshow"):
                t.state = "cancelled"
                self._dirty_t[t.id] = t
        self.ch.tickets.extend(self._dirty_t.values())
        self._dirty_t = {}
        self.tickets.clear()
        self.by_number.clear()
        self.routing.clear()
        self.waiting_zone_group.clear()
        for q in self.recent.values():
            q.clear()
        self.stats.clear()
        self.arrivals.clear()
        self.estimator.clear_day()
        self.inflow.clear()
        self.balancer.clear()
        self.balancer.moves_today = 0
        self.estimate_errors.clear()
        self.estimate_abs.clear()
        self.estimate_inside = 0
        self.by_kiosk.clear()
        self.by_phone.clear()
        self._qseq = 0
        self.numbering.forget_before(day)
        for w in self.windows.values():
            if w.current or w.last_finished:
                w.current = None
                w.last_finished = None
                self.touch_window(w)
        self.ch.zone_views.update(self.recent)
        self.appointments = {c: a for c, a in self.appointments.items()
                             if local_day(a[0].end, self.tz) >= day}

    def tick(self, now: float) -> None:
        """Periodic duties: the day change and 空岗 (unattended window) alarms."""
        self.roll_day(now)
        open_now = self.cfg.service_hours.is_open(local_dt(now, self.tz))
        for wc in self.cfg.windows:
            w = self.windows[wc.id]
            should = open_now and wc.attended and w.status == "closed"
            if should and wc.id not in self.unattended:
                self.unattended[wc.id] = now
                self.ch.alerts.append(m.UnattendedAlert(window=wc.id, active=True, since=now, at=now))
            elif not should and wc.id in self.unattended:
                del self.unattended[wc.id]
                self.ch.alerts.append(m.UnattendedAlert(window=wc.id, active=False, since=None, at=now))
        if open_now and self.balancer.tick(now):
            self.ch.balance = True

    # ========================================================== helpers ==
    def next_qseq(self) -> int:
        """A new place-in-line tie-break, unique per day."""
        self._qseq += 1
        return self._qseq

    def touch(self, t: Ticket) -> None:
        self._dirty_t[t.id] = t

    def touch_window(self, w: WindowRec) -> None:
        self._dirty_w.add(w.id)
        self.ch.window_views.add(w.id)

    def line_of(self, t: Ticket) -> str:
        return window_line(t.target_window) if t.target_window else t.service

    def enqueue(self, t: Ticket) -> None:
        line = self.line_of(t)
        key = (line, t.priority, t.enqueued_at, t.qseq, t.id)
        zg = (t.zone, t.group)
        self.routing.add(*key)
        self.waiting_zone_group[zg] += 1
        self.ch.waiting_lines.add(line)
        self.ch.waiting_zones.add(t.zone)
        self._undo.append(lambda: self._unqueue(key, zg, -1))

    def dequeue(self, t: Ticket) -> None:
        line = self.line_of(t)
        key = (line, t.priority, t.enqueued_at, t.qseq, t.id)
        zg = (t.zone, t.group)
        if self.routing.remove(*key):
            self.waiting_zone_group[zg] -= 1
            self.ch.waiting_lines.add(line)
            self.ch.waiting_zones.add(t.zone)
            self._undo.append(lambda: self._unqueue(key, zg, +1))

    def _unqueue(self, key: tuple, zg: tuple[str, str], delta: int) -> None:
        """Undo of enqueue (delta -1) or dequeue (+1)."""
        if delta < 0:
            self.routing.remove(*key)
        else:
            self.routing.add(*key)
        self.waiting_zone_group[zg] += delta

    def _count_issuer(self, t: Ticket, n: int) -> None:
        if t.kiosk:
            self.by_kiosk[t.kiosk] += n
        if t.phone:
            self.by_phone[t.phone] += n

    def check_daily_caps(self, kiosk: str, phone: str | None) -> None:
        """Refuse a new ticket past the day's cap for this kiosk or this phone."""
        door = self.cfg.door
        if door.daily_tickets_per_kiosk is not None and self.by_kiosk[kiosk] >= door.daily_tickets_per_kiosk:
            raise Refused(E.DAILY_CAP, f"kiosk {kiosk} has issued its {door.daily_tickets_per_kiosk} "
                          "tickets for today")
        if phone and door.daily_tickets_per_phone is not None \
                and self.by_phone[phone] >= door.daily_tickets_per_phone:
            raise Refused(E.DAILY_CAP, f"this phone number has taken {door.daily_tickets_per_phone} "
                          "tickets today")

    def set_appointment(self, appt: m.Appointment, ticket: str | None) -> None:
        code = appt.code
        before = self.appointments.get(code)
        self.appointments[code] = (appt, ticket)
        self.ch.appointments.append((appt, ticket))
        self._undo.append(lambda: self.appointments.pop(code) if before is None
                          else self.appointments.__setitem__(code, before))

    def owned_ticket(self, ref: str, secret: str) -> Ticket:
        """The ticket, if ``secret`` is its own (a citizen acting on it)."""
        t = self.find_ticket(ref)
        if not t.secret or not hmac.compare_digest(t.secret, secret):
            raise Refused(E.BAD_SECRET, f"scan ticket {t.number}'s QR code to do this")
        return t

    def find_ticket(self, ref: str) -> Ticket:
        t = self.tickets.get(ref) or self.tickets.get(self.by_number.get(ref, ""))
        if t is None:
            raise Refused(E.UNKNOWN_TICKET, f"no ticket {ref!r} today")
        return self.edit(t)

    def window_of(self, wid: str) -> tuple[WindowRec, Any]:
        wc = self.cfg.window(wid)
        if wc is None:
            raise Refused(E.UNKNOWN_WINDOW, f"no window {wid!r} in this hall")
        return self.edit(self.windows[wid]), wc

    def staffed(self, wid: str) -> tuple[WindowRec, Any]:
        w, wc = self.window_of(wid)
        if w.status == "closed":
            raise Refused(E.NOT_LOGGED_IN, f"nobody is logged in at window {wc.number}")
        return w, wc

    def current_of(self, w: WindowRec) -> Ticket:
        t = self.tickets.get(w.current or "")
        if t is None or t.state not in ACTIVE:
            raise Refused(E.NO_CURRENT_TICKET, "the window has no ticket called")
        return self.edit(t)

    def info(self, t: Ticket, now: float, with_secret: bool = False) -> m.TicketInfo:
        ahead, est, lo, hi = 0, 0, 0, 0
        line = self.line_of(t)
        if t.state == "waiting":
            ahead, w = forecast.position(self, t, now, line)
            if w is not None:
                est, lo, hi = w.minutes()
        wc = self.cfg.window(t.window) if t.window else None
        return m.TicketInfo(
            ticket=t.id, number=t.number, day=t.day, state=t.state, matter=t.matter,
            bundle=t.bundle, zone=t.zone, windows=self.routing.window_numbers.get(line, []),
            ahead=ahead, estimate_min=est, estimate_lo_min=lo, estimate_hi_min=hi,
            priority=t.priority, issued_at=t.issued_at,
            window=t.window, window_number=wc.number if wc else None,
            requeue_until=t.requeue_until, secret=t.secret if with_secret else None)

    def promise(self, t: Ticket, now: float, with_secret: bool = False) -> m.TicketInfo:
        """The ticket's info at issue, its estimate kept to be judged when it is called."""
        info = self.info(t, now, with_secret)
        if id(t) not in self._saved:  # edit(), inline: a new ticket is there already
            self.edit(t)
        t.est_min, t.est_lo_min, t.est_hi_min = info.estimate_min, info.estimate_lo_min, info.estimate_hi_min
        return info

    def observe_running(self, mean: Any, x: float) -> None:
        """Add to one of the estimator's running means, undone with the command."""
        mean.add(x)
        self._undo.append(lambda: mean.remove(x))

    def observe_login(self, now: float) -> None:
        """A login soon after a period's start: how late staff come back (forecast)."""
        late = self.hours.since_period_start(now)
        if late is not None:
            self.observe_running(self.estimator.login_late, late)

    def judge_estimate(self, t: Ticket, now: float) -> None:
        """On the first call: how far the promise was from the wait (minutes)."""
        if t.est_min is None:
            return
        actual = (now - t.issued_at) / 60.0
        inside = (t.est_lo_min or 0) <= actual <= (t.est_hi_min if t.est_hi_min is not None else t.est_min)
        self.estimate_errors.append(actual - t.est_min)
        insort(self.estimate_abs, abs(actual - t.est_min))
        self.estimate_inside += inside
        self._undo.append(lambda: self._unjudge(inside))
        self.ch.estimate_stat = True

    def _unjudge(self, inside: bool) -> None:
        x = abs(self.estimate_errors.pop())
        del self.estimate_abs[bisect_left(self.estimate_abs, x)]
        self.estimate_inside -= inside

    def new_ticket(self, ident: str, service: str, klass: str, lang: str, now: float,
                    phone: str | None = None, form: dict | None = None,
                    appointment: str | None = None) -> Ticket:
        # service: the config's id string, one shared by every ticket of the matter,
        # not the copy each request's JSON decoded (1 MB of a 20,000-ticket day)
        spec, matter, bundle = self.services[service]
        prefix = spec.group
        day = self.day
        seq, number = self.numbering.next(day, prefix)
        self._undo.append(lambda: self.numbering.rewind(day, prefix, seq - 1))
        self.ch.counters.append((day, prefix, seq))
        day_id = self._day_id
        if day_id[0] != day:
            day_id = self._day_id = (day, day.replace("-", ""))
        t = Ticket(id=f"{day_id[1]}-{number}", day=day, number=number,
                   group=prefix, seq=seq, service=spec.id, matter=matter, bundle=bundle, zone=spec.zone,
                   priority=klass, lang=lang, state="waiting", issued_at=now, enqueued_at=now, kiosk=ident,
                   phone=phone, form=form, appointment=appointment, qseq=self.next_qseq(), secret=self.new_secret())
        tid = t.id
        self.tickets[tid] = t
        self.by_number[number] = tid
        self._saved[id(t)] = (t, None)  # new: nothing of it to restore (edit() needs no copy)
        self._count_issuer(t, +1)
        self.stats["issued"] += 1
        line = self.line_of(t)
        self.arrivals.observe(line, klass, now)
        # one undo step for the ticket's records, its issuer's counts and the arrival
        # (none of the statements since the number can fail halfway)
        self._undo.append(lambda: (self.arrivals.unobserve(line, klass), self.tickets.pop(tid, None),
                                   self.by_number.pop(number, None), self._count_issuer(t, -1)))
        self.enqueue(t)
        self.touch(t)
        self.happened(d.TicketIssued(t))
        return t

    # ---------------------------------------------------------- ratings --
    def rate(self, t: Ticket, level: int | None, source: str, now: float,
              reasons: list[str] | None = None, comment: str | None = None) -> Rating:
        if t.state != "done":
            raise Refused(E.BAD_STATE, f"ticket {t.number} is {t.state}; only a finished visit is rated")
        if t.rated:
            raise Refused(E.ALREADY_RATED, f"ticket {t.number} has been rated")
        r = Rating(ticket=t.id, day=t.day, level=level, source=source,  # type: ignore[arg-type]
                   window=t.window, staff=t.staff, matter=t.matter or t.bundle, at=now,
                   reasons=list(reasons or []), comment=comment)
        if level is not None:
            t.rated = True  # a timeout leaves the citizen free to rate later at a kiosk
            self.touch(t)
        self.ch.ratings.append(r)
        self.happened(d.Rated(r, t))
        return r

    def end_current(self, w: WindowRec, wc: Any, now: float) -> Ticket | None:
        """Finish the window's current ticket if it has one (next implies finish)."""
        t = self.tickets.get(w.current or "")
        if t is None or t.state not in ACTIVE:
            return None
        self.edit(t)
        self.edit(w)
        t.state = "done"
        t.finished_at = now
        start = t.handle_start
        if start is not None:
            self.stats["handle_s"] += now - start
            self.stats["handle_n"] += 1
            learned = self.estimator.learned(t.service, w.id)
            walk = t.served_at - t.called_at if t.served_at and t.called_at else None
            self.ch.estimates[t.service] = self.estimator.observe(t.service, now - start, w.id, walk)
            self._undo.append(lambda: self.estimator.forget(t.service, learned))
        self.stats["served"] += 1
        self.estimator.observe_call(noshow=False)
        self._undo.append(lambda: self.estimator.unobserve_call(noshow=False))
        w.current = None
        w.last_finished = t.id
        self.touch(t)
        self.touch_window(w)
        self.happened(d.VisitFinished(t, w.id))
        self.events.append(Emit("window.evaluate", w.id, m.EvaluatePrompt(
            ticket=t.id, number=t.number, window=w.id, staff=w.staff, matter=t.matter or t.bundle,
            timeout_s=self.cfg.notify.evaluation.timeout_s, at=now)))
        return t

    def call(self, t: Ticket, w: WindowRec, wc: Any, now: float, recall: bool) -> None:
        t.calls = t.calls + 1
        t.called_at = now
        ev = m.CalledEvent(event=f"{t.id}#{t.calls}", ticket=t.id, number=t.number, window=w.id,
                           window_number=wc.number, zone=wc.zone, matter=t.matter or t.bundle,
                           recall=t.recalls if recall else 0, lang=t.lang, at=now)
        entry = m.CallEntry(ticket=t.id, number=t.number, window=w.id, window_number=wc.number,
                            matter=t.matter or t.bundle, at=now, recall=ev.recall)
        self.edit(t)
        self.happened(d.TicketCalled(t, w.id, recall))
        # a window lent to another zone's queue (caller/balance.py) calls to both zones'
        # screens: the citizen waits where the ticket's matter is served
        for zone in dict.fromkeys((wc.zone, t.zone)):
            if zone not in self.recent:
                continue
            self.events.append(Emit("zone.called", zone, ev))
            recent = self.recent[zone]
            before = list(recent)
            self._undo.append(lambda recent=recent, before=before: (recent.clear(), recent.extend(before)))
            for i, old in enumerate(recent):
                if old.ticket == t.id:
                    del recent[i]
                    break
            recent.appendleft(entry)
            self.ch.zone_views.add(zone)


    def reconfigure(self, new: HallConfig) -> str | None:
        """Swap in a new config; returns why not (and changes nothing) if it would
        strand a ticket or a staffed window."""
        problem = self.reconfigure_problem(new)
        if problem:
            return problem
        self._apply_config(new)
        return None

    def reconfigure_problem(self, new: HallConfig) -> str | None:
        """Why ``new`` cannot be swapped in now, or None; changes nothing."""
        if new.hall.id != self.cfg.hall.id:
            return f"hall id cannot change at runtime ({self.cfg.hall.id} → {new.hall.id})"
        new_windows = {w.id for w in new.windows}
        for w in self.windows.values():
            if w.id not in new_windows and w.status != "closed":
                return f"window {w.id} is staffed; log it out before removing it"
        probe = Routing(new)
        for t in self.tickets.values():
            if t.state == "waiting" and not probe.servers.get(self.line_of(t)):
                return f"ticket {t.number} waits for {self.line_of(t)}, which no window would serve"
            if t.service and new.matter(t.service) is None and new.bundle(t.service) is None \
                    and t.state in ("waiting", *ACTIVE):
                return f"ticket {t.number} is for {t.service}, which the new config drops"
        return None

    def _apply_config(self, new: HallConfig) -> None:
        self.cfg = new
        self._lookups(new)
        self.tz = new.hall.timezone
        self._day_span = (0.0, 0.0)  # the zone may have changed
        self.balancer.clear()  # loans refer to the old skills
        self.inflow.clear()
        self.routing.configure(new)
        self.numbering.set_digits({g.prefix: g.digits for g in new.groups})
        self.estimator.set_expected(self._expected(new), new.queue.estimate_alpha)
        self.windows = {w.id: self.windows.get(w.id) or WindowRec(id=w.id) for w in new.windows}
        self.recent = {z.id: deque(self.recent.get(z.id, ()), maxlen=new.queue.board_recent)
                       for z in new.zones}
        self.ch.window_views.update(self.windows)
        self.ch.zone_views.update(self.recent)
        self.happened(d.HallReconfigured())

    def window_state(self, wid: str, now: float) -> m.WindowState:
        return views.window_state(self, wid, now)

    def zone_board(self, zone: str, now: float) -> m.ZoneBoard:
        return views.zone_board(self, zone, now)

    def zone_waiting(self, zone: str, now: float) -> m.ZoneWaiting:
        return views.zone_waiting(self, zone, now)

    def summary(self, now: float) -> m.HallSummary:
        return views.summary(self, now)

    def zones_of_lines(self, lines: set[str]) -> set[str]:
        zones: set[str] = set()
        for line in lines:
            zones |= self.routing.zones_of(line)
        return zones

    def windows_of_lines(self, lines: set[str]) -> set[str]:
        out: set[str] = set()
        for line in lines:
            out.update(self.routing.servers.get(line, []))
        return out

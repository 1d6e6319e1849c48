"""The queue engine's pure core: a state machine of tickets and windows.

``Engine.handle(op, ident, request, now)`` takes a validated request (a
:mod:`hall.messages` struct) and the time, changes memory, and returns an
:class:`Outcome` (reply data or a refusal, plus events to publish).  It never
touches MQTT, SQLite or a clock: the shell (caller/service.py) persists what
``drain()`` reports before it sends any reply or event.

A refusal (:class:`Refused`) is raised before anything is changed, so a
refused request leaves the state exactly as it was.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Callable

from hall import messages as m
from hall.clock import local_day, local_dt
from hall.config import HallConfig

from .estimate import Estimator
from .model import ACTIVE, Rating, Ticket, WindowRec
from .numbering import Numbering
from .routing import Routing, window_line

log = logging.getLogger("caller.engine")


class Refused(Exception):
    """A request the engine will not carry out: ``code`` and a human message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Emit:
    """An event to publish after commit: registry name, id, payload."""

    spec: str
    ident: str
    payload: Any


@dataclass
class Outcome:
    data: Any = None
    error: tuple[str, str] | None = None
    events: list[Emit] = field(default_factory=list)


@dataclass
class Changes:
    """What a batch changed: the shell stores these, then publishes views."""

    tickets: list[Ticket] = field(default_factory=list)
    windows: list[WindowRec] = field(default_factory=list)
    counters: list[tuple[str, str, int]] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    estimates: dict[str, float] = field(default_factory=dict)
    appointments: list[tuple[m.Appointment, str | None]] = field(default_factory=list)
    window_views: set[str] = field(default_factory=set)  # status/ticket changed: publish now
    waiting_lines: set[str] = field(default_factory=set)  # counts changed: publish soon
    zone_views: set[str] = field(default_factory=set)  # calls changed: publish now
    alerts: list[m.UnattendedAlert] = field(default_factory=list)


class Engine:
    def __init__(self, cfg: HallConfig):
        self.cfg = cfg
        self.tz = cfg.hall.timezone
        self.day = ""
        self.tickets: dict[str, Ticket] = {}
        self.by_number: dict[str, str] = {}
        self.windows: dict[str, WindowRec] = {w.id: WindowRec(id=w.id) for w in cfg.windows}
        self.routing = Routing(cfg)
        self.numbering = Numbering({g.prefix: g.digits for g in cfg.groups})
        self.estimator = Estimator(self._expected(cfg), cfg.queue.estimate_alpha)
        self.recent: dict[str, deque[m.CallEntry]] = {
            z.id: deque(maxlen=cfg.queue.board_recent) for z in cfg.zones}
        self.waiting_zone_group: Counter[tuple[str, str]] = Counter()
        self.appointments: dict[str, tuple[m.Appointment, str | None]] = {}
        self.progress: dict[str, m.CaseProgress] = {}
        self.unattended: dict[str, float] = {}  # window -> since
        self.stats = Counter()  # issued, served, noshow, wait_s, wait_n, handle_s, handle_n
        self._qseq = 0
        self._ch = Changes()
        self._dirty_t: dict[str, Ticket] = {}
        self._dirty_w: set[str] = set()
        self._handlers: dict[str, Callable[[str, Any, float], Any]] = {
            "kiosk.issue": self._issue, "kiosk.checkin": self._checkin,
            "kiosk.ticket": self._ticket, "kiosk.requeue": self._requeue,
            "kiosk.cancel": self._cancel, "kiosk.printed": self._printed,
            "kiosk.rate": self._kiosk_rate, "kiosk.progress": self._progress,
            "window.login": self._login, "window.logout": self._logout,
            "window.next": self._next, "window.recall": self._recall,
            "window.noshow": self._noshow, "window.start": self._start,
            "window.transfer": self._transfer, "window.pause": self._pause,
            "window.resume": self._resume, "window.finish": self._finish,
            "window.rate": self._window_rate,
            "config.appointments": self._load_appointments,
        }
        self._events: list[Emit] = []

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
        self.roll_day(now)
        self._events = []
        try:
            data = self._handlers[op](ident, req, now)
        except Refused as r:
            return Outcome(error=(r.code, r.message))
        return Outcome(data=data, events=self._events)

    def drain(self) -> Changes:
        ch = self._ch
        ch.tickets.extend(self._dirty_t.values())
        ch.windows.extend(self.windows[w] for w in self._dirty_w)
        self._dirty_t = {}
        self._dirty_w = set()
        self._ch = Changes()
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
            if t.state == "waiting":
                self._enqueue(t)
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
        if t.first_called_at is not None:
            self.stats["wait_s"] += t.first_called_at - t.issued_at
            self.stats["wait_n"] += 1
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
        day = local_day(now, self.tz)
        if day == self.day:
            return
        old = self.day
        self.day = day
        if not old:
            return
        for t in self.tickets.values():
            if t.state in ("waiting", *ACTIVE, "noshow"):
                t.state = "cancelled"
                self._dirty_t[t.id] = t
        self._ch.tickets.extend(self._dirty_t.values())
        self._dirty_t = {}
        self.tickets.clear()
        self.by_number.clear()
        self.routing.clear()
        self.waiting_zone_group.clear()
        for q in self.recent.values():
            q.clear()
        self.stats.clear()
        self._qseq = 0
        self.numbering.forget_before(day)
        for w in self.windows.values():
            if w.current or w.last_finished:
                w.current = None
                w.last_finished = None
                self._touch_window(w)
        self._ch.zone_views.update(self.recent)
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
                self._ch.alerts.append(m.UnattendedAlert(window=wc.id, active=True, since=now, at=now))
            elif not should and wc.id in self.unattended:
                del self.unattended[wc.id]
                self._ch.alerts.append(m.UnattendedAlert(window=wc.id, active=False, since=None, at=now))

    # ========================================================== helpers ==
    def _touch(self, t: Ticket) -> None:
        self._dirty_t[t.id] = t

    def _touch_window(self, w: WindowRec) -> None:
        self._dirty_w.add(w.id)
        self._ch.window_views.add(w.id)

    def _line(self, t: Ticket) -> str:
        return window_line(t.target_window) if t.target_window else t.service

    def _enqueue(self, t: Ticket) -> None:
        line = self._line(t)
        self.routing.add(line, t.priority, t.enqueued_at, t.qseq, t.id)
        self.waiting_zone_group[(t.zone, t.group)] += 1
        self._ch.waiting_lines.add(line)

    def _dequeue(self, t: Ticket) -> None:
        line = self._line(t)
        if self.routing.remove(line, t.priority, t.enqueued_at, t.qseq, t.id):
            self.waiting_zone_group[(t.zone, t.group)] -= 1
            self._ch.waiting_lines.add(line)

    def find_ticket(self, ref: str) -> Ticket:
        t = self.tickets.get(ref) or self.tickets.get(self.by_number.get(ref, ""))
        if t is None:
            raise Refused("unknown_ticket", f"no ticket {ref!r} today")
        return t

    def _window(self, wid: str) -> tuple[WindowRec, Any]:
        wc = self.cfg.window(wid)
        if wc is None:
            raise Refused("unknown_window", f"no window {wid!r} in this hall")
        return self.windows[wid], wc

    def _staffed(self, wid: str) -> tuple[WindowRec, Any]:
        w, wc = self._window(wid)
        if w.status == "closed":
            raise Refused("not_logged_in", f"nobody is logged in at window {wc.number}")
        return w, wc

    def _current(self, w: WindowRec) -> Ticket:
        t = self.tickets.get(w.current or "")
        if t is None or t.state not in ACTIVE:
            raise Refused("no_current_ticket", "the window has no ticket called")
        return t

    def info(self, t: Ticket, now: float) -> m.TicketInfo:
        ahead, est = 0, 0
        line = self._line(t)
        if t.state == "waiting":
            ahead = self.routing.ahead(line, t.priority, t.enqueued_at)
            servers = self.routing.servers.get(line, ())
            open_n = sum(1 for wid in servers if self.windows[wid].status == "open")
            est = self.estimator.estimate_min(t.service, ahead, open_n or len(servers))
        wc = self.cfg.window(t.window) if t.window else None
        return m.TicketInfo(
            ticket=t.id, number=t.number, day=t.day, state=t.state, matter=t.matter,
            bundle=t.bundle, zone=t.zone, windows=self.routing.window_numbers.get(line, []),
            ahead=ahead, estimate_min=est, priority=t.priority, issued_at=t.issued_at,
            window=t.window, window_number=wc.number if wc else None,
            requeue_until=t.requeue_until)

    def _new_ticket(self, ident: str, service: str, klass: str, lang: str, now: float,
                    phone: str | None = None, form: dict | None = None,
                    appointment: str | None = None) -> Ticket:
        matter = self.cfg.matter(service)
        bundle = self.cfg.bundle(service)
        prefix = (matter or bundle).group  # type: ignore[union-attr]
        zone = (matter or bundle).zone  # type: ignore[union-attr]
        seq, number = self.numbering.next(self.day, prefix)
        self._ch.counters.append((self.day, prefix, seq))
        self._qseq += 1
        t = Ticket(id=f"{self.day.replace('-', '')}-{number}", day=self.day, number=number,
                   group=prefix, seq=seq, service=service, matter=matter.id if matter else None,
                   bundle=bundle.id if bundle else None, zone=zone, priority=klass, lang=lang,
                   state="waiting", issued_at=now, enqueued_at=now, kiosk=ident, phone=phone,
                   form=form, appointment=appointment, qseq=self._qseq)
        self.tickets[t.id] = t
        self.by_number[number] = t.id
        self.stats["issued"] += 1
        self._enqueue(t)
        self._touch(t)
        return t

    # ====================================================== kiosk ops ==
    def _issue(self, ident: str, req: m.IssueRequest, now: float) -> m.TicketInfo:
        if (req.matter is None) == (req.bundle is None):
            raise Refused("bad_request", "give exactly one of `matter` or `bundle`")
        if req.matter is not None and self.cfg.matter(req.matter) is None:
            raise Refused("unknown_matter", f"no matter {req.matter!r} in this hall")
        if req.bundle is not None and self.cfg.bundle(req.bundle) is None:
            raise Refused("unknown_bundle", f"no bundle {req.bundle!r} in this hall")
        klass = next((c for c in self.cfg.priority.classes if c.id == req.priority), None)
        if klass is None:
            raise Refused("unknown_priority", f"no priority class {req.priority!r}")
        if klass.id == self.cfg.priority.appointment_class and klass.id != "normal":
            raise Refused("bad_priority", "appointments take a number through check-in")
        if klass.requires_code and req.priority_code not in klass.codes:
            raise Refused("bad_priority_code", f"the code for {klass.id} is not valid")
        if self.cfg.queue.issue_only_in_service_hours:
            if not self.cfg.service_hours.is_open(local_dt(now, self.tz)):
                raise Refused("hall_closed", "numbers are issued in service hours only")
        t = self._new_ticket(ident, req.matter or req.bundle or "", klass.id, req.lang, now,
                             phone=req.phone, form=req.form)
        return self.info(t, now)

    def _checkin(self, ident: str, req: m.CheckinRequest, now: float) -> m.TicketInfo:
        entry = self.appointments.get(req.code)
        if entry is None:
            raise Refused("unknown_appointment", "no appointment with this code")
        appt, used = entry
        if used:
            t = self.tickets.get(used)
            if t is not None:
                return self.info(t, now)  # scanned twice: the same ticket again
            raise Refused("appointment_used", "this appointment was used on another day")
        pol = self.cfg.priority
        if now < appt.start - pol.appointment_early_minutes * 60:
            raise Refused("too_early", "check-in opens "
                          f"{pol.appointment_early_minutes} minutes before the booked time")
        if local_day(appt.start, self.tz) != self.day:
            raise Refused("wrong_day", "this appointment is for another day")
        if self.cfg.matter(appt.matter) is None and self.cfg.bundle(appt.matter) is None:
            raise Refused("unknown_matter", f"the booked matter {appt.matter!r} is not offered")
        late = now > appt.start + pol.appointment_late_minutes * 60
        klass = "normal" if late else pol.appointment_class
        t = self._new_ticket(ident, appt.matter, klass, req.lang, now,
                             phone=req.phone or appt.phone, appointment=appt.code)
        self.appointments[appt.code] = (appt, t.id)
        self._ch.appointments.append((appt, t.id))
        return self.info(t, now)

    def _ticket(self, ident: str, req: m.TicketRef, now: float) -> m.TicketInfo:
        return self.info(self.find_ticket(req.ticket), now)

    def _requeue(self, ident: str, req: m.TicketRef, now: float) -> m.TicketInfo:
        t = self.find_ticket(req.ticket)
        if t.state == "waiting":
            return self.info(t, now)
        if t.state != "noshow":
            raise Refused("bad_state", f"ticket {t.number} is {t.state}, not a no-show")
        if t.requeue_until is None or now > t.requeue_until:
            raise Refused("requeue_expired", f"ticket {t.number} could re-queue only until "
                          "its deadline; please take a new number")
        # Back of the line with its own number: fair to those who waited meanwhile.
        t.state = "waiting"
        t.enqueued_at = now
        t.window = None
        t.requeue_until = None
        self._qseq += 1
        t.qseq = self._qseq
        self.stats["noshow"] -= 1
        self._enqueue(t)
        self._touch(t)
        return self.info(t, now)

    def _cancel(self, ident: str, req: m.TicketRef, now: float) -> m.TicketInfo:
        t = self.find_ticket(req.ticket)
        if t.state != "waiting":
            raise Refused("bad_state", f"ticket {t.number} is {t.state}; only a waiting ticket can be cancelled")
        self._dequeue(t)
        t.state = "cancelled"
        self._touch(t)
        return self.info(t, now)

    def _printed(self, ident: str, req: m.PrintedRequest, now: float) -> dict:
        t = self.find_ticket(req.ticket)
        t.printed = req.ok
        if not req.ok:
            log.warning("kiosk %s could not print %s: %s", ident, t.number, req.error)
        self._touch(t)
        return {"ticket": t.id, "printed": req.ok}

    def _progress(self, ident: str, req: m.ProgressRequest, now: float) -> m.CaseProgress:
        case = self.progress.get(req.case)
        if case is None:
            raise Refused("unknown_case", f"no case {req.case!r} on the progress board")
        return case

    # ---------------------------------------------------------- ratings --
    def _rate(self, t: Ticket, level: int | None, source: str, now: float,
              reasons: list[str] | None = None, comment: str | None = None) -> Rating:
        if t.state != "done":
            raise Refused("bad_state", f"ticket {t.number} is {t.state}; only a finished visit is rated")
        if t.rated:
            raise Refused("already_rated", f"ticket {t.number} has been rated")
        r = Rating(ticket=t.id, day=t.day, level=level, source=source,  # type: ignore[arg-type]
                   window=t.window, staff=t.staff, matter=t.matter or t.bundle, at=now,
                   reasons=list(reasons or []), comment=comment)
        if level is not None:
            t.rated = True  # a timeout leaves the citizen free to rate later at a kiosk
            self._touch(t)
        self._ch.ratings.append(r)
        return r

    def _kiosk_rate(self, ident: str, req: m.KioskRateRequest, now: float) -> dict:
        r = self._rate(self.find_ticket(req.ticket), req.level, "kiosk", now, req.reasons, req.comment)
        return {"ticket": r.ticket, "level": r.level}

    def _window_rate(self, wid: str, req: m.WindowRateRequest, now: float) -> dict:
        w, _ = self._window(wid)
        ref = req.ticket or w.last_finished
        if ref is None:
            raise Refused("no_ticket", "no finished visit at this window to rate")
        t = self.find_ticket(ref)
        if t.window != wid:
            raise Refused("wrong_window", f"ticket {t.number} was not served at this window")
        if req.level is None:
            if not req.timeout:
                raise Refused("bad_request", "give a `level`, or `timeout: true` when nobody rated")
            r = self._rate(t, None, "timeout", now)
        else:
            r = self._rate(t, req.level, "evaluator", now)
        return {"ticket": r.ticket, "level": r.level}

    # ===================================================== window ops ==
    def _login(self, wid: str, req: m.LoginRequest, now: float) -> m.WindowState:
        w, wc = self._window(wid)
        if w.status != "closed":
            if w.staff == req.staff:
                return self.window_state(wid, now)
            raise Refused("occupied", f"window {wc.number} is staffed by {w.staff}; log out first")
        for other in self.windows.values():
            if other.staff == req.staff and other.id != wid:
                raise Refused("staff_elsewhere", f"staff {req.staff} is logged in at window "
                              f"{self.cfg.window(other.id).number}")
        w.status, w.staff, w.since = "open", req.staff, now
        self._touch_window(w)
        return self.window_state(wid, now)

    def _logout(self, wid: str, req: m.Plain, now: float) -> m.WindowState:
        w, _ = self._window(wid)
        if w.status == "closed":
            return self.window_state(wid, now)
        if w.current and self.tickets.get(w.current) and self.tickets[w.current].state in ACTIVE:
            raise Refused("busy", "finish, transfer or mark the current ticket as no-show first")
        w.status, w.staff, w.current, w.since = "closed", None, None, now
        self._touch_window(w)
        return self.window_state(wid, now)

    def _end_current(self, w: WindowRec, wc: Any, now: float) -> Ticket | None:
        """Finish the window's current ticket if it has one (next implies finish)."""
        t = self.tickets.get(w.current or "")
        if t is None or t.state not in ACTIVE:
            return None
        t.state = "done"
        t.finished_at = now
        start = t.handle_start
        if start is not None:
            self.stats["handle_s"] += now - start
            self.stats["handle_n"] += 1
            self._ch.estimates[t.service] = self.estimator.observe(t.service, now - start)
        self.stats["served"] += 1
        w.current = None
        w.last_finished = t.id
        self._touch(t)
        self._touch_window(w)
        self._events.append(Emit("window.evaluate", w.id, m.EvaluatePrompt(
            ticket=t.id, number=t.number, window=w.id, staff=w.staff, matter=t.matter or t.bundle,
            timeout_s=self.cfg.notify.evaluation.timeout_s, at=now)))
        return t

    def _call(self, t: Ticket, w: WindowRec, wc: Any, now: float, recall: bool) -> None:
        t.calls = t.calls + 1
        t.called_at = now
        ev = m.CalledEvent(event=f"{t.id}#{t.calls}", ticket=t.id, number=t.number, window=w.id,
                           window_number=wc.number, zone=wc.zone, matter=t.matter or t.bundle,
                           recall=t.recalls if recall else 0, lang=t.lang, at=now)
        self._events.append(Emit("zone.called", wc.zone, ev))
        entry = m.CallEntry(ticket=t.id, number=t.number, window=w.id, window_number=wc.number,
                            matter=t.matter or t.bundle, at=now, recall=ev.recall)
        recent = self.recent[wc.zone]
        for i, old in enumerate(recent):
            if old.ticket == t.id:
                del recent[i]
                break
        recent.appendleft(entry)
        self._ch.zone_views.add(wc.zone)

    def _next(self, wid: str, req: m.Plain, now: float) -> m.WindowState:
        w, wc = self._staffed(wid)
        if w.status == "paused":
            raise Refused("paused", f"window {wc.number} is paused; resume first")
        pick = self.routing.pick(wid, now)
        if pick is None:
            # still finish the current one: staff pressed next to close the visit
            if self._end_current(w, wc, now) is None:
                raise Refused("queue_empty", "nobody is waiting for this window")
            return self.window_state(wid, now)
        self._end_current(w, wc, now)
        line, klass, (place, qseq, tid) = pick
        t = self.tickets[tid]
        self._dequeue(t)
        t.state = "called"
        t.window, t.staff, t.recalls = wid, w.staff, 0
        if t.first_called_at is None:
            t.first_called_at = now
            self.stats["wait_s"] += now - t.issued_at
            self.stats["wait_n"] += 1
        w.current = t.id
        self._call(t, w, wc, now, recall=False)
        self._touch(t)
        self._touch_window(w)
        return self.window_state(wid, now)

    def _recall(self, wid: str, req: m.Plain, now: float) -> m.WindowState:
        w, wc = self._staffed(wid)
        t = self._current(w)
        if t.state != "called":
            raise Refused("bad_state", f"ticket {t.number} is already being served")
        if t.recalls >= self.cfg.queue.recall_limit:
            raise Refused("recall_limit", f"ticket {t.number} was recalled {t.recalls} times; "
                          "mark it as no-show")
        t.recalls += 1
        self._call(t, w, wc, now, recall=True)
        self._touch(t)
        self._touch_window(w)
        return self.window_state(wid, now)

    def _noshow(self, wid: str, req: m.Plain, now: float) -> m.WindowState:
        w, wc = self._staffed(wid)
        t = self._current(w)
        if t.state != "called":
            raise Refused("bad_state", f"ticket {t.number} is being served; finish it instead")
        t.state = "noshow"
        t.noshow_at = now
        t.requeue_until = now + self.cfg.queue.noshow_requeue_minutes * 60
        self.stats["noshow"] += 1
        w.current = None
        self._touch(t)
        self._touch_window(w)
        self._ch.zone_views.add(wc.zone)
        return self.window_state(wid, now)

    def _start(self, wid: str, req: m.Plain, now: float) -> m.WindowState:
        w, wc = self._staffed(wid)
        t = self._current(w)
        if t.state == "called":
            t.state = "serving"
            t.served_at = now
            self._touch(t)
            self._touch_window(w)
        return self.window_state(wid, now)

    def _transfer(self, wid: str, req: m.TransferRequest, now: float) -> m.WindowState:
        w, wc = self._staffed(wid)
        if (req.matter is None) == (req.window is None):
            raise Refused("bad_request", "give exactly one of `matter` or `window`")
        t = self._current(w)
        if req.matter is not None:
            target = self.cfg.matter(req.matter) or self.cfg.bundle(req.matter)
            if target is None:
                raise Refused("unknown_matter", f"no matter {req.matter!r} in this hall")
            t.service, t.target_window = target.id, None
            t.matter = req.matter if self.cfg.matter(req.matter) else None
            t.bundle = req.matter if self.cfg.bundle(req.matter) else None
            t.zone = target.zone
        else:
            tw = self.cfg.window(req.window or "")
            if tw is None:
                raise Refused("unknown_window", f"no window {req.window!r} in this hall")
            if tw.id == wid:
                raise Refused("bad_request", "cannot transfer a ticket to its own window")
            t.target_window, t.zone = tw.id, tw.zone
        # Keeps its number and its original place in line (enqueued_at).
        t.state = "waiting"
        t.window = None
        t.recalls = 0
        t.transfers += 1
        w.current = None
        self._enqueue(t)
        self._touch(t)
        self._touch_window(w)
        self._ch.zone_views.add(wc.zone)
        return self.window_state(wid, now)

    def _pause(self, wid: str, req: m.Plain, now: float) -> m.WindowState:
        w, wc = self._staffed(wid)
        if w.status == "paused":
            return self.window_state(wid, now)
        if w.current and self.tickets.get(w.current) and self.tickets[w.current].state in ACTIVE:
            raise Refused("busy", "finish, transfer or mark the current ticket as no-show first")
        w.status, w.since = "paused", now
        self._touch_window(w)
        return self.window_state(wid, now)

    def _resume(self, wid: str, req: m.Plain, now: float) -> m.WindowState:
        w, wc = self._staffed(wid)
        if w.status == "paused":
            w.status, w.since = "open", now
            self._touch_window(w)
        return self.window_state(wid, now)

    def _finish(self, wid: str, req: m.Plain, now: float) -> m.WindowState:
        w, wc = self._staffed(wid)
        self._current(w)
        self._end_current(w, wc, now)
        self._ch.zone_views.add(wc.zone)
        return self.window_state(wid, now)

    # ====================================================== admin ops ==
    def _load_appointments(self, ident: str, req: m.AppointmentsRequest, now: float) -> dict:
        for a in req.appointments:
            if self.cfg.matter(a.matter) is None and self.cfg.bundle(a.matter) is None:
                raise Refused("unknown_matter", f"appointment {a.code}: no matter {a.matter!r}")
            if a.end <= a.start:
                raise Refused("bad_request", f"appointment {a.code}: end is not after start")
        n = 0
        for a in req.appointments:
            used = self.appointments.get(a.code, (None, None))[1]
            self.appointments[a.code] = (a, used)
            self._ch.appointments.append((a, used))
            n += 1
        return {"loaded": n}

    def reconfigure(self, new: HallConfig) -> str | None:
        """Swap in a new config; returns why not (and changes nothing) if it would
        strand a ticket or a staffed window."""
        if new.hall.id != self.cfg.hall.id:
            return f"hall id cannot change at runtime ({self.cfg.hall.id} → {new.hall.id})"
        new_windows = {w.id for w in new.windows}
        for w in self.windows.values():
            if w.id not in new_windows and w.status != "closed":
                return f"window {w.id} is staffed; log it out before removing it"
        probe = Routing(new)
        for t in self.tickets.values():
            if t.state == "waiting" and not probe.servers.get(self._line(t)):
                return f"ticket {t.number} waits for {self._line(t)}, which no window would serve"
            if t.service and new.matter(t.service) is None and new.bundle(t.service) is None \
                    and t.state in ("waiting", *ACTIVE):
                return f"ticket {t.number} is for {t.service}, which the new config drops"
        self.cfg = new
        self.tz = new.hall.timezone
        self.routing.configure(new)
        self.numbering.set_digits({g.prefix: g.digits for g in new.groups})
        self.estimator.set_expected(self._expected(new), new.queue.estimate_alpha)
        self.windows = {w.id: self.windows.get(w.id) or WindowRec(id=w.id) for w in new.windows}
        self.recent = {z.id: deque(self.recent.get(z.id, ()), maxlen=new.queue.board_recent)
                       for z in new.zones}
        self._ch.window_views.update(self.windows)
        self._ch.zone_views.update(self.recent)
        return None

    def set_progress(self, board: m.ProgressBoard) -> None:
        self.progress = {c.case: c for c in board.cases}

    # ========================================================== views ==
    def window_state(self, wid: str, now: float) -> m.WindowState:
        w = self.windows[wid]
        wc = self.cfg.window(wid)
        brief = None
        t = self.tickets.get(w.current or "")
        if t is not None and t.state in ACTIVE:
            brief = m.TicketBrief(ticket=t.id, number=t.number, matter=t.matter, bundle=t.bundle,
                                  state=t.state, called_at=t.called_at, recalls=t.recalls,
                                  priority=t.priority, form=t.form)
        return m.WindowState(window=wid, number=wc.number, zone=wc.zone, status=w.status,
                             staff=w.staff, ticket=brief,
                             waiting=self.routing.waiting_for_window(wid), at=now)

    def zone_board(self, zone: str, now: float) -> m.ZoneBoard:
        current = []
        for wc in self.cfg.windows:
            if wc.zone != zone:
                continue
            t = self.tickets.get(self.windows[wc.id].current or "")
            if t is not None and t.state in ACTIVE:
                current.append(m.CallEntry(ticket=t.id, number=t.number, window=wc.id,
                                           window_number=wc.number, matter=t.matter or t.bundle,
                                           at=t.called_at or now, recall=t.recalls))
        waiting = {g: n for (z, g), n in self.waiting_zone_group.items() if z == zone and n > 0}
        return m.ZoneBoard(zone=zone, current=current, recent=list(self.recent[zone]),
                           waiting=dict(sorted(waiting.items())), waiting_total=sum(waiting.values()),
                           at=now)

    def summary(self, now: float) -> m.HallSummary:
        s = self.stats
        return m.HallSummary(
            day=self.day, issued=s["issued"], served=s["served"],
            waiting=sum(self.routing.waiting_by_line.values()), noshow=s["noshow"],
            avg_wait_s=round(s["wait_s"] / s["wait_n"], 1) if s["wait_n"] else 0.0,
            avg_handle_s=round(s["handle_s"] / s["handle_n"], 1) if s["handle_n"] else 0.0,
            open_windows=sum(1 for w in self.windows.values() if w.status == "open"), at=now)

    def zones_of_lines(self, lines: set[str]) -> set[str]:
        zones = set()
        for line in lines:
            for wid in self.routing.servers.get(line, []):
                zones.add(self.cfg.window(wid).zone)
        return zones

    def windows_of_lines(self, lines: set[str]) -> set[str]:
        out: set[str] = set()
        for line in lines:
            out.update(self.routing.servers.get(line, []))
        return out

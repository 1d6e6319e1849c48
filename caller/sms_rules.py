"""When a ticket gets an SMS, and what it says: pure rules, no I/O, ``now`` given.

Reasons (one message at most per reason and ticket, ever — the outbox row's
key is ``<ticket>.<reason>``, so a crash, a replay or a recall cannot send a
second one):

* ``issued``  — on issue, if ``on_issue``;
* ``near``    — once, when ``ahead ≤ near_ahead`` or the estimate is
  ``≤ near_minutes``; a ticket already near when issued is not reminded
  unless ``near_at_issue`` (its printed ticket says so already);
* ``called``  — on the first call (recalls are the same reason);
* ``requeue`` — on no-show, with the re-queue deadline;
* ``notice``  — the one-time notice (一次性告知) of a 补正 visit that the clerk
  chose to send by SMS: the missing materials. The clerk asked for it, so it
  is sent even just after closing time.

Cases (caller/case_desk.py) add ``case_ready``, ``case_correction`` and
``case_extended``, keyed ``<case>.<reason>.<step>``: once per step of the
timeline, made by the desk with the outbox's :meth:`SmsOutbox.enqueue`.
Nobody waits in the hall for those, so one whose step arrives outside
``case_hours`` is not skipped but held (``due_at``: :func:`next_allowed`).

No message outside service hours: an event reason that happens then is
recorded as skipped; ``near`` is simply not judged then and gets its chance
when the hall opens again (a ticket waiting over the lunch break).  A phone
number gets at most ``per_phone_max`` messages in ``per_phone_minutes``
(a helper taking numbers for many people must not flood one phone).

Cost at 3,000 issues/s: only tickets with a phone are watched, kept per
(line, class) in place order, and only the lines a batch touched are judged.
Within one (line, class) list ``ahead`` grows with the place in line, so the
scan stops at the first ticket that is not near: O(messages + classes) per
touched line, not O(waiting tickets).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, insort
from collections import deque
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from hall.clock import local_dt
from hall.config.notify import SmsConfig
from hall.config.queue import Period

from . import domain as d
from . import forecast
from .domain import DomainEvent
from .model import Ticket
from .settle import notice_lines
from .routing import window_line

Reason = Literal["issued", "near", "called", "requeue", "notice", "supervision", "case_ready",
                 "case_correction", "case_extended"]
RecState = Literal["pending", "queued", "sent", "failed", "expired", "unknown", "skipped"]
FINAL = ("sent", "failed", "expired", "unknown", "skipped")


class SmsRecord(msgspec.Struct, kw_only=True):
    """One outbox row: a message to send, or a decision not to send one."""

    id: str  # "<ticket>.<reason>"
    day: str
    ticket: str
    reason: Reason
    phone: str  # full number: the sender needs it; never logged or published elsewhere
    text: str
    lang: str
    state: RecState
    created_at: float
    expires_at: float
    detail: str | None = None  # why skipped, the sender's error
    attempts: int = 0
    last_sent_at: float = 0.0
    parts: int = 0
    refs: list[str] = []
    updated_at: float = 0.0
    due_at: float = 0.0  # not sent before (a case's message held until the sending hours)


def next_allowed(now: float, tz: str, hours: Period) -> float:
    """``now`` if it is inside the daily sending ``hours`` (hall local), else the
    next time they start: later today before them, tomorrow after them."""
    local = local_dt(now, tz)
    if hours.start <= local.time() < hours.end:
        return now
    day = local.date() if local.time() < hours.start else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, hours.start, ZoneInfo(tz)).timestamp()


class _Safe(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, values: dict[str, Any]) -> str:
    """``str.format_map`` that leaves an unknown ``{placeholder}`` as written."""
    try:
        return template.format_map(_Safe(values))
    except (ValueError, IndexError):  # a stray brace in a hand-written template
        return template


def line_of(t: Ticket) -> str:
    return window_line(t.target_window) if t.target_window else t.service


class SmsRules:
    """Decides the outbox rows of a batch.  Holds which reasons each ticket has
    used, the watch list for ``near`` and recent sends per phone."""

    def __init__(self) -> None:
        self.used: dict[str, set[str]] = {}  # ticket -> reasons with a row
        self._watch: dict[tuple[str, str], list[tuple[float, int, str]]] = {}
        self._watch_pos: dict[str, tuple[str, str, tuple[float, int, str]]] = {}
        self._sends: dict[str, deque[float]] = {}
        self._was_open: bool | None = None
        self._fresh: set[str] = set()  # issued in this batch
        self.day = ""

    # -------------------------------------------------------------- state --
    def restore(self, rows: list[SmsRecord], tickets: list[Ticket], day: str) -> None:
        self.day = day
        self._was_open = False  # judge every watched line once the hall is (still) open
        for r in rows:
            self.used.setdefault(r.ticket, set()).add(r.reason)
            if r.state != "skipped":
                self._sends.setdefault(r.phone, deque()).append(r.created_at)
        for t in tickets:
            if t.phone:
                self._rewatch(t)

    def _new_day(self, day: str) -> None:
        self.day = day
        self.used.clear()
        self._watch.clear()
        self._watch_pos.clear()

    def _rewatch(self, t: Ticket) -> None:
        want = None
        if t.state == "waiting" and t.phone and "near" not in self.used.get(t.id, ()):
            want = (line_of(t), t.priority, (t.enqueued_at, t.qseq, t.id))
        old = self._watch_pos.get(t.id)
        if old == want:
            return
        if old is not None:
            lst = self._watch.get(old[:2], [])
            i = bisect_left(lst, old[2])
            if i < len(lst) and lst[i] == old[2]:
                del lst[i]
            del self._watch_pos[t.id]
        if want is not None:
            insort(self._watch.setdefault(want[:2], []), want[2])
            self._watch_pos[t.id] = want

    def watching(self) -> int:
        return len(self._watch_pos)

    # -------------------------------------------------------------- rules --
    def batch(self, cfg: Any, engine: Any, events: list[DomainEvent], now: float) -> list[SmsRecord]:
        """Rows for one batch of domain events (none: only the hall reopening is judged)."""
        sc: SmsConfig = cfg.notify.sms
        if engine.day != self.day:
            self._new_day(engine.day)
        open_now = cfg.service_hours.is_open(local_dt(now, cfg.hall.timezone))
        out: list[SmsRecord] = []
        judge: set[str] = set()
        self._fresh: set[str] = set()
        for ev in events:
            if isinstance(ev, d.LinesMoved):
                judge |= ev.lines
                continue
            if isinstance(ev, d.WindowStatusChanged):  # a window opening or closing changes estimates
                judge.update(engine.routing.skills.get(ev.window, {}))
                continue
            if isinstance(ev, d.HallReconfigured):
                judge.update(line for line, _ in self._watch)
                continue
            if not isinstance(ev, d.TICKET_EVENTS):
                continue
            t = ev.ticket
            if not t.phone or t.day != self.day:  # yesterday's tickets closed at midnight
                continue
            if isinstance(ev, d.TicketIssued):
                if sc.on_issue:
                    self._make(out, cfg, engine, t, "issued", now, open_now)
                if not sc.near_at_issue:
                    self._fresh.add(t.id)  # near already now → skipped, not reminded (see _judge_line)
            elif isinstance(ev, d.TicketCalled):
                if sc.on_called:
                    self._make(out, cfg, engine, t, "called", now, open_now)
            elif isinstance(ev, d.TicketNoShow):
                if t.requeue_until and sc.on_noshow:
                    self._make(out, cfg, engine, t, "requeue", now, open_now)
            elif isinstance(ev, d.VisitSettled):
                o = ev.outcome
                if o.kind == "correction" and o.notify == "sms":
                    self._make(out, cfg, engine, t, "notice", now, True)
            self._rewatch(t)
            if t.state == "waiting":
                judge.add(line_of(t))
        if open_now:
            if self._was_open is False:
                judge.update(line for line, _ in self._watch)  # reopened (after lunch)
            for line in judge:
                self._judge_line(out, cfg, engine, line, now)
        self._was_open = open_now
        return out

    def near_numbers(self, sc: SmsConfig, ahead: int, est: int) -> bool:
        return ((sc.near_ahead is not None and ahead <= sc.near_ahead)
                or (sc.near_minutes is not None and est <= sc.near_minutes))

    def _position(self, engine: Any, t: Ticket, now: float,
                  limit: int | None = None) -> tuple[int, tuple[int, int, int] | None]:
        """(ahead, (minutes, low, high)) exactly as the ticket's own look-up tells them."""
        ahead = forecast.ahead(engine, t, now, limit)
        w = forecast.wait(engine, t, now)
        return ahead, (w.minutes() if w is not None else None)

    def _judge_line(self, out: list[SmsRecord], cfg: Any, engine: Any, line: str, now: float) -> None:
        sc = cfg.notify.sms
        if sc.near_ahead is None and sc.near_minutes is None:
            return
        for klass in list(engine.routing.boost):
            lst = self._watch.get((line, klass))
            while lst:
                tid = lst[0][2]
                t = engine.tickets.get(tid)
                if t is None or t.state != "waiting" or t.priority != klass or line_of(t) != line:
                    lst.pop(0)
                    self._watch_pos.pop(tid, None)
                    continue
                ahead, est = self._position(engine, t, now, sc.near_ahead)
                if not self.near_numbers(sc, ahead, est[0] if est else 10**6):
                    # everyone behind it in this list is further away (in a window's own
                    # line `@W…` services, and so minutes per ticket, may differ: there a
                    # minutes-based reminder can come one call late, never twice)
                    break
                if tid in self._fresh:
                    self._skip(out, t, "near", now, "near already when issued")
                else:
                    self._make(out, cfg, engine, t, "near", now, True, ahead=ahead, est=est)
                self._rewatch(t)

    # ------------------------------------------------------------ records --
    def _skip(self, out: list[SmsRecord], t: Ticket, reason: Reason, now: float, why: str) -> None:
        self.used.setdefault(t.id, set()).add(reason)
        out.append(SmsRecord(id=f"{t.id}.{reason}", day=t.day, ticket=t.id, reason=reason,
                             phone=t.phone or "", text="", lang=t.lang, state="skipped",
                             created_at=now, expires_at=now, detail=why, updated_at=now))
        self._rewatch(t)

    def _make(self, out: list[SmsRecord], cfg: Any, engine: Any, t: Ticket, reason: Reason, now: float,
              open_now: bool, ahead: int | None = None, est: tuple[int, int, int] | None = None) -> None:
        if reason in self.used.get(t.id, ()):
            return
        if not open_now:
            self._skip(out, t, reason, now, "outside service hours")
            return
        sc: SmsConfig = cfg.notify.sms
        sent = self._sends.setdefault(t.phone or "", deque())
        while sent and sent[0] <= now - sc.per_phone_minutes * 60:
            sent.popleft()
        if len(sent) >= sc.per_phone_max:
            self._skip(out, t, reason, now, f"rate limit: {sc.per_phone_max} per {sc.per_phone_minutes} min")
            return
        if ahead is None and reason in ("issued", "near"):
            ahead, est = self._position(engine, t, now)
        text = render(getattr(sc.templates, reason).get(t.lang), self._values(cfg, t, ahead, est))
        sent.append(now)
        self.used.setdefault(t.id, set()).add(reason)
        out.append(SmsRecord(id=f"{t.id}.{reason}", day=t.day, ticket=t.id, reason=reason,
                             phone=t.phone or "", text=text, lang=t.lang, state="pending",
                             created_at=now, expires_at=now + sc.expire_s, updated_at=now))

    @staticmethod
    def _values(cfg: Any, t: Ticket, ahead: int | None, est: tuple[int, int, int] | None) -> dict[str, Any]:
        lang = t.lang
        what = cfg.matter(t.service) or cfg.bundle(t.service)
        zone = cfg.zone(t.zone)
        win = cfg.window(t.window) if t.window else None
        deadline = ""
        if t.requeue_until:
            deadline = f"{local_dt(t.requeue_until, cfg.hall.timezone):%H:%M}"
        missing = ("; " if lang == "en" else "、").join(notice_lines(cfg, t, lang)) if t.outcome else ""
        return {"hall": cfg.hall.name.get(lang), "number": t.number, "missing": missing,
                "matter": what.name.get(lang) if what else t.service,
                "zone": zone.name.get(lang) if zone else t.zone, "window": win.number if win else "",
                "ahead": ahead if ahead is not None else "", "minutes": est[0] if est else "",
                "range": f"{est[1]}–{est[2]}" if est else "",
                "deadline": deadline}


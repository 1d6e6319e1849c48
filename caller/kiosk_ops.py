"""What kiosks ask of the engine: numbers, check-in, look-ups, re-queue, ratings;
and the bookings they check in against.

Each handler takes the engine core, the kiosk id, a validated request and the
time; it raises :class:`~caller.effects.Refused` before changing anything.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any, Callable

from hall import messages as m
from hall.clock import local_day, local_dt
from hall.forms import check_form, merged_form
from hall.errors import ErrorCode as E

from . import domain as d
from .effects import Refused

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger("caller.kiosk")


def issue(e: Engine, ident: str, req: m.IssueRequest, now: float) -> m.TicketInfo:
    if (req.matter is None) == (req.bundle is None):
        raise Refused(E.BAD_REQUEST, "give exactly one of `matter` or `bundle`")
    if req.matter is not None and req.matter not in e.matters:
        raise Refused(E.UNKNOWN_MATTER, f"no matter {req.matter!r} in this hall")
    if req.bundle is not None and req.bundle not in e.bundles:
        raise Refused(E.UNKNOWN_BUNDLE, f"no bundle {req.bundle!r} in this hall")
    klass = e.classes.get(req.priority)
    if klass is None:
        raise Refused(E.UNKNOWN_PRIORITY, f"no priority class {req.priority!r}")
    if klass.id == e.cfg.priority.appointment_class and klass.id != "normal":
        raise Refused(E.BAD_PRIORITY, "appointments take a number through check-in")
    if klass.requires_code and req.priority_code not in klass.codes:
        raise Refused(E.BAD_PRIORITY_CODE, f"the code for {klass.id} is not valid")
    if e.cfg.queue.issue_only_in_service_hours:
        if not e.cfg.service_hours.is_open(local_dt(now, e.tz)):
            raise Refused(E.HALL_CLOSED, "numbers are issued in service hours only")
    target = req.matter or req.bundle or ""
    values = _checked_form(e, target, req.form, now) if req.form else None
    e.check_daily_caps(ident, req.phone)
    t = e.new_ticket(ident, target, klass.id, req.lang, now, phone=req.phone)
    if values:  # never kept on the ticket record (stored and shown in clear): the forms extension seals it
        e.happened(d.FormFilled(ticket=t.id, day=t.day, target=target, values=values))
    if req.answers:
        t.answers = dict(req.answers)
    return e.promise(t, now, with_secret=True)


def _checked_form(e: Engine, target: str, values: dict[str, str] | None, now: float) -> dict[str, str]:
    """The form's non-empty values, or a refusal naming the first bad field
    (never its value: the reason goes to the log too)."""
    if not values:
        return {}
    problems = check_form(merged_form(e.cfg, target), values, date.fromisoformat(local_day(now, e.tz)))
    if problems:
        fid, why = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise Refused(E.BAD_FORM, f"field {fid}: {why}{more}")
    return {k: v.strip() for k, v in values.items() if v.strip()}


def checkin(e: Engine, ident: str, req: m.CheckinRequest, now: float) -> m.TicketInfo:
    entry = e.appointments.get(req.code)
    if entry is None:
        raise Refused(E.UNKNOWN_APPOINTMENT, "no appointment with this code")
    appt, used = entry
    if used:
        t = e.tickets.get(used)
        if t is not None:
            return e.info(t, now, with_secret=True)  # scanned twice: the same ticket again
        raise Refused(E.APPOINTMENT_USED, "this appointment was used on another day")
    pol = e.cfg.priority
    if now < appt.start - pol.appointment_early_minutes * 60:
        raise Refused(E.TOO_EARLY, "check-in opens "
                      f"{pol.appointment_early_minutes} minutes before the booked time")
    if local_day(appt.start, e.tz) != e.day:
        raise Refused(E.WRONG_DAY, "this appointment is for another day")
    if e.cfg.matter(appt.matter) is None and e.cfg.bundle(appt.matter) is None:
        raise Refused(E.UNKNOWN_MATTER, f"the booked matter {appt.matter!r} is not offered")
    late = now > appt.start + pol.appointment_late_minutes * 60
    klass = "normal" if late else pol.appointment_class
    e.check_daily_caps(ident, req.phone or appt.phone)
    t = e.new_ticket(ident, appt.matter, klass, req.lang, now,
                         phone=req.phone or appt.phone, appointment=appt.code)
    e.set_appointment(appt, t.id)
    return e.promise(t, now, with_secret=True)


def ticket(e: Engine, ident: str, req: m.TicketRef, now: float) -> m.TicketInfo:
    return e.info(e.find_ticket(req.ticket), now)


def requeue(e: Engine, ident: str, req: m.TicketAction, now: float) -> m.TicketInfo:
    t = e.owned_ticket(req.ticket, req.secret)
    if t.state == "waiting":
        return e.info(t, now, with_secret=True)  # it is reprinted
    if t.state != "noshow":
        raise Refused(E.BAD_STATE, f"ticket {t.number} is {t.state}, not a no-show")
    if t.requeue_until is None or now > t.requeue_until:
        raise Refused(E.REQUEUE_EXPIRED, f"ticket {t.number} could re-queue only until "
                      "its deadline; please take a new number")
    # Back of the line with its own number: fair to those who waited meanwhile.
    t.state = "waiting"
    t.enqueued_at = now
    t.window = None
    t.requeue_until = None
    t.qseq = e.next_qseq()
    e.stats["noshow"] -= 1
    e.enqueue(t)
    e.touch(t)
    e.happened(d.TicketRequeued(t))
    return e.info(t, now, with_secret=True)  # it is reprinted


def cancel(e: Engine, ident: str, req: m.TicketAction, now: float) -> m.TicketInfo:
    t = e.owned_ticket(req.ticket, req.secret)
    if t.state != "waiting":
        raise Refused(E.BAD_STATE, f"ticket {t.number} is {t.state}; only a waiting ticket can be cancelled")
    e.dequeue(t)
    t.state = "cancelled"
    e.touch(t)
    e.happened(d.TicketCancelled(t))
    return e.info(t, now)


def printed(e: Engine, ident: str, req: m.PrintedRequest, now: float) -> m.PrintedAck:
    t = e.find_ticket(req.ticket)
    t.printed = req.ok
    if not req.ok:
        log.warning("kiosk %s could not print %s: %s", ident, t.number, req.error)
    e.touch(t)
    return m.PrintedAck(ticket=t.id, printed=req.ok)


def kiosk_rate(e: Engine, ident: str, req: m.KioskRateRequest, now: float) -> m.RatingAck:
    r = e.rate(e.owned_ticket(req.ticket, req.secret), req.level, "kiosk", now, req.reasons, req.comment)
    return m.RatingAck(ticket=r.ticket, level=r.level)


def load_appointments(e: Engine, ident: str, req: m.AppointmentsRequest, now: float) -> m.AppointmentsLoaded:
    for a in req.appointments:
        if e.cfg.matter(a.matter) is None and e.cfg.bundle(a.matter) is None:
            raise Refused(E.UNKNOWN_MATTER, f"appointment {a.code}: no matter {a.matter!r}")
        if a.end <= a.start:
            raise Refused(E.BAD_REQUEST, f"appointment {a.code}: end is not after start")
    n = 0
    for a in req.appointments:
        used = e.appointments.get(a.code, (None, None))[1]
        e.set_appointment(a, used)
        n += 1
    return m.AppointmentsLoaded(loaded=n)


HANDLERS: dict[str, Callable[["Engine", str, Any, float], Any]] = {
    "kiosk.issue": issue, "kiosk.checkin": checkin, "kiosk.ticket": ticket,
    "kiosk.requeue": requeue, "kiosk.cancel": cancel, "kiosk.printed": printed,
    "kiosk.rate": kiosk_rate,
    "config.appointments": load_appointments,
}

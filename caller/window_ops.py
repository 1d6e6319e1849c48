"""What window staff (keypads, soft callers) and evaluators ask of the engine.

Each handler takes the engine core, the window id, a validated request and
the time; it raises :class:`~caller.effects.Refused` before changing anything.
The choice of the next ticket is caller/routing.py's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from hall import messages as m
from hall.pii import mask
from hall.errors import ErrorCode as E

from . import domain as d
from . import settle
from .effects import Refused
from .model import ACTIVE

if TYPE_CHECKING:
    from .engine import Engine


def login(e: Engine, wid: str, req: m.LoginRequest, now: float) -> m.WindowState:
    w, wc = e.window_of(wid)
    if w.status != "closed":
        if w.staff == req.staff:
            return e.window_state(wid, now)
        raise Refused(E.OCCUPIED, f"window {wc.number} is staffed by {w.staff}; log out first")
    for other in e.windows.values():
        if other.staff == req.staff and other.id != wid:
            raise Refused(E.STAFF_ELSEWHERE, f"staff {req.staff} is logged in at window "
                          f"{e.cfg.window(other.id).number}")
    w.status, w.staff, w.since = "open", req.staff, now
    e.observe_login(now)
    e.touch_window(w)
    e.happened(d.WindowStatusChanged(wid, w.status))
    return e.window_state(wid, now)


def logout(e: Engine, wid: str, req: m.Plain, now: float) -> m.WindowState:
    w, _ = e.window_of(wid)
    if w.status == "closed":
        return e.window_state(wid, now)
    if w.current and e.tickets.get(w.current) and e.tickets[w.current].state in ACTIVE:
        raise Refused(E.BUSY, "finish, transfer or mark the current ticket as no-show first")
    w.status, w.staff, w.current, w.since, w.pause_reason = "closed", None, None, now, None
    e.touch_window(w)
    e.happened(d.WindowStatusChanged(wid, w.status))
    return e.window_state(wid, now)


def next_ticket(e: Engine, wid: str, req: m.Plain, now: float) -> m.WindowState:
    w, wc = e.staffed(wid)
    if w.status == "paused":
        raise Refused(E.PAUSED, f"window {wc.number} is paused; resume first")
    pick = e.routing.pick(wid, now)
    if pick is None:
        # still finish the current one: staff pressed next to close the visit
        if e.end_current(w, wc, now) is None:
            raise Refused(E.QUEUE_EMPTY, "nobody is waiting for this window")
        return e.window_state(wid, now)
    e.end_current(w, wc, now)
    line, klass, (place, qseq, tid) = pick
    t = e.edit(e.tickets[tid])
    e.dequeue(t)
    t.state = "called"
    t.window, t.staff, t.recalls = wid, w.staff, 0
    if t.first_called_at is None:
        t.first_called_at = now
        e.stats["wait_s"] += now - t.issued_at
        e.stats["wait_n"] += 1
        e.judge_estimate(t, now)
    w.current = t.id
    e.call(t, w, wc, now, recall=False)
    e.touch(t)
    e.touch_window(w)
    return e.window_state(wid, now)


def recall(e: Engine, wid: str, req: m.Plain, now: float) -> m.WindowState:
    w, wc = e.staffed(wid)
    t = e.current_of(w)
    if t.state != "called":
        raise Refused(E.BAD_STATE, f"ticket {t.number} is already being served")
    if t.recalls >= e.cfg.queue.recall_limit:
        raise Refused(E.RECALL_LIMIT, f"ticket {t.number} was recalled {t.recalls} times; "
                      "mark it as no-show")
    t.recalls += 1
    e.call(t, w, wc, now, recall=True)
    e.touch(t)
    e.touch_window(w)
    return e.window_state(wid, now)


def noshow(e: Engine, wid: str, req: m.Plain, now: float) -> m.WindowState:
    w, wc = e.staffed(wid)
    t = e.current_of(w)
    if t.state != "called":
        raise Refused(E.BAD_STATE, f"ticket {t.number} is being served; finish it instead")
    t.state = "noshow"
    t.noshow_at = now
    t.requeue_until = now + e.cfg.queue.noshow_requeue_minutes * 60
    e.stats["noshow"] += 1
    e.estimator.observe_call(noshow=True)
    e.on_undo(lambda: e.estimator.unobserve_call(noshow=True))
    # the window's time lost to it, from the first call of this visit
    lost = now - (t.first_called_at if t.calls - t.recalls == 1 else t.called_at or now)
    e.observe_running(e.estimator.noshow_cost, lost)
    w.current = None
    e.touch(t)
    e.touch_window(w)
    e.ch.zone_views.add(wc.zone)
    e.happened(d.TicketNoShow(t, wid))
    return e.window_state(wid, now)


def start(e: Engine, wid: str, req: m.Plain, now: float) -> m.WindowState:
    w, wc = e.staffed(wid)
    t = e.current_of(w)
    if t.state == "called":
        t.state = "serving"
        t.served_at = now
        e.touch(t)
        e.touch_window(w)
    return e.window_state(wid, now)


def transfer(e: Engine, wid: str, req: m.TransferRequest, now: float) -> m.WindowState:
    w, wc = e.staffed(wid)
    if (req.matter is None) == (req.window is None):
        raise Refused(E.BAD_REQUEST, "give exactly one of `matter` or `window`")
    t = e.current_of(w)
    from_line = e.line_of(t)
    if req.matter is not None:
        target = e.cfg.matter(req.matter) or e.cfg.bundle(req.matter)
        if target is None:
            raise Refused(E.UNKNOWN_MATTER, f"no matter {req.matter!r} in this hall")
        t.service, t.target_window = target.id, None
        t.matter = req.matter if e.cfg.matter(req.matter) else None
        t.bundle = req.matter if e.cfg.bundle(req.matter) else None
        t.zone = target.zone
    else:
        tw = e.cfg.window(req.window or "")
        if tw is None:
            raise Refused(E.UNKNOWN_WINDOW, f"no window {req.window!r} in this hall")
        if tw.id == wid:
            raise Refused(E.BAD_REQUEST, "cannot transfer a ticket to its own window")
        t.target_window, t.zone = tw.id, tw.zone
    # Keeps its number and its original place in line (enqueued_at).
    t.state = "waiting"
    t.window = None
    t.recalls = 0
    t.transfers += 1
    w.current = None
    e.enqueue(t)
    e.touch(t)
    e.touch_window(w)
    e.ch.zone_views.add(wc.zone)
    e.happened(d.TicketTransferred(t, wid, from_line))
    return e.window_state(wid, now)


def pause(e: Engine, wid: str, req: m.PauseRequest, now: float) -> m.WindowState:
    w, wc = e.staffed(wid)
    if w.status == "paused":
        if req.reason and req.reason != w.pause_reason:
            w.pause_reason = req.reason
            e.touch_window(w)
        return e.window_state(wid, now)
    if w.current and e.tickets.get(w.current) and e.tickets[w.current].state in ACTIVE:
        raise Refused(E.BUSY, "finish, transfer or mark the current ticket as no-show first")
    w.status, w.since, w.pause_reason = "paused", now, req.reason
    e.touch_window(w)
    e.happened(d.WindowStatusChanged(wid, w.status))
    return e.window_state(wid, now)


def resume(e: Engine, wid: str, req: m.Plain, now: float) -> m.WindowState:
    w, wc = e.staffed(wid)
    if w.status == "paused":
        e.observe_running(e.estimator.pause, now - w.since)
        w.status, w.since, w.pause_reason = "open", now, None
        e.touch_window(w)
        e.happened(d.WindowStatusChanged(wid, w.status))
    return e.window_state(wid, now)


def finish(e: Engine, wid: str, req: m.FinishRequest, now: float) -> m.WindowState:
    w, wc = e.staffed(wid)
    o = req.outcome
    t = e.tickets.get(w.current or "")
    if (t is None or t.state not in ACTIVE) and o is not None:
        # a keypad finished the visit (finish or next); the terminal says how it ended
        last = e.tickets.get(w.last_finished or "")
        if last is not None and last.state == "done" and last.outcome is None and last.window == wid:
            settle.check(e, last, o)
            settle.apply(e, w, last, o, now)
            return e.window_state(wid, now)
    t = e.current_of(w)
    if o is not None:
        settle.check(e, t, o)  # before anything changes
    e.end_current(w, wc, now)
    if o is not None:
        settle.apply(e, w, t, o, now)
    e.ch.zone_views.add(wc.zone)
    return e.window_state(wid, now)


def queue_view(e: Engine, wid: str, req: m.Plain, now: float) -> m.QueueView:
    """What the window may serve: per line, how many wait and since when (read only)."""
    e.window_of(wid)
    lines = [m.QueueLine(line=line, waiting=n, oldest_since=e.routing.oldest(line))
             for line in e.routing.skills.get(wid, {})
             if (n := e.routing.waiting_by_line.get(line, 0))]
    return m.QueueView(window=wid, lines=lines, at=now)


def visit(e: Engine, wid: str, req: m.Plain, now: float) -> m.VisitView:
    """The current visit with its form, for this window's own users (the reply
    topic is the window's; the form is never on a retained topic)."""
    w, _ = e.staffed(wid)
    t = e.current_of(w)
    return m.VisitView(ticket=t.id, number=t.number, matter=t.matter, bundle=t.bundle, state=t.state,
                       priority=t.priority, issued_at=t.issued_at, called_at=t.called_at,
                       form=e.form_of(t), answers=t.answers,
                       phone=mask(t.phone, "phone") if t.phone else None, outcome=t.outcome)


def window_rate(e: Engine, wid: str, req: m.WindowRateRequest, now: float) -> m.RatingAck:
    w, _ = e.window_of(wid)
    ref = req.ticket or w.last_finished
    if ref is None:
        raise Refused(E.NO_TICKET, "no finished visit at this window to rate")
    t = e.find_ticket(ref)
    if t.window != wid:
        raise Refused(E.WRONG_WINDOW, f"ticket {t.number} was not served at this window")
    if req.level is None:
        if not req.timeout:
            raise Refused(E.BAD_REQUEST, "give a `level`, or `timeout: true` when nobody rated")
        r = e.rate(t, None, "timeout", now)
    else:
        r = e.rate(t, req.level, "evaluator", now)
    return m.RatingAck(ticket=r.ticket, level=r.level)


HANDLERS: dict[str, Callable[["Engine", str, Any, float], Any]] = {
    "window.login": login, "window.logout": logout, "window.next": next_ticket,
    "window.recall": recall, "window.noshow": noshow, "window.start": start,
    "window.transfer": transfer, "window.pause": pause, "window.resume": resume,
    "window.finish": finish, "window.rate": window_rate,
    "window.queue": queue_view, "window.visit": visit,
}

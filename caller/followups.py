"""整改/回访: every bad review (不满意, 非常不满意) opens a follow-up record.

An engine extension (caller/extension.py).  The record gets two due dates in
*working days* of the hall (caller/workdays.py: the national calendar with 调休, the hall's
closures and extra days; the rating's own day does not count): ``callback_due`` for
calling the citizen back (回访) and ``due`` for closing it with what was done
(整改).  It is retained on ``alert/<followup id>/followup`` while open (with
``overdue`` once ``due`` has passed) and for ``closed_visible_hours`` after it
is closed; then that topic is cleared.  ``alert/<client>/request/followups``
lists them, ``…/followup_close`` closes one and refuses an empty note.

Only a citizen's own rating opens one: a "not rated" row (level None) never does.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import msgspec

from hall import messages as m
from hall.clock import local_day, local_dt
from hall.pii import mask
from hall.errors import ErrorCode as E

from .domain import DomainEvent, Rated
from .engine import Emit, Engine, Refused
from .extension import ExtOut
from .model import Rating, Ticket
from .workdays import add_working_days  # noqa: F401  (tests import it from here)

if TYPE_CHECKING:
    from .store import Store

BAD_LEVELS = (1, 2)




def followup_id(ticket: str) -> str:
    return f"FU-{ticket}"


class Followups:
    """The extension; state: every open follow-up and those closed recently."""

    name = "followups"

    def __init__(self, cfg: Any):
        self.records: dict[str, m.FollowUp] = {}
        self._visible_closed: set[str] = set()  # closed, still on their retained topic

    # ---------------------------------------------------------------- life --
    def restore(self, store: Store, engine: Engine, now: float) -> None:
        keep = now - engine.cfg.notify.followup.keep_closed_days * 86400
        visible = now - engine.cfg.notify.followup.closed_visible_hours * 3600
        for f in store.followups(closed_since=keep):
            self.records[f.followup] = f
            if f.status == "closed" and (f.closed_at or 0) >= visible:
                self._visible_closed.add(f.followup)

    def ops(self) -> dict[str, type]:
        return {"alert.followups": m.FollowupListRequest, "alert.followup_close": m.FollowupCloseRequest}

    # ---------------------------------------------------------------- core --
    def open_for(self, r: Rating, t: Ticket, engine: Engine, now: float) -> m.FollowUp | None:
        if r.level not in BAD_LEVELS:
            return None
        fid = followup_id(r.ticket)
        if fid in self.records:  # one rating per visit; a replayed batch must not reopen it
            return None
        cfg = engine.cfg
        rated_day = dt.date.fromisoformat(local_day(now, cfg.hall.timezone))
        fc = cfg.notify.followup
        wc = cfg.window(r.window) if r.window else None
        f = m.FollowUp(
            followup=fid, ticket=r.ticket, number=t.number,
            day=r.day, level=r.level, reasons=list(r.reasons), comment=r.comment, window=r.window,
            window_number=wc.number if wc else None, staff=r.staff, matter=r.matter,
            phone=mask(t.phone, "phone") or None, opened_at=now,
            callback_due=add_working_days(rated_day, fc.callback_working_days, cfg.service_hours).isoformat(),
            due=add_working_days(rated_day, fc.deadline_working_days, cfg.service_hours).isoformat(),
            status="open", at=now)
        self.records[fid] = f
        return f

    def on_events(self, events: list[DomainEvent], engine: Engine, now: float) -> ExtOut:
        out = ExtOut()
        for ev in events:
            if not isinstance(ev, Rated):
                continue
            f = self.open_for(ev.rating, ev.ticket, engine, now)
            if f is not None:
                out.records.append(f)
                out.events.append(Emit("alert.followup", f.followup, f))
        return out

    def handle(self, op: str, ident: str, req: Any, engine: Engine, now: float) -> tuple[Any, ExtOut]:
        if op == "alert.followups":
            keep = [f for f in self.records.values() if req.status == "all" or f.status == req.status]
            keep.sort(key=lambda f: (f.status != "open", f.due, f.opened_at))
            return m.FollowupList(followups=keep), ExtOut()
        f = self.records.get(req.followup)
        if f is None:
            raise Refused(E.UNKNOWN_FOLLOWUP, f"no follow-up {req.followup!r}")
        if f.status == "closed":
            raise Refused(E.ALREADY_CLOSED, f"follow-up {f.followup} was closed at "
                          f"{local_dt(f.closed_at or 0, engine.tz):%Y-%m-%d %H:%M}")
        note = req.note.strip()
        if not note:
            raise Refused(E.NOTE_REQUIRED, "closing a follow-up needs a note of what was done")
        f = msgspec.structs.replace(f, status="closed", closed_at=now, closed_by=req.by or ident,
                                    note=note, at=now)
        self.records[f.followup] = f
        self._visible_closed.add(f.followup)
        return f, ExtOut(events=[Emit("alert.followup", f.followup, f)], records=[f])

    def tick(self, engine: Engine, now: float) -> ExtOut:
        out = ExtOut()
        today = local_day(now, engine.tz)
        for f in list(self.records.values()):
            if f.status == "open" and not f.overdue and today > f.due:
                f = msgspec.structs.replace(f, overdue=True, at=now)
                self.records[f.followup] = f
                out.records.append(f)
                out.events.append(Emit("alert.followup", f.followup, f))
        fc = engine.cfg.notify.followup
        for fid in list(self._visible_closed):
            f = self.records.get(fid)
            if f is None or (f.closed_at or 0) + fc.closed_visible_hours * 3600 <= now:
                self._visible_closed.discard(fid)
                out.events.append(Emit("alert.followup", fid, b""))  # clear the retained alert
        horizon = now - fc.keep_closed_days * 86400
        for fid in [k for k, f in self.records.items() if f.status == "closed" and (f.closed_at or 0) < horizon]:
            del self.records[fid]
        return out

    def republish(self, engine: Engine, now: float) -> list[Emit]:
        return [Emit("alert.followup", f.followup, f) for f in self.records.values()
                if f.status == "open" or f.followup in self._visible_closed]

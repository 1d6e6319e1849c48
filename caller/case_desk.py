"""The engine extension that keeps cases (办件): opened when a visit is settled as
受理, moved along their timeline from the window terminal, looked up at kiosks
with a second factor, shown on the public progress board, supervised.

The rules are caller/cases.py's (pure); this module answers the ops, keeps
in memory only what supervision, lists and numbering need of each open case
(:class:`OpenCase`: about 200 bytes, where the whole record with its timeline
and applicant token is 1.5 KB) and reads a whole case from the store when a
step or a look-up needs it, hands :class:`~caller.cases.Case` records to the
store in the batch's transaction and publishes, after the commit:

* ``stats/hall/progress`` — the public board (the latest ``cases.board_size``
  updated cases, names masked by hall.pii), when a case moved;
* ``alert/<case>/case`` — yellow/red supervision warnings, retained while
  they last (cleared with an empty retained message);
* ``stats/hall/case_depts`` — per department: open, early, on time, overdue.

The applicant (name, ID number, phone) comes from the ticket's filled form
(caller/forms.py), is kept only as a DataCipher token, and shows only masked;
the kiosk's second factor is a keyed hash of the last four characters of the
ID number or the phone, so a wrong code and an unknown case answer alike.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections import Counter, deque
from typing import TYPE_CHECKING, Any

import msgspec

from hall import messages as m
from hall.clock import local_day
from hall.crypto import DataCipher
from hall.pii import mask
from hall.errors import ErrorCode as E

from . import cases as C
from .domain import DomainEvent, VisitSettled
from .engine import Emit, Engine, Refused
from .extension import ExtOut
from .sms_rules import next_allowed, render

if TYPE_CHECKING:
    from .sms_outbox import SmsOutbox
    from .store import Store

log = logging.getLogger("caller.cases")

class OpenCase(msgspec.Struct, gc=False):
    """What the desk keeps in memory of an open case (the rest is in the store)."""

    case: str
    deadline: str
    stage: str
    department: str
    warning: str
    acked: str
    source: str
    matter: str


_intern = sys.intern  # 50,000 open cases share a few dozen dates, departments and stages


def _slim(c: C.Case) -> OpenCase:
    return OpenCase(c.case, _intern(c.deadline), _intern(c.stage), _intern(c.department), _intern(c.warning),
                    _intern(c.acked), _intern(c.source), _intern(c.matter))


# whole records changed but maybe not committed yet are read from here, not from the
# store: the engine's commit pipeline holds at most this many batches (and ticks) unwritten
UNSAVED_BATCHES = 6
WATCH_PER_TICK = 1000  # open cases judged per tick in the day's supervision pass

_STATUS = {"accepted": "received", "ready": "ready", "collected": "done", "denied": "done",
           "withdrawn": "done"}  # the board's four words; the rest is "processing"


class CaseDesk:
    name = "cases"
    # reads: a look-up's reply carries the timeline, a list is read again: neither is kept
    unrecorded = frozenset({"kiosk.case", "window.cases"})

    def __init__(self, cfg: Any, cipher: DataCipher, sms: SmsOutbox | None = None):
        self.cfg = cfg
        self.cipher = cipher
        self.sms = sms  # the citizen told at 待领取, 补正中 and an extension (None: no SMS)
        self.open: dict[str, OpenCase] = {}
        self.by_ticket: dict[str, str] = {}  # today's tickets → their cases (a ticket is settled on its day)
        self.by_ref: dict[str, str] = {}  # "<system>:<its number>" → case, of open cases
        self.recent: deque[C.Case] = deque(maxlen=cfg.cases.board_size)
        self.last_number = ""
        self.counts: Counter[str] = Counter()  # "department|result" of decided cases
        self.failures: dict[str, deque[float]] = {}  # kiosk → times of wrong look-ups
        self.store: Store | None = None
        self._board_dirty = False
        self._watched: dt.date | None = None
        self._unsaved: dict[str, C.Case] = {}  # whole records changed since the last batch ended
        self._unsaved_before: deque[dict[str, C.Case]] = deque(maxlen=UNSAVED_BATCHES)
        self._ticket_day = ""
        self._to_watch: deque[str] = deque()  # open cases still to judge in today's pass

    # ---------------------------------------------------------------- life --
    def restore(self, store: Store, engine: Engine, now: float) -> None:
        self.store = store
        index, latest, last = store.cases_to_restore(self.cfg.cases.board_size)
        today = local_day(now, engine.tz)
        self._ticket_day = today
        self.open, self.by_ticket, self.by_ref = {}, {}, {}
        for number, deadline, stage, dept, warning, acked, source, matter, ticket, accepted, ref in index:
            self.open[number] = OpenCase(number, _intern(deadline), _intern(stage), _intern(dept),
                                         _intern(warning or ""), _intern(acked or ""), _intern(source),
                                         _intern(matter))
            if ticket and accepted == today:
                self.by_ticket[ticket] = number
            if ref:
                self.by_ref[ref] = number
        self.recent.extend(reversed(latest))
        self.last_number = last
        self.counts = Counter(dict(store.case_counts()))
        self._board_dirty = True

    def ops(self) -> dict[str, type]:
        return {"kiosk.case": m.CaseQuery, "kiosk.progress": m.ProgressRequest,
                "window.case_step": m.CaseStepRequest,
                "window.case_extend": m.CaseExtendRequest, "alert.case_ack": m.CaseAckRequest,
                "window.cases": m.CaseListRequest,
                "device.case_open": m.CaseOpenRequest, "device.case_step": m.CaseRefStepRequest,
                "device.case_extend": m.CaseRefExtendRequest}

    def republish(self, engine: Engine, now: float) -> list[Emit]:
        out = [self._board(engine, now), self._dept_stats(engine, now)]
        out += [Emit("alert.case", c.case, self._alert(engine, c, now)) for c in self.open.values() if c.warning]
        return out

    # --------------------------------------------------------------- cases --
    def _next_number(self, day: dt.date) -> str:
        year, seq = self.last_number[:4], self.last_number[4:]
        n = int(seq) + 1 if year == str(day.year) and seq else 1
        return C.case_number(day.year, n)

    def _full(self, number: str) -> C.Case | None:
        """A whole case: as changed in a batch not yet committed, or from the store."""
        c = self._unsaved.get(number)
        if c is not None:
            return c
        for batch in reversed(self._unsaved_before):
            if number in batch:
                return batch[number]
        return self.store.case(number) if self.store is not None else None

    def _case(self, number: str) -> C.Case:
        c = self._full(number)
        if c is None:
            raise Refused(E.UNKNOWN_CASE, f"no case {number!r}")
        return c

    def _end_batch(self) -> None:
        if self._unsaved:
            self._unsaved_before.append(self._unsaved)
            self._unsaved = {}
        elif self._unsaved_before:
            self._unsaved_before.append({})  # a batch without cases still moves the pipeline on

    def _applicant(self, engine: Engine, t: Any) -> tuple[dict[str, str], str]:
        """The applicant's name, ID number and phone from the ticket's form (and phone)."""
        values: dict[str, str] = {}
        form = engine.form_of(t)  # the forms extension's hook: decrypted, never stored on the ticket
        by_profile = {f.profile: f.id for f in engine.cfg.forms.fields if f.profile}
        for key in ("name", "id_number", "phone"):
            fid = by_profile.get(key)
            if form and fid and form.get(fid):
                values[key] = form[fid]
        if "phone" not in values and t.phone:
            values["phone"] = t.phone
        return values, mask(values.get("name"), "name")

    def _opened(self, engine: Engine, t: Any, now: float) -> C.Case:
        day = dt.date.fromisoformat(local_day(now, engine.tz))
        matter = t.matter or (engine.cfg.bundle(t.bundle).matters[0] if t.bundle else t.service)
        c = C.open_case(engine.cfg, self._next_number(day), matter, t.window or "", t.id, t.staff or "",
                        day, now)
        values, _ = self._applicant(engine, t)
        return self._with_applicant(msgspec.structs.replace(c, lang=t.lang), values)

    def _with_applicant(self, c: C.Case, values: dict[str, str]) -> C.Case:
        """The applicant sealed, the name masked, the kiosk's second factors hashed."""
        checks = {k: self.cipher.lookup_hash(v[-4:]) for k, v in values.items() if k in ("id_number", "phone")}
        return msgspec.structs.replace(
            c, name_masked=mask(values.get("name"), "name"),
            applicant=self.cipher.encrypt_json(values) if values else None,
            check_id4=checks.get("id_number"), check_phone4=checks.get("phone"))

    def _index(self, c: C.Case, out: ExtOut) -> None:
        """A case's new whole record: into the batch, the unsaved reads and the index."""
        if c.stage in C.OPEN:
            self.open[c.case] = _slim(c)
        else:
            self.open.pop(c.case, None)
        self._unsaved[c.case] = c
        out.records.append(c)

    def _keep(self, c: C.Case, out: ExtOut) -> None:
        self._index(c, out)
        if c.ticket and c.accepted_day == self._ticket_day:
            self.by_ticket[c.ticket] = c.case
        if c.ref:
            key = f"{c.source}:{c.ref}"
            if c.stage in C.OPEN:
                self.by_ref[key] = c.case
            else:
                self.by_ref.pop(key, None)
        self.recent = deque((x for x in self.recent if x.case != c.case), maxlen=self.recent.maxlen)
        self.recent.appendleft(c)
        self.last_number = max(self.last_number, c.case)
        self._board_dirty = True

    # ----------------------------------------------------------------- ops --
    def handle(self, op: str, ident: str, req: Any, engine: Engine, now: float) -> tuple[Any, ExtOut]:
        out = ExtOut()
        day = dt.date.fromisoformat(local_day(now, engine.tz))
        if op == "kiosk.case":
            return self._query(ident, req, engine, now, day), out
        if op == "kiosk.progress":  # what the public board shows of one case (masked, no timeline)
            row = next((r for r in self._board(engine, now).payload.cases if r.case == req.case), None)
            if row is None:
                raise Refused(E.UNKNOWN_CASE, f"no case {req.case!r} on the progress board")
            return row, out
        if op.startswith("device."):
            return self._outside(op, ident, req, engine, now, day)
        if op == "window.cases":
            return self._list(ident, req, engine, day), out
        c = self._case(req.case)
        try:
            if op == "alert.case_ack":
                if not c.warning:
                    raise Refused(E.NO_WARNING, f"case {c.case} has no warning to acknowledge")
                c = msgspec.structs.replace(c, acked=c.warning, updated_at=now)
                self._index(c, out)
                alert = self._alert(engine, c, now)
                out.events.append(Emit("alert.case", c.case, alert))
                return alert, out
            handler = req.handler if op == "window.case_step" and req.handler else \
                (engine.windows[ident].staff if ident in engine.windows else None)
            if not handler:
                raise Refused(E.NOT_LOGGED_IN, f"nobody is logged in at {ident}")
            if op == "window.case_step":
                new = C.step(engine.cfg, c, req.stage, handler, req.opinion, day, now)
            else:
                new = C.extend(engine.cfg, c, req.days, handler, req.reason, now)
        except C.CaseError as e:
            raise Refused(e.code, e.message) from None
        return self._moved(engine, c, new, handler, day, now, out)

    def _moved(self, engine: Engine, c: C.Case, new: C.Case, handler: str, day: dt.date, now: float,
               out: ExtOut) -> tuple[m.CaseView, ExtOut]:
        """Keep a case's new record: its warning judged, its department counted."""
        new = self._judge(engine, new, day, now, out, keep=False)
        self._keep(new, out)
        self._tell(engine, c, new, day, now, out)
        if new.result and not c.result:
            self.counts[f"{new.department}|{new.result}"] += 1
            out.events.append(self._dept_stats(engine, now))
        log.info("case %s: %s → %s by %s", c.case, c.stage, new.stage, handler)
        return self._view(engine, new, day), out

    def _tell(self, engine: Engine, c: C.Case, new: C.Case, day: dt.date, now: float, out: ExtOut) -> None:
        """An SMS to the applicant at 待领取, 补正中 (what is missing) and an extension: once
        per step, the row keyed by the step's place in the timeline and written with it;
        held until ``notify.sms.case_hours`` when the step comes at night."""
        sc = engine.cfg.notify.sms
        if self.sms is None or not sc.on_case or new.applicant is None:
            return
        if new.extensions > c.extensions:
            reason = "case_extended"
        elif new.stage != c.stage and new.stage in ("ready", "correction"):
            reason = f"case_{new.stage}"
        else:
            return
        phone = self.cipher.decrypt_json(new.applicant).get("phone")
        if not phone:
            return
        mt = engine.cfg.matter(new.matter)
        last = new.steps[-1]
        values = {"hall": engine.cfg.hall.name.get(new.lang), "case": new.case,
                  "matter": mt.name.get(new.lang) if mt else new.matter, "missing": last.opinion,
                  "deadline": new.deadline, "reason": last.opinion.split("：", 1)[-1]}
        if not sc.enabled:
            return
        text = render(getattr(sc.templates, reason).get(new.lang), values)
        sent = self.sms.enqueue(f"{new.case}.{reason}.{len(new.steps) - 1}", new.case, phone, text, engine, now,
                                reason=reason, lang=new.lang, due_at=next_allowed(now, engine.tz, sc.case_hours))
        out.events += sent.events
        out.records += sent.records

    # ------------------------------------------------ outside case system --
    def _outside(self, op: str, ident: str, req: Any, engine: Engine, now: float,
                 day: dt.date) -> tuple[m.CaseView, ExtOut]:
        """An outside case system (审批系统) opens a case or reports a step, by its own number."""
        out = ExtOut()
        number = self.by_ref.get(f"{ident}:{req.ref}") or (
            self.store.case_by_ref(ident, req.ref) if self.store is not None else None)
        if op == "device.case_open":
            if number is not None:  # resent (an adapter restarted): the case it opened then
                return self._view(engine, self._case(number), day), out
            return self._open_outside(ident, req, engine, now, day, out)
        if number is None:
            raise Refused(E.UNKNOWN_CASE, f"{ident} opened no case {req.ref!r}")
        c = self._case(number)
        try:
            if op == "device.case_step":
                last = c.steps[-1]
                if (c.stage, last.handler, last.opinion) == (req.stage, req.handler, req.opinion):
                    return self._view(engine, c, day), out  # reported again: already so
                new = C.step(engine.cfg, c, req.stage, req.handler, req.opinion, day, now)
            else:
                new = C.extend(engine.cfg, c, req.days, req.handler, req.reason, now)
        except C.CaseError as e:
            raise Refused(e.code, e.message) from None
        return self._moved(engine, c, new, req.handler, day, now, out)

    def _open_outside(self, ident: str, req: m.CaseOpenRequest, engine: Engine, now: float,
                      day: dt.date, out: ExtOut) -> tuple[m.CaseView, ExtOut]:
        accepted = dt.date.fromisoformat(req.accepted_on) if req.accepted_on else day
        if accepted > day:
            raise Refused(E.BAD_REQUEST, f"accepted_on {req.accepted_on} is after today ({day})")
        try:
            c = C.open_case(engine.cfg, self._next_number(day), req.matter, ident, None, req.handler,
                            accepted, now, req.opinion)
        except C.CaseError as e:
            raise Refused(e.code, e.message) from None
        values = {k: v for k in ("name", "id_number", "phone") if (v := getattr(req, k))}
        c = self._with_applicant(msgspec.structs.replace(c, ref=req.ref, lang=req.lang), values)
        c = self._judge(engine, c, day, now, out, keep=False)
        self._keep(c, out)
        log.info("case %s opened by %s (its %s, %s), due %s", c.case, ident, req.ref, c.matter, c.deadline)
        return self._view(engine, c, day), out

    def _query(self, ident: str, req: m.CaseQuery, engine: Engine, now: float, day: dt.date) -> m.CaseView:
        cc = engine.cfg.cases
        fails = self.failures.setdefault(ident, deque())
        while fails and now - fails[0] > cc.query_window_s:
            fails.popleft()
        if len(fails) >= cc.query_failures:
            raise Refused(E.RATE_LIMITED, "too many wrong look-ups from this kiosk; try again later")
        c = self._full(req.case)
        code = self.cipher.lookup_hash(req.code)
        if c is None or code not in (c.check_id4, c.check_phone4):
            fails.append(now)  # the same answer for a wrong code and an unknown case: no oracle
            raise Refused(E.UNKNOWN_CASE, "no case with this number and code")
        return self._view(engine, c, day)

    # -------------------------------------------------------------- events --
    def on_events(self, events: list[DomainEvent], engine: Engine, now: float) -> ExtOut:
        out = ExtOut()
        today = local_day(now, engine.tz)
        if today != self._ticket_day:  # tickets are numbered per day: yesterday's are settled
            self._ticket_day = today
            self.by_ticket.clear()
        for ev in events:
            t = ev.ticket if isinstance(ev, VisitSettled) else None
            if t is None or ev.outcome.kind != "accepted" or t.id in self.by_ticket:
                continue
            if self.store is not None and self.store.case_for_ticket(t.id):
                continue
            c = self._opened(engine, t, now)
            c = self._judge(engine, c, dt.date.fromisoformat(c.accepted_day), now, out, keep=False)
            self._keep(c, out)
            log.info("case %s opened for ticket %s (%s), due %s", c.case, t.number, c.matter, c.deadline)
        if self._board_dirty:
            self._board_dirty = False
            out.events.append(self._board(engine, now))
        self._end_batch()
        return out

    def tick(self, engine: Engine, now: float) -> ExtOut:
        out = ExtOut()
        day = dt.date.fromisoformat(local_day(now, engine.tz))
        if day != self._watched:  # warnings change with the day (and with a step, judged then)
            self._watched = day
            self._to_watch = deque(self.open)
        if self._to_watch:
            self._watch(engine, day, now, out)
        if self._board_dirty:
            self._board_dirty = False
            out.events.append(self._board(engine, now))
        self._end_batch()
        return out

    def _watch(self, engine: Engine, day: dt.date, now: float, out: ExtOut) -> None:
        """The day's supervision pass, ``WATCH_PER_TICK`` open cases a tick: judged on the
        index, read whole only when the colour changes. A pass over 50,000 cases then
        takes the engine a moment a second for a minute after midnight, not one long stall,
        and one tick's batch holds a bounded number of whole records."""
        warn_days = engine.cfg.cases.warn_days
        for _ in range(min(WATCH_PER_TICK, len(self._to_watch))):
            slim = self.open.get(self._to_watch.popleft())
            if slim is not None and C.warning_for(engine.cfg, slim, day, warn_days) != slim.warning:
                self._judge(engine, self._case(slim.case), day, now, out)

    def _judge(self, engine: Engine, c: C.Case, day: dt.date, now: float, out: ExtOut,
               keep: bool = True) -> C.Case:
        """Raise, change or clear a case's supervision warning; the case as it is now
        (kept here and in the batch unless ``keep`` is False: the caller keeps it)."""
        level = C.warning_for(engine.cfg, c, day, engine.cfg.cases.warn_days)
        if level == c.warning:
            return c
        new = msgspec.structs.replace(c, warning=level, updated_at=now)
        if keep:
            self._index(new, out)
        if level:
            out.events.append(Emit("alert.case", c.case, self._alert(engine, new, now)))
            log.info("case %s: %s warning (deadline %s)", c.case, level, c.deadline)
        else:
            out.events.append(Emit("alert.case", c.case, b""))  # cleared
        return new

    # --------------------------------------------------------------- views --
    def _view(self, engine: Engine, c: C.Case, day: dt.date) -> m.CaseView:
        left = C.days_left(engine.cfg, c, day)
        mt = engine.cfg.matter(c.matter)
        return m.CaseView(case=c.case, name=c.name_masked, matter=mt.name.get("zh-CN") if mt else c.matter,
                          department=c.department, stage=c.stage, deadline=c.deadline, days_left=left,
                          overdue=c.result == "overdue" or (c.stage in C.OPEN and left < 0), result=c.result,
                          steps=[m.CaseStepView(stage=s.stage, at=s.at, handler=s.handler, opinion=s.opinion)
                                 for s in c.steps], matter_id=c.matter)

    def _alert(self, engine: Engine, c: C.Case | OpenCase, now: float) -> m.CaseAlert:
        mt = engine.cfg.matter(c.matter)
        day = dt.date.fromisoformat(local_day(now, engine.tz))
        return m.CaseAlert(case=c.case, level=c.warning or "yellow", matter=mt.name.get("zh-CN") if mt else c.matter,
                           department=c.department, deadline=c.deadline,
                           days_left=C.days_left(engine.cfg, c, day), acked=c.acked == c.warning, at=now)

    def _row(self, engine: Engine, c: C.Case, day: dt.date) -> m.CaseProgress:
        """A case as boards and lists show it: masked, the matter by its id."""
        left = C.days_left(engine.cfg, c, day)
        return m.CaseProgress(
            case=c.case, name=c.name_masked, matter=c.matter, status=_STATUS.get(c.stage, "processing"),
            updated_at=c.updated_at, department=c.department, stage=c.stage, deadline=c.deadline,
            days_left=left, overdue=c.result == "overdue" or (c.stage in C.OPEN and left < 0))

    def _board(self, engine: Engine, now: float) -> Emit:
        day = dt.date.fromisoformat(local_day(now, engine.tz))
        rows = [self._row(engine, c, day) for c in self.recent]
        return Emit("stats.progress", "hall", m.ProgressBoard(cases=rows, at=now))

    LIST_LIMIT = 200

    def _list(self, ident: str, req: m.CaseListRequest, engine: Engine, day: dt.date) -> m.CaseList:
        wc = engine.cfg.window(ident)
        if wc is None:
            raise Refused(E.UNKNOWN_WINDOW, f"no window {ident!r} in this hall")
        if req.scope == "window":
            mine = [c for c in self.open.values() if c.source == ident]
        else:
            served = set(engine.routing.skills.get(ident, {}))
            depts = {mt.department.get("zh-CN") for mid in served if (mt := engine.cfg.matter(mid))}
            mine = [c for c in self.open.values() if c.department in depts]
        mine.sort(key=lambda c: (c.deadline, c.case))
        shown = [full for c in mine[:self.LIST_LIMIT] if (full := self._full(c.case)) is not None]
        return m.CaseList(cases=[self._row(engine, c, day) for c in shown], total=len(mine),
                          limit=self.LIST_LIMIT, next={c.case: list(C.allowed(c)) for c in shown})

    def _dept_stats(self, engine: Engine, now: float) -> Emit:
        depts: dict[str, dict[str, int]] = {}
        for key, n in self.counts.items():
            dept, _, result = key.partition("|")
            depts.setdefault(dept, {"open": 0, "early": 0, "on_time": 0, "overdue": 0, "warned": 0})[result] = n
        for c in self.open.values():
            row = depts.setdefault(c.department, {"open": 0, "early": 0, "on_time": 0, "overdue": 0, "warned": 0})
            row["open"] += 1
            row["warned"] += bool(c.warning)
        return Emit("stats.case_depts", "hall", m.CaseDeptStats(departments=depts, at=now))

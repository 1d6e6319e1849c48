"""Ratings follow-ups and satisfaction, on the pure core with fake times (no broker)."""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from zoneinfo import ZoneInfo

import msgspec
import pytest

from caller.engine import Engine, Refused
from caller.followups import Followups, add_working_days
from caller.satisfaction import Satisfaction
from caller.store import Store
from hall.crypto import DataCipher, new_key
from hall import messages as m
from hall.clock import local_day
from hall.config import parse_config
from hall.config.queue import ServiceHours
from tests.conftest import small_raw

TZ = ZoneInfo("Asia/Shanghai")


def at(day: str, hhmm: str) -> float:
    h, mi = map(int, hhmm.split(":"))
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(h, mi), TZ).timestamp()


KEY = DataCipher(new_key())  # one hall's data key: a restarted harness reads what it wrote


class Harness:
    """Drives the core and extensions the way caller/service.py does, without I/O:
    each call is one batch; records go to a real SQLite store in memory."""

    def __init__(self, cfg, exts, now: float, db_path=":memory:"):
        self.cfg = cfg
        self.e = Engine(cfg)
        self.exts = exts
        self.store = Store(db_path, KEY)
        self.store.open()
        self.e.restore(*self.store.load(local_day(now, cfg.hall.timezone)), now=now)
        for x in exts:
            x.restore(self.store, self.e, now)
        self.now = now
        self.events: list = []
        self._ids = itertools.count(1)
        self._ops = {op: x for x in exts for op in x.ops()}

    def _commit(self, ch, ext_out) -> None:
        recs = []
        for x in self.exts:
            xo = x.on_events(ch.domain, self.e, self.now)
            self.events.extend(xo.events)
            recs.extend(xo.records)
        for _x, r in ext_out.items():
            recs.extend(r)
        self.store.commit(ch, [], recs)

    def do(self, op: str, ident: str, now: float | None = None, **body):
        if now is not None:
            self.now = now
        req = msgspec.convert({"id": f"r{next(self._ids)}", **body}, m.REQUEST_TYPES[op])
        ext_out = {}
        if op in self._ops:
            x = self._ops[op]
            try:
                data, xo = x.handle(op, ident, req, self.e, self.now)
            except Refused as r:
                self._commit(self.e.drain(), {})
                raise
            self.events.extend(xo.events)
            ext_out[x.name] = xo.records
            self._commit(self.e.drain(), ext_out)
            return data
        out = self.e.handle(op, ident, req, self.now)
        self._commit(self.e.drain(), {})
        if out.error:
            raise Refused(*out.error)
        self.events.extend(out.events)
        return out.data

    def tick(self, now: float) -> None:
        self.now = now
        self.e.tick(now)
        ch = self.e.drain()
        recs = {}
        for x in self.exts:
            xo = x.tick(self.e, now)
            self.events.extend(xo.events)
            recs[x.name] = xo.records
        self._commit(ch, recs)

    def take(self, spec: str) -> list:
        got = [(ev.ident, ev.payload) for ev in self.events if ev.spec == spec]
        self.events = [ev for ev in self.events if ev.spec != spec]
        return got


def cfg_with(**notify):
    raw = small_raw()
    raw["notify"] = notify
    raw["service_hours"] = {"closed_dates": ["2026-11-24"], "extra_open_dates": ["2026-11-22"]}
    return parse_config(raw)


def visit(h: Harness, window: str, matter: str, staff: str, now: float, phone: str | None = None) -> str:
    """Issue, call and finish one visit at ``window``; returns the ticket id."""
    body = {"matter": matter} | ({"phone": phone} if phone else {})
    t = h.do("kiosk.issue", "K1", now, **body)
    if h.e.windows[window].status == "closed":
        h.do("window.login", window, staff=staff)
    h.do("window.next", window)
    h.do("window.finish", window, now + 300)
    return t.ticket


# ------------------------------------------------------------ working days --

def test_working_days_skip_weekends_holidays_and_count_swapped_days():
    hours = ServiceHours(closed_dates=[dt.date(2026, 10, 1), dt.date(2026, 10, 2)],
                         extra_open_dates=[dt.date(2026, 10, 10)])
    d = dt.date
    assert add_working_days(d(2026, 11, 20), 1, hours) == d(2026, 11, 23)  # Fri → Mon
    assert add_working_days(d(2026, 11, 20), 0, hours) == d(2026, 11, 20)
    # the national calendar: 国庆 1–7 October 2026 (the hall's own closures say 1–2 only)
    assert add_working_days(d(2026, 9, 30), 1, hours) == d(2026, 10, 8)
    assert add_working_days(d(2026, 10, 9), 1, hours) == d(2026, 10, 10)  # 调休 Saturday
    hall_closed = ServiceHours(closed_dates=[d(2026, 11, 23)])  # a closure of the hall's own
    assert add_working_days(d(2026, 11, 20), 1, hall_closed) == d(2026, 11, 24)
    assert add_working_days(d(2026, 11, 21), 5, hours) == d(2026, 11, 27)  # rated on a Saturday


# --------------------------------------------------------------- follow-ups --

def test_bad_review_opens_followup_with_deadline_and_close_needs_note():
    cfg = cfg_with(followup={"deadline_working_days": 3, "callback_working_days": 1})
    fri = at("2026-11-20", "10:00")
    h = Harness(cfg, [Followups(cfg), Satisfaction(cfg)], fri)
    tid = visit(h, "W1", "M1", "S001", fri, phone="13812345678")
    h.do("window.rate", "W1", level=2)
    [(fid, f)] = h.take("alert.followup")
    # Sun 22 is 调休 (extra open), Tue 24 a holiday: 22, 23, 25
    assert (fid, f.ticket, f.level, f.status, f.callback_due, f.due) == (
        f"FU-{tid}", tid, 2, "open", "2026-11-22", "2026-11-25")
    assert (f.window, f.window_number, f.staff, f.matter, f.phone) == ("W1", "1", "S001", "M1", "138****5678")
    listed = h.do("alert.followups", "admin")
    assert [x.followup for x in listed.followups] == [fid]
    with pytest.raises(Refused) as e:
        h.do("alert.followup_close", "admin", followup=fid, note="   ")
    assert e.value.code == "note_required"
    with pytest.raises(Refused) as e:
        h.do("alert.followup_close", "admin", followup="FU-nope", note="x")
    assert e.value.code == "unknown_followup"
    closed = h.do("alert.followup_close", "admin", at("2026-11-23", "09:00"), followup=fid,
                  note="已电话回访，窗口人员已整改", by="sup1")
    assert (closed.status, closed.note, closed.closed_by) == ("closed", "已电话回访，窗口人员已整改", "sup1")
    assert h.take("alert.followup")[0][1].status == "closed"
    with pytest.raises(Refused) as e:
        h.do("alert.followup_close", "admin", followup=fid, note="again")
    assert e.value.code == "already_closed"
    assert h.do("alert.followups", "admin").followups == []
    assert [x.status for x in h.do("alert.followups", "admin", status="all").followups] == ["closed"]
    # a day later the closed alert is cleared from its retained topic
    h.tick(at("2026-11-24", "09:30"))
    assert h.take("alert.followup") == [(fid, b"")]


def test_good_ratings_and_timeouts_open_no_followup_and_overdue_is_flagged():
    cfg = cfg_with(followup={"deadline_working_days": 1})
    fri = at("2026-11-20", "10:00")
    h = Harness(cfg, [Followups(cfg)], fri)
    visit(h, "W1", "M1", "S001", fri)
    h.do("window.rate", "W1", timeout=True)
    visit(h, "W1", "M1", "S001", fri + 600)
    h.do("window.rate", "W1", level=3)
    assert h.take("alert.followup") == []
    visit(h, "W1", "M1", "S001", fri + 1200)
    h.do("window.rate", "W1", level=1)
    [(fid, f)] = h.take("alert.followup")
    assert f.due == "2026-11-22" and not f.overdue  # the 调休 Sunday
    h.tick(at("2026-11-22", "23:00"))
    assert h.take("alert.followup") == []
    h.tick(at("2026-11-23", "08:00"))
    [(_, late)] = h.take("alert.followup")
    assert late.overdue and late.status == "open"


def test_followups_survive_a_restart(tmp_path):
    cfg = cfg_with()
    fri = at("2026-11-20", "10:00")
    db = str(tmp_path / "e.sqlite")
    h = Harness(cfg, [Followups(cfg)], fri, db_path=db)
    visit(h, "W2", "M2", "S002", fri)
    h.do("window.rate", "W2", level=1)
    fid = h.take("alert.followup")[0][0]
    h2 = Harness(cfg, [Followups(cfg)], fri + 3600, db_path=db)
    assert [f.followup for f in h2.do("alert.followups", "cli").followups] == [fid]
    assert [e.ident for e in h2.exts[0].republish(h2.e, fri + 3600)] == [fid]


# ------------------------------------------------------------- satisfaction --

def test_satisfaction_per_window_staff_matter_and_day():
    cfg = cfg_with()
    fri = at("2026-11-20", "10:00")
    h = Harness(cfg, [Satisfaction(cfg)], fri)
    t1 = visit(h, "W1", "M1", "S001", fri)
    h.do("window.rate", "W1", level=5)
    visit(h, "W1", "M2", "S001", fri + 600)
    h.do("window.rate", "W1", level=2)
    t3 = visit(h, "W5", "M4", "S005", fri + 1200)
    h.do("window.rate", "W5", timeout=True)
    h.do("window.rate", "W5", timeout=True)  # a second timeout of the same visit counts once
    ev = {}
    for name in ("window", "staff", "matter", "day"):
        for ident, s in h.take(f"stats.satisfaction.{name}"):
            ev[(name, ident)] = s
    w1 = ev[("window", "W1")]
    assert (w1.rated, w1.good, w1.bad, w1.rate, w1.avg, w1.not_rated) == (2, 1, 1, 0.5, 3.5, 0)
    assert w1.levels == {"5": 1, "4": 0, "3": 0, "2": 1, "1": 0} and w1.day == "2026-11-20"
    assert ev[("staff", "S001")].rated == 2
    assert (ev[("matter", "M1")].rated, ev[("matter", "M2")].bad) == (1, 1)
    hall = ev[("day", "hall")]
    assert (hall.rated, hall.not_rated, hall.scope) == (2, 1, "hall")
    # the citizen rates later at a kiosk: not_rated → rated, the visit counted once
    h.do("kiosk.rate", "K1", ticket=t3, secret=h.e.tickets[t3].secret, level=4, reasons=["efficiency"],
         comment="快")
    hall = dict(h.take("stats.satisfaction.day"))["hall"]
    assert (hall.rated, hall.not_rated, hall.good) == (3, 0, 2)
    with pytest.raises(Refused) as e:
        h.do("kiosk.rate", "K1", ticket=t1, secret=h.e.tickets[t1].secret, level=1)
    assert e.value.code == "already_rated"


def test_satisfaction_is_rebuilt_from_the_ratings_table(tmp_path):
    cfg = cfg_with()
    fri = at("2026-11-20", "10:00")
    db = str(tmp_path / "s.sqlite")
    h = Harness(cfg, [Satisfaction(cfg)], fri, db_path=db)
    visit(h, "W1", "M1", "S001", fri)
    h.do("window.rate", "W1", timeout=True)
    visit(h, "W1", "M1", "S001", fri + 600)
    h.do("window.rate", "W1", level=4)
    h2 = Harness(cfg, [Satisfaction(cfg)], fri + 3600, db_path=db)
    views = {(e.spec, e.ident): e.payload for e in h2.exts[0].republish(h2.e, fri + 3600)}
    hall = views[("stats.satisfaction.day", "hall")]
    assert (hall.rated, hall.not_rated, hall.avg) == (1, 1, 4.0)
    assert views[("stats.satisfaction.window", "W1")].rated == 1


def test_a_late_kiosk_rating_after_a_timeout_opens_the_followup_with_reasons():
    cfg = cfg_with(followup={"deadline_working_days": 2})
    sat = at("2026-11-21", "10:00")  # a Saturday (the test hall's hours do not matter to ratings)
    h = Harness(cfg, [Followups(cfg), Satisfaction(cfg)], sat)
    tid = visit(h, "W3", "M3", "S003", sat, phone="13900001111")
    h.do("window.rate", "W3", timeout=True)
    assert h.take("alert.followup") == []
    h.do("kiosk.rate", "K2", sat + 900, ticket=tid, secret=h.e.tickets[tid].secret, level=1,
         reasons=["attitude", "other"], comment="等太久")
    [(_, f)] = h.take("alert.followup")
    assert (f.reasons, f.comment, f.phone, f.callback_due, f.due) == (
        ["attitude", "other"], "等太久", "139****1111", "2026-11-22", "2026-11-23")
    hall = dict(h.take("stats.satisfaction.day"))["hall"]
    assert (hall.rated, hall.bad, hall.not_rated) == (1, 1, 0)

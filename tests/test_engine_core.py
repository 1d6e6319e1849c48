"""The pure engine core: numbering, routing policy, window actions, refusals."""

from __future__ import annotations

import copy
import datetime as dt
from zoneinfo import ZoneInfo

import msgspec
import pytest

from caller import forecast
from caller.engine import Engine
from hall import messages as m
from hall.config import parse_config
from tests.conftest import small_raw

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=TZ).timestamp()  # a Monday, 09:00 local
MIN = 60.0


class Hall:
    """Drives an Engine with request structs, as the shell would."""

    def __init__(self, **over):
        raw = small_raw()
        for k, v in over.items():
            raw[k] = {**raw.get(k, {}), **v}
        self.cfg = parse_config(raw)
        self.e = Engine(self.cfg)
        self.e.restore([], [], [], {}, [], now=T0)
        self.n = 0

    def req(self, op: str, ident: str, now: float, **body):
        self.n += 1
        typ = m.REQUEST_TYPES[op]
        out = self.e.handle(op, ident, msgspec.convert({"id": f"r{self.n}", **body}, typ), now)
        return out

    def ok(self, op, ident, now, **body):
        out = self.req(op, ident, now, **body)
        assert out.error is None, out.error
        return out.data

    def err(self, op, ident, now, **body) -> str:
        out = self.req(op, ident, now, **body)
        assert out.error is not None, f"{op} should be refused"
        return out.error[0]

    def issue(self, now, **body):
        return self.ok("kiosk.issue", "K1", now, **body)

    def login(self, wid, staff, now=T0):
        return self.ok("window.login", wid, now, staff=staff)

    def next(self, wid, now):
        st = self.ok("window.next", wid, now)
        return st.ticket.number if st.ticket else None


def test_numbers_run_per_prefix_and_never_repeat_in_a_day():
    h = Hall()
    nums = [h.issue(T0 + i, matter=mt).number for i, mt in enumerate(["M1", "M4", "M1", "M2", "M5"])]
    assert nums == ["A001", "G001", "A002", "A003", "G002"]
    assert h.issue(T0 + 10, bundle="B1").number == "Y001"


def test_numbering_resets_at_local_midnight_not_utc():
    h = Hall()
    late = dt.datetime(2026, 11, 23, 23, 59, tzinfo=TZ).timestamp()
    a = h.issue(late, matter="M1")
    b = h.issue(late + 30, matter="M1")
    # 00:00:30 Shanghai is 16:00 UTC of the *same* UTC day: still a new hall day
    c = h.issue(late + 90, matter="M1")
    assert (a.number, b.number, c.number) == ("A001", "A002", "A001")
    assert a.ticket == "20261123-A001" and c.ticket == "20261124-A001"
    assert a.day == "2026-11-23" and c.day == "2026-11-24"
    # yesterday's waiting tickets are closed, not carried into today's queue
    h.login("W1", "S1", late + 100)
    assert h.next("W1", late + 100) == "A001"
    assert h.next("W1", late + 101) is None  # finishes A001; yesterday's A001/A002 are gone
    assert h.err("window.next", "W1", late + 102) == "queue_empty"


def test_priority_boost_moves_ahead_but_ageing_wins():
    h = Hall()
    h.issue(T0, matter="M4")                          # G001 normal
    h.issue(T0 + 1 * MIN, matter="M4")                # G002 normal
    h.issue(T0 + 5 * MIN, matter="M4", priority="elderly")  # G003 boost 15
    h.login("W5", "S5")
    assert h.next("W5", T0 + 6 * MIN) == "G003"       # 1 + 15 > 6
    assert h.next("W5", T0 + 7 * MIN) == "G001"

    h2 = Hall()
    h2.issue(T0, matter="M4")                          # waits from 09:00
    h2.issue(T0 + 61 * MIN, matter="M4", priority="green", priority_code="LS2026")
    h2.login("W5", "S5")
    # at 10:01: normal has 61 minutes, green 0 + 60 boost: the long wait wins
    assert h2.next("W5", T0 + 61 * MIN) == "G001"


def test_skill_weight_prefers_but_does_not_starve():
    h = Hall()
    h.issue(T0, matter="M2")           # A001: W1 weight 1
    h.issue(T0 + 5 * MIN, matter="M1")  # A002: W1 weight 3 → +10 minutes
    h.login("W1", "S1")
    assert h.next("W1", T0 + 6 * MIN) == "A002"  # 1 + 10 > 6
    h3 = Hall()
    h3.issue(T0, matter="M2")
    h3.issue(T0 + 11 * MIN, matter="M1")
    h3.login("W1", "S1")
    assert h3.next("W1", T0 + 11 * MIN) == "A001"  # 11 > 0 + 10


def test_window_only_calls_what_it_serves():
    h = Hall()
    h.issue(T0, matter="M4")
    h.login("W4", "S4")  # serves M3 only
    assert h.err("window.next", "W4", T0 + 1) == "queue_empty"
    h.login("W5", "S5")
    assert h.next("W5", T0 + 2) == "G001"


def test_bundle_served_by_listed_or_fully_skilled_windows():
    h = Hall()
    h.issue(T0, bundle="B1")
    h.login("W4", "S4")
    assert h.err("window.next", "W4", T0 + 1) == "queue_empty"
    h.login("W1", "S1")  # serves M1 and M2, hence B1
    assert h.next("W1", T0 + 2) == "Y001"


def test_transfer_to_matter_keeps_number_and_place():
    h = Hall()
    h.issue(T0, matter="M1")                      # A001
    h.issue(T0 + 1 * MIN, matter="M3")            # A002
    h.login("W1", "S1")
    h.login("W3", "S3")
    assert h.next("W1", T0 + 2 * MIN) == "A001"
    h.ok("window.transfer", "W1", T0 + 3 * MIN, matter="M3")
    # A001 went into M3's line with its 09:00 place, before A002 (09:01)
    assert h.next("W3", T0 + 4 * MIN) == "A001"
    t = h.e.find_ticket("A001")
    assert (t.matter, t.transfers, t.window) == ("M3", 1, "W3")


def test_transfer_to_window_only_that_window_calls_it():
    h = Hall()
    h.issue(T0, matter="M1")
    h.login("W1", "S1")
    h.login("W2", "S2")
    h.login("W3", "S3")
    h.next("W1", T0 + 1)
    h.ok("window.transfer", "W1", T0 + 2, window="W3")
    assert h.err("window.next", "W2", T0 + 3) == "queue_empty"
    assert h.next("W3", T0 + 4) == "A001"


def test_recall_limit_noshow_and_requeue_deadline():
    h = Hall()
    h.issue(T0, matter="M4")
    h.login("W5", "S5")
    h.next("W5", T0 + 1)
    assert h.ok("window.recall", "W5", T0 + 2).ticket.recalls == 1
    assert h.ok("window.recall", "W5", T0 + 3).ticket.recalls == 2
    assert h.err("window.recall", "W5", T0 + 4) == "recall_limit"
    h.ok("window.noshow", "W5", T0 + 5)
    t = h.e.find_ticket("G001")
    assert t.state == "noshow" and t.requeue_until == T0 + 5 + 30 * MIN
    h.issue(T0 + 6, matter="M4")  # G002 came meanwhile
    info = h.ok("kiosk.requeue", "K1", T0 + 10 * MIN, ticket=t.id, secret=t.secret)
    assert (info.state, info.number, info.ahead) == ("waiting", "G001", 1)  # back of the line
    assert h.next("W5", T0 + 11 * MIN) == "G002"
    h.ok("window.noshow", "W5", T0 + 12 * MIN)
    g2 = h.e.find_ticket("G002")
    assert h.err("kiosk.requeue", "K1", T0 + 43 * MIN, ticket="G002", secret=g2.secret) == "requeue_expired"


def test_refusals_leave_state_unchanged():
    h = Hall()
    h.issue(T0, matter="M1")
    before = msgspec.json.encode([h.e.tickets, h.e.windows, h.e.summary(T0)])
    assert h.err("window.next", "W1", T0 + 1) == "not_logged_in"
    assert h.err("kiosk.issue", "K1", T0 + 1, matter="M999") == "unknown_matter"
    assert h.err("kiosk.issue", "K1", T0 + 1, bundle="B9") == "unknown_bundle"
    assert h.err("kiosk.issue", "K1", T0 + 1, matter="M1", bundle="B1") == "bad_request"
    assert h.err("kiosk.issue", "K1", T0 + 1, matter="M1", priority="vip") == "unknown_priority"
    assert h.err("kiosk.issue", "K1", T0 + 1, matter="M1", priority="green",
                 priority_code="WRONG") == "bad_priority_code"
    assert h.err("kiosk.issue", "K1", T0 + 1, matter="M1", priority="appointment") == "bad_priority"
    assert h.err("window.recall", "W1", T0 + 1) == "not_logged_in"
    assert h.err("kiosk.ticket", "K1", T0 + 1, ticket="A999") == "unknown_ticket"
    assert h.err("kiosk.cancel", "K1", T0 + 1, ticket="nope", secret="00000000") == "unknown_ticket"
    assert msgspec.json.encode([h.e.tickets, h.e.windows, h.e.summary(T0)]) == before
    assert h.e.numbering.last(h.e.day, "A") == 1


def test_window_presence_rules():
    h = Hall()
    h.login("W1", "S1")
    assert h.err("window.login", "W1", T0, staff="S2") == "occupied"
    assert h.err("window.login", "W2", T0, staff="S1") == "staff_elsewhere"
    h.issue(T0, matter="M1")
    h.next("W1", T0 + 1)
    assert h.err("window.pause", "W1", T0 + 2) == "busy"
    assert h.err("window.logout", "W1", T0 + 2) == "busy"
    h.ok("window.finish", "W1", T0 + 3)
    assert h.ok("window.pause", "W1", T0 + 4).status == "paused"
    h.issue(T0 + 5, matter="M1")
    assert h.err("window.next", "W1", T0 + 6) == "paused"
    h.ok("window.resume", "W1", T0 + 7)
    assert h.next("W1", T0 + 8) == "A002"
    h.ok("window.finish", "W1", T0 + 9)
    assert h.ok("window.logout", "W1", T0 + 10).status == "closed"
    assert h.err("window.next", "W1", T0 + 11) == "not_logged_in"


def test_next_finishes_current_and_prompts_evaluator():
    h = Hall()
    h.issue(T0, matter="M1")
    h.issue(T0 + 1, matter="M1")
    h.login("W1", "S1")
    h.next("W1", T0 + 2)
    out = h.req("window.next", "W1", T0 + 10 * MIN)
    specs = [e.spec for e in out.events]
    assert specs == ["window.evaluate", "zone.called"]
    prompt = out.events[0].payload
    assert (prompt.number, prompt.window, prompt.staff, prompt.timeout_s) == ("A001", "W1", "S1", 30)
    called = out.events[1].payload
    assert (called.number, called.window_number, called.zone, called.event) == ("A002", "1", "Z1", "20261123-A002#1")
    # next with an empty queue still closes the visit, then says nobody waits
    h.ok("window.next", "W1", T0 + 20 * MIN)
    assert h.e.find_ticket("A002").state == "done"
    assert h.err("window.next", "W1", T0 + 21 * MIN) == "queue_empty"


def test_one_rating_per_visit_and_timeout_is_not_a_rating():
    h = Hall()
    h.issue(T0, matter="M1")
    h.login("W1", "S1")
    h.next("W1", T0 + 1)
    assert h.err("window.rate", "W1", T0 + 2, level=5) == "no_ticket"  # nothing finished yet
    assert h.err("window.rate", "W1", T0 + 2, level=5, ticket="20261123-A001") == "bad_state"
    h.ok("window.finish", "W1", T0 + 3)
    h.ok("window.rate", "W1", T0 + 40, timeout=True)
    ch = h.e.drain()
    assert [(r.level, r.source) for r in ch.ratings] == [(None, "timeout")]
    # the citizen may still rate later at a kiosk, once
    sec = h.e.find_ticket("A001").secret
    h.ok("kiosk.rate", "K1", T0 + 60, ticket="20261123-A001", secret=sec, level=2, reasons=["efficiency"])
    assert h.err("kiosk.rate", "K1", T0 + 61, ticket="20261123-A001", secret=sec, level=5) == "already_rated"
    assert h.err("window.rate", "W1", T0 + 62, level=5) == "already_rated"
    r = h.e.drain().ratings
    assert [(x.level, x.source, x.window, x.staff, x.matter) for x in r] == [(2, "kiosk", "W1", "S1", "M1")]


def test_estimate_learns_from_served_tickets():
    h = Hall()
    first = h.issue(T0, matter="M6")  # expected 8 minutes
    # nobody logged in yet, but W5 and W6 are attended: one of them is expected in 2 minutes
    assert (first.ahead, first.estimate_min, first.estimate_lo_min, first.estimate_hi_min) == (0, 2, 0, 4)
    h.login("W8", "S8")
    for i in range(5):
        h.issue(T0 + i, matter="M6")
    start = T0 + 60
    for i in range(6):  # each visit takes 20 minutes (≤ the 4 × 8 clip)
        h.next("W8", start + i * 20 * MIN)
    h.ok("window.finish", "W8", start + 120 * MIN)
    learned = h.e.estimator.handle_min("M6")
    assert 15 < learned < 20
    h.issue(start + 121 * MIN, matter="M6")  # W8 takes this one at once…
    h.next("W8", start + 121 * MIN)
    later = h.issue(start + 122 * MIN, matter="M6")
    # …and this one waits for the rest of W8's visit (one minute in: the median rest of a
    # visit of the learned length and spread, at W8's own pace — slower than the matter's
    # mean, which lags); W5/W6 are closed while W8 is staffed
    est = h.e.estimator
    speed = est.speed("W8")
    assert 1.1 < speed < 1.4
    rest = forecast.remaining_s(est.handle_s("M6") * speed, est.spread_s("M6") * speed, 60.0)
    assert (later.ahead, later.estimate_min) == (0, round(rest / 60))
    assert rest / 60 < learned * speed - 1  # the median is below the mean
    h.login("W5", "S5", start + 122 * MIN)
    h.ok("window.pause", "W5", start + 122 * MIN)
    h.login("W6", "S6", start + 122 * MIN)
    h.ok("window.pause", "W6", start + 122 * MIN)
    later2 = h.e.info(h.e.tickets[later.ticket], start + 122 * MIN)
    # paused windows are expected back ten minutes after they paused, before W8's visit ends
    assert learned * h.e.estimator.show_factor() - 1 > 10
    assert later2.estimate_min == 10


def test_appointment_checkin_on_time_late_and_twice():
    h = Hall()
    appts = [{"code": "BK1", "matter": "M4", "start": T0 + 30 * MIN, "end": T0 + 60 * MIN},
             {"code": "BK2", "matter": "M4", "start": T0 - 30 * MIN, "end": T0},
             {"code": "BK3", "matter": "M4", "start": T0 + 120 * MIN, "end": T0 + 150 * MIN}]
    h.ok("config.appointments", "hall", T0, appointments=appts)
    a = h.ok("kiosk.checkin", "K1", T0 + 10 * MIN, code="BK1")
    assert a.priority == "appointment"
    assert h.ok("kiosk.checkin", "K1", T0 + 11 * MIN, code="BK1").ticket == a.ticket  # same ticket
    assert h.ok("kiosk.checkin", "K1", T0 + 12 * MIN, code="BK2").priority == "normal"  # 42 min late
    assert h.err("kiosk.checkin", "K1", T0 + 13 * MIN, code="BK3") == "too_early"
    assert h.err("kiosk.checkin", "K1", T0 + 13 * MIN, code="NOPE") == "unknown_appointment"


def test_restore_rebuilds_queues_and_numbers():
    h = Hall()
    for i in range(3):
        h.issue(T0 + i, matter="M1")
    h.login("W1", "S1")
    h.next("W1", T0 + 10)
    ch = h.e.drain()
    e2 = Engine(h.cfg)
    e2.restore(copy.deepcopy(ch.tickets), ch.windows, ch.counters, {}, [], now=T0 + 20)
    assert e2.windows["W1"].current == "20261123-A001"
    assert e2.routing.waiting_for_window("W1") == 2
    out = e2.handle("kiosk.issue", "K1", m.IssueRequest(id="x", matter="M1"), T0 + 30)
    assert out.data.number == "A004"


def test_zone_board_and_unattended_alarm():
    h = Hall()
    h.issue(T0, matter="M1")
    h.issue(T0, matter="M2")
    h.issue(T0, matter="M4")
    h.login("W1", "S1")
    h.next("W1", T0 + 5)
    b = h.e.zone_board("Z1", T0 + 6)
    assert [(c.number, c.window_number) for c in b.current] == [("A001", "1")]
    assert [c.number for c in b.recent] == ["A001"]
    w = h.e.zone_waiting("Z1", T0 + 6)
    assert (w.groups, w.total, w.windows) == ({"A": 1}, 1, {"W1": 1, "W2": 1, "W3": 1, "W4": 0})
    h.e.drain()
    h.e.tick(T0 + 7)  # Monday 09:00: in service hours
    alerts = {a.window: a.active for a in h.e.drain().alerts}
    assert alerts == {w: True for w in ("W2", "W3", "W4", "W5", "W6", "W7")}  # W8 is not attended
    h.login("W2", "S2", T0 + 8)
    h.e.drain()
    h.e.tick(T0 + 9)
    assert [(a.window, a.active) for a in h.e.drain().alerts] == [("W2", False)]


def test_day_span_follows_the_local_calendar_across_dst():
    from hall.clock import day_span
    start, end = day_span("2026-03-08", "America/New_York")  # spring forward: 23 hours
    assert end - start == 23 * 3600
    start, end = day_span("2026-11-23", "Asia/Shanghai")
    assert (end - start, start) == (24 * 3600, dt.datetime(2026, 11, 23, tzinfo=TZ).timestamp())


def test_a_citizens_actions_need_the_tickets_secret():
    h = Hall()
    t = h.issue(T0, matter="M1")
    assert len(t.secret) == 16 and int(t.secret, 16) >= 0  # returned to the issuing kiosk
    other = h.issue(T0 + 1, matter="M1")
    assert other.secret != t.secret
    # the look-up by id shows no secret; a window's state neither
    assert h.ok("kiosk.ticket", "K2", T0 + 2, ticket=t.ticket).secret is None
    # guessing the id is not enough, nor another ticket's secret
    assert h.err("kiosk.cancel", "K2", T0 + 3, ticket=t.ticket, secret=other.secret) == "bad_secret"
    assert h.e.find_ticket("A001").state == "waiting"
    assert h.ok("kiosk.cancel", "K2", T0 + 4, ticket=t.ticket, secret=t.secret).state == "cancelled"
    # a ticket stored before tickets had secrets can be acted on by nobody
    h.e.find_ticket("A002").secret = ""
    assert h.err("kiosk.cancel", "K1", T0 + 5, ticket="A002", secret="00000000") == "bad_secret"

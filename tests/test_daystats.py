"""Daily aggregates: a hand-computed day, merging days into a month, presence
stretches from window records, the day's close and the backfill at start."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from caller.cases import Case, CaseStep
from caller.daystats import DayStats, Presence, aggregate
from caller.effects import Changes
from caller.engine import Engine
from caller.model import Rating, Ticket, WindowRec
from caller.store import Store
from hall import messages as m
from hall.config import parse_config
from hall.daystats import DayStat, figures, merge, percentile_min

from .conftest import small_raw

DAY = "2026-11-24"  # a Tuesday
T0 = dt.datetime(2026, 11, 24, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()


def at(h: int, mi: int = 0, s: int = 0) -> float:
    return T0 + h * 3600 + mi * 60 + s


@pytest.fixture
def cfg():
    return parse_config(small_raw())


def ticket(n: int, matter: str, zone: str, issued: float, called: float | None = None,
           served: float | None = None, finished: float | None = None, state: str = "done",
           window: str | None = None, staff: str | None = None, outcome: str | None = None,
           noshow_at: float | None = None) -> Ticket:
    return Ticket(id=f"20261124-A{n:03d}", day=DAY, number=f"A{n:03d}", group="A", seq=n, service=matter,
                  matter=matter, bundle=None, zone=zone, priority="normal", lang="zh-CN", state=state,
                  issued_at=issued, enqueued_at=issued, window=window, staff=staff, called_at=called,
                  first_called_at=called, served_at=served, finished_at=finished, noshow_at=noshow_at,
                  outcome=m.VisitOutcome(kind=outcome, note="缺材料" if outcome == "correction" else None)
                  if outcome else None)


def rating(t: Ticket, level: int | None, when: float) -> Rating:
    return Rating(ticket=t.id, day=DAY, level=level, source="timeout" if level is None else "evaluator",
                  window=t.window, staff=t.staff, matter=t.matter, at=when)


def test_a_small_day_adds_up_by_hand(cfg):
    # three citizens of 市场监督管理局 at window W1 (staff S1), one of 人社局 who never came
    a = ticket(1, "M1", "Z1", at(9, 0), at(9, 4), at(9, 5), at(9, 25), window="W1", staff="S1", outcome="done")
    b = ticket(2, "M2", "Z1", at(9, 10), at(9, 25), at(9, 26), at(9, 36), window="W1", staff="S1",
               outcome="correction")
    c = ticket(3, "M1", "Z1", at(10, 30), at(10, 31, 30), at(10, 32), at(11, 2), window="W1", staff="S1")
    d = ticket(4, "M4", "Z2", at(10, 40), at(10, 50), state="cancelled", window="W5", staff="S5",
               noshow_at=at(10, 53))
    e = ticket(5, "M4", "Z2", at(16, 0), state="cancelled")  # still waiting at closing time
    ratings = [rating(a, 5, at(9, 26)), rating(b, None, at(9, 37)), rating(b, 2, at(9, 50)),
               rating(c, None, at(11, 3))]
    presence = [Presence(day=DAY, window="W1", staff="S1", status="open", start=at(8, 0), end=at(10, 0)),
                Presence(day=DAY, window="W1", staff="S1", status="paused", start=at(10, 0), end=at(10, 15)),
                Presence(day=DAY, window="W1", staff="S1", status="open", start=at(10, 15), end=at(12, 0))]
    case = Case(case="2026000001", ticket=a.id, source="W1", matter="M1", department="市场监督管理局",
                stage="ready", accepted_day="2026-11-20", deadline="2026-11-25",
                steps=[CaseStep(stage="accepted", at=at(9, 0) - 4 * 86400, handler="S1"),
                       CaseStep(stage="ready", at=at(15, 0), handler="S1")], result="early")
    rows = {(s.scope, s.key): s for s in aggregate(cfg, DAY, [a, b, c, d, e], ratings, presence, [case])}

    assert sorted(rows) == sorted([
        ("hall", "hall"), ("zone", "Z1"), ("zone", "Z2"), ("department", "市场监督管理局"),
        ("department", "人社局"), ("matter", "M1"), ("matter", "M2"), ("matter", "M4"),
        ("window", "W1"), ("window", "W5"), ("staff", "S1"), ("staff", "S5")])
    w1 = rows[("window", "W1")]
    # waits 4 min, 15 min, 1.5 min; handling 20, 10, 30 min; busy (call → finish) 21, 11, 30.5 min
    assert (w1.issued, w1.called, w1.served, w1.noshow) == (0, 3, 3, 0)
    assert w1.wait_s == 4 * 60 + 15 * 60 + 90 and w1.wait_hist == {4: 1, 15: 1, 1: 1}
    assert w1.handle_n == 3 and w1.handle_s == 60 * 60
    assert w1.busy_s == (21 + 11 + 30.5) * 60
    assert w1.outcomes == {"done": 1, "correction": 1}
    assert w1.levels == {5: 1, 2: 1} and w1.not_rated == 1  # b rated later: counted once, as 2
    # open 08:30 (service hours) → 10:00 and 10:15 → 12:00; paused 15 min
    assert w1.open_s == (90 + 105) * 60 and w1.paused_s == 15 * 60
    assert w1.cases == {"early": 1}
    f = figures(w1)
    assert f["median_wait_min"] == 4 and f["p90_wait_min"] == 15 and f["avg_handle_min"] == 20.0
    assert f["satisfaction"] == 0.5 and f["bad"] == 1 and f["correction"] == 1
    assert f["idle_min"] == round((195 - 62.5), 1) and f["utilisation"] == round(62.5 / 210, 4)

    hall = rows[("hall", "hall")]
    assert (hall.issued, hall.called, hall.served, hall.noshow, hall.cancelled) == (5, 4, 3, 1, 1)
    assert hall.arrivals == {9: 2, 10: 2, 16: 1}
    assert rows[("department", "人社局")].issued == 2 and rows[("department", "人社局")].noshow == 1
    assert rows[("department", "市场监督管理局")].cases == {"early": 1}
    assert rows[("staff", "S1")].cases == {"early": 1} and rows[("zone", "Z1")].open_s == w1.open_s


def test_a_month_percentile_comes_from_the_month_waits_not_from_daily_ones():
    # day 1: nine short waits; day 2: one long wait.  The month's median is short;
    # the mean of the daily medians (1 and 60) would say 30.
    d1 = DayStat(day="2026-11-02", scope="hall", key="hall", wait_n=9, wait_hist={1: 9})
    d2 = DayStat(day="2026-11-03", scope="hall", key="hall", wait_n=1, wait_hist={60: 1})
    month = merge([d1, d2], scope="hall", key="hall")
    assert month.wait_hist == {1: 9, 60: 1} and month.wait_n == 10
    assert percentile_min(month.wait_hist, 0.5) == 1
    assert percentile_min(month.wait_hist, 0.9) == 1  # 9 of 10 waited a minute
    assert percentile_min(month.wait_hist, 0.95) == 60
    assert percentile_min({}, 0.5) is None


def test_presence_stretches_follow_the_windows_through_the_core_and_split_at_midnight(cfg):
    e = Engine(cfg)
    e.restore([], [], [], {}, [], now=at(7, 0))
    ds = DayStats(cfg)

    class NoStore:
        def presence(self, day):
            return []

        def days_to_close(self, today):
            return []
    ds.restore(NoStore(), e, at(7, 0))

    def act(op: str, when: float, **body) -> list:
        req = msgspec.convert({"id": f"{op}{when}", **body}, m.REQUEST_TYPES[op])
        assert e.handle(op, "W1", req, when).error is None
        return ds.on_events(e.drain().domain, e, when).records

    assert act("window.login", at(9, 0), staff="S1") == []
    e.handle("kiosk.issue", "K1", m.IssueRequest(id="i1", matter="M1"), at(9, 1))
    # a visit: the window's current ticket changes, its presence does not
    assert act("window.next", at(9, 5)) == [] and act("window.finish", at(9, 15)) == []
    assert act("window.pause", at(10, 0), reason="lunch") == [
        Presence(day=DAY, window="W1", staff="S1", status="open", start=at(9, 0), end=at(10, 0))]
    assert act("window.resume", at(10, 20)) == [
        Presence(day=DAY, window="W1", staff="S1", status="paused", start=at(10, 0), end=at(10, 20))]
    live = ds.window_figures("W1", at(11, 20))
    assert (live.open_min, live.paused_min, live.served, live.avg_handle_s) == (120.0, 20.0, 1, 600.0)
    # nobody logged out: midnight cuts the open stretch at the day's end
    e.tick(at(24, 0, 1))
    out = ds.on_events(e.drain().domain, e, at(24, 0, 1))
    assert out.records == [
        Presence(day=DAY, window="W1", staff="S1", status="open", start=at(10, 20), end=at(24, 0))]
    assert ds.to_close == [(DAY, at(24, 0, 1) + 5.0)] and ds.window_figures("W1", at(24, 1)).served == 0
    assert act("window.logout", at(24 + 8, 0)) == [
        Presence(day="2026-11-25", window="W1", staff="S1", status="open", start=at(24, 0), end=at(32, 0))]


def test_the_closed_day_is_written_once_and_a_missed_day_is_closed_at_start(cfg, tmp_path):
    store = Store(tmp_path / "c.sqlite")
    store.open()
    a = ticket(1, "M1", "Z1", at(9, 0), at(9, 4), at(9, 5), at(9, 25), window="W1", staff="S1")
    ch = Changes(tickets=[a], ratings=[rating(a, 4, at(9, 26))])
    store.commit(ch, [], [Presence(day=DAY, window="W1", staff="S1", status="open", start=at(9, 0),
                                   end=at(10, 0))])
    # the next morning the engine starts: yesterday has tickets and no aggregate
    e = Engine(cfg)
    e.restore(*store.load("2026-11-25"), now=at(24 + 8))
    ds = DayStats(cfg)
    ds.restore(store, e, at(24 + 8))
    assert ds.to_close == [(DAY, at(24 + 8))]
    out = ds.tick(e, at(24 + 8, 0, 1))
    written = [r for r in out.records if isinstance(r, DayStat)]
    assert written == aggregate(cfg, DAY, [a], [rating(a, 4, at(9, 26))], store.presence(DAY))
    assert out.events and out.events[0].spec == "stats.windows"  # and the dashboard's figures
    store.commit(Changes(), [], written)
    hall = msgspec.json.decode(store.db.execute(
        "SELECT data FROM day_stats WHERE day = ? AND scope = 'hall'", (DAY,)).fetchone()[0])
    assert hall["served"] == 1 and hall["levels"] == {"4": 1} and hall["open_s"] == 3600
    assert store.days_to_close("2026-11-25") == []  # closed: not again at the next start
    store.close()

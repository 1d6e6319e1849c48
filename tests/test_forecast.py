"""caller/forecast.py: "ahead" against an idle hall that really calls, and the wait
forecast on hand-made halls whose answer can be worked out on paper."""

from __future__ import annotations

import random

import pytest

from caller import forecast
from tests.test_engine_core import MIN, T0, Hall

M6 = 8.0  # expected minutes of M6 in tests/halls/small.yaml


def cf_shift(est, service: str, window: str | None, visits: int, windows: int = 1) -> float:
    """Mean − median (seconds) of a wait behind ``visits`` log-normal visits shared by
    ``windows`` windows, worked out on paper (Cornish-Fisher: κ3 / 6σ²; each visit's
    κ3 = (c² + 3)·c·sd³ with c its coefficient of variation)."""
    speed = est.speed(window) if window else 1.0
    sd = est.spread_s(service) * speed
    c = sd / (est.handle_s(service) * speed)
    var, k3 = visits * sd * sd / windows ** 2, visits * (c * c + 3) * c * sd ** 3 / windows ** 3
    return k3 / (6 * var)


def waiting(h: Hall) -> list:
    return [t for t in h.e.tickets.values() if t.state == "waiting"]


def test_a_batch_issued_in_one_instant_gets_distinct_places():
    h = Hall()
    h.login("W5", "S5")
    infos = [h.issue(T0, matter="M4") for _ in range(4)]  # one batch: one `now`
    assert [i.ahead for i in infos] == [0, 1, 2, 3]
    # and the engine calls them in exactly that order
    assert [h.next("W5", T0 + 60) for _ in range(4)] == [i.number for i in infos]


def test_ahead_counts_other_matters_a_window_prefers():
    h = Hall()
    h.login("W1", "S1")  # M1 weight 3, M2 weight 1, skill step 5 minutes
    m1 = h.issue(T0 + 60, matter="M1")  # 10 s later in line, but a 10-minute skill bonus
    m2 = h.issue(T0, matter="M2")
    assert (h.e.tickets[m1.ticket].enqueued_at, h.e.tickets[m2.ticket].enqueued_at) == (T0 + 60, T0)
    assert forecast.ahead(h.e, h.e.tickets[m2.ticket], T0 + 60) == 1
    assert forecast.ahead(h.e, h.e.tickets[m1.ticket], T0 + 60) == 0


def _idle_hall_order(seed: int) -> None:
    """Random queue; freeze the clock; the ticket's open windows call in turn."""
    rng = random.Random(seed)
    h = Hall()
    staffed = rng.sample(["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8"], rng.randint(1, 5))
    for i, wid in enumerate(staffed):
        h.login(wid, f"S{i}")
    now = T0
    for _ in range(rng.randint(1, 25)):
        now += rng.choice([0, 0, 1, 30, 200])  # many share an instant
        klass = rng.choice(["normal"] * 6 + ["elderly"])
        h.issue(now, matter=rng.choice(["M1", "M2", "M3", "M4", "M5", "M6"]), priority=klass)
    frozen = now + rng.choice([0, 60, 1200])
    target = rng.choice(waiting(h))
    predicted = forecast.ahead(h.e, target, frozen)
    servers = forecast._open_servers(h.e, h.e.line_of(target))
    if all(h.e.windows[w].status == "closed" for w in servers):
        return  # nobody to call it: not this property's case
    called = 0
    while True:
        progressed = False
        for wid in servers:
            out = h.req("window.next", wid, frozen)
            if out.error is not None:
                assert out.error[0] == "queue_empty"
                continue
            progressed = True
            if out.data.ticket.ticket == target.id:
                assert called == predicted, f"seed {seed}: called {called} before, predicted {predicted}"
                return
            called += 1
        assert progressed, f"seed {seed}: the target was never called"


@pytest.mark.parametrize("seed", range(150))
def test_ahead_is_the_order_in_which_an_idle_hall_calls(seed):
    _idle_hall_order(seed)


def test_ahead_catches_a_policy_change():
    """The property above fails if the policy's tie rule differs from the forecast's."""
    orig = forecast._Lists.take

    def lifo_ties(self, wid, h, now):  # later queue sequence first on equal scores
        best, best_key = None, None
        for key, slot, bonus, lst, size in self.cands[wid]:
            i = self.ptr[slot]
            if i >= size:
                continue
            place, qseq, tid = lst[i]
            score = ((now - place) / 60.0 + bonus, -place, qseq)
            if best_key is None or score > best_key:
                best_key, best = score, (key, slot, tid)
        if best is None:
            return None
        self.ptr[best[1]] += 1
        return best[0][0], best[0][1], best[2]

    forecast._Lists.take = lifo_ties
    try:
        failures = 0
        for seed in range(60):
            try:
                _idle_hall_order(seed)
            except AssertionError:
                failures += 1
        assert failures > 0
    finally:
        forecast._Lists.take = orig


def test_one_window_three_ahead():
    h = Hall()
    h.login("W8", "S8")  # W8 serves M6 only
    for i in range(3):
        h.issue(T0 + i, matter="M6")
    t = h.issue(T0 + 10, matter="M6")
    est = h.e.estimator
    sf = est.show_factor()
    # W8 is idle: it calls the first now, the second after one visit, … ours after three;
    # the figure is the median of the three visits' sum, below their mean
    assert t.ahead == 3
    assert cf_shift(est, "M6", "W8", 3) == pytest.approx((0.36 + 3) * 0.6 * 0.6 * M6 * 60 / 6)  # 1.6 min
    assert t.estimate_min == round((3 * M6 * 60 * sf - cf_shift(est, "M6", "W8", 3)) / 60)
    assert t.estimate_lo_min <= t.estimate_min <= t.estimate_hi_min
    assert t.estimate_hi_min - t.estimate_lo_min >= 2


def test_a_busy_window_frees_first():
    h = Hall()
    h.login("W5", "S5")
    h.login("W6", "S6")
    a = h.issue(T0, matter="M6")
    h.next("W5", T0)  # W5 serves `a` from 09:00
    for i in range(2):
        h.issue(T0 + 1 + i, matter="M6")
    t = h.issue(T0 + 5 * MIN, matter="M6")
    est = h.e.estimator
    sf = est.show_factor()
    # 09:05: W6 idle takes #1 now; W5 frees at 09:08 and takes #2; W6 frees at 09:05 + 8·sf
    # → ours (the median: two visits handled first by two windows)
    assert t.ahead == 2
    assert t.estimate_min == round((M6 * 60 * sf - cf_shift(est, "M6", None, 2, 2)) / 60)
    assert a.ticket


def test_lunch_is_not_waiting_time_of_the_windows():
    h = Hall()
    h.login("W8", "S8")
    noon = T0 + 170 * MIN  # 11:50
    for i in range(3):
        h.issue(noon + i, matter="M6")
    t = h.issue(noon + 3, matter="M6")
    est = h.e.estimator
    sf = est.show_factor()
    # calls at 11:50, 11:57.7; the third would be 12:05 → 13:30 (the afternoon opens); ours one
    # visit later, less the skew of three visits
    expected = (13.5 * 60 + M6 * sf) - (11 * 60 + 50 + 3 / 60) - cf_shift(est, "M6", "W8", 3) / 60
    assert t.estimate_min == round(expected)
    # the range says "before the break, or after it": three quick visits would make it
    assert t.estimate_lo_min < 10 and t.estimate_hi_min > 100


def test_priority_arrivals_to_come_lengthen_the_wait():
    def morning(elderly_share: int, klass: str = "elderly") -> Hall:
        h = Hall()
        h.login("W8", "S8")
        for k in range(12):  # one citizen every 8 minutes, served at once for 8 minutes
            at = T0 + k * M6 * MIN
            elderly = elderly_share and k % elderly_share == 0
            extra = {"priority": klass, "priority_code": "LS2026"} if klass == "green" else {"priority": klass}
            h.issue(at, matter="M6", **(extra if elderly else {"priority": "normal"}))
            h.next("W8", at)
        return h

    now = T0 + 12 * M6 * MIN
    told = []
    for hall in (morning(0), morning(3), morning(1, "green")):
        for _ in range(4):
            hall.issue(now, matter="M6")
        told.append(hall.issue(now, matter="M6"))
    plain, some, many = told
    assert plain.ahead == some.ahead == many.ahead == 4
    # elderly citizens still to come get a 15-minute boost: some of them will go first.
    # One in three (one every 24 minutes): more likely than not none comes within the
    # boost, so the median stays and the range widens; a green-channel citizen (60
    # minutes) every 8 minutes: the median moves too
    assert some.estimate_min == plain.estimate_min and some.estimate_hi_min > plain.estimate_hi_min
    assert many.estimate_min > plain.estimate_min


def test_nobody_can_serve_it():
    h = Hall()
    h.login("W5", "S5")  # W8 (M6 only) is not attended; W5/W6 serve M6 too
    raw_closed = Hall()
    t = raw_closed.issue(T0, matter="M6")
    assert t.estimate_min == 2  # before the first login: an attended window is expected soon
    h.ok("window.logout", "W5", T0)
    assert h.e.windows["W5"].status == "closed"


def test_the_rest_of_a_visit_in_hand():
    mean, sd = 600.0, 400.0  # a 10-minute matter, log-normal spread
    fresh = forecast.remaining_s(mean, sd, 0.0)
    assert 480 < fresh < 600  # the median of a skewed length is below its mean
    assert forecast.remaining_s(mean, sd, 300.0) < fresh
    # a visit far past its mean is not about to end: long visits run longer still
    assert forecast.remaining_s(mean, sd, 1800.0) > 0.3 * mean


# ------------------------------------------------ what the day teaches the forecast --
def served(h: Hall, wid: str, n: int, at: float, walk_s: float, visit_s: float) -> float:
    """``n`` M6 visits at ``wid`` from ``at``: called, started ``walk_s`` later, finished
    ``visit_s`` after the start; returns the time the last one finished."""
    for _ in range(n):
        h.issue(at, matter="M6")
        h.next(wid, at)
        h.ok("window.start", wid, at + walk_s)
        at += walk_s + visit_s
        h.ok("window.finish", wid, at)
    return at


def test_the_walk_up_is_part_of_what_a_call_costs():
    quick, slow = Hall(), Hall()
    for h, walk in ((quick, 0.0), (slow, 120.0)):
        h.login("W8", "S8")
        served(h, "W8", 5, T0, walk, M6 * MIN)
    est = slow.e.estimator
    assert est.walk.mean() == 120.0 and quick.e.estimator.walk.mean() == 0.0
    now = T0 + 60 * MIN
    waits = []
    for h in (quick, slow):
        for i in range(3):
            h.issue(now + i, matter="M6")
        waits.append(h.issue(now + 3, matter="M6"))
    # three calls before it at the one window, each two minutes longer (less the no-show share)
    p = est.noshow_share()
    assert waits[1].ahead == waits[0].ahead == 3
    assert waits[1].estimate_min - waits[0].estimate_min == round(3 * 2 * (1 - p))


def test_a_citizen_who_never_comes_costs_the_learned_wait():
    h = Hall()
    h.login("W8", "S8")
    for k in range(4):  # staff wait 5 minutes for each before marking the no-show
        h.issue(T0 + k * 10 * MIN, matter="M6")
        h.next("W8", T0 + k * 10 * MIN)
        h.ok("window.noshow", "W8", T0 + k * 10 * MIN + 5 * MIN)
    est = h.e.estimator
    prior, weight = 120.0, 3.0
    assert est.noshow_cost.mean() == (4 * 300.0 + prior * weight) / (4 + weight)
    p = est.noshow_share()
    assert est.call_s("M6", "W8") == pytest.approx(
        (1 - p) * est.handle_s("M6") * est.speed("W8") + p * est.noshow_cost.mean())


def test_a_slow_window_is_expected_to_stay_slow():
    h = Hall()
    h.login("W5", "S5")  # W5 and W6 both serve M6 (8 minutes expected)
    h.login("W6", "S6")
    end5 = served(h, "W5", 6, T0, 0.0, 16 * MIN)  # twice the matter's time
    end6 = served(h, "W6", 6, T0, 0.0, 8 * MIN)
    est = h.e.estimator
    # shrunk towards 1 (two hours of work judge a clerk), against a mean W5 itself raised
    assert est.speed("W5") > 1.1 and est.speed("W6") < 1.0
    now = max(end5, end6) + MIN
    for i in range(3):
        h.issue(now + i, matter="M6")
    t = h.e.tickets[h.issue(now + 3, matter="M6").ticket]
    mids = {}
    for wid, other in (("W5", "W6"), ("W6", "W5")):  # the same queue behind one window at a time
        h.ok("window.logout", other, now + 4)
        _, w = forecast.position(h.e, t, now + 4)
        mids[wid] = w.mid_s
        h.login(other, "S" + other[1], now + 4)
    # three calls before it, each at that window's own pace (the median of their sum)
    assert mids["W5"] == pytest.approx(3 * est.call_s("M6", "W5") - cf_shift(est, "M6", "W5", 3))
    assert mids["W6"] == pytest.approx(3 * est.call_s("M6", "W6") - cf_shift(est, "M6", "W6", 3))
    assert mids["W5"] - mids["W6"] > 5 * MIN


def test_a_paused_window_comes_back_after_the_learned_pause():
    h = Hall()
    h.login("W8", "S8")
    for k in range(4):  # today's pauses last 20 minutes
        h.ok("window.pause", "W8", T0 + k * 30 * MIN)
        h.ok("window.resume", "W8", T0 + k * 30 * MIN + 20 * MIN)
    est = h.e.estimator
    assert est.pause.mean() == (4 * 1200.0 + 2 * 600.0) / 6
    now = T0 + 130 * MIN
    h.ok("window.pause", "W8", now)
    t = h.issue(now + MIN, matter="M6")
    # W8 is the only staffed window for M6: back at the learned pause length after it paused
    assert t.estimate_min == round(est.pause.mean() / 60) - 1


def test_staff_back_late_after_lunch_delay_the_afternoon_calls():
    def day(late_min: float) -> Hall:
        h = Hall()
        opening = T0 - 30 * MIN  # 08:30
        h.login("W8", "S8", opening + late_min * MIN)
        return h

    on_time, late = day(0), day(6)
    assert late.e.estimator.login_late.mean() == 360.0
    assert on_time.e.estimator.login_late.mean() == 0.0
    noon = T0 + 170 * MIN  # 11:50: three before it, the third called after the break
    told = []
    for h in (on_time, late):
        for i in range(3):
            h.issue(noon + i, matter="M6")
        told.append(h.issue(noon + 3, matter="M6"))
    # the afternoon opens at 13:30; staff are expected back six minutes later
    assert told[1].estimate_min - told[0].estimate_min == 6
    # a login long after the start of a period is not "late from a break"
    mid = Hall()
    mid.login("W8", "S8", T0 + 60 * MIN)
    assert mid.e.estimator.login_late.n == 0


def test_what_a_command_learned_is_undone_with_it():
    from caller.estimate import Estimator
    est = Estimator({"M6": 8.0}, 0.2)
    before = est.learned("M6", "W8")
    est.observe("M6", 900.0, "W8", walk_s=40.0)
    assert est.speed("W8") != 1.0 and est.walk.n == 1
    est.forget("M6", before)
    assert (est.speed("W8"), est.walk.n, est.walk.total, est.handle_min("M6")) == (1.0, 0, 0.0, 8.0)
    # and through the engine: a refused command leaves nothing learned
    h = Hall()
    h.login("W8", "S8")
    h.issue(T0, matter="M6")
    h.next("W8", T0)
    assert h.err("window.noshow", "W7", T0 + MIN) == "not_logged_in"
    h.ok("window.start", "W8", T0 + MIN)
    assert h.e.estimator.noshow_cost.n == 0 and h.e.estimator.walk.n == 0


def test_a_lent_window_counts_at_once():
    """The forecast's cache of the skills follows a loan (Routing.version)."""
    h = Hall()
    h.login("W8", "S8")
    h.login("W1", "S1")
    for i in range(4):
        h.issue(T0 + i, matter="M6")
    t = h.e.tickets[h.issue(T0 + 5, matter="M6").ticket]
    alone = forecast.position(h.e, t, T0 + 10)
    h.e.routing.lend("W1", "M6", 0.0)
    helped = forecast.position(h.e, t, T0 + 10)
    # the same four are called first, by two windows now: the wait halves
    assert helped[0] == alone[0] == 4 and helped[1].mid_s < 0.6 * alone[1].mid_s
    h.e.routing.unlend("W1", "M6")
    assert forecast.position(h.e, t, T0 + 10) == alone


def test_nobody_takes_a_number_during_lunch():
    """Citizens still to come (who may be called first) arrive only while the kiosks
    issue: the lunch break brings none where numbers are given in service hours only."""
    shut = Hall(queue={"issue_only_in_service_hours": True}).e
    open_all_day = Hall().e  # the test hall issues at any hour
    at_1150, at_1320 = T0 + 170 * MIN, T0 + 260 * MIN
    assert forecast._arriving_minutes(shut, at_1150, 30) == pytest.approx(10)  # 11:50–12:00
    assert forecast._arriving_minutes(shut, at_1320, 30) == pytest.approx(20)  # 13:30–13:50
    assert forecast._arriving_minutes(shut, T0, 30) == 30
    assert forecast._arriving_minutes(open_all_day, at_1150, 30) == 30


def test_the_figure_is_the_median_of_the_wait():
    """Cornish-Fisher's median of a sum of log-normal visits, against the sum itself
    drawn 20,000 times: the figure a citizen is told is wrong by the least on average."""
    import math
    import statistics

    h = Hall()
    est = h.e.estimator
    rng = random.Random(7)
    mean, sd = est.handle_s("M6"), est.spread_s("M6")
    sigma = math.sqrt(math.log(1 + (sd / mean) ** 2))
    for n in (3, 8, 20):  # (one visit: an approximation within 8 %)
        sums = [sum(rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma) for _ in range(n))
                for _ in range(20000)]
        told = n * mean - cf_shift(est, "M6", None, n)
        assert told == pytest.approx(statistics.median(sums), rel=0.03), n
        assert statistics.median(sums) < n * mean  # the mean would be told too long


def test_windows_back_from_lunch_count_before_their_clerks_log_in():
    """At 13:31 one clerk is back; the other, who logged out for the break, is expected
    at 13:30 plus today's lateness — not treated as an empty window (空岗)."""
    h = Hall()  # open 08:30–12:00 and 13:30–17:30
    for wid in ("W5", "W6"):
        h.login(wid, "S" + wid[1], T0 - 30 * MIN)  # 08:30 sharp: no lateness learned
    noon, back = T0 + 180 * MIN, T0 + 271 * MIN  # 12:00, 13:31
    for wid in ("W5", "W6"):
        h.ok("window.logout", wid, noon)
    h.login("W5", "S5", back)
    for i in range(4):
        h.issue(back + i, matter="M6")
    t = h.e.tickets[h.issue(back + 5, matter="M6").ticket]
    _, both = forecast.position(h.e, t, back + 5)
    # the same at 13:50: W6's clerk is 20 minutes late, past a late return
    later = back + 19 * MIN
    assert forecast.position(h.e, t, later)[1].mid_s > both.mid_s
    alone = Hall()
    alone.login("W5", "S5", back)
    for i in range(4):
        alone.issue(back + i, matter="M6")
    u = alone.e.tickets[alone.issue(back + 5, matter="M6").ticket]
    _, one = forecast.position(alone.e, u, back + 5)
    # five calls shared by two windows instead of one: about half the wait
    assert both.mid_s < 0.65 * one.mid_s


def test_a_call_pushed_past_the_break_only_by_citizens_still_to_come():
    """11:50, the replay calls it at 11:55; citizens still to come would push the median
    past 12:00.  The figure stays at the break's edge (docs/estimates.md: moving it past
    the break was wrong more often than not), the range reaches past the break."""
    h = Hall()
    h.login("W8", "S8")
    now = T0 + 170 * MIN  # 11:50
    t = h.e.tickets[h.issue(now, matter="M6").ticket]
    h.e.inflow.terms = lambda line, klass, at: [(60.0, 120.0)]  # two minutes of work a minute
    w = forecast._with_inflow(h.e, t, "M6", {"W8"}, 5 * MIN, 0.0, now)
    assert w.mid_s == 10 * MIN
    assert w.lo_s < 10 * MIN and w.hi_s > 100 * MIN
    # the replay itself crossing the break: the figure stays after it, whatever the median
    w = forecast._with_inflow(h.e, t, "M6", {"W8"}, 101 * MIN, 0.0, now)
    assert w.mid_s >= 100 * MIN



def test_related_windows_are_the_routings_own_lists_and_follow_a_loan():
    """The forecast's related windows of a line are the routing's lists, not a
    copy per line, each neighbour's (line, windows) pair one object (2.9 MB at
    1,000 windows); a loan changes the routing's version and what the forecast
    sees with it."""
    h = Hall()
    r, shape = h.e.routing, h.e.shape
    first, neighbours = shape.related("M1")
    assert first is r.servers["M1"] and sorted(first) == ["W1", "W2", "W3"]
    assert all(servers is r.servers[ln] for ln, servers in neighbours)
    assert {ln for ln, _ in neighbours} == {ln for w in first for ln in r.skills[w]} and "M4" not in dict(neighbours)
    m3 = [p for p in neighbours if p[0] == "M3"]
    assert m3 and [p for p in shape.related("M2")[1] if p[0] == "M3"][0] is m3[0]  # one pair per line
    r.lend("W5", "M1", 5.0)  # W5 serves M4, M5, M6
    first, neighbours = shape.related("M1")
    assert "W5" in first and {"M4", "M5", "M6"} <= {ln for ln, _ in neighbours}
    r.unlend("W5", "M1")
    assert "W5" not in shape.related("M1")[0]

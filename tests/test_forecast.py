"""caller/forecast.py: "ahead" against an idle hall that really calls, and the wait
forecast on hand-made halls whose answer can be worked out on paper."""

from __future__ import annotations

import random

import pytest

from caller import forecast
from tests.test_engine_core import MIN, T0, Hall

M6 = 8.0  # expected minutes of M6 in tests/halls/small.yaml


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
    orig = forecast._Lists.pick

    def lifo_ties(self, wid, now):  # later queue sequence first on equal scores
        best, best_key = None, None
        cands = self.cands.get(wid)
        for line, klass, bonus, lst in (cands if cands is not None else self._gather(wid)):
            i = self.ptr[(line, klass)]
            if i >= len(lst):
                continue
            place, qseq, tid = lst[i]
            key = ((now - place) / 60.0 + bonus, -place, qseq)
            if best_key is None or key > best_key:
                best_key, best = key, (line, klass, tid)
        if best is not None:
            self.ptr[(best[0], best[1])] += 1
        return best

    forecast._Lists.pick = lifo_ties
    try:
        failures = 0
        for seed in range(60):
            try:
                _idle_hall_order(seed)
            except AssertionError:
                failures += 1
        assert failures > 0
    finally:
        forecast._Lists.pick = orig


def test_one_window_three_ahead():
    h = Hall()
    h.login("W8", "S8")  # W8 serves M6 only
    for i in range(3):
        h.issue(T0 + i, matter="M6")
    t = h.issue(T0 + 10, matter="M6")
    sf = h.e.estimator.show_factor()
    # W8 is idle: it calls the first now, the second after one visit, … ours after three
    assert t.ahead == 3
    assert t.estimate_min == round((10 + 3 * M6 * 60 * sf - 10) / 60)
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
    sf = h.e.estimator.show_factor()
    # 09:05: W6 idle takes #1 now; W5 frees at 09:08 and takes #2; W6 frees at 09:05 + 8·sf → ours
    assert t.ahead == 2
    assert t.estimate_min == round(M6 * sf)
    assert a.ticket


def test_lunch_is_not_waiting_time_of_the_windows():
    h = Hall()
    h.login("W8", "S8")
    noon = T0 + 170 * MIN  # 11:50
    for i in range(3):
        h.issue(noon + i, matter="M6")
    t = h.issue(noon + 3, matter="M6")
    sf = h.e.estimator.show_factor()
    # calls at 11:50, 11:57.7; the third would be 12:05 → 13:30 (the afternoon opens); ours one visit later
    expected = (13.5 * 60 + M6 * sf) - (11 * 60 + 50 + 3 / 60)
    assert t.estimate_min == round(expected)


def test_priority_arrivals_to_come_lengthen_the_wait():
    def morning(elderly_share: int) -> Hall:
        h = Hall()
        h.login("W8", "S8")
        for k in range(12):  # one citizen every 8 minutes, served at once for 8 minutes
            at = T0 + k * M6 * MIN
            elderly = elderly_share and k % elderly_share == 0
            h.issue(at, matter="M6", priority="elderly" if elderly else "normal")
            h.next("W8", at)
        return h

    now = T0 + 12 * M6 * MIN
    mixed, plain = morning(3), morning(0)
    for hall in (mixed, plain):
        for _ in range(4):
            hall.issue(now, matter="M6")
    t = mixed.issue(now, matter="M6")
    u = plain.issue(now, matter="M6")
    assert t.ahead == u.ahead == 4
    # elderly citizens still to come get a 15-minute boost: some of them will go first
    assert t.estimate_min > u.estimate_min


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

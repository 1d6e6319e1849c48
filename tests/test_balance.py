"""caller/balance.py: comprehensive windows lent to long queues, on hand-made halls."""

from __future__ import annotations

import msgspec
import pytest

from caller.engine import Engine
from hall import messages as m
from hall.config import ConfigError, parse_config
from tests.conftest import small_raw
from tests.test_engine_core import MIN, T0


def hall(mode: str = "auto", **balance) -> "Hall":
    raw = small_raw()
    raw["queue"]["balance"] = {"mode": mode, "busy_minutes": 10, "idle_minutes": 3, "hold_minutes": 15,
                               "every_s": 60, **balance}
    for w in raw["windows"]:
        if w["id"] == "W5":
            w["authorised"] = ["Z1"]  # a social-insurance clerk trained for enterprise matters
    return Hall(parse_config(raw))


class Hall:
    def __init__(self, cfg):
        self.cfg = cfg
        self.e = Engine(cfg)
        self.e.restore([], [], [], {}, [], now=T0)
        self.n = 0

    def ok(self, op, ident, now, **body):
        self.n += 1
        out = self.e.handle(op, ident, msgspec.convert({"id": f"r{self.n}", **body}, m.REQUEST_TYPES[op]), now)
        assert out.error is None, out.error
        return out

    def queue_m1(self, n: int, now: float = T0) -> None:
        for i in range(n):
            self.ok("kiosk.issue", "K1", now + i, matter="M1")

    def tick(self, now: float):
        self.e.tick(now)
        return self.e.drain()


def test_an_idle_comprehensive_window_is_lent_to_a_long_queue():
    h = hall()
    h.ok("window.login", "W1", T0, staff="S1")
    h.ok("window.login", "W5", T0, staff="S5")
    h.queue_m1(4)  # 4 × 20 min with one window: 80 minutes to clear
    ch = h.tick(T0 + MIN)
    assert ch.balance
    assert h.e.routing.skills["W5"]["M1"] < 1  # below its own matters
    view = h.e.balancer.view(T0 + MIN)
    assert [(x.window, x.line, x.clearing_min) for x in view.active] == [("W5", "M1", 80.0)]
    assert view.mode == "auto" and view.suggested == [] and view.moves_today == 1
    # W5 calls from the lent line while its own queue is empty…
    st = h.ok("window.next", "W5", T0 + 2 * MIN).data
    assert st.ticket.matter == "M1"
    # …and the call shows on both zones' screens (the citizen waits in Z1)
    assert sorted(e.ident for e in h.ok("window.next", "W5", T0 + 3 * MIN).events
                  if e.spec == "zone.called") == ["Z1", "Z2"]


def test_own_citizens_first_at_a_lent_window():
    h = hall()
    h.ok("window.login", "W1", T0, staff="S1")
    h.ok("window.login", "W5", T0, staff="S5")
    h.queue_m1(4)
    h.tick(T0 + MIN)
    own = h.ok("kiosk.issue", "K1", T0 + 5 * MIN, matter="M4").data
    st = h.ok("window.next", "W5", T0 + 6 * MIN).data
    assert st.ticket.ticket == own.ticket  # though the M1 tickets waited five minutes longer


def test_suggest_mode_changes_no_window():
    h = hall("suggest")
    h.ok("window.login", "W1", T0, staff="S1")
    h.ok("window.login", "W5", T0, staff="S5")
    h.queue_m1(4)
    assert h.tick(T0 + MIN).balance
    assert "M1" not in h.e.routing.skills["W5"]
    view = h.e.balancer.view(T0 + MIN)
    assert view.active == [] and [(x.window, x.line) for x in view.suggested] == [("W5", "M1")]


def test_hysteresis_hold_then_release_and_never_mid_visit():
    h = hall()
    h.ok("window.login", "W1", T0, staff="S1")
    h.ok("window.login", "W5", T0, staff="S5")
    h.queue_m1(4)
    h.tick(T0 + MIN)
    h.ok("window.next", "W5", T0 + 2 * MIN)  # W5 serves an M1 citizen
    h.ok("window.next", "W1", T0 + 2 * MIN)
    h.ok("window.next", "W1", T0 + 3 * MIN)  # one M1 left: 20 minutes > idle, still lent
    assert not h.tick(T0 + 4 * MIN).balance
    h.ok("window.next", "W1", T0 + 5 * MIN)  # the queue is empty, but the hold is 15 minutes
    h.tick(T0 + 6 * MIN)
    assert "M1" in h.e.routing.skills["W5"]
    current = h.e.windows["W5"].current
    ch = h.tick(T0 + 17 * MIN)  # held long enough, queue clear: given back
    assert ch.balance and "M1" not in h.e.routing.skills["W5"]
    assert h.e.windows["W5"].current == current  # its visit in hand stays its own


def test_a_lent_window_goes_home_when_its_own_queue_grows():
    h = hall()
    for wid in ("W1", "W5"):
        h.ok("window.login", wid, T0, staff=f"S{wid}")
    h.queue_m1(6)
    h.tick(T0 + MIN)
    assert "M1" in h.e.routing.skills["W5"]
    for i in range(3):  # 3 × 10 min of its own work: over 2 × idle_minutes
        h.ok("kiosk.issue", "K1", T0 + 2 * MIN + i, matter="M4")
    assert h.tick(T0 + 3 * MIN).balance  # before the hold ends: its own citizens need it
    assert "M1" not in h.e.routing.skills["W5"]


def test_off_mode_lends_nothing_and_a_config_push_ends_loans():
    h = hall("off")
    h.ok("window.login", "W1", T0, staff="S1")
    h.ok("window.login", "W5", T0, staff="S5")
    h.queue_m1(4)
    assert not h.tick(T0 + MIN).balance
    auto = hall()
    auto.ok("window.login", "W1", T0, staff="S1")
    auto.ok("window.login", "W5", T0, staff="S5")
    auto.queue_m1(4)
    auto.tick(T0 + MIN)
    assert auto.e.reconfigure(auto.cfg) is None
    assert "M1" not in auto.e.routing.skills["W5"] and auto.e.balancer.loans == {}


def test_a_refused_command_leaves_loans_and_skills_as_they_were():
    h = hall()
    h.ok("window.login", "W1", T0, staff="S1")
    h.ok("window.login", "W5", T0, staff="S5")
    h.queue_m1(4)
    h.tick(T0 + MIN)
    skills = dict(h.e.routing.skills["W5"])
    out = h.e.handle("window.recall", "W5", m.Plain(id="x"), T0 + 2 * MIN)  # nothing called: refused
    assert out.error is not None and h.e.routing.skills["W5"] == skills


@pytest.mark.parametrize("balance, field", [
    ({"idle_minutes": 10, "busy_minutes": 5}, "idle_minutes must be below busy_minutes"),
])
def test_bad_balance_config_is_refused(balance, field):
    raw = small_raw()
    raw["queue"]["balance"] = balance
    with pytest.raises(ConfigError) as ei:
        parse_config(raw)
    assert field in str(ei.value)


def test_unknown_authorisation_is_refused():
    raw = small_raw()
    raw["windows"][0]["authorised"] = ["NOPE"]
    with pytest.raises(ConfigError) as ei:
        parse_config(raw)
    assert "windows[0].authorised: unknown matter, bundle or zone 'NOPE'" in str(ei.value)


def test_a_window_stays_home_while_its_own_arrivals_need_the_windows_there():
    """`spare_load`: a window is lent only while the windows left at home could carry
    the arrivals to its own matters (a lent visit keeps it from its own citizens)."""
    def after(arrivals: int) -> list:
        h = hall()
        for wid in ("W1", "W5", "W6"):
            h.ok("window.login", wid, T0, staff="S" + wid[1])
        for i in range(arrivals):  # social-security cards, 10 minutes each, all called by W6
            h.ok("kiosk.issue", "K1", T0 + i, matter="M4")
        for i in range(arrivals):
            h.ok("window.next", "W6", T0 + 10 + i)
        h.e.estimator.load("M4", 10.0)  # the visits took their 10 minutes (the test pressed at once)
        h.queue_m1(4, T0 + 20)
        h.tick(T0 + MIN)
        return [(x.window, x.line) for x in h.e.balancer.view(T0 + MIN).active]

    # W6 stays at home: 2 arrivals in the last minute ≈ 0.65 of its time (30-minute rate)
    assert after(2) == [("W5", "M1")]
    # 3 arrivals ≈ 0.97 of W6's time: more than spare_load (0.8), so W5 is not lent
    assert after(3) == []

"""The counts the engine keeps as tickets come and go (waiting per window, the
zones' published counts, the sorted sizes of the estimates' errors) always
equal the ones computed again from scratch, whatever sequence of commands,
refusals, failures, loans, config pushes and day changes led there."""

from __future__ import annotations

import copy
import random
from collections import Counter

import msgspec
import pytest

from caller import forecast
from caller.engine import Engine
from hall import messages as m
from hall.config import parse_config
from tests.conftest import small_raw
from tests.test_engine_core import T0

LINES = ["M1", "M2", "M3", "M4", "M5", "M6", "B1"]
WINDOWS = [f"W{i}" for i in range(1, 9)]


def recounted(e: Engine) -> tuple[Counter, dict[str, int]]:
    """Waiting per line from the tickets themselves, and per window from the skills."""
    by_line: Counter = Counter(e.line_of(t) for t in e.tickets.values() if t.state == "waiting")
    per_window = {wid: sum(by_line[ln] for ln in e.routing.skills[wid]) for wid in e.routing.skills}
    return by_line, per_window


def check(e: Engine, now: float) -> None:
    by_line, per_window = recounted(e)
    assert +e.routing.waiting_by_line == by_line
    for wid, n in per_window.items():
        assert e.routing.waiting_for_window(wid) == n, wid
    for z in e.cfg.zones:
        view = e.zone_waiting(z.id, now)
        assert view.windows == {w.id: per_window[w.id] for w in e.cfg.windows if w.zone == z.id}
    assert e.estimate_abs == sorted(abs(x) for x in e.estimate_errors)
    assert e.zones_of_lines(set(by_line)) == {e.cfg.window(w).zone for ln in by_line
                                               for w in e.routing.servers.get(ln, ())}


def other_config() -> dict:
    """The small hall with W3 and W6 serving more (the skills change under waiting tickets)."""
    raw = small_raw()
    raw["windows"][2]["serves"] = {"M1": 1, "M2": 1, "M3": 3, "M4": 1}
    raw["windows"][5]["serves"] = {"M4": 1, "M5": 1, "M6": 1, "M3": 2}
    return raw


class Driver:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.cfgs = [parse_config(small_raw()), parse_config(other_config())]
        self.e = Engine(self.cfgs[0])
        self.e.restore([], [], [], {}, [], now=T0)
        self.now = T0
        self.secrets: dict[str, str] = {}
        self.n = 0

    def req(self, op: str, ident: str, **body) -> None:
        self.n += 1
        self.e.handle(op, ident, msgspec.convert({"id": f"r{self.n}", **body}, m.REQUEST_TYPES[op]), self.now)

    def some_ticket(self) -> str:
        return self.r.choice(list(self.e.tickets) or ["none"])

    def step(self) -> None:
        r, e = self.r, self.e
        self.now += r.choice([1, 5, 30, 120])
        k = r.random()
        if k < 0.30:
            line = r.choice(LINES)
            body = {"bundle": line} if line.startswith("B") else {"matter": line}
            self.n += 1
            out = e.handle("kiosk.issue", "K1", msgspec.convert(
                {"id": f"r{self.n}", "priority": r.choice(["normal", "elderly"]), **body},
                m.IssueRequest), self.now)
            if out.data is not None:
                self.secrets[out.data.ticket] = out.data.secret
        elif k < 0.40:
            self.req("window.login", r.choice(WINDOWS), staff=f"S{r.randrange(9)}")
        elif k < 0.58:
            self.req("window.next", r.choice(WINDOWS))
        elif k < 0.63:
            self.req(r.choice(["window.noshow", "window.recall", "window.start", "window.finish"]),
                     r.choice(WINDOWS))
        elif k < 0.69:
            tid = self.some_ticket()
            secret = self.secrets.get(tid) if r.random() < 0.8 else None  # else refused: a wrong secret
            self.req(r.choice(["kiosk.cancel", "kiosk.requeue"]), "K1", ticket=tid, secret=secret or "0" * 16)
        elif k < 0.76:
            to = {"matter": r.choice(LINES)} if r.random() < 0.5 else {"window": r.choice(WINDOWS)}
            self.req("window.transfer", r.choice(WINDOWS), **to)
        elif k < 0.80:
            self.req(r.choice(["window.pause", "window.resume", "window.logout"]), r.choice(WINDOWS))
        elif k < 0.87:  # the balancer lends and takes back
            wid, line = r.choice(WINDOWS), r.choice(LINES + [f"@{w}" for w in WINDOWS])
            if r.random() < 0.6:
                e.routing.lend(wid, line, 5.0)
            else:
                e.routing.unlend(wid, line)
        elif k < 0.93:  # a command that fails halfway (ticket queued, or called and judged): undone whole
            def boom(*a, **kw):
                raise RuntimeError("injected")
            if r.random() < 0.5:
                real, forecast.position = forecast.position, boom
                try:
                    with pytest.raises(RuntimeError):
                        self.req("kiosk.issue", "K1", matter=r.choice(LINES[:6]))
                finally:
                    forecast.position = real
            else:
                e.call = boom  # after the ticket left its line and its estimate was judged
                try:
                    self.req("window.next", r.choice(WINDOWS))
                except RuntimeError:
                    pass
                finally:
                    del e.call
        elif k < 0.97:
            e.reconfigure(self.cfgs[r.randrange(2)])  # may be refused: a ticket would be stranded
        else:
            self.now += 86400 if r.random() < 0.3 else 0  # now and then, a new day
            e.roll_day(self.now)


@pytest.mark.parametrize("seed", range(12))
def test_kept_counts_equal_recounted_after_random_operations(seed):
    d = Driver(seed)
    for _ in range(400):
        d.step()
        check(d.e, d.now)
    # the sequence did reach the states that matter
    assert d.e.stats["issued"] > 0


def test_a_loan_moves_a_windows_count_and_back():
    d = Driver(0)
    for line in ["M4", "M4", "M5", "M1"]:
        d.req("kiosk.issue", "K1", matter=line)
    e = d.e
    assert e.routing.waiting_for_window("W1") == 1 and e.routing.waiting_for_window("W5") == 3
    e.routing.lend("W1", "M4", 5.0)
    assert e.routing.waiting_for_window("W1") == 3
    assert e.zone_waiting("Z1", d.now).windows["W1"] == 3
    e.routing.unlend("W1", "M4")
    assert e.routing.waiting_for_window("W1") == 1
    check(e, d.now)


def test_a_new_config_recounts_under_waiting_tickets():
    d = Driver(0)
    for line in ["M3", "M4", "M3"]:
        d.req("kiosk.issue", "K1", matter=line)
    assert d.e.routing.waiting_for_window("W6") == 1
    assert d.e.reconfigure(d.cfgs[1]) is None
    assert d.e.routing.waiting_for_window("W6") == 3  # now serves M3 too
    assert d.e.routing.waiting_for_window("W3") == 3
    check(d.e, d.now)
    assert copy.copy(d.e.routing.waiting_by_line) == Counter({"M3": 2, "M4": 1})

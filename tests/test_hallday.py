"""sim/hallday.py: a simulated day through the real engine core."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hall.config import load_config
from sim.hallday import HallDay, load_scenario

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "hall.example.yaml"
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def days():
    cfg = load_config(EXAMPLE)
    out = {}
    for mode in ("off", "auto"):
        d = HallDay(cfg, load_scenario("light"), seed=5, balance=mode)
        d.run()
        out[mode] = d
    return out


def test_two_policies_see_the_same_citizens(days):
    off, auto = (sorted((t.issued_at, t.service, t.priority) for t in days[m].result.tickets)
                 for m in ("off", "auto"))
    assert off == auto and len(off) > 300
    assert days["auto"].result.balance_moves >= 0


def test_everyone_is_called_and_nobody_at_lunch(days):
    d = days["off"]
    assert all(t.called_at is not None for t in d.result.tickets)
    for t in d.result.tickets:
        local = dt.datetime.fromtimestamp(t.called_at, TZ).time()
        assert not dt.time(12, 0, 1) <= local < dt.time(13, 30), (t.number, local)


def test_the_oracle_knows_what_each_visit_really_cost(days):
    """bench/estimate.py --oracle: what the simulator says a call will cost is what
    the window then spent on it (a served visit: call to finish)."""
    d = days["off"]
    served = [t for t in d.e.tickets.values() if t.state == "done" and t.calls == 1]
    assert len(served) > 100
    for t in served[:200]:
        assert t.finished_at - t.called_at == pytest.approx(d.true_call_s(t.id, t.window, in_hand=True))


def test_clerks_at_their_own_pace():
    """`staff_pace`: each staffed window's visits are its own factor longer or shorter."""
    cfg = load_config(EXAMPLE)
    d = HallDay(cfg, load_scenario("light").model_copy(update={"staff_pace": 0.3}), seed=5, balance="off")
    d.run()
    paces = sorted(d.pace.values())
    assert len(paces) > 20 and paces[0] < 0.85 and paces[-1] > 1.15
    served = [t for t in d.e.tickets.values() if t.state == "done" and t.calls == 1]
    for t in served[:200]:
        assert t.finished_at - t.called_at == pytest.approx(d.true_call_s(t.id, t.window, in_hand=True))
    # the same citizens as at one pace: the arrivals do not depend on the staff
    same = HallDay(cfg, load_scenario("light"), seed=5, balance="off")
    same.run()
    assert sorted((t.issued_at, t.service) for t in d.result.tickets) == \
        sorted((t.issued_at, t.service) for t in same.result.tickets)


def _day(load: str = "light", **update) -> HallDay:
    cfg = load_config(EXAMPLE)
    d = HallDay(cfg, load_scenario(load).model_copy(update=update), seed=5, balance="off")
    d.run()
    return d


def test_sources_of_error_removed_one_at_a_time(days):
    """bench/estimate.py --decompose: each knob removes one thing from the same day."""
    base = days["off"]
    issued = sorted((t.issued_at, t.service) for t in base.result.tickets)
    assert {t.priority for t in base.result.tickets} >= {"normal", "elderly"}

    plain = _day(priority_share=0.0)  # the same citizens, every one of them normal
    assert sorted((t.issued_at, t.service) for t in plain.result.tickets) == issued
    assert {t.priority for t in plain.result.tickets} == {"normal"}

    # no lunch: the same citizens (the break's would-be arrivals were refused anyway),
    # called during what was the break (a normal day: the light one's queue is empty by then)
    lunch, open_day = _day("normal"), _day("normal", lunch=False)
    assert sorted((t.issued_at, t.service) for t in open_day.result.tickets) == \
        sorted((t.issued_at, t.service) for t in lunch.result.tickets)
    def at_lunch(d: HallDay) -> int:
        return sum(dt.time(12, 5) <= dt.datetime.fromtimestamp(t.called_at, TZ).time() < dt.time(13, 25)
                   for t in d.result.tickets)
    assert at_lunch(lunch) == 0 and at_lunch(open_day) > 5

    # citizens who would not come never take a number; the others are the same
    present = _day(noshows_take_numbers=False)
    kept = sorted((t.issued_at, t.service) for t in present.result.tickets)
    assert set(kept) < set(issued) and len(kept) > 0.9 * len(issued)
    assert not any(t.state == "noshow" or t.calls > 1 for t in present.e.tickets.values())
    assert any(t.calls > 1 or t.state == "noshow" for t in base.e.tickets.values())


class RewrittenFuture(HallDay):
    """The same day up to ``cut``; after it nobody comes and every visit still running
    lasts twice as long — nothing the engine could see before ``cut`` changes."""

    def __init__(self, *a, cut: float, **kw):
        super().__init__(*a, **kw)
        self.cut = cut

    def _on_arrive(self, now: float, arg: str) -> None:
        if now < self.cut:
            super()._on_arrive(now, arg)

    def visit_s(self, tid: str, start: float, handle_s: float) -> float:
        return 2 * handle_s if start + handle_s > self.cut else handle_s


def test_the_estimate_never_sees_the_simulators_future():
    """What a ticket is told at issue depends on the hall until then only: the lengths of
    visits not finished yet and the citizens still to come are the simulator's secret
    (bench/estimate.py --oracle breaks it on purpose, and only there)."""
    cfg = load_config(EXAMPLE)
    day = HallDay(cfg, load_scenario("normal"), seed=5, balance="off")
    day.run()
    cut = dt.datetime(2026, 11, 23, 10, 30, tzinfo=TZ).timestamp()
    other = RewrittenFuture(cfg, load_scenario("normal"), seed=5, balance="off", cut=cut)
    other.run()
    told = {t.number: (t.issued_at, t.est_min, t.est_lo, t.est_hi) for t in day.result.tickets if t.issued_at < cut}
    assert len(told) > 300 and any(t[1] > 20 for t in told.values())
    assert {t.number: (t.issued_at, t.est_min, t.est_lo, t.est_hi)
            for t in other.result.tickets if t.issued_at < cut} == told
    # the rewritten future is real: the same tickets waited differently
    waits = {t.number: t.called_at for t in day.result.tickets if t.issued_at < cut}
    assert sum(t.called_at != waits[t.number] for t in other.result.tickets if t.issued_at < cut) > 20


class Recorded(HallDay):
    """Every request the engine hears, with the simulated present it was sent in."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.sent: list[tuple[str, str, float, float]] = []

    def _req(self, op: str, ident: str, now: float, **body):
        self.sent.append((op, ident, now, self.now))
        return super()._req(op, ident, now, **body)


def test_the_engine_hears_every_request_at_the_simulated_present():
    """A request stamped ahead of the present (a "start" sent with the call, at the time
    the citizen will arrive) lets the engine see the simulator's future: each is sent when
    it happens, and "start" comes after its call by the walk-up."""
    d = Recorded(load_config(EXAMPLE), load_scenario("light"), seed=5, balance="off")
    d.run()
    ahead = [(op, when - present) for op, _, when, present in d.sent if when != present]
    assert ahead == []
    starts = [s for s in d.sent if s[0] == "window.start"]
    assert len(starts) > 100
    served = [t for t in d.e.tickets.values() if t.served_at is not None]
    assert served and all(20 <= t.served_at - t.called_at <= 90 or t.calls > 1 for t in served)

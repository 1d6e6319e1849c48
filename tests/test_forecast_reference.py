"""The engine's replies keep the waiting forecast exactly as the plain algorithm
computes it (tests/forecast_reference.py: the replay before it was made cheap):
on random halls driven through random days, every issue's reply (ahead, the
wait and its range) and every waiting ticket's ``position`` and ``ahead`` are
compared, float for float, with the reference's."""

from __future__ import annotations

import random

import msgspec
import pytest

from caller import forecast
from caller.engine import Engine
from hall import messages as m
from hall.config import parse_config
from tests import forecast_reference as ref
from tests.conftest import small_raw
from tests.test_engine_core import T0

CLASSES = ["normal", "normal", "normal", "elderly", "green", "appointment"]


def random_hall(r: random.Random) -> dict:
    """1–3 zones, 3–8 matters, maybe a bundle, 2–16 windows with random skills."""
    raw = small_raw()
    zones = [f"Z{i}" for i in range(1, r.randint(1, 3) + 1)]
    raw["zones"] = [{"id": z, "name": {"zh": z, "en": z}} for z in zones]
    raw["groups"] = [{"prefix": p, "name": {"zh": p, "en": p}} for p in "ABC"]
    matters = [{"id": f"M{i}", "name": {"zh": f"M{i}", "en": f"M{i}"}, "group": r.choice("AB"),
                "department": {"zh": "d", "en": "d"}, "zone": r.choice(zones),
                "minutes": r.choice([3, 5, 8, 10, 20, 30])} for i in range(1, r.randint(3, 8) + 1)]
    raw["matters"] = matters
    raw["priority"]["skill_step_minutes"] = r.choice([1, 5, 10])
    windows = []
    for i in range(1, r.randint(2, 16) + 1):
        zone = r.choice(zones)
        mine = [mt["id"] for mt in matters if mt["zone"] == zone] or [matters[0]["id"]]
        serves = {mt: r.choice([1, 1, 1, 2, 3, 9]) for mt in r.sample(mine, r.randint(1, len(mine)))}
        windows.append({"id": f"W{i}", "number": str(i), "zone": zone, "serves": serves,
                        "attended": r.random() < 0.7})
    for mt in matters:  # every matter served somewhere (the config refuses otherwise)
        if not any(mt["id"] in w["serves"] for w in windows):
            same = [w for w in windows if w["zone"] == mt["zone"]]
            if same:
                r.choice(same)["serves"][mt["id"]] = r.choice([1, 3])
            else:
                windows.append({"id": f"W{len(windows) + 1}", "number": str(len(windows) + 1),
                                "zone": mt["zone"], "serves": {mt["id"]: 1}, "attended": True})
    raw["windows"] = windows
    z1 = [mt["id"] for mt in matters if mt["zone"] == zones[0]]
    raw["bundles"] = [{"id": "B1", "name": {"zh": "B", "en": "B"}, "matters": z1[:2], "group": "C",
                       "zone": zones[0]}] if len(z1) >= 2 and r.random() < 0.6 else []
    return raw


class Day:
    """One random hall through a random stretch of days, checked after every step."""

    def __init__(self, seed: int):
        self.r = r = random.Random(seed)
        self.cfg = parse_config(random_hall(r))
        self.e = Engine(self.cfg, secret=lambda: "5ec7" * 4)
        # a morning before opening, a busy hour, or just before lunch
        self.now = T0 + r.choice([-45 * 60, 0, 2 * 3600 + 50 * 60])
        self.e.restore([], [], [], {}, [], now=self.now)
        self.lines = [mt.id for mt in self.cfg.matters] + [b.id for b in self.cfg.bundles]
        self.windows = [w.id for w in self.cfg.windows]
        self.n = 0
        self.replies = self.checked = 0

    def req(self, op: str, ident: str, **body) -> m.TicketInfo | None:
        self.n += 1
        out = self.e.handle(op, ident, msgspec.convert({"id": f"r{self.n}", **body}, m.REQUEST_TYPES[op]),
                            self.now)
        return out.data

    def issue(self) -> None:
        r = self.r
        line = r.choice(self.lines)
        klass = r.choice(CLASSES)
        body = {"bundle" if line.startswith("B") else "matter": line, "priority": klass}
        if klass == "green":
            body["priority_code"] = "LS2026"
        info = self.req("kiosk.issue", "K1", **body)
        if info is None:  # refused (an appointment class): nothing was queued
            return
        t = self.e.tickets[info.ticket]
        n, w = ref.position(self.e, t, self.now)
        est, lo, hi = w.minutes() if w is not None else (0, 0, 0)
        assert (info.ahead, info.estimate_min, info.estimate_lo_min, info.estimate_hi_min) == (n, est, lo, hi)
        assert (t.est_min, t.est_lo_min, t.est_hi_min) == (est, lo, hi)
        self.replies += 1

    def step(self) -> None:
        r, e = self.r, self.e
        self.now += r.choice([0, 0, 1, 5, 30, 120, 600])
        k = r.random()
        if k < 0.45:
            for _ in range(r.choice([1, 1, 1, 4, 12])):  # bursts share an instant
                self.issue()
        elif k < 0.55:
            self.req("window.login", r.choice(self.windows), staff=f"S{r.randrange(20)}")
        elif k < 0.70:
            self.req("window.next", r.choice(self.windows))
        elif k < 0.76:
            self.req(r.choice(["window.noshow", "window.recall", "window.start", "window.finish"]),
                     r.choice(self.windows))
        elif k < 0.82:
            to = {"matter": r.choice(self.lines)} if r.random() < 0.5 else {"window": r.choice(self.windows)}
            self.req("window.transfer", r.choice(self.windows), **to)
        elif k < 0.88:
            self.req(r.choice(["window.pause", "window.resume", "window.logout"]), r.choice(self.windows))
        elif k < 0.94:  # the balancer lends and takes back
            wid = r.choice(self.windows)
            line = r.choice(self.lines + [f"@{w}" for w in self.windows])
            if r.random() < 0.6:
                e.routing.lend(wid, line, 5.0)
            else:
                e.routing.unlend(wid, line)
        elif k < 0.97:
            self.now += r.choice([1800, 3600])  # into (or out of) the lunch break
        else:
            waiting = [t for t in e.tickets.values() if t.state == "waiting" and t.secret]
            if waiting:
                t = r.choice(waiting)
                self.req("kiosk.cancel", "K1", ticket=t.id, secret=t.secret)

    def check_all(self) -> None:
        """Every waiting ticket (a sample of them in a long queue): position and
        ahead, with and without the SMS rule's limit, as the reference says."""
        e = self.e
        waiting = [t for t in e.tickets.values() if t.state == "waiting"]
        for t in self.r.sample(waiting, min(len(waiting), 8)):
            assert forecast.position(e, t, self.now) == ref.position(e, t, self.now), t.number
            limit = self.r.choice([None, 0, 2, 5])
            assert forecast.ahead(e, t, self.now, limit) == ref.ahead(e, t, self.now, limit), t.number
            self.checked += 1


@pytest.mark.parametrize("seed", range(24))
def test_replies_and_positions_equal_the_reference(seed, monkeypatch):
    r = random.Random(1000 + seed)
    # the long-queue limits lowered for half the halls, so the extrapolated path and
    # the replay's cut-off are reached by a small hall too
    if seed % 2:
        monkeypatch.setattr(forecast, "FULL_REPLAY", r.choice([4, 10, 25]))
        monkeypatch.setattr(forecast, "FULL_REPLAY_WINDOWS", r.choice([2, 4, 8]))
    d = Day(seed)
    for _ in range(220):
        d.step()
        d.check_all()
    # the sequence reached what matters: replies, queues with staffed windows
    assert d.replies > 20 and d.checked > 100
    assert any(w.status != "closed" for w in d.e.windows.values())


def test_the_comparison_catches_a_changed_replay(monkeypatch):
    """The comparison above fails if the replay's tie rule changes (a heap keyed
    without the queue sequence: tickets issued in one instant swap places)."""
    def heads(self, wid, now):
        cands = self.cands.get(wid)
        if cands is None:
            cands = self._gather(wid)
        h = [(-((now - lst[self.ptr[slot]][0]) / 60.0 + bonus), lst[self.ptr[slot]][0], -lst[self.ptr[slot]][1],
              j, self.ptr[slot]) for j, (_k, slot, bonus, lst, size) in enumerate(cands) if self.ptr[slot] < size]
        forecast.heapq.heapify(h)
        return h

    def take(self, wid, h, now):  # the same as ``take``, with the sequence negated
        cands = self.cands[wid]
        while h:
            _s, _p, _q, j, i = h[0]
            key, slot, bonus, lst, size = cands[j]
            cur = self.ptr[slot]
            if cur < size:
                place, qseq, _tid = lst[cur]
                entry = (-((now - place) / 60.0 + bonus), place, -qseq, j, cur)
                if cur == i:
                    self.ptr[slot] += 1
                    forecast.heapq.heappop(h)
                    if cur + 1 < size:
                        p2, q2, _t2 = lst[cur + 1]
                        forecast.heapq.heappush(h, (-((now - p2) / 60.0 + bonus), p2, -q2, j, cur + 1))
                    return key[0], key[1], lst[cur][2]
                forecast.heapq.heapreplace(h, entry)
            else:
                forecast.heapq.heappop(h)
        return None

    monkeypatch.setattr(forecast._Lists, "heads", heads)
    monkeypatch.setattr(forecast._Lists, "take", take)
    failed = 0
    for seed in range(6):
        try:
            d = Day(seed)
            for _ in range(120):
                d.step()
                d.check_all()
        except AssertionError:
            failed += 1
    assert failed > 0


def test_the_reference_is_the_plain_replay():
    """The reference is not the engine's code under another name."""
    assert ref._Lists is not forecast._Lists and ref.position is not forecast.position
    assert not hasattr(ref._Lists, "heads")

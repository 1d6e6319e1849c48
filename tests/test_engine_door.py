"""Floods at the engine's door: token buckets per client, a bounded queue that
sheds with `busy`, daily caps per kiosk and per phone; each an exact reply."""

from __future__ import annotations

import msgspec
import pytest

from caller.door import TokenBuckets
from caller.service import CallerService
from hall import messages as m
from hall.config import parse_config
from hall.config.door import DoorConfig
from hall.topics import REGISTRY
from tests.conftest import small_raw, unique_hall_id
from tests.fuzzkit import LoopbackBus
from tests.test_engine_core import MIN, T0, Hall


def test_bucket_allows_a_burst_then_the_rate():
    door = DoorConfig(kiosk={"rate": 2, "burst": 3})
    b = TokenBuckets()
    assert [b.take(door, "kiosk", "K1", 100.0) for _ in range(4)] == [True, True, True, False]
    assert b.take(door, "kiosk", "K2", 100.0)  # each client its own bucket
    assert not b.take(door, "kiosk", "K1", 100.4)  # 0.8 of a token back
    assert b.take(door, "kiosk", "K1", 100.5)  # one token after 0.5 s at 2/s
    assert not b.take(door, "kiosk", "K1", 100.5)
    assert [b.take(door, "kiosk", "K1", 1000.0) for _ in range(4)] == [True, True, True, False]  # never over burst


def test_bucket_map_stays_bounded():
    door = DoorConfig()
    b = TokenBuckets(max_clients=100)
    for i in range(1000):
        b.take(door, "kiosk", f"K{i}", float(i))  # each id idle (full again) by the next
    assert len(b._b) <= 100
    for i in range(1000):
        b.take(door, "kiosk", f"X{i}", 5000.0)  # all at once: none idle, the oldest half goes
    assert len(b._b) <= 100


def _service(tmp_path, **door):
    raw = small_raw()
    raw["hall"]["id"] = unique_hall_id()
    raw["door"] = door
    cfg = parse_config(raw)
    bus = LoopbackBus(cfg.hall.id)
    return CallerService(cfg, tmp_path / "door.sqlite", None, bus=bus), bus


def _codes(bus, ident):
    return [msgspec.json.decode(d, type=m.Response) for t, d in bus.replies() if f"/kiosk/{ident}/" in t]


def _req(svc, ident, rid, **body):
    spec = REGISTRY["kiosk.request.issue"]
    parsed = REGISTRY.parse(spec.topic(svc.hall_id, ident))
    svc._on_message(parsed, m.encode({"id": rid, "matter": "M1", **body}))


def test_a_flooding_kiosk_is_limited_and_the_others_are_not(tmp_path):
    svc, bus = _service(tmp_path, kiosk={"rate": 0.001, "burst": 3})
    svc.start()
    try:
        for i in range(10):
            _req(svc, "K1", f"k1-{i}")
        for i in range(2):
            _req(svc, "K2", f"k2-{i}")
        assert bus.wait_for_reply("k2-1", 10) and bus.wait_for_reply("k1-2", 10)
        k1 = {r.id: (r.error.code if r.error else "ok") for r in _codes(bus, "K1")}
        assert k1 == {**{f"k1-{i}": "ok" for i in range(3)}, **{f"k1-{i}": "rate_limited" for i in range(3, 10)}}
        assert len(_codes(bus, "K1")) == 10  # one reply each
        assert [r.status for r in _codes(bus, "K2")] == ["ok", "ok"]
        assert svc.engine.stats["issued"] == 5
    finally:
        svc.stop()


def test_a_full_queue_sheds_with_busy_and_keeps_what_it_queued(tmp_path):
    svc, bus = _service(tmp_path, max_queue=10)
    for i in range(15):  # not started: nothing drains the queue yet
        _req(svc, f"K{i}", f"r{i}")
    shed = {r.id: r.error.code for t, d in bus.replies() for r in [msgspec.json.decode(d, type=m.Response)]}
    assert shed == {f"r{i}": "busy" for i in range(10, 15)}
    svc.start()
    try:
        assert bus.wait_for_reply("r9", 10)
        answered = [msgspec.json.decode(d, type=m.Response) for _t, d in bus.replies()]
        assert len(answered) == 15
        assert sorted(r.id for r in answered if r.status == "ok") == sorted(f"r{i}" for i in range(10))
    finally:
        svc.stop()


def test_daily_caps_per_kiosk_and_per_phone():
    h = Hall(door={"daily_tickets_per_kiosk": 3, "daily_tickets_per_phone": 2})
    phone = "13812345678"
    h.ok("kiosk.issue", "K1", T0, matter="M1", phone=phone)
    h.ok("kiosk.issue", "K2", T0, matter="M1", phone=phone)
    assert h.err("kiosk.issue", "K3", T0, matter="M1", phone=phone) == "daily_cap"
    h.ok("kiosk.issue", "K3", T0, matter="M1", phone="13900000000")
    h.ok("kiosk.issue", "K1", T0, matter="M1")
    h.ok("kiosk.issue", "K1", T0, matter="M1")
    assert h.err("kiosk.issue", "K1", T0, matter="M1") == "daily_cap"
    # a refused issue used no number
    assert h.ok("kiosk.issue", "K2", T0, matter="M1").number == "A006"
    # a new day: the caps start again
    assert h.ok("kiosk.issue", "K1", T0 + 86400, matter="M1", phone=phone).number == "A001"


def test_caps_are_rebuilt_from_the_store_after_a_restart():
    h = Hall(door={"daily_tickets_per_kiosk": 2})
    h.ok("kiosk.issue", "K1", T0, matter="M1")
    h.ok("kiosk.issue", "K1", T0 + MIN, matter="M1")
    ch = h.e.drain()
    h2 = Hall(door={"daily_tickets_per_kiosk": 2})
    h2.e.restore(ch.tickets, [], ch.counters, {}, [], now=T0 + 2 * MIN)
    assert h2.err("kiosk.issue", "K1", T0 + 2 * MIN, matter="M1") == "daily_cap"

"""The filter of idempotency keys (caller/reply_keys.py): a key the store holds
is never answered "not stored", so a retry gets its first answer however long
after, across a restart and a prune; a new key asks SQLite nothing."""

from __future__ import annotations

import msgspec

from caller.effects import Changes
from caller.reply_keys import MAX_DAYS, ReplyKeys
from caller.service import CallerService
from caller.store import Store
from hall import messages as m
from hall.config import parse_config
from hall.crypto import DataCipher, new_key
from hall.topics import REGISTRY
from tests.conftest import small_raw, unique_hall_id
from tests.fuzzkit import LoopbackBus


def test_every_added_key_is_maybe_and_new_keys_almost_never():
    k = ReplyKeys(bits=1 << 16)
    added = [f"kiosk/K{i % 7}/issue/r{i}" for i in range(2000)]
    for key in added:
        k.add(key, "2026-11-25")
    assert all(k.maybe(key) for key in added)
    false = sum(k.maybe(f"kiosk/K1/issue/new{i}") for i in range(5000))
    assert false < 250  # (1 − e^(−2·2000/65536))² ≈ 0.35 %: a few dozen at most


def test_a_days_keys_go_only_when_that_day_is_forgotten():
    k = ReplyKeys(bits=1 << 12)
    k.add("a", "2026-11-24")
    k.add("b", "2026-11-25")
    k.forget_before("2026-11-25")
    assert not k.maybe("a") and k.maybe("b")


def test_days_never_pruned_are_merged_not_dropped():
    k = ReplyKeys(bits=1 << 12)
    days = [f"2026-11-{d:02d}" for d in range(1, MAX_DAYS + 4)]
    for d in days:
        k.add(f"key-{d}", d)
    assert len(k._days) == MAX_DAYS
    assert all(k.maybe(f"key-{d}") for d in days)
    k.forget_before(days[-1])
    assert k.maybe(f"key-{days[-1]}")
    k.add("late", "2026-10-31")  # an older day than any kept (a restart reading the table)
    k.add("later", "2026-10-30")
    assert len(k._days) <= MAX_DAYS and k.maybe("late") and k.maybe("later")


def _store(tmp_path) -> Store:
    s = Store(tmp_path / "keys.sqlite", cipher=DataCipher(new_key()))
    s.open()
    return s


def test_the_store_answers_a_new_key_without_a_query_and_a_stored_one_after_a_restart(tmp_path):
    s = _store(tmp_path)
    s.commit(Changes(), [("kiosk/K1/issue/r1", "2026-11-24", b"one"), ("kiosk/K1/issue/r2", "2026-11-25", b"two")])
    sql: list[str] = []
    s._reader().set_trace_callback(sql.append)
    assert s.reply("kiosk/K1/issue/new") is None
    assert sql == []  # known new: SQLite not asked
    assert s.reply("kiosk/K1/issue/r1") == b"one"
    assert any("SELECT data FROM replies" in q for q in sql)
    s.close()
    s = _store(tmp_path)  # a restart: the keys come back from the table
    assert s.reply("kiosk/K1/issue/r1") == b"one" and s.reply("kiosk/K1/issue/r2") == b"two"
    s.prune_replies("2026-11-25")
    assert s.reply("kiosk/K1/issue/r1") is None and s.reply("kiosk/K1/issue/r2") == b"two"
    s.close()


def _issue(svc: CallerService, rid: str) -> None:
    spec = REGISTRY["kiosk.request.issue"]
    svc._on_message(REGISTRY.parse(spec.topic(svc.hall_id, "K1")), m.encode({"id": rid, "matter": "M1"}))


def _reply(bus: LoopbackBus, rid: str) -> m.Response:
    for _t, d in bus.replies():
        r = msgspec.json.decode(d, type=m.Response)
        if r.id == rid:
            return r
    raise AssertionError(f"no reply to {rid}")


def test_a_retry_past_the_reply_cache_and_a_restart_gets_the_first_answer(tmp_path):
    raw = small_raw()
    raw["hall"]["id"] = unique_hall_id()
    cfg = parse_config(raw)
    cipher = DataCipher(new_key())

    def run(*rids: str) -> tuple[LoopbackBus, int]:
        bus = LoopbackBus(cfg.hall.id)
        svc = CallerService(cfg, tmp_path / "retry.sqlite", None, bus=bus, cipher=cipher)
        svc.start()
        try:
            for rid in rids:
                _issue(svc, rid)
                assert bus.wait_for_reply(rid, 10)
                svc._cache.clear()  # as if thousands of requests came since
            return bus, svc.engine.stats["issued"]
        finally:
            svc.stop()

    bus, issued = run("first", "first")
    assert issued == 1
    first = [msgspec.json.decode(d) for _t, d in bus.replies()]
    assert first[0] == first[1] and first[0]["data"]["number"] == "A001"
    bus, issued = run("first", "second")  # after a restart
    assert issued == 2
    assert msgspec.json.decode(msgspec.json.encode(_reply(bus, "first")))["data"]["number"] == "A001"
    assert _reply(bus, "second").data["number"] == "A002"

"""The engine's shell (caller/shell.py): replies after their commit, group
commit of what arrives while a commit is in flight, and a fair door (a
client's backlog never sits in front of another client's request)."""

from __future__ import annotations

import json
import queue
import threading

import msgspec
import pytest

from caller.door import InboundQueue
from caller.service import CallerService
from hall import messages as m
from hall.broker import start_local_broker
from hall.bus import Bus, Requester
from hall.config import parse_config
from hall.topics import REGISTRY
from tests.conftest import small_raw, unique_hall_id
from tests.fuzzkit import LoopbackBus


def _service(tmp_path, max_batch: int = 500, **door) -> tuple[CallerService, LoopbackBus]:
    raw = small_raw()
    raw["hall"]["id"] = unique_hall_id()
    raw["door"] = {"max_queue": 1000, **door}
    cfg = parse_config(raw)
    bus = LoopbackBus(cfg.hall.id)
    return CallerService(cfg, tmp_path / "shell.sqlite", None, bus=bus, max_batch=max_batch), bus


def _issue(svc: CallerService, ident: str, rid: str) -> None:
    spec = REGISTRY["kiosk.request.issue"]
    svc._on_message(REGISTRY.parse(spec.topic(svc.hall_id, ident)), m.encode({"id": rid, "matter": "M1"}))


def _replies(bus: LoopbackBus) -> list[tuple[str, str]]:
    """(id, code) of every reply, in the order they were published."""
    out = []
    for _t, d in bus.replies():
        r = msgspec.json.decode(d, type=m.Response)
        out.append((r.id, r.error.code if r.error else "ok"))
    return out


def _hang_commits(svc: CallerService, monkeypatch, rid: str):
    """The commit of the batch holding request ``rid`` hangs until released;
    returns (entered, release, keys): ``keys`` the idempotency keys of each
    commit made since, one list per transaction."""
    entered, release = threading.Event(), threading.Event()
    keys: list[list[str]] = []
    real = svc.store.commit

    def hung(ch, replies, records=()):
        mine = [k for k, _day, _data in replies]
        if any(k.endswith(f"/{rid}") for k in mine):
            entered.set()
            release.wait(30)
        keys.append(mine)
        return real(ch, replies, records)

    monkeypatch.setattr(svc.store, "commit", hung)
    return entered, release, keys


def test_inbound_queue_takes_one_request_per_client_per_turn():
    q = InboundQueue()
    for i in range(4):
        q.put("K1", f"k1-{i}")
    q.put("K2", "k2-0")
    q.put("K3", "k3-0")
    q.put("K2", "k2-1")
    assert len(q) == 7
    assert q.take(4) == ["k1-0", "k2-0", "k3-0", "k1-1"]
    assert q.take(10) == ["k2-1", "k1-2", "k1-3"]  # order within a client is kept
    assert len(q) == 0 and q.take(3) == []


def test_a_clients_backlog_does_not_sit_in_front_of_another_client(tmp_path):
    svc, bus = _service(tmp_path, max_batch=2)
    for i in range(10):  # not started: all ten wait in the door's queue
        _issue(svc, "K1", f"k1-{i}")
    _issue(svc, "K2", "k2-0")
    svc.start()
    try:
        assert bus.wait_for_reply("k1-9", 10) and bus.wait_for_reply("k2-0", 10)
        order = [rid for rid, _code in _replies(bus)]
        assert order.index("k2-0") < 2, order  # in the first batch, not behind K1's ten
        assert [r for r in order if r.startswith("k1")] == [f"k1-{i}" for i in range(10)]
    finally:
        svc.stop()


def test_replies_wait_for_their_commit_and_what_arrives_meanwhile_is_one_batch(tmp_path, monkeypatch):
    # K9 may make one request; its second is refused at the door at once: the marker
    svc, bus = _service(tmp_path, kiosk={"rate": 0.001, "burst": 1})
    svc.start()
    try:
        entered, release, keys = _hang_commits(svc, monkeypatch, "first")
        _issue(svc, "K1", "first")
        assert entered.wait(10)
        for i in range(2, 7):  # arrive while "first" is being committed
            _issue(svc, f"K{i}", f"next-{i}")
        _issue(svc, "K9", "k9-ok")
        _issue(svc, "K9", "k9-marker")
        assert bus.wait_for_reply("k9-marker", 10)
        assert _replies(bus) == [("k9-marker", "rate_limited")]  # nothing before its commit
        release.set()
        assert bus.wait_for_reply("k9-ok", 10)
        got = _replies(bus)
        assert got[1] == ("first", "ok")
        assert sorted(got[2:]) == sorted([(f"next-{i}", "ok") for i in range(2, 7)] + [("k9-ok", "ok")])
        sent = {"first": "K1", "k9-ok": "K9", **{f"next-{i}": f"K{i}" for i in range(2, 7)}}
        for rid, ident in sent.items():  # each reply is on disk with its ticket
            assert svc.store.reply(f"kiosk/{ident}/issue/{rid}") is not None
        # "first" alone, then the six that came meanwhile together, in one transaction
        committed = [sorted(k.rsplit("/", 1)[1] for k in ks) for ks in keys if ks]
        assert committed == [["first"], sorted(rid for rid in sent if rid != "first")]
    finally:
        release.set()
        svc.stop()


def test_a_failed_commit_stops_the_engine_and_sends_nothing_of_the_batch(tmp_path, monkeypatch):
    svc, bus = _service(tmp_path)
    svc.start()
    try:
        def broken(*a, **kw):
            raise OSError("disk full")

        monkeypatch.setattr(svc.store, "commit", broken)
        _issue(svc, "K1", "lost")
        pause = threading.Event()
        for _ in range(200):
            if svc.failed is not None:
                break
            pause.wait(0.05)
        assert isinstance(svc.failed, OSError)  # the marker: the batch was judged
        assert ("lost", "ok") not in _replies(bus)
    finally:
        svc.stop()


@pytest.mark.broker
def test_after_a_broker_restart_the_engine_republishes_and_serves_again(small_config, tmp_path):
    """Its own broker (the shared one is not restarted under other tests)."""
    b = start_local_broker(workdir=tmp_path / "broker")
    hall = small_config.hall.id
    eng = CallerService(small_config, tmp_path / "engine.sqlite", b.settings, client_id=f"eng-{hall}")
    client = Bus(hall, f"cli-{hall}", b.settings)
    try:
        eng.start()
        client.start()
        kiosk, w2 = Requester(client, "kiosk", "K1"), Requester(client, "window", "W2")
        kiosk.call("issue", {"matter": "M2"})
        w2.call("login", {"staff": "S2"})
        assert w2.call("next", {})["ticket"]["number"] == "A001"
        b.restart()  # persistence off: the broker forgets every retained message
        assert client.wait_connected(20)
        # a subscriber that comes now sees the engine's retained state again
        seen: queue.Queue = queue.Queue()
        late = Bus(hall, f"late-{hall}", b.settings)
        late.subscribe(REGISTRY["window.state"], lambda p, d: seen.put(("W2", json.loads(d))), ident="W2")
        late.subscribe(REGISTRY["engine.availability"], lambda p, d: seen.put(("engine", json.loads(d))),
                       ident="caller")
        late.start()
        try:
            got: dict = {}
            while "W2" not in got or got.get("engine", {}).get("state") != "online":
                who, payload = seen.get(timeout=20)
                got[who] = payload
            assert got["W2"]["ticket"]["number"] == "A001"
        finally:
            late.stop()
        # its subscriptions were renewed: it answers again
        assert kiosk.call("issue", {"matter": "M2"}, timeout=5)["number"] == "A002"
    finally:
        client.stop()
        eng.stop()
        b.stop()


def test_replies_kept_for_retries_are_bounded_but_never_those_not_yet_committed(tmp_path, monkeypatch):
    """The replies kept in memory for a retry are bounded by size; one that
    left the cache is answered from the store, and the batch still being
    committed is never evicted (the store could not answer its retry yet, and
    the request would be done twice)."""
    import caller.service as service
    monkeypatch.setattr(service, "REPLY_CACHE_BYTES", 1)  # every reply is over the bound
    svc, bus = _service(tmp_path)
    svc.start()
    try:
        entered, release, _keys = _hang_commits(svc, monkeypatch, "first")
        _issue(svc, "K1", "first")
        assert entered.wait(10)
        _issue(svc, "K1", "first")  # a retry while its batch is being committed
        _issue(svc, "K2", "other")
        release.set()
        assert bus.wait_for_reply("other", 10)
        _issue(svc, "K1", "first")  # and once more after both commits: from the store
        _issue(svc, "K3", "marker")
        assert bus.wait_for_reply("marker", 10)
        firsts = [d for _t, d in bus.replies() if b'"id":"first"' in d]
        assert len(firsts) == 3 and firsts[0] == firsts[1] == firsts[2]
        assert b'"status":"ok"' in firsts[0]
        assert len(svc.engine.tickets) == 3  # first, other, marker: no second ticket for a retry
        assert len(svc._cache) == 1  # only the newest batch's reply ("marker") is kept
        assert svc._cache_bytes == sum(len(k) + len(v) for k, v in svc._cache.items())
    finally:
        release.set()
        svc.stop()


@pytest.mark.broker
def test_a_request_read_during_a_commit_is_acknowledged_with_that_batchs_replies(broker, small_config, tmp_path,
                                                                                  monkeypatch):
    """The PUBACK of a request that arrives while a commit is in flight leaves
    in the same write as the replies of that batch (one send, not two); on an
    idle engine it leaves at once; every request is acknowledged once."""
    from hall import mqttwire
    hall = small_config.hall.id
    svc = CallerService(small_config, tmp_path / "engine.sqlite", broker.settings, client_id=f"eng-{hall}")
    client = Bus(hall, f"cli-{hall}", broker.settings)
    svc.start()
    try:
        writes: list[bytes] = []
        transport = svc.bus._proto._transport
        real_write = transport.write
        monkeypatch.setattr(transport, "write", lambda data: (writes.append(bytes(data)), real_write(data))[1])
        entered, release, _keys = _hang_commits(svc, monkeypatch, "first")
        client.start()
        k1, k2 = Requester(client, "kiosk", "K1"), Requester(client, "kiosk", "K2")
        got: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: got.put(k1.call("issue", {"matter": "M1"}, req_id="first", timeout=20,
                                                                 retries=0)),
                         daemon=True).start()
        assert entered.wait(10)
        acked_idle = [w for w in writes if w[0] == 0x40]
        assert len(acked_idle) == 1  # "first" reached an idle engine: acknowledged at once, alone
        # "second" arrives while "first" is committed; the door shows it was read
        threading.Thread(target=lambda: got.put(k2.call("issue", {"matter": "M1"}, req_id="second", timeout=20,
                                                                 retries=0)),
                         daemon=True).start()
        for _ in range(1000):
            if svc.health.requests >= 2:
                break
            threading.Event().wait(0.01)
        n_before = len(writes)
        release.set()
        assert {got.get(timeout=20)["number"] for _ in range(2)} == {"A001", "A002"}
        packets = []
        for w in writes:
            pk: list = []
            assert mqttwire.split(w, pk) == len(w)
            packets.append(pk)
        acks = [i for i, pk in enumerate(packets) for first, _ in pk if first == 0x40]
        assert len(acks) == 2  # each request acknowledged once
        # the second PUBACK went out in the write that carried the first reply, in front of it
        i = acks[1]
        assert i >= n_before
        kinds = [first & 0xF0 for first, _ in packets[i]]
        assert kinds[0] == 0x40 and 0x30 in kinds
        topics = [body[2:2 + int.from_bytes(body[:2], "big")].decode() for first, body in packets[i]
                  if first & 0xF0 == 0x30]
        assert REGISTRY["kiosk.response.issue"].topic(hall, "K1") in topics
    finally:
        release.set()
        client.stop()
        svc.stop()

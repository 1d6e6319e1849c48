"""The engine through a real mosquitto: requests, retained state, events, idempotency, bad input."""

from __future__ import annotations

import json
import queue
import threading
import time

import pytest

from caller.config_admin import published_digest
from hall import messages as m
from hall.bus import RequestError, Requester
from hall.topics import REGISTRY

pytestmark = pytest.mark.broker


class Collector:
    """Collects messages of one registry entry, decoded as JSON."""

    def __init__(self, bus, name, ident="+"):
        self.q: queue.Queue = queue.Queue()
        bus.subscribe(REGISTRY[name], lambda p, data: self.q.put((p.ident, json.loads(data) if data else None)),
                      ident=ident)

    def get(self, timeout=5.0, where=lambda ident, msg: True):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                ident, msg = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if where(ident, msg):
                return ident, msg
        raise AssertionError("no matching message")


def raw_request(bus, kind, ident, op, payload: bytes, timeout=5.0):
    """Publish raw bytes on a request topic and return the next reply there."""
    got: queue.Queue = queue.Queue()
    resp = REGISTRY[f"{kind}.response.{op}"]
    bus.subscribe(resp, lambda p, d: got.put(json.loads(d)), ident=ident)
    time.sleep(0.1)
    bus.publish_raw(REGISTRY[f"{kind}.request.{op}"].topic(bus.hall_id, ident), payload, retain=False)
    return got.get(timeout=timeout)


def test_issue_call_finish_through_the_broker(running_engine, bus_client):
    eng = running_engine()
    hid = eng.hall_id
    client = bus_client(hid, "t")
    called = Collector(client, "zone.called", "Z1")
    prompts = Collector(client, "window.evaluate", "W1")
    kiosk = Requester(client, "kiosk", "K1")
    win = Requester(client, "window", "W1")
    t = kiosk.call("issue", {"matter": "M1", "phone": "13812345678", "lang": "en"})
    assert (t["number"], t["zone"], t["state"], t["ahead"]) == ("A001", "Z1", "waiting", 0)
    assert t["windows"] == ["1", "2", "3"]
    win.call("login", {"staff": "S001"})
    st = win.call("next", {})
    assert st["ticket"]["number"] == "A001" and st["status"] == "open"
    _, ev = called.get()
    assert {k: ev[k] for k in ("event", "number", "window", "window_number", "zone", "recall", "lang")} == {
        "event": f"{t['ticket']}#1", "number": "A001", "window": "W1", "window_number": "1",
        "zone": "Z1", "recall": 0, "lang": "en"}
    win.call("recall", {})
    assert called.get()[1]["recall"] == 1
    win.call("finish", {})
    _, pr = prompts.get()
    assert (pr["number"], pr["staff"], pr["timeout_s"]) == ("A001", "S001", 30)
    assert win.call("rate", {"level": 4}) == {"ticket": t["ticket"], "level": 4}
    assert [(r.level, r.source, r.staff) for r in eng.store.ratings()] == [(4, "evaluator", "S001")]


class Ordered:
    """Every message of some registry entries, in the order the broker delivered them."""

    def __init__(self, bus, *names):
        self.q: queue.Queue = queue.Queue()
        for name in names:
            bus.subscribe(REGISTRY[name], lambda p, d: self.q.put((p.spec.name, p.ident, json.loads(d) if d else None)))

    def until(self, name, ident, where=lambda msg: True, timeout=5.0) -> list[tuple[str, str, dict]]:
        """Everything up to and including the first message of ``name``/``ident`` (``where``)."""
        seen = []
        while True:
            item = self.q.get(timeout=timeout)
            seen.append(item)
            if item[:2] == (name, ident) and where(item[2]):
                return seen


def counts_of(msg: dict) -> tuple:
    assert isinstance(msg["at"], float)
    return msg["zone"], msg["groups"], msg["total"], msg["windows"]


def test_a_count_change_sends_one_zone_waiting_and_no_window_state(running_engine, bus_client):
    """The cost of a ticket follows the zones it touches, not the number of windows."""
    eng = running_engine()
    c = bus_client(eng.hall_id, "watch")
    seen = Ordered(c, "window.state", "zone.board", "zone.waiting")
    kiosk = Requester(c, "kiosk", "K1")
    w5, w1 = Requester(c, "window", "W5"), Requester(c, "window", "W1")
    w5.call("login", {"staff": "S5"})
    # the retained views of the engine's start, then W5's own change
    seen.until("window.state", "W5", lambda st: st["staff"] == "S5")
    kiosk.call("issue", {"matter": "M4"})  # Z2, group G: windows W5, W6 may call it
    got = seen.until("zone.waiting", "Z2")
    assert [(n, i) for n, i, _ in got] == [("zone.waiting", "Z2")]
    assert counts_of(got[-1][2]) == ("Z2", {"G": 1}, 1, {"W5": 1, "W6": 1, "W7": 0, "W8": 0})
    # a marker: W1's own state.  Before it, nothing at all: no window state re-sent
    # for a count, no board, no counts of a zone whose counts did not change
    w1.call("login", {"staff": "S1"})
    assert [(n, i) for n, i, _ in seen.until("window.state", "W1")] == [("window.state", "W1")]
    # a call: the window's own state, the zone's board, and its counts at once lower
    assert w5.call("next", {})["ticket"]["number"] == "G001"
    got = seen.until("zone.waiting", "Z2")
    assert [(n, i) for n, i, _ in got] == [("window.state", "W5"), ("zone.board", "Z2"), ("zone.waiting", "Z2")]
    assert "waiting" not in got[0][2] and "waiting" not in got[1][2]
    assert counts_of(got[-1][2]) == ("Z2", {}, 0, {"W5": 0, "W6": 0, "W7": 0, "W8": 0})
    w1.call("logout", {})
    assert [(n, i) for n, i, _ in seen.until("window.state", "W1")] == [("window.state", "W1")]


def test_late_subscriber_rebuilds_from_retained_state(running_engine, bus_client):
    eng = running_engine()
    hid = eng.hall_id
    c = bus_client(hid, "early")
    k = Requester(c, "kiosk", "K1")
    w = Requester(c, "window", "W5")
    for mt in ("M4", "M5", "M6"):
        k.call("issue", {"matter": mt})
    w.call("login", {"staff": "S5"})
    w.call("next", {})
    time.sleep(0.7)  # waiting counts are coalesced (≤ 2 per second)
    late = bus_client(hid, "late")
    ws = Collector(late, "window.state", "W5")
    board = Collector(late, "zone.board", "Z2")
    counts = Collector(late, "zone.waiting", "Z2")
    avail = Collector(late, "engine.availability", "caller")
    summary = Collector(late, "stats.summary", "hall")
    cfg = Collector(late, "config.current", "hall")
    _, st = ws.get()
    assert (st["status"], st["staff"], st["ticket"]["number"]) == ("open", "S5", "G001")
    _, b = board.get()
    assert [c["number"] for c in b["current"]] == ["G001"]
    _, w = counts.get()
    assert (w["groups"], w["total"], w["windows"]) == ({"G": 2}, 2, {"W5": 2, "W6": 2, "W7": 1, "W8": 1})
    assert avail.get()[1] == {"state": "online"}
    s = summary.get()[1]
    assert (s["issued"], s["waiting"], s["open_windows"]) == (3, 2, 1)
    cur = cfg.get()[1]
    assert (cur["digest"], cur["revision"]) == (published_digest(eng.config), 0)


def test_same_request_id_gets_same_reply_and_one_ticket(running_engine, bus_client):
    eng = running_engine()
    c = bus_client(eng.hall_id, "retry")
    k = Requester(c, "kiosk", "K9")
    first = k.call("issue", {"matter": "M1"}, req_id="same-1")
    again = k.call("issue", {"matter": "M1"}, req_id="same-1")
    assert first == again
    assert k.call("issue", {"matter": "M1"})["number"] == "A002"  # A001 was issued once
    w = Requester(c, "window", "W1")
    w.call("login", {"staff": "S1"})
    a = w.call("next", {}, req_id="n1")
    b = w.call("next", {}, req_id="n1")  # a retried "next" does not call A002 as well
    assert a == b and a["ticket"]["number"] == "A001"
    assert eng.engine.find_ticket("A002").state == "waiting"


def test_bad_input_gets_error_replies_and_changes_nothing(running_engine, bus_client):
    eng = running_engine()
    c = bus_client(eng.hall_id, "fuzz")
    k = Requester(c, "kiosk", "K1")
    k.call("issue", {"matter": "M1"})
    before = (eng.engine.summary(0).issued, eng.engine.numbering.last(eng.engine.day, "A"))
    r = raw_request(c, "kiosk", "K1", "issue", b"{not json")
    assert (r["id"], r["status"], r["error"]["code"]) == ("", "error", "bad_json")
    r = raw_request(c, "kiosk", "K1", "issue", b'{"id":"x1","matter":42}')
    assert (r["id"], r["error"]["code"]) == ("x1", "bad_request")
    assert "$.matter" in r["error"]["message"]
    r = raw_request(c, "kiosk", "K1", "issue", b'{"id":"x2","matter":"M1","colour":"red"}')
    assert r["error"]["code"] == "bad_request" and "colour" in r["error"]["message"]
    r = raw_request(c, "kiosk", "K1", "issue", b'{"id":"x3","matter":"M1","pad":"' + b"x" * 20000 + b'"}')
    assert r["error"]["code"] == "too_large"
    r = raw_request(c, "kiosk", "K1", "issue", b'{"id":"x4","matter":"M404"}')
    assert r["error"] == {"code": "unknown_matter", "message": "no matter 'M404' in this hall"}
    r = raw_request(c, "window", "W99", "next", b'{"id":"x5"}')
    assert r["error"]["code"] == "unknown_window"
    r = raw_request(c, "kiosk", "K1", "issue", b'[1,2,3]')
    assert r["error"]["code"] == "bad_request"
    assert (eng.engine.summary(0).issued, eng.engine.numbering.last(eng.engine.day, "A")) == before
    assert k.call("issue", {"matter": "M1"})["number"] == "A002"  # still serving


def test_fuzzed_request_topics_never_kill_the_engine(running_engine, bus_client):
    import random
    rng = random.Random(20261121)
    eng = running_engine()
    c = bus_client(eng.hall_id, "fuzz2")
    ops = [s for s in REGISTRY.requests() if s.kind in ("kiosk", "window")]
    fields = ["id", "matter", "bundle", "phone", "priority", "staff", "ticket", "level", "window",
              "timeout", "lang", "form", "ok", "code", "case", "reasons"]
    values = [None, 0, -1, 1.5, True, "", "M1", "B1", "W1", "x" * 70, [], {}, {"a": 1}, "13812345678",
              "zh-CN", 5, 99, "A001", "\u0000", "'; DROP TABLE tickets; --"]
    for i in range(400):
        spec = rng.choice(ops)
        ident = rng.choice(["W1", "W2", "W5", "K1", "K2", "Z"])
        if spec.kind == "kiosk" and ident.startswith("W"):
            ident = "K1"
        if rng.random() < 0.15:
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60)))
        else:
            body = {f: rng.choice(values) for f in rng.sample(fields, rng.randrange(0, 5))}
            if rng.random() < 0.8:
                body["id"] = f"f{i}"
            payload = json.dumps(body).encode()
        c.publish_raw(spec.topic(eng.hall_id, ident), payload, retain=False)
    # barrier: a request after all of them, answered in order by the engine
    k = Requester(c, "kiosk", "K7")
    t = k.call("issue", {"matter": "M4"}, timeout=10)
    assert t["state"] == "waiting"
    assert eng.failed is None
    # every ticket the engine holds is well-formed and stored
    for tid, tk in eng.engine.tickets.items():
        assert eng.store.ticket(tid) is not None and tk.number.startswith(("A", "G", "Y"))


def test_pushed_config_is_validated_and_applied(running_engine, bus_client, tmp_path):
    from tests.conftest import small_raw
    import yaml
    path = tmp_path / "hall.yaml"
    eng = running_engine(config_path=path)
    c = bus_client(eng.hall_id, "admin")
    adm = Requester(c, "config", "admin")
    raw = small_raw()
    raw["hall"]["id"] = eng.hall_id
    bad = json.loads(json.dumps(raw))
    bad["windows"][0]["serves"] = {"M404": 1, "M1": 12}
    bad["zones"][0]["shade"] = "red"
    with pytest.raises(RequestError) as e:
        adm.call("set", {"config": bad, "base": 0})
    assert e.value.code == "bad_config"
    assert "zones[0].shade: Extra inputs are not permitted" in e.value.message
    assert "windows[0].serves" in e.value.message
    good = json.loads(json.dumps(raw))
    good["windows"][0]["number"] = "101"
    assert adm.call("set", {"config": good, "base": 0})["revision"] == 1
    assert eng.engine.window_state("W1", 0).number == "101"
    assert yaml.safe_load(path.read_text())["windows"][0]["number"] == "101"


def test_requests_are_not_queued_while_offline(running_engine, bus_client, broker):
    """A kiosk cut off from the broker gets `offline` at once; nothing is delivered later."""
    from hall.bus import Bus
    eng = running_engine()
    c = Bus(eng.hall_id, "never-connected", broker.settings)  # not started
    with pytest.raises(RequestError) as e:
        Requester(c, "kiosk", "K1").call("issue", {"matter": "M1"})
    assert e.value.code == "offline"
    # barrier: the same client connects and issues; had the refused request been kept
    # and sent on connect, it would have come first and taken A001
    c.start()
    try:
        assert Requester(c, "kiosk", "K1").call("issue", {"matter": "M1"})["number"] == "A001"
    finally:
        c.stop()
    assert eng.engine.summary(0).issued == 1

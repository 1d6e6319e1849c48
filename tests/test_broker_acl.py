"""mosquitto with our password file and ACL confines each client to its own topics."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import pytest

from hall.acl import start_acl_broker, write_passwords
from hall.bus import Bus, BusSettings, RequestError, Requester
from hall.topics import REGISTRY
from tests.needs import needs

pytestmark = [pytest.mark.broker,
              needs("mosquitto")]

USERS = {"onewindow-caller": "pw-caller", "K01": "pw-k01", "W1": "pw-w1", "D01": "pw-d01"}


@pytest.fixture
def acl_broker(small_config):
    b = start_acl_broker(small_config.hall.id, USERS)
    yield b
    b.stop()


def settings(b, user):
    return BusSettings(host="127.0.0.1", port=b.port, username=user, password=USERS.get(user, "wrong"))


def test_clients_are_confined_to_their_topics(acl_broker, small_config, tmp_path):
    from caller.service import CallerService
    hid = small_config.hall.id
    eng = CallerService(small_config, tmp_path / "e.sqlite", settings(acl_broker, "onewindow-caller"))
    eng.start()
    try:
        kiosk_bus = Bus(hid, "K01", settings(acl_broker, "K01"))
        kiosk_bus.start()
        k = Requester(kiosk_bus, "kiosk", "K01")
        assert k.call("issue", {"matter": "M1"})["number"] == "A001"
        # K01 may not act as another kiosk, nor as a window
        with pytest.raises(RequestError) as e:
            Requester(kiosk_bus, "kiosk", "K02").call("issue", {"matter": "M1"}, timeout=0.7, retries=0)
        assert e.value.code == "timeout"
        kiosk_bus.publish(REGISTRY["window.request.login"], "W1", {"id": "evil", "staff": "X"})
        # ... nor forge a retained window state
        kiosk_bus.publish(REGISTRY["window.state"], "W02", b'{"forged": true}')
        # but it reads the public boards
        boards: queue.Queue = queue.Queue()
        kiosk_bus.subscribe(REGISTRY["zone.board"], lambda p, d: boards.put(p.ident), ident="Z1")
        assert boards.get(timeout=5) == "Z1"

        win_bus = Bus(hid, "W1", settings(acl_broker, "W1"))
        win_bus.start()
        w = Requester(win_bus, "window", "W1")
        assert w.call("login", {"staff": "S1"})["staff"] == "S1"  # not "X": the forged login was dropped
        seen: queue.Queue = queue.Queue()
        win_bus.subscribe(REGISTRY["window.state"], lambda p, d: seen.put((p.ident, d)), ident="+")
        # barrier: a new state of W1, published after the subscription (so after every
        # retained state the broker would have sent for it)
        assert w.call("pause", {})["status"] == "paused"
        idents = set()
        while True:
            ident, data = seen.get(timeout=5)
            idents.add(ident)
            assert b"forged" not in data
            if ident == "W1" and b'"paused"' in data:
                break
        assert idents == {"W1"}  # it may read only its own window

        # a wrong password is refused
        bad = Bus(hid, "K01b", BusSettings(host="127.0.0.1", port=acl_broker.port, username="K01",
                                          password="nope"))
        with pytest.raises(TimeoutError):
            bad.start(timeout=1.5)
        kiosk_bus.stop()
        win_bus.stop()
    finally:
        eng.stop()


def test_bridge_never_sees_sms_requests(acl_broker, small_config):
    """device/<sender>/sms carries full phone numbers: the bridge's device rights stop short of it."""
    USERS["onewindow-bridge"] = "pw-bridge"
    USERS["onewindow-sms"] = "pw-sms"
    write_passwords(Path(acl_broker.workdir) / "passwd", USERS)
    acl_broker.restart()
    hid = small_config.hall.id
    got: queue.Queue = queue.Queue()
    bridge = Bus(hid, "bridge", settings(acl_broker, "onewindow-bridge"))
    bridge.subscribe(REGISTRY["device.sms"], lambda p, d: got.put(d))
    bridge.subscribe(REGISTRY["device.status"], lambda p, d: got.put(d))
    bridge.start()
    sender = Bus(hid, "sms", settings(acl_broker, "onewindow-sms"))
    sender.start()
    status = REGISTRY["device.status"].topic(hid, "gsm1")
    for i in range(50):  # until the bridge's subscriptions are in place: a status gets through
        sender.publish_raw(status, b'{"probe":%d}' % i, retain=False)
        try:
            got.get(timeout=0.2)
            break
        except queue.Empty:
            pass
    else:
        pytest.fail("the bridge never received a device status")
    # the SMS request, then a status the bridge may read: the status is the marker
    sender.publish_raw(REGISTRY["device.sms"].topic(hid, "gsm1"), b'{"phone":"13812345678"}', retain=False)
    sender.publish_raw(status, b'{"ok":true}', retain=False)
    before = []
    while (data := got.get(timeout=5)) != b'{"ok":true}':  # the bridge reads device status…
        before.append(data)
    assert all(b"probe" in d for d in before), before  # …but never the SMS request sent before it
    bridge.stop()
    sender.stop()


def test_a_window_grid_display_reads_every_window_state_and_an_ordinary_one_does_not(small_config, tmp_path):
    from caller.service import CallerService
    users = dict(USERS, D02="pw-d02")
    b = start_acl_broker(small_config.hall.id, users, window_grid_displays=("D01",))
    hid = small_config.hall.id
    eng = CallerService(small_config, tmp_path / "e.sqlite",
                        BusSettings(host="127.0.0.1", port=b.port, username="onewindow-caller",
                                    password=users["onewindow-caller"]))
    eng.start()
    buses = []
    try:
        got: dict[str, queue.Queue] = {}
        for user in ("D01", "D02"):
            bus = Bus(hid, user, BusSettings(host="127.0.0.1", port=b.port, username=user, password=users[user]))
            bus.start()
            buses.append(bus)
            got[user] = queue.Queue()
            bus.subscribe(REGISTRY["window.state"], lambda p, d, q=got[user]: q.put(p.ident), ident="+")
            # positive marker: the public zone board arrives to both, so their subscriptions are live
            bus.subscribe(REGISTRY["zone.board"], lambda p, d, q=got[user]: q.put("board"), ident="Z1")
        seen = {u: set() for u in got}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all("board" in s and len(s) > 1 for s in seen.values()):
            for u, q in got.items():
                try:
                    seen[u].add(q.get(timeout=0.1))
                except queue.Empty:
                    pass
            if "board" in seen["D02"] and len(seen["D01"] - {"board"}) >= len(small_config.windows):
                break
        assert seen["D01"] - {"board"} == {w.id for w in small_config.windows}
        assert "board" in seen["D02"] and seen["D02"] == {"board"}
    finally:
        for bus in buses:
            bus.stop()
        eng.stop()
        b.stop()

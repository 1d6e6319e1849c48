"""mosquitto with the password file and the ACL generated from the hall config
(`onewindow acl`) and `use_username_as_clientid`, as in production: each login
reaches exactly its own topics.

"Nothing arrived" is only ever asserted after a marker, published after the
thing that must not arrive, did arrive."""

from __future__ import annotations

import queue

import pytest

from hall.acl import start_acl_broker
from hall.bus import Bus, BusSettings, RequestError, Requester
from hall.config import HallConfig, parse_config
from hall.config.access import identities
from hall.topics import REGISTRY, TopicSpec
from tests.needs import needs

from .conftest import small_raw, unique_hall_id

pytestmark = [pytest.mark.broker, needs("mosquitto")]


def acl_hall() -> HallConfig:
    """The small hall with one identity of every kind: two bridges (W1+W2 on
    line l1, W5 on line l2), a web terminal for W3 and W4 with a scanner at W3,
    a display, an announcer, the SMS sender, two admins, a monitor and an outside
    case system (审批系统)."""
    raw = small_raw()
    raw["hall"]["id"] = unique_hall_id()
    raw["devices"] = {
        "lines": [{"id": "l1", "port": "/dev/null-l1"}, {"id": "l2", "port": "/dev/null-l2"}],
        "serial": [{"id": "led1", "line": "l1", "kind": "ledbar", "address": 1, "window": "W1"},
                   {"id": "kp2", "line": "l1", "kind": "keypad", "address": 2, "window": "W2"},
                   {"id": "led5", "line": "l2", "kind": "ledbar", "address": 1, "window": "W5"}],
        "inputs": [{"id": "scan3", "kind": "scanner", "path": "/dev/input/by-id/scan3", "window": "W3"}],
    }
    raw["screens"] = {"displays": [{"id": "D01"}, {"id": "D02", "zones": ["Z2"], "style": "windows"}]}
    raw["access"] = {"engine": "engine",
                     "bridges": [{"id": "br1", "lines": ["l1"], "inputs": ["scan3"]},
                                 {"id": "br2", "lines": ["l2"]}],
                     "terminals": [{"id": "web", "windows": ["W3", "W4"]}],
                     "announcers": ["ann1"], "admins": ["admin", "sup1"], "monitors": ["mon1"]}
    raw["cases"] = {"systems": [{"id": "approval", "name": "审批系统"}]}
    return parse_config(raw)


@pytest.fixture(scope="module")
def hall():
    cfg = acl_hall()
    users = {i.id: f"pw-{i.id}" for i in identities(cfg)} | {"watcher": "pw-watcher"}
    # a test-only login that reads everything: the witness of what got through
    b = start_acl_broker(cfg, users, extra_acl=f"user watcher\ntopic read onewindow/{cfg.hall.id}/#\n")
    yield cfg, b, users
    b.stop()


def login(b, users, user: str, client_id: str | None = None, **kw) -> Bus:
    s = BusSettings(host="127.0.0.1", port=b.port, username=user, password=users.get(user, "wrong"))
    bus = Bus(kw.pop("hall_id"), client_id or f"c-{user}", s, **kw)
    return bus


class Collector:
    def __init__(self):
        self.q: queue.Queue = queue.Queue()
        self.seen: list[tuple[str, str, bytes]] = []

    def __call__(self, parsed, payload):
        self.q.put((parsed.spec.name, parsed.ident, payload))

    def until(self, pred, timeout: float = 10.0):
        """Collect messages until one satisfies ``pred``; return everything seen before it."""
        while True:
            item = self.q.get(timeout=timeout)
            if pred(item):
                return list(self.seen)
            self.seen.append(item)


# Who may publish each registry entry, written down independently of hall/acl.py.
ENGINE_WRITES = {"engine.availability", "window.state", "zone.board", "zone.waiting", "stats.summary",
                 "alert.unattended",
                 "config.current", "zone.called", "window.evaluate", "alert.followup",
                 "stats.satisfaction.window", "stats.satisfaction.staff", "stats.satisfaction.matter",
                 "stats.satisfaction.day", "device.sms", "window.settled", "stats.engine",
                 "stats.balance", "alert.staff", "config.audit", "stats.progress", "stats.case_depts",
                 "alert.case", "alert.supervision", "stats.windows"}
DEVICE_STATE = {"device.availability", "device.status"}


def expected_writers(spec: TopicSpec) -> set[str]:
    if spec.op is not None and not spec.is_request:
        return {"engine"}  # every reply
    if spec.name in ("window.request.visit", "window.request.form"):
        return {"terminal"}  # the reply carries a filled form: not for a keypad's bridge
    if spec.name in ("window.request.case_step", "window.request.case_extend", "window.request.cases"):
        return {"terminal"}  # cases are listed and moved from the clerk's terminal
    if spec.name in ("device.request.case_open", "device.request.case_step", "device.request.case_extend"):
        return {"casesys"}  # the outside case system's own ops: not the SMS sender's
    if spec.is_request:
        return {"kiosk": {"kiosk"}, "window": {"bridge", "terminal"}, "config": {"admin"},
                "alert": {"admin"}, "device": {"sender"}}[spec.kind.value]
    if spec.name in ENGINE_WRITES:
        return {"engine"}
    if spec.name in DEVICE_STATE:
        return {"bridge", "kiosk", "sender", "casesys"}
    return {"kiosk.availability": {"kiosk"}, "display.availability": {"display", "announcer"},
            "device.scan": {"bridge"}, "stats.availability": {"monitor"}}[spec.name]


def best_id(spec: TopicSpec, ident) -> str:
    """The id under which ``ident`` has the best chance to publish ``spec``:
    its own id, window or device, so that only the kind decides."""
    kind = spec.kind.value
    if kind == "window":
        return min(ident.windows, default="W1")
    if kind == "device":
        if spec.name == "device.scan":
            return min(ident.scanners, default="scan3")
        return min(ident.devices, default="sms1")
    if kind in ("zone",):
        return "Z1"
    if kind in ("stats",) or spec.name in ("config.current", "config.audit"):
        return "hall"
    return ident.id


def test_each_registry_topic_is_writable_only_by_its_publisher_kinds(hall):
    cfg, b, users = hall
    hid = cfg.hall.id
    one_of_each: dict[str, object] = {}
    for ident in identities(cfg):
        one_of_each.setdefault(ident.kind, ident)
    assert set(one_of_each) == {"engine", "kiosk", "display", "announcer", "bridge", "terminal", "sender",
                                "admin", "monitor", "casesys"}
    seen = Collector()
    watcher = login(b, users, "watcher", hall_id=hid)
    for spec in REGISTRY:
        watcher.subscribe(spec, seen)
    watcher.start()
    buses = {kind: login(b, users, ident.id, hall_id=hid) for kind, ident in one_of_each.items()}
    try:
        for bus in buses.values():
            bus.start()
        for kind, ident in one_of_each.items():
            bus = buses[kind]
            sent = [bus.publish_raw(spec.topic(hid, best_id(spec, ident)), f"{kind}|{spec.name}".encode(),
                                    retain=False, qos=1) for spec in REGISTRY]
            # acknowledged = routed (or dropped) by the broker: whatever got through is
            # queued for the watcher before the marker below is even published
            for info in sent:
                info.wait_for_publish(10)
        buses["engine"].publish_raw(REGISTRY["zone.called"].topic(hid, "Z1"), b"done|all", retain=False, qos=1)
        got: set[tuple[str, str]] = set()
        for name, _ident, payload in seen.until(lambda m: m[2] == b"done|all"):
            who, _, what = payload.decode().partition("|")
            assert what == name  # every attempt names its own topic
            got.add((what, who))
        expected = {(spec.name, kind) for spec in REGISTRY for kind in expected_writers(spec)}
        assert sorted(got - expected) == [], "published where the ACL should forbid it"
        assert sorted(expected - got) == [], "refused where the publisher should be allowed"
    finally:
        for bus in buses.values():
            bus.stop()
        watcher.stop()


def test_a_kiosk_login_cannot_disconnect_the_engine(hall, tmp_path):
    """With use_username_as_clientid a kiosk connecting under the engine's client
    id gets its own username as id: the engine's session is never taken over."""
    from caller.service import CallerService
    cfg, b, users = hall
    hid = cfg.hall.id
    eng = CallerService(cfg, tmp_path / "e.sqlite", BusSettings(host="127.0.0.1", port=b.port, username="engine",
                                                              password=users["engine"]),
                        client_id="the-engine")
    avail = Collector()
    watcher = login(b, users, "watcher", hall_id=hid)
    watcher.subscribe(REGISTRY["engine.availability"], avail)
    watcher.subscribe(REGISTRY["zone.called"], avail, ident="Z1")
    intruders = [login(b, users, "K1", client_id=cid, hall_id=hid) for cid in ("the-engine", "engine")]
    try:
        watcher.start()
        eng.start()
        avail.until(lambda m: b'"online"' in m[2])
        for bus in intruders:
            bus.start()
        # the engine still answers the intruder's own login
        assert Requester(intruders[-1], "kiosk", "K1").call("issue", {"matter": "M1"})["number"] == "A001"
        # a marker from the engine, published after any Last-Will a takeover would have sent
        eng.bus.publish_raw(REGISTRY["zone.called"].topic(hid, "Z1"), b"marker", retain=False, qos=1)
        before = avail.until(lambda m: m[2] == b"marker")
        assert [p for _, _, p in before if b'"offline"' in p] == []
        assert eng.bus.connected
    finally:
        for bus in intruders:
            bus.stop()
        watcher.stop()
        eng.stop()


@pytest.fixture
def engine(hall, tmp_path):
    from caller.service import CallerService
    cfg, b, users = hall
    eng = CallerService(cfg, tmp_path / "e.sqlite", BusSettings(host="127.0.0.1", port=b.port,
                                                                username="engine", password=users["engine"]))
    eng.start()
    yield eng
    eng.stop()


def started(bus: Bus) -> Bus:
    bus.start()
    return bus


def test_a_kiosk_cannot_take_a_number_as_another_kiosk(hall, engine):
    cfg, b, users = hall
    k1 = started(login(b, users, "K1", hall_id=cfg.hall.id))
    try:
        k1.publish_raw(REGISTRY["kiosk.request.issue"].topic(cfg.hall.id, "K2"),
                       b'{"id":"forged","matter":"M1"}', retain=False, qos=1)
        # K1's own request, after the forged one: had that been served, this would be A002
        assert Requester(k1, "kiosk", "K1").call("issue", {"matter": "M1"})["number"] == "A001"
    finally:
        k1.stop()


def test_a_display_cannot_issue(hall, engine):
    cfg, b, users = hall
    d = started(login(b, users, "D01", hall_id=cfg.hall.id))
    k1 = started(login(b, users, "K1", hall_id=cfg.hall.id))
    try:
        for ident in ("D01", "K1"):  # as itself, and as a kiosk
            d.publish_raw(REGISTRY["kiosk.request.issue"].topic(cfg.hall.id, ident),
                          b'{"id":"from-display","matter":"M1"}', retain=False, qos=1)
        # the kiosk's next number shows that nothing was issued before it
        assert Requester(k1, "kiosk", "K1").call("issue", {"matter": "M1"})["number"] == "A001"
    finally:
        d.stop()
        k1.stop()


def test_a_bridge_cannot_drive_a_window_it_does_not_own(hall, engine):
    cfg, b, users = hall
    hid = cfg.hall.id
    states = Collector()
    admin = login(b, users, "admin", hall_id=hid)
    admin.subscribe(REGISTRY["window.state"], states, ident="W5")
    admin.subscribe(REGISTRY["window.state"], states, ident="W1")
    br1 = login(b, users, "br1", hall_id=hid)
    try:
        admin.start()
        br1.start()
        # br1 drives W1 and W2 (line l1); W5 is br2's
        br1.publish_raw(REGISTRY["window.request.login"].topic(hid, "W5"), b'{"id":"x","staff":"EVIL"}',
                        retain=False, qos=1)
        assert Requester(br1, "window", "W1").call("login", {"staff": "S1"})["staff"] == "S1"
        # W1's new state follows any W5 change the forged login would have made
        before = states.until(lambda m: m[1] == "W1" and b'"S1"' in m[2])
        assert [p for n, i, p in before if i == "W5" and b"EVIL" in p] == []
        with pytest.raises(RequestError) as e:  # nor can it read W5's replies: no answer reaches it
            Requester(br1, "window", "W5").call("login", {"staff": "EVIL"}, timeout=0.5, retries=0)
        assert e.value.code == "timeout"
        assert engine.engine.window_state("W5", 0).staff is None
    finally:
        br1.stop()
        admin.stop()


def test_the_sms_topic_is_readable_by_the_sender_alone(hall):
    """device/<sender>/sms carries full phone numbers: no other login, not even
    an admin, reads it, whatever it subscribes to; a visit reply (the citizen's
    filled form) reaches the window's terminal, not its keypad's bridge."""
    cfg, b, users = hall
    hid = cfg.hall.id
    readers = {i.id: Collector() for i in identities(cfg) if i.kind != "engine"}
    buses = []
    for user, col in readers.items():
        bus = login(b, users, user, hall_id=hid)
        bus.subscribe(REGISTRY["device.sms"], col)
        bus.subscribe(REGISTRY["window.response.visit"], col)
        bus.subscribe(REGISTRY["zone.called"], col)
        buses.append(bus)
    eng = login(b, users, "engine", hall_id=hid)
    try:
        for bus in buses + [eng]:
            bus.start()
        eng.publish_raw(REGISTRY["device.sms"].topic(hid, "sms1"), b'{"phone":"13812345678"}', retain=False)
        eng.publish_raw(REGISTRY["window.response.visit"].topic(hid, "W3"), b'{"form":1}', retain=False)
        eng.publish_raw(REGISTRY["zone.called"].topic(hid, "Z1"), b"marker", retain=False)
        for user, col in readers.items():
            before = col.until(lambda m: m[2] == b"marker")
            sms = [p for n, _, p in before if n == "device.sms"]
            assert sms == ([b'{"phone":"13812345678"}'] if user == "sms1" else []), user
            forms = [p for n, _, p in before if n == "window.response.visit"]
            assert forms == ([b'{"form":1}'] if user == "web" else []), user
    finally:
        for bus in buses + [eng]:
            bus.stop()


def _connack(port: int, user: str, password: str) -> int:
    """The CONNACK return code of an MQTT 3.1.1 CONNECT with these credentials."""
    import socket
    import struct

    def field(v: str) -> bytes:
        return struct.pack("!H", len(v.encode())) + v.encode()
    body = field("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 30) + field("probe") + field(user) + field(password)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(bytes([0x10, len(body)]) + body)
        ack = s.recv(4)
    assert ack[:2] == bytes([0x20, 2]), ack
    return ack[3]


def test_a_wrong_password_or_an_unknown_login_is_refused(hall):
    cfg, b, users = hall
    assert _connack(b.port, "K1", users["K1"]) == 0
    assert _connack(b.port, "K1", "nope") == 5  # not authorised
    assert _connack(b.port, "K99", "pw-K99") == 5


def test_a_window_grid_display_reads_its_zones_window_states_and_an_ordinary_one_none(hall):
    cfg, b, users = hall
    hid = cfg.hall.id
    got = {u: Collector() for u in ("D01", "D02")}
    buses = []
    try:
        for user, col in got.items():
            bus = login(b, users, user, hall_id=hid)
            bus.subscribe(REGISTRY["window.state"], col)
            bus.subscribe(REGISTRY["zone.called"], col, ident="Z1")
            buses.append(started(bus))
        eng = started(login(b, users, "engine", hall_id=hid))
        buses.append(eng)
        # every window's state, then a public marker after them
        for w in cfg.windows:
            eng.publish_raw(REGISTRY["window.state"].topic(hid, w.id), b"{}", retain=False, qos=1)
        eng.publish_raw(REGISTRY["zone.called"].topic(hid, "Z1"), b"marker", retain=False, qos=1)
        seen = {u: {i for n, i, _ in col.until(lambda m: m[2] == b"marker") if n == "window.state"}
                for u, col in got.items()}
        assert seen == {"D01": set(), "D02": {"W5", "W6", "W7", "W8"}}  # D02 shows zone Z2's windows
    finally:
        for bus in buses:
            bus.stop()

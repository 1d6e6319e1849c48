"""A whole test hall through mosquitto: fake keypads, LED bars and evaluators on ptys,
the real bridge and the real engine.  Key → call → LED bytes → finish → prompt → rating."""

from __future__ import annotations

import json
import queue
import time

import pytest

from firmware_bridge import frames as F
from firmware_bridge.demo_rig import start_demo_rig
from firmware_bridge.fakes import Quirks
from hall.bus import Requester
from hall.config.devices import DevicesConfig, Line, SerialDevice
from hall.topics import REGISTRY
from tests.needs import needs

pytestmark = pytest.mark.broker


def wait(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def ratings(eng):
    return eng.store.ratings()


def issue(kiosk: Requester, matter: str) -> dict:
    return kiosk.call("issue", {"matter": matter})


def led_frames(led) -> list[bytes]:
    return [f for f in led.frames if f[3] == F.LED_TEXT]


def expected_led(addr: int, lines: list[str], flash_s: int = 0) -> bytes:
    """The LED frame without its sequence number and CRC: addr, cmd, len, payload."""
    payload = F.led_payload([s.encode("gb2312") for s in lines], flash_s=flash_s)
    return F.encode(addr, F.LED_TEXT, payload)


def same_but_seq(raw: bytes, want: bytes) -> bool:
    # byte 2 is ctrl (sequence number), the last two the CRC over it
    return raw[:2] == want[:2] and raw[3:-2] == want[3:-2] and F.check_packet(raw) == len(raw)


def test_eight_windows_end_to_end(broker, running_engine, bus_client, small_config, tmp_path):
    eng = running_engine()
    rig = start_demo_rig(small_config, broker.settings, tmp_path / "rig")
    try:
        client = bus_client(eng.hall_id, "t")
        kiosk = Requester(client, "kiosk", "K1")
        states: dict = {}
        client.subscribe(REGISTRY["window.state"], lambda p, d: states.__setitem__(p.ident, json.loads(d)))
        counts: dict = {}  # zone -> its retained waiting counts
        client.subscribe(REGISTRY["zone.waiting"], lambda p, d: counts.__setitem__(p.ident, json.loads(d)))
        windows = [w.id for w in small_config.windows]
        assert len(windows) >= 8
        # staff log in at every window with their staff number on the keypad
        for i, wid in enumerate(windows):
            rig.press(wid, "login", f"{1001 + i}")
        for wid in windows:
            assert wait(lambda: "欢迎您" in rig.led_text(wid)), (wid, rig.led_text(wid))
        served = {w.id: next(iter(w.serves)) for w in small_config.windows}
        tickets = {}
        for wid in windows:
            matter = served[wid]
            if matter.startswith("B"):
                matter = small_config.bundle(matter).matters[0]
            tickets[wid] = [issue(kiosk, matter) for _ in range(3)]  # enough for every window
        # each window calls its next ticket from its keypad
        for wid in windows:
            rig.press(wid, "next")
        for i, w in enumerate(small_config.windows):
            assert wait(lambda: "请到" in rig.led_text(w.id)), (w.id, rig.led_text(w.id))
        # the exact bytes of one call on the wire
        w1 = small_config.windows[0]
        led1 = rig.led(w1.id)
        number = led1.lines[0].split(" ")[0]
        assert wait(lambda: states[w1.id]["ticket"] and states[w1.id]["ticket"]["number"] == number)

        def shown_with_count() -> bool:  # the LED bar's second line: the window's count from its zone
            n = counts.get(w1.zone, {}).get("windows", {}).get(w1.id)
            want = expected_led(led1.address, [f"{number} 请到{w1.number}号窗口", f"等候 {n} 人"])
            return n is not None and any(same_but_seq(f, want) for f in led_frames(led1))
        assert wait(shown_with_count), ([f.hex() for f in led_frames(led1)], counts.get(w1.zone))
        # recall flashes
        rig.press(w1.id, "recall")
        assert wait(lambda: led1.flash_s > 0)
        # the keypad shows the current number
        kp1 = rig.by_window[w1.id]["keypad"]
        assert wait(lambda: kp1.display is not None and kp1.display[2] == number)
        # finish → evaluator prompt → the citizen presses 非常满意
        ev1 = rig.by_window[w1.id]["evaluator"]
        rig.press(w1.id, "finish")
        assert wait(lambda: ev1.prompting == number)
        assert rig.rate(w1.id, 5)
        assert wait(lambda: any(r.level == 5 and r.source == "evaluator" for r in ratings(eng)))
        # another window: the citizen walks away; the evaluator's timeout is 'not rated'
        w2 = small_config.windows[1]
        ev2 = rig.by_window[w2.id]["evaluator"]
        rig.press(w2.id, "finish")
        assert wait(lambda: ev2.prompting is not None)
        ev2.expire()
        assert wait(lambda: any(r.window == w2.id and r.level is None and r.source == "timeout"
                                for r in ratings(eng)))
        assert not any(r.window == w2.id and r.level is not None for r in ratings(eng))
        # pause from the keypad: the bar says so
        rig.press(w2.id, "pause")
        assert wait(lambda: "暂停服务" in rig.led_text(w2.id))
        rig.press(w2.id, "pause")  # single-key units: pause again resumes
        assert wait(lambda: "欢迎您" in rig.led_text(w2.id))
    finally:
        rig.stop()


def test_availability_retained_and_replug_restores_the_call(broker, running_engine, bus_client,
                                                            small_config, tmp_path):
    eng = running_engine()
    rig = start_demo_rig(small_config, broker.settings, tmp_path / "rig",
                         quirks=Quirks(garbage_rate=0.2, seed=4, wire_baud=115200))
    try:
        client = bus_client(eng.hall_id, "t")
        avail: queue.Queue = queue.Queue()
        client.subscribe(REGISTRY["device.availability"], lambda p, d: avail.put((p.ident, json.loads(d))))
        kiosk = Requester(client, "kiosk", "K1")
        w = small_config.windows[0]
        rig.press(w.id, "login", "2001")
        assert wait(lambda: "欢迎您" in rig.led_text(w.id))
        ticket = issue(kiosk, "M1")
        rig.press(w.id, "next")
        assert wait(lambda: f"{ticket['number']} 请到" in rig.led_text(w.id))
        line = next(iter(rig.lines.values()))
        line.unplug()
        led = rig.led(w.id)
        led_id = f"ledbar-{w.id}"
        seen = {}
        end = time.monotonic() + 10
        while time.monotonic() < end and seen.get(led_id) != "offline":
            try:
                ident, msg = avail.get(timeout=0.5)
                seen[ident] = msg["state"]
            except queue.Empty:
                pass
        assert seen.get(led_id) == "offline"
        led.power_cycle()  # the bar lost power with the adapter
        line.replug()
        assert wait(lambda: f"{ticket['number']} 请到" in rig.led_text(w.id), 15)
        # a fresh subscriber sees the retained availability
        late = bus_client(eng.hall_id, "late")
        got: queue.Queue = queue.Queue()
        late.subscribe(REGISTRY["device.availability"], lambda p, d: got.put((p.ident, json.loads(d))),
                       ident=led_id)
        assert wait(lambda: not got.empty(), 5)
        assert got.get()[1]["state"] == "online"
    finally:
        rig.stop()


def test_led_bars_say_out_of_service_while_the_engine_is_away(broker, running_engine, bus_client,
                                                              small_config, tmp_path):
    """A bar still showing "A001 请到1号窗口" while the engine is down misleads the hall:
    after `out_of_service_after_s` it says so, and shows the state again when the engine is back."""
    from hall.config import parse_config
    raw = small_config.to_json_dict()
    raw["devices"]["led"] = {"out_of_service_after_s": 1}
    cfg = parse_config(raw)
    db = tmp_path / "engine.sqlite"
    eng = running_engine(cfg, db=db)
    rig = start_demo_rig(cfg, broker.settings, tmp_path / "rig")
    try:
        kiosk = Requester(bus_client(eng.hall_id, "t"), "kiosk", "K1")
        w = cfg.windows[0]
        rig.press(w.id, "login", "2001")
        ticket = issue(kiosk, next(iter(w.serves)))
        rig.press(w.id, "next")
        assert wait(lambda: f"{ticket['number']} 请到" in rig.led_text(w.id))
        assert not rig.bridge.out_of_service
        eng.stop()  # its availability turns "stopped"
        assert wait(lambda: all(rig.led_text(x.id) == f"{x.number}号窗口 系统维护"
                                for x in cfg.windows if rig.led(x.id)))
        running_engine(cfg, db=db)  # back, from the same store
        assert wait(lambda: f"{ticket['number']} 请到" in rig.led_text(w.id))
        assert not rig.bridge.out_of_service
    finally:
        rig.stop()


def test_led_bars_say_out_of_service_when_the_broker_is_lost(small_config, tmp_path):
    """Without the broker the bridge hears nothing from the engine either."""
    from hall.broker import start_local_broker
    from hall.config import parse_config
    raw = small_config.to_json_dict()
    raw["devices"]["led"] = {"out_of_service_after_s": 1}
    cfg = parse_config(raw)
    from caller.service import CallerService
    b = start_local_broker(workdir=tmp_path / "broker")
    eng = CallerService(cfg, tmp_path / "e.sqlite", b.settings)
    rig = None
    try:
        eng.start()
        rig = start_demo_rig(cfg, b.settings, tmp_path / "rig")
        w = cfg.windows[0]
        rig.press(w.id, "login", "2001")
        assert wait(lambda: "欢迎您" in rig.led_text(w.id))
        b.kill()  # the engine still runs, but no word of it can reach the bridge now
        assert wait(lambda: rig.led_text(w.id) == f"{w.number}号窗口 系统维护")
    finally:
        if rig is not None:
            rig.stop()
        eng.stop()
        b.stop()


def test_legacy_keypads_on_their_own_line(broker, running_engine, bus_client, small_config, tmp_path):
    """A hall that keeps its FF-68 callers and evaluators, with our LED bars on a second line."""
    lines = [Line(id="old", port="/dev/null-old", baud=9600, protocol="legacy68"),
             Line(id="new", port="/dev/null-new", baud=115200)]
    serial = [SerialDevice(id="kp-W1", line="old", kind="keypad", address=1, window="W1"),
              SerialDevice(id="ev-W1", line="old", kind="evaluator", address=2, window="W1"),
              SerialDevice(id="led-W1", line="new", kind="ledbar", address=1, window="W1", columns=16)]
    cfg = small_config.model_copy(update={"devices": DevicesConfig(lines=lines, serial=serial)})
    eng = running_engine(cfg)
    rig = start_demo_rig(cfg, broker.settings, tmp_path / "rig")
    try:
        client = bus_client(eng.hall_id, "t")
        kiosk = Requester(client, "kiosk", "K1")
        rig.press("W1", "login", "3001")
        assert wait(lambda: "欢迎您" in rig.led_text("W1"))
        t = issue(kiosk, "M1")
        rig.press("W1", "next")
        assert wait(lambda: rig.led_text("W1") == f"{t['number']} 请到1号窗口")
        kp = rig.by_window["W1"]["keypad"]
        assert wait(lambda: kp.display == (0, t["number"]))
        rig.press("W1", "finish")
        ev = rig.by_window["W1"]["evaluator"]
        assert wait(lambda: ev.prompting)
        rig.rate("W1", 2)
        assert wait(lambda: any(r.level == 2 and r.window == "W1" for r in ratings(eng)))
    finally:
        rig.stop()


class _Handle:
    def __init__(self):
        self.q: queue.Queue = queue.Queue()

    def events(self, timeout):
        try:
            return [self.q.get(timeout=timeout)]
        except queue.Empty:
            return []

    def close(self):
        pass


@needs("evdev")
def test_usb_keypad_and_scanner_through_the_bus(broker, running_engine, bus_client, small_config):
    import evdev
    from evdev import InputEvent, ecodes

    from firmware_bridge.bridge import Bridge
    from hall.config.devices import InputDevice

    inputs = [InputDevice(id="usbkp-W3", kind="keypad", path="/dev/input/by-id/usb-kp-event-kbd", window="W3"),
              InputDevice(id="scan-W5", kind="scanner", path="/dev/input/by-id/usb-scan-event-kbd", window="W5")]
    cfg = small_config.model_copy(update={"devices": DevicesConfig(inputs=inputs)})
    eng = running_engine(cfg)
    handles = {}

    def opener(path, grab):
        assert grab
        return handles.setdefault(path, _Handle())

    client = bus_client(eng.hall_id, "t")
    states: dict = {}
    scans: queue.Queue = queue.Queue()
    client.subscribe(REGISTRY["window.state"], lambda p, d: states.__setitem__(p.ident, json.loads(d)))
    client.subscribe(REGISTRY["device.scan"], lambda p, d: scans.put((p.ident, json.loads(d))))
    br = Bridge(cfg, broker.settings, bridge_id="evdev-test", input_factory=opener).start()
    try:
        assert wait(lambda: len(handles) == 2)

        def tap(path, *names):
            for n in names:
                handles[path].q.put(InputEvent(0, 0, ecodes.EV_KEY, ecodes.ecodes[n], 1))
                handles[path].q.put(InputEvent(0, 0, ecodes.EV_KEY, ecodes.ecodes[n], 0))
        tap(inputs[0].path, "KEY_KP4", "KEY_KP2", "KEY_BACKSPACE")  # staff 42 logs in
        assert wait(lambda: states.get("W3", {}).get("staff") == "42")
        tap(inputs[1].path, *[f"KEY_{d}" for d in "11010519491231002"], "KEY_KPENTER")
        ident, msg = scans.get(timeout=5)
        assert ident == "scan-W5" and msg["window"] == "W5" and msg["text"] == "11010519491231002"
        assert msg["kind"] == "text"  # 17 digits: not a full ID number
    finally:
        br.stop()

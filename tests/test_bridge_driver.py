"""Line drivers against fake devices on ptys: the real pyserial path, with quirks and faults."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from firmware_bridge import frames as F
from firmware_bridge.driver import KeyEvent
from firmware_bridge.evaluator import IDLE, PromptView
from firmware_bridge.fakes import (FakeEvaluator, FakeKeypad, FakeLedBar, FakeLegacyEvaluator,
                                   FakeLegacyKeypad, FakeLine, Quirks)
from firmware_bridge.keypad import KeypadView
from firmware_bridge.ledbar import LedView
from firmware_bridge.legacy_driver import Legacy68Driver
from hall.seriallink import Backoff, SerialLink
from firmware_bridge.owb_driver import OwbDriver
from hall.config.devices import Line, SerialDevice


def more_tx(r, dev_id: str, n: int, timeout=10.0) -> bool:
    """Wait until the driver sent ``n`` more requests to ``dev_id`` (a marker: the line kept working)."""
    tx0 = r.driver.slots[dev_id].stats["tx"]
    return wait(lambda: r.driver.slots[dev_id].stats["tx"] >= tx0 + n, timeout)


def wait(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


class Rig:
    def __init__(self, protocol="onewindow", quirks=None, **line_kw):
        self.fake = FakeLine(protocol, quirks=quirks).start()
        # a pty has no baud rate: a 5 ms poll interval keeps the test from spinning a core
        kw = dict(reply_timeout_ms=150, keepalive_s=0.3, backoff_max_s=1.0, poll_interval_ms=5) | line_kw
        self.line = Line(id="L1", port=self.fake.port, baud=115200, protocol=protocol, **kw)
        self.devs: list[SerialDevice] = []
        self.events: list[KeyEvent] = []
        self.avail: list[tuple[str, bool]] = []
        self._lock = threading.Lock()
        self.driver = None

    def add(self, fake, dev_id, kind, window="W1", address=None):
        if fake is not None:
            self.fake.add(fake)
        self.devs.append(SerialDevice(id=dev_id, line="L1", kind=kind, window=window,
                                      address=address or fake.address))
        return fake

    def start(self):
        cls = OwbDriver if self.line.protocol == "onewindow" else Legacy68Driver
        self.driver = cls(self.line, self.devs, SerialLink(self.line.port, self.line.baud),
                          on_event=self.events.append,
                          on_availability=lambda c, on, why: self.avail.append((c.id, on)))
        self.driver.start()
        return self

    def stop(self):
        if self.driver:
            self.driver.stop()
        self.fake.stop()


@pytest.fixture
def rig():
    made = []

    def make(*a, **kw):
        r = Rig(*a, **kw)
        made.append(r)
        return r
    yield make
    for r in made:
        r.stop()


def test_keys_arrive_once_and_in_order_despite_lost_bytes_and_noise(rig):
    r = rig(quirks=Quirks(drop_rate=0.03, garbage_rate=0.3, seed=11))
    kp = r.add(FakeKeypad(2), "kp", "keypad")
    led = r.add(FakeLedBar(1), "led", "ledbar")
    r.start()
    keys = ["login", "next", "recall", "noshow", "next", "start", "finish", "pause", "resume", "next"] * 3
    for k in keys:
        kp.press(k, "1234" if k == "login" else b"")
    r.driver.set_view("led", LedView(("A023 请到5号窗口",)))
    assert wait(lambda: len(r.events) >= len(keys), 30)
    # barrier: one more key after all of them; a key delivered twice would come before it
    kp.press("finish")
    assert wait(lambda: r.events and r.events[-1].key == "finish" and len(r.events) > len(keys))
    assert [e.key for e in r.events] == keys + ["finish"]
    assert r.events[0].arg == "1234" and r.events[0].window == "W1"
    assert wait(lambda: led.lines == ["A023 请到5号窗口"])
    assert r.driver.dropped_bytes > 0  # the noise was really there


def test_only_the_newest_view_is_shown(rig):
    r = rig()
    led = r.add(FakeLedBar(1), "led", "ledbar")
    kp = r.add(FakeKeypad(2), "kp", "keypad")
    r.start()
    for i in range(30):
        r.driver.set_view("led", LedView((f"A{i:03d} 请到5号窗口",)))
        r.driver.set_view("kp", KeypadView("open", i, f"A{i:03d}"))
    assert wait(lambda: led.lines == ["A029 请到5号窗口"] and kp.display == ("open", 29, "A029"))
    assert led.updates <= 30


def test_silent_device_goes_offline_once_and_the_bus_keeps_working(rig, caplog):
    caplog.set_level(logging.WARNING, "firmware_bridge")
    r = rig()
    kp = r.add(FakeKeypad(2), "kp", "keypad")
    r.add(None, "ghost", "keypad", window="W2", address=9)   # wrong DIP switch: nobody at 9
    led = r.add(FakeLedBar(1), "led", "ledbar")
    r.start()
    r.driver.set_view("led", LedView(("hello",)))
    assert wait(lambda: ("ghost", False) in r.avail)
    kp.press("next")
    assert wait(lambda: [e.key for e in r.events] == ["next"])
    assert wait(lambda: led.lines == ["hello"])
    assert more_tx(r, "ghost", 3)  # several backoff probes of the ghost
    assert r.avail.count(("ghost", False)) == 1
    silent_logs = [m for m in caplog.messages if "ghost" in m and "does not answer" in m]
    assert len(silent_logs) == 1
    assert r.driver.slots["ghost"].stats["tx"] > 3  # it was retried


def test_device_back_from_silence_gets_its_view_again(rig):
    r = rig()
    led = r.add(FakeLedBar(1), "led", "ledbar")
    r.start()
    r.driver.set_view("led", LedView(("A023 请到5号窗口",)))
    assert wait(lambda: led.lines == ["A023 请到5号窗口"])
    led.silent = True
    assert wait(lambda: ("led", False) in r.avail)
    led.power_cycle()  # it lost power while silent: blank
    led.silent = False
    assert wait(lambda: led.lines == ["A023 请到5号窗口"])
    assert r.avail[-1] == ("led", True)


def test_power_cycled_device_says_it_is_blank_and_is_refilled(rig):
    r = rig()
    led = r.add(FakeLedBar(1), "led", "ledbar")
    kp = r.add(FakeKeypad(2), "kp", "keypad")
    r.start()
    r.driver.set_view("led", LedView(("A023 请到5号窗口", "等候 3 人")))
    r.driver.set_view("kp", KeypadView("open", 3, "A023"))
    assert wait(lambda: led.lines and kp.display)
    led.power_cycle()
    kp.power_cycle()
    assert not led.lines and kp.display is None
    assert wait(lambda: led.lines == ["A023 请到5号窗口", "等候 3 人"] and kp.display == ("open", 3, "A023"))


def test_unplugged_adapter_marks_all_offline_then_restores_state(rig, caplog):
    caplog.set_level(logging.WARNING, "firmware_bridge")
    r = rig()
    led = r.add(FakeLedBar(1), "led", "ledbar")
    kp = r.add(FakeKeypad(2), "kp", "keypad")
    r.start()
    r.driver.set_view("led", LedView(("A023 请到5号窗口",)))
    assert wait(lambda: led.lines == ["A023 请到5号窗口"] and ("kp", True) in r.avail)
    opens: list[float] = []
    real_open = r.driver.link.open

    def counted_open():
        opens.append(time.monotonic())
        return real_open()
    r.driver.link.open = counted_open
    r.fake.unplug()
    assert wait(lambda: ("led", False) in r.avail and ("kp", False) in r.avail)
    r.driver.set_view("led", LedView(("A024 请到5号窗口",)))  # the engine moved on meanwhile
    assert wait(lambda: len(opens) >= 2)  # reopen tried (and failed) more than once
    led.power_cycle()
    r.fake.replug()
    assert wait(lambda: led.lines == ["A024 请到5号窗口"], 15)
    kp.press("next")
    assert wait(lambda: [e.key for e in r.events] == ["next"])
    assert r.avail[-2:] in ([("led", True), ("kp", True)], [("kp", True), ("led", True)])
    lost = [m for m in caplog.messages if "reopening with backoff" in m]
    assert len(lost) == 1  # logged once, however many reopen attempts


def test_slow_replies_are_waited_for(rig):
    r = rig(quirks=Quirks(reply_delay_s=0.04), reply_timeout_ms=300)
    kp = r.add(FakeKeypad(2), "kp", "keypad")
    r.start()
    kp.press("recall")
    assert wait(lambda: [e.key for e in r.events] == ["recall"])
    assert r.driver.slots["kp"].stats["timeouts"] == 0


def test_evaluator_prompt_rating_and_its_own_timeout(rig):
    r = rig()
    ev = r.add(FakeEvaluator(3), "ev", "evaluator")
    r.start()
    assert not ev.rate(5)  # dark: no rating without a prompt
    r.driver.set_view("ev", PromptView("T1", "A023", 30))
    assert wait(lambda: ev.prompting == "A023")
    assert ev.rate(4)
    assert wait(lambda: [(e.key, e.level) for e in r.events] == [("rate", 4)])
    r.driver.set_view("ev", PromptView("T2", "A024", 30))
    assert wait(lambda: ev.prompting == "A024")
    ev.expire()
    assert wait(lambda: [(e.key, e.level) for e in r.events] == [("rate", 4), ("rate", None)])
    r.driver.set_view("ev", IDLE)


def test_legacy_line_keys_display_and_evaluator(rig):
    r = rig("legacy68", quirks=Quirks(garbage_rate=0.2, drop_rate=0.01, seed=5))
    kp = r.add(FakeLegacyKeypad(5), "kp", "keypad")
    ev = r.add(FakeLegacyEvaluator(6), "ev", "evaluator")
    r.start()
    for k, a in [("login", "1234"), ("next", ""), ("recall", ""), ("transfer", "3"), ("pause", "")]:
        kp.press(k, a)
    assert wait(lambda: len(r.events) >= 5, 20)
    assert [(e.key, e.arg) for e in r.events] == [("login", "1234"), ("next", ""), ("recall", ""),
                                                  ("transfer", "3"), ("pause", "")]
    r.driver.set_view("kp", KeypadView("open", 12, "A023"))
    assert wait(lambda: kp.display == (12, "A023"))
    r.driver.set_view("ev", PromptView("T1", "A023", 30))
    assert wait(lambda: ev.prompting)
    ev.rate(5)  # 非常满意 is key 1 on these units
    assert wait(lambda: r.events[-1].key == "rate")
    assert r.events[-1].level == 5


@pytest.mark.parametrize("protocol,fake,unknown", [("onewindow", FakeKeypad, 0x7E), ("legacy68", FakeLegacyKeypad, 0x15)])
def test_a_key_code_the_bridge_cannot_read_is_acknowledged_and_the_keypad_goes_on(rig, caplog, protocol,
                                                                                   fake, unknown):
    """A keypad holds its keys in order until each is acknowledged: an unknown code
    left unacknowledged would block every key after it, for good."""
    caplog.set_level(logging.WARNING, "firmware_bridge")
    r = rig(protocol)
    kp = r.add(fake(2), "kp", "keypad")
    r.start()
    kp.press("next")
    kp.press(unknown, b"")
    kp.press("recall")
    assert wait(lambda: len(r.events) >= 2)
    assert [e.key for e in r.events] == ["next", "recall"]
    assert wait(lambda: not kp.events)  # the keypad holds nothing: all three were acknowledged
    assert sum(f"0x{unknown:02X}" in m or f"{unknown:02x}" in m for m in caplog.messages) == 1


def test_backoff_doubles_up_to_the_cap():
    b = Backoff(0.5, 4)
    assert [b.next() for _ in range(6)] == [0.5, 1, 2, 4, 4, 4]
    b.reset()
    assert b.next() == 0.5


class FirmwareOnLine:
    """The MicroPython firmware's Device (firmware/owproto.py) as a device on a FakeLine."""

    def __init__(self, fw, address, kind):
        self.fw = fw
        self.dev = fw.Device(address, kind)
        self.address = address

    def handle(self, fr):
        if fr.reply:
            return None
        out = self.dev.handle(fr.addr, fr.seq, fr.cmd, fr.payload)
        return bytes(out) if out is not None else None

    def written(self, reply):
        pass


def test_reference_firmware_speaks_with_the_real_driver(rig):
    from tests.test_bridge_frames import _firmware_proto
    fw = _firmware_proto()
    r = rig(quirks=Quirks(drop_rate=0.03, garbage_rate=0.3, seed=21))
    kp = FirmwareOnLine(fw, 2, fw.KIND_KEYPAD)
    ev = FirmwareOnLine(fw, 3, fw.KIND_EVALUATOR)
    led = FirmwareOnLine(fw, 1, fw.KIND_LEDBAR)
    for d, kind in ((kp, "keypad"), (ev, "evaluator"), (led, "ledbar")):
        r.fake.add(d)
        r.devs.append(SerialDevice(id=kind, line="L1", kind=kind, window="W1", address=d.address))
    r.start()
    for code, arg in [(fw.KEY_LOGIN, b"1001"), (fw.KEY_NEXT, b""), (fw.KEY_TRANSFER, b"3"), (fw.KEY_FINISH, b"")]:
        kp.dev.queue_key(code, arg)
    r.driver.set_view("ledbar", LedView(("A023 请到5号窗口",), flash_s=8))
    r.driver.set_view("keypad", KeypadView("open", 7, "A023"))
    r.driver.set_view("evaluator", PromptView("T1", "A023", 30))
    assert wait(lambda: ev.dev.prompt == (30, "A023"))
    assert ev.dev.rate(5)
    assert wait(lambda: len(r.events) >= 5, 20)
    assert [(e.key, e.arg) for e in r.events if e.device == "keypad"] == [
        ("login", "1001"), ("next", ""), ("transfer", "3"), ("finish", "")]
    assert [(e.key, e.level) for e in r.events if e.device == "evaluator"] == [("rate", 5)]
    assert wait(lambda: led.dev.lines == ["A023 请到5号窗口".encode("gb2312")] and led.dev.flash_s == 8)
    assert wait(lambda: kp.dev.display == ("open", 7, "A023"))


def test_scan_finds_devices_and_misplaced_addresses():
    from firmware_bridge.scan import report, scan_line
    fake = FakeLine(quirks=Quirks(garbage_rate=0.3, seed=2)).start()
    try:
        fake.add(FakeLedBar(1))
        fake.add(FakeKeypad(7))  # configured at 2: its DIP switch says 7
        line = Line(id="L1", port=fake.port, baud=115200)
        link = SerialLink(fake.port, 115200)
        link.open()
        try:
            found = scan_line(line, link, addresses=range(1, 11), timeout_s=0.1)
        finally:
            link.close()
        assert [(f.address, f.kind) for f in found] == [(1, "ledbar"), (7, "keypad")]
        rows = report(line, found, {1: ("led-W1", "ledbar"), 2: ("kp-W1", "keypad")})
        assert [r.split()[-1] for r in rows] == ["ok", "answer", "config"]
        assert "configured, no answer" in rows[1] and "not in the config" in rows[2]
    finally:
        fake.stop()


def test_waiting_counts_are_coalesced_but_a_call_is_never_held(rig):
    r = rig(coalesce_ms=60000)
    kp = r.add(FakeKeypad(2), "kp", "keypad")
    r.start()
    r.driver.set_view("kp", KeypadView("open", 1, "A001"), urgent=True)
    assert wait(lambda: kp.display == ("open", 1, "A001"))
    for n in range(2, 12):  # other windows call: the waiting count changes ten times
        r.driver.set_view("kp", KeypadView("open", n, "A001"))
    assert more_tx(r, "kp", 20)  # twenty polls since: twenty chances to send it
    assert kp.display == ("open", 1, "A001")  # held: within a minute of the last update
    r.driver.set_view("kp", KeypadView("open", 11, "A002"), urgent=True)  # this window calls
    assert wait(lambda: kp.display == ("open", 11, "A002"))


def test_each_device_sees_a_new_sequence_number_for_every_new_request(rig):
    """With one counter for the whole line, 16 devices made every poll of a device reuse
    its last sequence number, and the device answered from its retransmission cache."""
    r = rig(poll_interval_ms=0)
    pads = [r.add(FakeKeypad(a), f"kp{a}", "keypad", window=f"W{a}") for a in range(1, 17)]
    r.start()
    assert wait(lambda: all(len(p.frames) >= 6 for p in pads))
    r.driver.stop()
    for p in pads:
        seqs = [f[2] & 0x0F for f in p.frames]
        assert all(a != b for a, b in zip(seqs, seqs[1:])), seqs
    pads[0].press("next")  # and nothing is lost to the cache


def test_wrong_kind_of_device_at_an_address_is_reported_once(rig, caplog):
    caplog.set_level(logging.WARNING, "firmware_bridge")
    r = rig()
    r.add(FakeKeypad(4), "led-W1", "ledbar")  # a keypad where the config expects the LED bar
    r.start()
    r.driver.set_view("led-W1", LedView(("A023 请到5号窗口",)))
    assert wait(lambda: any("answers as a keypad, configured as ledbar" in m for m in caplog.messages))
    assert more_tx(r, "led-W1", 3)  # more keepalives
    assert sum("answers as a keypad" in m for m in caplog.messages) == 1
    assert sum("refused a request" in m for m in caplog.messages) == 1  # the LED text, NAKed once


def test_a_plain_poll_and_its_quiet_ack_are_the_protocol_bytes(rig):
    """Plain polls are built once per device and sequence number, and a reply equal to
    the "no key" ACK is taken without parsing: both must be the very bytes a keypad
    speaks (the fake and the reference firmware), for every sequence number."""
    from tests.test_bridge_frames import _firmware_proto
    fw = _firmware_proto()
    r = rig()
    r.add(FakeKeypad(9), "kp", "keypad")
    drv = OwbDriver(r.line, r.devs, SerialLink(r.line.port, r.line.baud), on_event=r.events.append,
                    on_availability=lambda *a: None)
    slot = drv.slots["kp"]
    fake = FakeKeypad(9)
    fake.fresh = False  # has been shown its state: no flag in its ACK
    chip = fw.Device(9, fw.KIND_KEYPAD)
    chip.fresh = False
    seen = set()
    for _ in range(40):  # every sequence number, and each again from the cache
        req = drv.poll_request(slot)
        seq = req[2] & 0x0F
        seen.add(seq)
        assert req == F.encode(9, F.POLL, b"\x00", seq=seq)
        quiet = drv.quiet_reply(slot, req)
        assert quiet == fake.handle(F.decode(req)) == bytes(chip.handle(9, seq, F.POLL, b"\x00"))
    assert len(seen) == 16
    slot.pending_ack = 7  # a poll that acknowledges a key is built afresh, and has no quiet reply
    req = drv.poll_request(slot)
    assert req == F.encode(9, F.POLL, b"\x07", seq=req[2] & 0x0F)
    assert drv.quiet_reply(slot, req) is None
    assert drv.quiet_reply(slot, drv.probe_request(slot)) is None


def test_a_held_waiting_count_goes_out_once_its_time_comes(rig):
    r = rig(coalesce_ms=2000)
    kp = r.add(FakeKeypad(2), "kp", "keypad")
    led = r.add(FakeLedBar(1), "led", "ledbar")
    r.start()
    r.driver.set_view("kp", KeypadView("open", 1, "A001"), urgent=True)
    assert wait(lambda: kp.display == ("open", 1, "A001"))
    shows = sum(1 for f in kp.frames if f[3] == F.KEYPAD_SHOW)
    for n in range(2, 12):
        r.driver.set_view("kp", KeypadView("open", n, "A001"))
        r.driver.set_view("led", LedView((f"A00{n % 10} 请到5号窗口",)), urgent=True)  # calls elsewhere
    assert wait(lambda: kp.display == ("open", 11, "A001"))
    assert wait(lambda: led.lines == ["A001 请到5号窗口"])
    # the ten counts came within 2 s of the last update: one frame, the newest count
    assert sum(1 for f in kp.frames if f[3] == F.KEYPAD_SHOW) - shows == 1


def test_a_bug_while_building_a_poll_does_not_stop_the_device_being_polled(rig, caplog):
    """A pick takes the device out of the schedule until its transaction reschedules it;
    when the transaction raises first, it is put back (else the keypad is never polled again)."""
    caplog.set_level(logging.ERROR, "firmware_bridge")
    r = rig()
    kp = r.add(FakeKeypad(2), "kp", "keypad")
    r.start()
    assert wait(lambda: ("kp", True) in r.avail)
    real = r.driver.poll_request
    failed = []

    def buggy(slot):
        if not failed:
            failed.append(slot.id)
            raise RuntimeError("a bug")
        return real(slot)
    r.driver.poll_request = buggy
    assert wait(lambda: failed)
    kp.press("next")
    assert wait(lambda: [e.key for e in r.events] == ["next"])
    assert any("unexpected error" in m for m in caplog.messages)

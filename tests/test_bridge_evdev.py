"""USB keypads and scanners: evdev.InputEvent objects in, window ops and scan lines out."""

from __future__ import annotations

import queue
import threading
import time

from tests.needs import import_needed  # noqa: I001

evdev = import_needed("evdev")
from evdev import InputEvent, ecodes  # noqa: E402

from firmware_bridge.inputs import InputReader  # noqa: E402
from hall.config.devices import DEFAULT_KEYPAD_MAP, InputDevice  # noqa: E402
from hall.evdev_reader import ScanDecoder  # noqa: E402


def key(name: str, value: int = 1) -> InputEvent:
    return InputEvent(0, 0, ecodes.EV_KEY, ecodes.ecodes[name], value)


def tap(*names: str) -> list[InputEvent]:
    out = []
    for n in names:
        out += [key(n, 1), InputEvent(0, 0, ecodes.EV_SYN, 0, 0), key(n, 0)]
    return out


def shifted(n: str) -> list[InputEvent]:
    return [key("KEY_LEFTSHIFT", 1), key(n, 1), key(n, 0), key("KEY_LEFTSHIFT", 0)]


def decode(events) -> list[str]:
    d = ScanDecoder()
    return [line for ev in events if (line := d.feed_event(ev)) is not None]


def test_scanner_line_with_shift_digits_keypad_and_enter():
    evs = shifted("KEY_H") + tap("KEY_T", "KEY_T", "KEY_P", "KEY_S") + shifted("KEY_SEMICOLON") + \
        tap("KEY_SLASH", "KEY_SLASH", "KEY_Q", "KEY_DOT", "KEY_C", "KEY_N", "KEY_SLASH") + \
        shifted("KEY_A") + tap("KEY_0", "KEY_2", "KEY_3", "KEY_MINUS", "KEY_KP7", "KEY_KP8", "KEY_ENTER")
    assert decode(evs) == ["Https://q.cn/A023-78"]


def test_id_card_reader_line_ends_with_keypad_enter_and_keeps_x():
    digits = "11010519491231002"
    evs = tap(*[f"KEY_{d}" for d in digits]) + shifted("KEY_X") + tap("KEY_KPENTER")
    assert decode(evs) == [digits + "X"]


def test_caps_lock_and_repeats_and_two_lines():
    evs = tap("KEY_CAPSLOCK", "KEY_A") + shifted("KEY_B") + [key("KEY_C", 2)] + tap("KEY_ENTER") + \
        tap("KEY_CAPSLOCK", "KEY_D", "KEY_ENTER")
    assert decode(evs) == ["Ab", "D"]  # the second line starts with Caps Lock off again


def test_shift_and_caps_lock_end_with_the_line():
    """A scanner whose Shift key-up was lost, or that left Caps Lock on, must not
    change the case of the next code it reads: each line starts plain."""
    stuck_shift = [key("KEY_LEFTSHIFT", 1)] + tap("KEY_A", "KEY_1", "KEY_ENTER")
    caps_on = tap("KEY_CAPSLOCK", "KEY_B", "KEY_ENTER")
    plain = tap("KEY_C", "KEY_2", "KEY_ENTER")
    assert decode(stuck_shift + plain) == ["A!", "c2"]
    assert decode(caps_on + plain) == ["B", "c2"]


def _keypad(keymap=None):
    cfg = InputDevice(id="usbkp1", kind="keypad", path="/dev/input/by-id/usb-kp-event-kbd", window="W3",
                      keymap=keymap or {})
    got: list = []
    r = InputReader(cfg, keymap or DEFAULT_KEYPAD_MAP, on_key=got.append, on_scan=lambda *a: None,
                    on_availability=lambda *a: None)
    return r, got


def test_usb_keypad_maps_keys_and_collects_digits():
    r, got = _keypad()
    for ev in tap("KEY_KP1", "KEY_KP0", "KEY_KP2", "KEY_BACKSPACE", "KEY_KPENTER", "KEY_KPPLUS",
                  "KEY_KP7", "KEY_KPASTERISK", "KEY_KPDOT") + [key("KEY_KPENTER", 2)]:
        r.handle(ev)
    assert [(e.key, e.arg, e.window) for e in got] == [
        ("login", "102", "W3"), ("next", "", "W3"), ("recall", "", "W3"), ("transfer", "7", "W3"),
        ("finish", "", "W3")]


def test_usb_keypad_custom_keymap():
    r, got = _keypad({"KEY_KP0": "next", "KEY_KPDOT": "pause"})
    for ev in tap("KEY_KP0", "KEY_KPDOT", "KEY_KPENTER"):
        r.handle(ev)
    assert [e.key for e in got] == ["next", "pause"]


class FakeHandle:
    """What the opener returns: events(timeout) raises OSError once unplugged."""

    def __init__(self):
        self.q: queue.Queue = queue.Queue()
        self.gone = False
        self.closed = False

    def events(self, timeout):
        if self.gone:
            raise OSError(19, "No such device")
        try:
            return [self.q.get(timeout=timeout)]
        except queue.Empty:
            return []

    def close(self):
        self.closed = True


def test_scanner_reopened_after_hotplug_and_grabbed():
    present = threading.Event()
    present.set()
    handles: list[FakeHandle] = []
    grabs: list[bool] = []
    refused: list[int] = []

    def opener(path, grab):
        assert path == "/dev/input/by-id/usb-scanner-event-kbd"
        if not present.is_set():
            refused.append(1)
            raise OSError(2, "No such file or directory")
        h = FakeHandle()
        handles.append(h)
        grabs.append(grab)
        return h

    cfg = InputDevice(id="scan1", kind="scanner", path="/dev/input/by-id/usb-scanner-event-kbd", window="W1")
    lines: list = []
    avail: list = []
    r = InputReader(cfg, {}, on_key=lambda e: None, on_scan=lambda d, w, t: lines.append((d, w, t)),
                    on_availability=lambda c, on, why: avail.append(on), opener=opener, backoff_max_s=0.2)
    r.start()
    try:
        for ev in tap("KEY_1", "KEY_2", "KEY_ENTER"):
            handles[0].q.put(ev)
        _wait(lambda: lines == [("scan1", "W1", "12")])
        present.clear()
        handles[0].gone = True
        _wait(lambda: avail == [True, False])
        _wait(lambda: len(refused) >= 2)  # it kept trying while the device was away
        present.set()
        _wait(lambda: len(handles) == 2 and avail == [True, False, True])
        for ev in tap("KEY_3", "KEY_ENTER"):
            handles[1].q.put(ev)
        _wait(lambda: lines[-1] == ("scan1", "W1", "3"))
        assert grabs == [True, True] and handles[0].closed
    finally:
        r.stop()


def _wait(pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end and not pred():
        time.sleep(0.01)
    assert pred()

"""Scanned lines reach the kiosk flow through the shared evdev reader (no /dev/uinput needed)."""

from __future__ import annotations

import threading
import time

from hall.config.kiosk import ScannerConfig
from kiosk.flow import S
from kiosk.scanner import EvdevSource, InjectedSource

from .needs import import_needed
from .test_kiosk_flow import make_flow

evdev = import_needed("evdev")


def key_events(text: str):
    e = evdev.ecodes
    out = []
    for ch in text:
        shifted = ch.isalpha() and ch.isupper()
        code = e.ecodes[f"KEY_{ch.upper()}"] if ch.isalnum() else e.KEY_MINUS
        if shifted:
            out.append(evdev.InputEvent(0, 0, e.EV_KEY, e.KEY_LEFTSHIFT, 1))
        out.append(evdev.InputEvent(0, 0, e.EV_KEY, code, 1))
        out.append(evdev.InputEvent(0, 0, e.EV_KEY, code, 0))
        if shifted:
            out.append(evdev.InputEvent(0, 0, e.EV_KEY, e.KEY_LEFTSHIFT, 0))
    out.append(evdev.InputEvent(0, 0, e.EV_KEY, e.KEY_ENTER, 1))
    return out


class FakeHandle:
    def __init__(self, events):
        self._events = list(events)

    def events(self, timeout):
        if self._events:
            out, self._events = self._events, []
            return out
        time.sleep(min(timeout, 0.02))
        return []

    def close(self):
        pass


def test_evdev_scanner_lines_drive_the_flow():
    lines: list[str] = []
    got = threading.Event()
    avail: list[tuple[str, bool]] = []

    def on_line(line):
        lines.append(line)
        got.set()
    src = EvdevSource(ScannerConfig(device="/dev/input/by-id/usb-scanner-event-kbd"),
                      on_availability=lambda i, ok, why: avail.append((i, ok)),
                      opener=lambda path, grab: FakeHandle(key_events("20261121-A001")))
    src.start(on_line)
    try:
        assert got.wait(5)
    finally:
        src.stop()
    assert lines == ["20261121-A001"]
    assert avail[0] == ("/dev/input/by-id/usb-scanner-event-kbd", True)
    f = make_flow()
    (eff,) = f.scan(lines[0], 0)
    assert eff.op == "ticket" and f.screen == S.BUSY


def test_injected_source_for_tests_and_bench():
    src = InjectedSource()
    seen = []
    src.start(seen.append)
    src.feed("BK-1")
    src.stop()
    src.feed("lost")
    assert seen == ["BK-1"]

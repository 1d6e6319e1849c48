"""USB numeric keypads and keyboard-mode scanners at a window (the bridge's evdev devices).

:class:`hall.evdev_reader.EvdevReader` opens, grabs and reopens the device;
this module says what its keys mean for the bridge: a keypad's keys become
window requests through :class:`~firmware_bridge.keypad.DigitEntry`, a
scanner's lines go out as scans of its window.
"""

from __future__ import annotations

from typing import Callable

from hall.clock import Clock
from hall.config.devices import InputDevice
from hall.evdev_reader import DOWN, EV_KEY, EvdevReader, ScanDecoder, key_name

from .driver import KeyEvent
from .keypad import DigitEntry


class InputReader:
    """One configured input device of the bridge (``devices.inputs[]``)."""

    def __init__(self, cfg: InputDevice, keymap: dict[str, str], *,
                 on_key: Callable[[KeyEvent], None],
                 on_scan: Callable[[str, str | None, str], None],
                 on_availability: Callable[[InputDevice, bool, str], None],
                 opener=None, clock: Clock | None = None, backoff_max_s: float = 10.0):
        self.cfg = cfg
        self.on_key = on_key
        self.on_scan = on_scan
        self.on_availability = on_availability
        self.scan = ScanDecoder()
        self.digits = DigitEntry(keymap)
        self.reader = EvdevReader(cfg.id, cfg.path, grab=cfg.grab, on_event=self.handle,
                                  on_availability=self._availability, opener=opener, clock=clock,
                                  backoff_max_s=backoff_max_s)

    def start(self) -> None:
        self.reader.start()

    def stop(self) -> None:
        self.reader.stop()

    def handle(self, ev) -> None:
        """One evdev.InputEvent (pure apart from the callbacks)."""
        if ev.type != EV_KEY:
            return
        name = key_name(ev.code)
        if self.cfg.kind == "scanner":
            line = self.scan.feed(name, ev.value)
            if line:
                self.on_scan(self.cfg.id, self.cfg.window, line)
            return
        if ev.value != DOWN:
            return
        hit = self.digits.feed(name)
        if hit is not None and self.cfg.window:
            op, arg = hit
            self.on_key(KeyEvent(self.cfg.id, self.cfg.window, op, arg=arg))

    def _availability(self, online: bool, reason: str) -> None:
        if online:  # a fresh open: half a line typed before the unplug is dropped
            self.scan = ScanDecoder()
        self.on_availability(self.cfg, online, reason)

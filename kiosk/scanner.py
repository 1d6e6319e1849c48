"""Scanned lines from QR / ID-card readers: the `InputSource` interface and its sources.

A reader in keyboard mode types its content and presses Enter; the kiosk only
cares that "a line arrived".  The evdev decoding (key events → characters,
with Shift, grab()) belongs to the bridge (``firmware_bridge/evdev_input.py``);
:class:`EvdevSource` adapts it and is imported lazily, so a kiosk without
evdev (a desk test, CI) still runs with :class:`InjectedSource`.
"""

from __future__ import annotations

import logging
import re
from typing import Callable, Protocol

log = logging.getLogger("kiosk.scanner")

OnLine = Callable[[str], None]


class InputSource(Protocol):
    def start(self, on_line: OnLine) -> None:
        """Begin delivering lines; ``on_line`` may be called from another thread."""

    def stop(self) -> None: ...


class InjectedSource:
    """Lines pushed by code: tests, the bench, a debug console."""

    def __init__(self) -> None:
        self._on_line: OnLine | None = None

    def start(self, on_line: OnLine) -> None:
        self._on_line = on_line

    def stop(self) -> None:
        self._on_line = None

    def feed(self, line: str) -> None:
        if self._on_line is not None:
            self._on_line(line)


class EvdevSource:
    """A keyboard-mode reader under ``/dev/input/by-id/`` through the bridge's
    :class:`firmware_bridge.evdev_input.InputReader` (grab, decode, reopen on replug).

    ``on_availability`` (optional) hears when the reader is plugged or unplugged,
    so the kiosk can publish it as ``device/<id>/availability``.
    """

    def __init__(self, device: str, grab: bool = True,
                 on_availability: Callable[[str, bool, str], None] | None = None, opener=None):
        self.device = device
        self.grab = grab
        # the bridge's InputDevice wants an id; the path's last part is readable and stable
        self.ident = re.sub(r"[^A-Za-z0-9_.\-]", "_", device.rsplit("/", 1)[-1])[:64] or "scanner"
        self.on_availability = on_availability
        self._opener = opener          # tests: a fake evdev handle
        self._reader = None

    def start(self, on_line: OnLine) -> None:
        try:
            from firmware_bridge.evdev_input import InputReader
            from hall.config.devices import InputDevice
        except ImportError as e:
            raise RuntimeError(f"scanner {self.device}: the bridge's evdev input is missing ({e})") from e
        cfg = InputDevice(id=self.ident, kind="scanner", path=self.device, grab=self.grab)

        def avail(dev, online: bool, reason: str) -> None:
            if self.on_availability:
                self.on_availability(self.device, online, reason)
        kw = {"opener": self._opener} if self._opener else {}
        self._reader = InputReader(cfg, {}, on_key=lambda ev: None,
                                   on_scan=lambda _id, _win, line: on_line(line),
                                   on_availability=avail, **kw)
        self._reader.start()

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.stop()
            self._reader = None

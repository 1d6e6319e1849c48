"""Scanned lines from QR / ID-card readers: the `InputSource` interface and its sources.

A reader in keyboard mode types its content and presses Enter; the kiosk only
cares that "a line arrived".  The evdev decoding (key events → characters,
with Shift, grab(), reopen on replug) is shared with the bridge in
``hall/evdev_reader.py``; ``evdev`` itself is imported only when a device is
opened, so a kiosk without evdev (a desk test, CI) still runs with
:class:`InjectedSource`.
"""

from __future__ import annotations

import logging
import re
from typing import Callable, Protocol

from hall.config.kiosk import ScannerConfig
from hall.evdev_reader import EvdevReader, ScanDecoder

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
    """A keyboard-mode reader under ``/dev/input/by-id/`` (the kiosk's ``scanners[]``
    entry) through :class:`hall.evdev_reader.EvdevReader`.

    ``on_availability`` (optional) hears when the reader is plugged or unplugged,
    so the kiosk can publish it as ``device/<id>/availability``.
    """

    def __init__(self, cfg: ScannerConfig,
                 on_availability: Callable[[str, bool, str], None] | None = None, opener=None):
        self.cfg = cfg
        self.device = cfg.device
        self.on_availability = on_availability
        self._opener = opener          # tests: a fake evdev handle
        self._reader: EvdevReader | None = None
        self._decoder = ScanDecoder()

    def start(self, on_line: OnLine) -> None:
        def on_event(ev) -> None:
            line = self._decoder.feed_event(ev)
            if line:
                on_line(line)

        def avail(online: bool, reason: str) -> None:
            if online:  # a fresh open: half a line typed before the unplug is dropped
                self._decoder = ScanDecoder()
            if self.on_availability:
                self.on_availability(self.device, online, reason)
        # the path's last part names the reader's thread and log lines: readable and stable
        name = re.sub(r"[^A-Za-z0-9_.\-]", "_", self.device.rsplit("/", 1)[-1])[:64] or "scanner"
        self._reader = EvdevReader(name, self.device, grab=self.cfg.grab, on_event=on_event,
                                   on_availability=avail, opener=self._opener)
        self._reader.start()

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.stop()
            self._reader = None

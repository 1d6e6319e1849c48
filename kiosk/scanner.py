"""Scanned lines from QR / ID-card readers: the `InputSource` interface and its sources.

A reader in keyboard mode types its content and presses Enter; the kiosk only
cares that "a line arrived".  The evdev decoding (key events → characters,
with Shift, grab()) belongs to the bridge (``firmware_bridge/evdev_input.py``);
:class:`EvdevSource` adapts it and is imported lazily, so a kiosk without
evdev (a desk test, CI) still runs with :class:`InjectedSource`.
"""

from __future__ import annotations

import logging
import threading
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
    """A keyboard-mode reader under ``/dev/input/by-id/`` via the bridge's evdev decoder."""

    def __init__(self, device: str, grab: bool = True):
        self.device = device
        self.grab = grab
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_line: OnLine) -> None:
        try:
            from firmware_bridge import evdev_input  # type: ignore[attr-defined]
        except ImportError as e:
            raise RuntimeError(
                f"scanner {self.device}: evdev support is missing ({e}); install the `input` extra "
                "(pip install evdev; Debian: python3-evdev)") from e
        self._thread = threading.Thread(target=self._run, args=(evdev_input, on_line),
                                        name=f"scanner-{self.device}", daemon=True)
        self._thread.start()

    def _run(self, evdev_input, on_line: OnLine) -> None:
        # The bridge module exposes a line reader; its exact API is adapted here only.
        reader = None
        for name in ("ScannerReader", "LineReader", "KeyboardLineReader"):
            cls = getattr(evdev_input, name, None)
            if cls is not None:
                reader = cls(self.device, grab=self.grab)
                break
        if reader is None:
            log.error("firmware_bridge.evdev_input has no line reader class; scanner %s unused", self.device)
            return
        for line in reader.lines(stop=self._stop):
            on_line(line)

    def stop(self) -> None:
        self._stop.set()

"""Keyboard-mode USB devices through evdev: decode, grab, reopen after a replug.

Shared by the device bridge (USB numeric keypads and scanners at a window,
``firmware_bridge/inputs.py``) and the kiosk (QR / ID-card readers,
``kiosk/scanner.py``); each brings its own config and decides what a key means.

Pure part: :class:`ScanDecoder` (key events → the text line a QR/barcode
scanner or ID-card reader typed, with Shift, Caps Lock, keypad digits, Enter).
Shell: :class:`EvdevReader` opens ``/dev/input/by-id/…``, grabs the device so
the kiosk's Kivy window does not also get the keys, hands every event to its
owner and reopens the device with backoff after it is unplugged.  ``evdev`` is
imported only when a real device is opened; tests feed ``evdev.InputEvent``
objects and need no /dev/uinput.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from typing import Callable

from hall.clock import Clock, SystemClock
from hall.seriallink import Backoff

log = logging.getLogger("hall.evdev")

EV_KEY = 1
DOWN, UP, REPEAT = 1, 0, 2

_PLAIN = {f"KEY_{c}": c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_PLAIN |= {f"KEY_{d}": str(d) for d in range(10)} | {f"KEY_KP{d}": str(d) for d in range(10)}
_PLAIN |= {"KEY_MINUS": "-", "KEY_EQUAL": "=", "KEY_LEFTBRACE": "[", "KEY_RIGHTBRACE": "]",
           "KEY_SEMICOLON": ";", "KEY_APOSTROPHE": "'", "KEY_GRAVE": "`", "KEY_BACKSLASH": "\\",
           "KEY_COMMA": ",", "KEY_DOT": ".", "KEY_SLASH": "/", "KEY_SPACE": " ",
           "KEY_KPMINUS": "-", "KEY_KPPLUS": "+", "KEY_KPASTERISK": "*", "KEY_KPSLASH": "/",
           "KEY_KPDOT": "."}
_SHIFTED = {f"KEY_{c}": c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_SHIFTED |= dict(zip((f"KEY_{d}" for d in "1234567890"), "!@#$%^&*()"))
_SHIFTED |= {"KEY_MINUS": "_", "KEY_EQUAL": "+", "KEY_LEFTBRACE": "{", "KEY_RIGHTBRACE": "}",
             "KEY_SEMICOLON": ":", "KEY_APOSTROPHE": '"', "KEY_GRAVE": "~", "KEY_BACKSLASH": "|",
             "KEY_COMMA": "<", "KEY_DOT": ">", "KEY_SLASH": "?", "KEY_SPACE": " "}
_SHIFTS = {"KEY_LEFTSHIFT", "KEY_RIGHTSHIFT"}
_ENTERS = {"KEY_ENTER", "KEY_KPENTER"}
MAX_LINE = 2048


def _evdev():
    try:
        import evdev
    except ImportError as e:
        raise RuntimeError("USB keypads and scanners need python-evdev: pip install evdev "
                           "(Debian: python3-evdev)") from e
    return evdev


_NAMES: dict[int, str] | None = None


def key_name(code: int) -> str:
    """evdev key code → its KEY_ name (the first one when several alias)."""
    global _NAMES
    if _NAMES is None:
        ecodes = _evdev().ecodes

        def pick(n):  # ('KEY_MIN_INTERESTING', 'KEY_MUTE') → KEY_MUTE
            if isinstance(n, str):
                return n
            return next((x for x in n if "_MIN_" not in x and "_MAX" not in x), n[0])
        _NAMES = {c: pick(n) for c, n in ecodes.KEY.items()}
        _NAMES.update({c: pick(n) for c, n in ecodes.BTN.items() if c not in _NAMES})
    return _NAMES.get(code, f"KEY_{code}")


class ScanDecoder:
    """Key events of a keyboard-mode scanner → completed lines (pure)."""

    def __init__(self) -> None:
        self._buf: list[str] = []
        self._shift = 0
        self._caps = False

    def feed(self, name: str, value: int) -> str | None:
        if name in _SHIFTS:
            self._shift = max(0, self._shift + (1 if value == DOWN else -1 if value == UP else 0))
            return None
        if value != DOWN:
            return None  # scanners do not auto-repeat; a held key would be noise
        if name == "KEY_CAPSLOCK":
            self._caps = not self._caps
            return None
        if name in _ENTERS:
            line, self._buf = "".join(self._buf), []
            # each line starts plain: a lost Shift key-up or a Caps Lock left on by
            # one code must not change the case of the next
            self._shift, self._caps = 0, False
            return line
        shifted = self._shift > 0
        ch = _SHIFTED.get(name) if shifted else _PLAIN.get(name)
        if ch is None:
            return None
        if self._caps and ch.isalpha():
            ch = ch.swapcase()
        if len(self._buf) < MAX_LINE:
            self._buf.append(ch)
        return None

    def feed_event(self, ev) -> str | None:
        if ev.type != EV_KEY:
            return None
        return self.feed(key_name(ev.code), ev.value)


class _EvdevHandle:
    """A grabbed evdev.InputDevice; ``events(timeout)`` → the events read."""

    def __init__(self, path: str, grab: bool):
        evdev = _evdev()
        self.dev = evdev.InputDevice(os.path.realpath(path))
        if grab:
            self.dev.grab()

    def events(self, timeout: float) -> list:
        r, _, _ = select.select([self.dev.fd], [], [], timeout)
        if not r:
            return []
        try:
            return list(self.dev.read())
        except BlockingIOError:
            return []

    def close(self) -> None:
        try:
            self.dev.close()
        except Exception:
            pass


class EvdevReader:
    """One input device: open, grab, read; reopen after hotplug.

    ``on_event(ev)`` gets every ``evdev.InputEvent`` on the reader's thread;
    ``on_availability(online, reason)`` hears each change between plugged and
    unplugged (and is called before the first event of a fresh open, so the
    owner can drop half a line typed before the device went away).
    """

    def __init__(self, name: str, path: str, *, grab: bool,
                 on_event: Callable[[object], None],
                 on_availability: Callable[[bool, str], None],
                 opener=None, clock: Clock | None = None, backoff_max_s: float = 10.0):
        self.name = name
        self.path = path
        self.grab = grab
        self.on_event = on_event
        self.on_availability = on_availability
        self.opener = opener or (lambda path, grab: _EvdevHandle(path, grab))
        self.clock = clock or SystemClock()
        self.backoff = Backoff(0.5, backoff_max_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._online: bool | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"input-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(3)

    def _set(self, online: bool, reason: str) -> None:
        if self._online is online:
            return
        if online:
            log.info("input %s open at %s", self.name, self.path)
        else:
            log.warning("input %s (%s) unavailable: %s; retrying with backoff", self.name, self.path, reason)
        self._online = online
        self.on_availability(online, reason)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                handle = self.opener(self.path, self.grab)
            except (OSError, RuntimeError) as e:
                self._set(False, str(e))
                self._stop.wait(self.backoff.next())
                continue
            self.backoff.reset()
            self._set(True, "open")
            try:
                while not self._stop.is_set():
                    for ev in handle.events(0.25):
                        self.on_event(ev)
            except OSError as e:  # ENODEV: unplugged
                self._set(False, str(e))
            finally:
                handle.close()

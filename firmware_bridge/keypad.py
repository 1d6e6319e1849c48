"""Caller keypads (呼叫器): what their display shows and what their keys ask (pure).

A key becomes a window request ``(op, body)`` of the bus contract
(hall/topics.py WINDOW_OPS).  Used by the RS-485 keypads of both protocols and
by USB numeric keypads (evdev), which collect digits here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from hall.topics import ID_RE


@dataclass(frozen=True)
class KeypadView:
    status: str       # open | paused | closed
    waiting: int
    number: str       # current ticket number or "----"


def keypad_view(state, waiting: int = 0) -> KeypadView:
    """``state``: the window's WindowState (None: not known yet); ``waiting``: its count
    from the zone's waiting counts."""
    if state is None:
        return KeypadView("closed", 0, "----")
    number = state.ticket.number if state.ticket is not None else "----"
    return KeypadView(state.status, waiting, number)


class KeyRefused(ValueError):
    """A key that makes no request (bad digits, unknown window number)."""


def request_for_key(key: str, arg: str, state, window_by_number: dict[str, str]) -> tuple[str, dict]:
    """Map one key (with its typed digits) to ``(op, body)``.

    * ``pause`` on a paused window resumes it: single-key pause/resume units
      (most legacy callers) send the same code for both.
    * ``transfer`` carries the target window's *number* (what staff see on the
      wall), turned into its window id here.
    """
    if key == "pause" and state is not None and state.status == "paused":
        return "resume", {}
    if key in ("next", "recall", "noshow", "start", "pause", "resume", "finish", "logout"):
        return key, {}
    if key == "login":
        staff = arg.strip()
        if not staff or not ID_RE.match(staff):
            raise KeyRefused(f"login needs a staff number, got {arg!r}")
        return "login", {"staff": staff}
    if key == "transfer":
        number = arg.strip().lstrip("0") or arg.strip()
        wid = window_by_number.get(number)
        if wid is None:
            raise KeyRefused(f"transfer: no window numbered {arg!r}")
        return "transfer", {"window": wid}
    raise KeyRefused(f"key {key!r} makes no window request")


class DigitEntry:
    """Digits typed on a USB numeric keypad before `login` or `transfer`."""

    DIGITS = {f"KEY_KP{i}": str(i) for i in range(10)} | {f"KEY_{i}": str(i) for i in range(10)}

    def __init__(self, keymap: dict[str, str]):
        self.keymap = keymap
        self._digits = ""

    def feed(self, key_name: str) -> tuple[str, str] | None:
        """A key press → ``(op, digits)`` when it is an op key, else None."""
        if key_name in self.keymap:
            op, arg = self.keymap[key_name], self._digits
            self._digits = ""
            return op, arg
        d = self.DIGITS.get(key_name)
        if d is not None:
            self._digits = (self._digits + d)[-12:]
        elif key_name in ("KEY_ESC", "KEY_DELETE"):
            self._digits = ""
        return None

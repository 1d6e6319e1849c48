"""What an LED bar above a window shows for the window's state (pure).

The bar gets whole lines of GB2312 text; a Han character takes two columns,
ASCII one.  A line wider than the bar is sent whole with the scroll flag and
the bar scrolls it; a character GB2312 has not is sent as `?` rather than
dropping the whole line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hall.config.devices import LedTexts, SerialDevice


@dataclass(frozen=True)
class LedView:
    lines: tuple[str, ...]
    flash_s: int = 0

    def encoded(self) -> list[bytes]:
        return [gb2312(line) for line in self.lines]


def gb2312(text: str) -> bytes:
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("gb2312")
        except UnicodeEncodeError:
            out += b"?"
    return bytes(out[:96])


def columns(text: str) -> int:
    return len(gb2312(text))


def fits(text: str, cols: int) -> bool:
    return columns(text) <= cols


def _fmt(template: str, **values: object) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template  # a bad template still shows something readable


class LedPresenter:
    """Keeps what one bar shows; ``render(state, now)`` → the view to send.

    Stateful only for the flash: a recall (``ticket.recalls`` going up for the
    same ticket) makes the bar flash for ``texts.flash_s`` seconds, and a view
    recomputed during that time keeps flashing for the rest of it.
    """

    def __init__(self, device: SerialDevice, texts: LedTexts, window_number: str):
        self.device = device
        self.texts = texts
        self.window_number = window_number
        self._ticket: str | None = None
        self._recalls = 0
        self._flash_until = 0.0
        # whether a new waiting count can change what the bar shows: with the default
        # texts a one-line bar never shows it, and a count that moves at every call in
        # the zone need not be formatted for each of its bars
        t = texts
        shown = [t.call, t.serving, t.idle, t.paused, t.closed] + ([t.second_line] if device.rows >= 2 else [])
        self.shows_waiting = any("{waiting" in tmpl for tmpl in shown)

    def render(self, state, now: float, out_of_service: bool = False, waiting: int = 0) -> LedView:
        """``state`` is a :class:`hall.messages.WindowState` (or None: nothing known yet);
        ``out_of_service``: the engine has been unreachable too long to trust ``state``;
        ``waiting``: the window's count from its zone's ``zone/<z>/waiting``."""
        t = self.texts
        win = self.window_number
        if out_of_service:
            self._ticket, self._recalls, self._flash_until = None, 0, 0.0
            return LedView(lines=(_fmt(t.out_of_service, number="", window=win, waiting=""),))
        ticket = state.ticket if state is not None else None
        if ticket is not None:
            if ticket.ticket == self._ticket and ticket.recalls > self._recalls:
                self._flash_until = now + t.flash_s
            elif ticket.ticket != self._ticket:
                self._flash_until = 0.0
            self._ticket, self._recalls = ticket.ticket, ticket.recalls
            tmpl = t.serving if ticket.state == "serving" else t.call
            first = _fmt(tmpl, number=ticket.number, window=win, waiting=waiting)
        else:
            self._ticket, self._recalls, self._flash_until = None, 0, 0.0
            status = state.status if state is not None else "closed"
            tmpl = {"open": t.idle, "paused": t.paused}.get(status, t.closed)
            first = _fmt(tmpl, number="", window=win, waiting=waiting)
        lines = [first]
        if self.device.rows >= 2:
            lines.append(_fmt(t.second_line, number="", window=win, waiting=waiting))
        flash = max(0, math.ceil(self._flash_until - now)) if ticket is not None else 0
        return LedView(lines=tuple(lines), flash_s=flash)

    def scroll(self, view: LedView) -> bool:
        return any(not fits(line, self.device.columns) for line in view.lines)

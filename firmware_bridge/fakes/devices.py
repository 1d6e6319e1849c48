"""Fake devices for :class:`FakeLine`: the device side of both protocols.

Each keeps what a person would see on it (``lines``, ``display``,
``prompting``) and takes key presses (``press``); ``silent`` makes it stop
answering (unplugged or wrong DIP switch) and ``power_cycle()`` makes it
come back blank.  Changes notify ``listeners`` (``fn(device, what, t)``),
which the benchmark uses to timestamp bytes on the wire.
"""

from __future__ import annotations

import collections
import threading
import time

from .. import frames as F
from .. import legacy68 as L


class _Base:
    kind = "?"

    def __init__(self, address: int):
        self.address = address
        self.silent = False
        self.listeners: list = []
        self.frames: collections.deque = collections.deque(maxlen=500)  # raw requests, newest
        self._cond = threading.Condition()
        self.power_cycle()

    def power_cycle(self) -> None:
        self.fresh = True

    def _notify(self, what: str) -> None:
        t = time.monotonic()
        with self._cond:
            self._cond.notify_all()
        for fn in list(self.listeners):
            fn(self, what, t)

    def written(self, reply: bytes) -> None:
        """Called after the reply left on the wire."""

    def wait_for(self, pred, timeout: float = 5.0) -> bool:
        end = time.monotonic() + timeout
        with self._cond:
            while not pred(self):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True


# --------------------------------------------------------------- OWB/1 ---

class _Owb(_Base):
    kind_code = 0

    def power_cycle(self) -> None:
        super().power_cycle()
        self.events: collections.deque = collections.deque()
        self._eid = 0
        self._last: tuple | None = None
        self._last_reply: bytes | None = None
        self.written_events: dict[int, float] = {}
        self.poll_times: collections.deque = collections.deque(maxlen=256)

    def press(self, key: str | int, arg: bytes | str = b"") -> int:
        """Queue a key by name, or by raw code (``int``) as newer firmware might send."""
        if not isinstance(key, int) and key not in F.KEY_CODES:
            raise ValueError(f"OWB/1 has no key {key!r}")
        if isinstance(arg, str):
            arg = arg.encode("ascii")
        self._eid = self._eid % 255 + 1
        self.events.append((self._eid, key, arg))
        return self._eid

    def handle(self, fr: F.Frame) -> bytes | None:
        if self.silent:
            return None
        self.frames.append(fr.encode())
        key = (fr.seq, fr.cmd, fr.payload)
        if key == self._last and self._last_reply is not None:
            return self._last_reply  # a retransmission: same answer, no second action
        cmd, payload = self.dispatch(fr)
        reply = F.encode(self.address, cmd, payload, seq=fr.seq, reply=True)
        self._last, self._last_reply = key, reply
        return reply

    def _flags(self) -> bytes:
        return bytes((0x01 if self.fresh else 0,))

    def dispatch(self, fr: F.Frame) -> tuple[int, bytes]:
        if fr.cmd == F.PING:
            return F.INFO, bytes((self.kind_code, 1, 0)) + self._flags()
        if fr.cmd == F.POLL:
            self.poll_times.append(time.monotonic())
            ack = fr.payload[0] if fr.payload else 0
            if self.events and ack and self.events[0][0] == ack:
                self.events.popleft()
            self.tick()
            if self.events:
                eid, key, arg = self.events[0]
                if isinstance(key, int):  # a raw key code (one this bridge may not know)
                    return F.EVENT, bytes((eid, key)) + arg
                return F.EVENT, F.event_payload(eid, key, arg)
            return F.ACK, self._flags()
        try:
            return self.command(fr)
        except F.FrameError:
            return F.NAK, bytes((F.NAK_BAD_PAYLOAD,))

    def command(self, fr: F.Frame) -> tuple[int, bytes]:
        return F.NAK, bytes((F.NAK_UNKNOWN_CMD,))

    def tick(self) -> None:
        pass

    def written(self, reply: bytes) -> None:
        if len(reply) > 5 and reply[3] == F.EVENT:
            self.written_events.setdefault(reply[5], time.monotonic())


class FakeLedBar(_Owb):
    kind = "ledbar"
    kind_code = F.KIND_LEDBAR

    def power_cycle(self) -> None:
        super().power_cycle()
        self.lines: list[str] = []
        self.flash_s = 0
        self.scroll = False
        self.updates = 0

    @property
    def text(self) -> str:
        return " / ".join(self.lines)

    def command(self, fr):
        if fr.cmd != F.LED_TEXT:
            return F.NAK, bytes((F.NAK_WRONG_KIND if fr.cmd in (F.KEYPAD_SHOW, F.EVAL_PROMPT) else
                                 F.NAK_UNKNOWN_CMD,))
        flags, flash_s, lines = F.parse_led_payload(fr.payload)
        self.lines = [b.decode("gb2312", "replace") for b in lines]
        self.flash_s = flash_s if flags & F.LED_FLASH else 0
        self.scroll = bool(flags & F.LED_SCROLL)
        self.fresh = False
        self.updates += 1
        self._notify("text")
        return F.ACK, self._flags()


class FakeKeypad(_Owb):
    kind = "keypad"
    kind_code = F.KIND_KEYPAD

    def power_cycle(self) -> None:
        super().power_cycle()
        self.display: tuple[str, int, str] | None = None

    def command(self, fr):
        if fr.cmd != F.KEYPAD_SHOW:
            return F.NAK, bytes((F.NAK_WRONG_KIND,))
        self.display = F.parse_keypad_payload(fr.payload)
        self.fresh = False
        self._notify("display")
        return F.ACK, self._flags()


class FakeEvaluator(_Owb):
    kind = "evaluator"
    kind_code = F.KIND_EVALUATOR

    def power_cycle(self) -> None:
        super().power_cycle()
        self.prompting: str | None = None
        self._deadline = 0.0
        self.prompts = 0

    def command(self, fr):
        if fr.cmd == F.EVAL_PROMPT:
            timeout_s, number = F.parse_prompt_payload(fr.payload)
            self.prompting = number
            self._deadline = time.monotonic() + timeout_s
            self.prompts += 1
        elif fr.cmd == F.EVAL_CANCEL:
            self.prompting = None
        else:
            return F.NAK, bytes((F.NAK_WRONG_KIND,))
        self.fresh = False
        self._notify("prompt")
        return F.ACK, self._flags()

    def rate(self, level: int) -> bool:
        """The citizen presses a key; a dark evaluator ignores it."""
        if self.prompting is None:
            return False
        self.prompting = None
        self.press("rate", bytes((level,)))
        self._notify("prompt")
        return True

    def expire(self) -> None:
        """Let the prompt time out now."""
        self._deadline = 0.0

    def tick(self) -> None:
        if self.prompting is not None and time.monotonic() >= self._deadline:
            self.prompting = None
            self.press("rate_timeout")
            self._notify("prompt")


# ------------------------------------------------------------- legacy68 ---

class _Legacy(_Base):
    def power_cycle(self) -> None:
        super().power_cycle()
        self.events: collections.deque = collections.deque()

    def handle(self, fr: L.LegacyFrame) -> bytes | None:
        if self.silent:
            return None
        self.frames.append(L.encode(fr.addr, fr.func, fr.data))
        if fr.func == L.POLL:
            if self.events and fr.data and self.events[0][0] == fr.data[0]:
                self.events.popleft()
            self.tick()
            if self.events:
                func, data = self.events[0]
                return L.encode(self.address, func, data)
            return L.encode(self.address, L.NOTHING)
        ok = self.command(fr)
        return L.encode(self.address, fr.func | L.ACK_BIT) if ok else None

    def command(self, fr) -> bool:
        return False

    def tick(self) -> None:
        pass


class FakeLegacyKeypad(_Legacy):
    kind = "keypad"

    def power_cycle(self) -> None:
        super().power_cycle()
        self.display: tuple[int, str] | None = None

    def press(self, key: str | int, arg: bytes | str = b"") -> None:
        """Queue a key by name, or by raw function code (``int``)."""
        if not isinstance(key, int) and (key not in L.KEY_FUNCS or key == "rate"):
            raise ValueError(f"FF-68 keypads have no key {key!r}")
        if isinstance(arg, str):
            arg = arg.encode("ascii")
        self.events.append((key if isinstance(key, int) else L.KEY_FUNCS[key], arg))

    def command(self, fr) -> bool:
        if fr.func != L.SHOW or not fr.data:
            return False
        self.display = (fr.data[0], fr.data[1:].decode("ascii", "replace"))
        self._notify("display")
        return True


class FakeLegacyEvaluator(_Legacy):
    kind = "evaluator"

    def power_cycle(self) -> None:
        super().power_cycle()
        self.prompting = False
        self._deadline = 0.0
        self.prompts = 0

    def command(self, fr) -> bool:
        if fr.func == L.EVALUATE:
            self.prompting = True
            self._deadline = time.monotonic() + (fr.data[0] if fr.data else 30)
            self.prompts += 1
        elif fr.func == L.EVAL_CANCEL:
            self.prompting = False
        else:
            return False
        self._notify("prompt")
        return True

    def rate(self, level: int) -> bool:
        if not self.prompting:
            return False
        self.prompting = False
        self.events.append((L.EVALUATE, bytes((L.legacy_key(level),))))
        self._notify("prompt")
        return True

    def expire(self) -> None:
        self._deadline = 0.0

    def tick(self) -> None:
        if self.prompting and time.monotonic() >= self._deadline:
            self.prompting = False
            self.events.append((L.EVALUATE, bytes((0,))))
            self._notify("prompt")

"""The "FF 68" framing of deployed third-party callers and evaluators (pure).

Seen on RS-485 caller keypads (呼叫器) and evaluators (评价器) of common domestic
queue systems at 9600 8N1.  There is no public standard; the framing and the
function codes 0x0B/0x0C/0x0D/0x12/0x13 are those of the deployed hardware
(design brief §6); the other codes are from the same family of devices and
are marked "assumed" in docs/hardware.md — check them against a unit before
relying on them.

Frame (M-Bus-like long frame with a wake-up byte)::

    FF | 68 | L | L | 68 | addr | func | data… | cs | 16

* ``L`` = number of bytes of addr + func + data, sent twice;
* ``cs`` = (addr + func + sum(data)) mod 256;
* ``FF`` is a preamble some units need to wake their UART; the parser skips it.

The protocol has no sequence numbers: a key is reported in the reply to a
poll (func 0x01) and reported again until the next poll acknowledges it by
carrying its function code as data, so a lost reply costs a retry, never a
key.
"""

from __future__ import annotations

from dataclasses import dataclass

PREAMBLE = 0xFF
START = 0x68
END = 0x16
MAX_DATA = 64

# controller → device
POLL = 0x01          # data: [func of the key being acknowledged] or empty
SHOW = 0x20          # data: waiting (1 byte, capped 255), ASCII number    (assumed)
EVALUATE = 0x0B      # data: [timeout_s] — start an evaluation
EVAL_CANCEL = 0x0A   # (assumed)
# device → controller
NOTHING = 0x00       # reply to a poll: no key pending
ACK_BIT = 0x80       # reply to SHOW / EVALUATE / EVAL_CANCEL: func | 0x80

# keys reported by devices, func → our key name
KEYS = {
    0x0C: "next",      # 呼叫 call
    0x0D: "recall",    # 重呼 recall
    0x0E: "noshow",    # 过号 (assumed)
    0x0F: "finish",    # 完成 (assumed)
    0x10: "login",     # 登录, data ASCII staff number (assumed)
    0x11: "logout",    # 退出 (assumed)
    0x12: "pause",     # 暂停
    0x13: "transfer",  # 转移, data ASCII window number
    0x14: "resume",    # 恢复 (assumed)
    0x0B: "rate",      # 评价, data [key]: 1 = 非常满意 … 5 = 非常不满意, 0 = timeout
}
KEY_FUNCS = {v: k for k, v in KEYS.items()}


class LegacyError(ValueError):
    pass


@dataclass(frozen=True)
class LegacyFrame:
    addr: int
    func: int
    data: bytes = b""


def checksum(addr: int, func: int, data: bytes) -> int:
    return (addr + func + sum(data)) & 0xFF


def encode(addr: int, func: int, data: bytes = b"", *, preamble: bool = True) -> bytes:
    if not 0 <= addr <= 0xFF:
        raise LegacyError(f"address {addr} outside 0..255")
    if len(data) > MAX_DATA:
        raise LegacyError(f"{len(data)} data bytes exceed {MAX_DATA}")
    n = 2 + len(data)
    head = bytes((PREAMBLE,)) if preamble else b""
    return head + bytes((START, n, n, START, addr, func)) + bytes(data) + bytes(
        (checksum(addr, func, data), END))


def check_packet(buf: bytes | bytearray) -> int:
    """Same contract as :func:`firmware_bridge.frames.check_packet`."""
    if not buf:
        return 0
    if buf[0] != START:
        nxt = buf.find(bytes((START,)), 1)
        return -(nxt if nxt > 0 else len(buf))
    if len(buf) < 4:
        return 0
    n = buf[1]
    if n != buf[2] or buf[3] != START or not 2 <= n <= MAX_DATA + 2:
        return -1
    total = n + 6
    if len(buf) < total:
        return 0
    body = buf[4:4 + n]
    if buf[4 + n] != (sum(body) & 0xFF) or buf[5 + n] != END:
        return -1
    return total


def decode(raw: bytes | bytearray) -> LegacyFrame:
    n = raw[1]
    return LegacyFrame(addr=raw[4], func=raw[5], data=bytes(raw[6:4 + n]))


class LegacyParser:
    def __init__(self) -> None:
        self._buf = bytearray()
        self.dropped = 0
        self.frames = 0

    def feed(self, data: bytes | bytearray) -> list[LegacyFrame]:
        self._buf += data
        out: list[LegacyFrame] = []
        while self._buf:
            n = check_packet(self._buf)
            if n == 0:
                break
            if n < 0:
                # the FF wake-up byte lands here too; it is not an error
                self.dropped += sum(1 for b in self._buf[:-n] if b != PREAMBLE)
                del self._buf[:-n]
                continue
            out.append(decode(self._buf[:n]))
            self.frames += 1
            del self._buf[:n]
        return out

    def reset(self) -> None:
        self._buf.clear()

    @property
    def pending(self) -> int:
        """Bytes held back until the rest of their frame comes."""
        return len(self._buf)


def legacy_level(key: int) -> int | None:
    """The evaluator's key byte → our level (5 = 非常满意); None for timeout.

    These units number the keys left to right starting at 非常满意, the reverse
    of GB/T 39734's ordering by score.
    """
    if key == 0:
        return None
    if not 1 <= key <= 5:
        raise LegacyError(f"evaluator key {key} outside 0..5")
    return 6 - key


def legacy_key(level: int | None) -> int:
    return 0 if level is None else 6 - level

"""The onewindow RS-485 device protocol ("OWB/1"): pure framing, CRC16 and payloads.

No I/O here (Klipper's ``msgproto.py`` split): the line driver owns the port,
this module only turns values into bytes and bytes into frames.  The protocol
is written down in docs/hardware.md; the golden frames in
tests/golden/bridge/owb_frames.txt pin every byte, and the MicroPython
firmware (firmware/owproto.py) is checked against the same file.

Frame::

    7E | addr | ctrl | cmd | len | payload (len bytes) | crc16 hi | crc16 lo

* ``addr``: 1..247 a device; 0 broadcast (no device answers).  A reply carries
  the address of the device that sends it.
* ``ctrl``: bit 7 set on replies (device → controller), bits 0–3 the sequence
  number, echoed by the reply; a retransmission keeps its sequence number.
* ``crc16``: CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over addr…payload.

There is no byte stuffing: the parser finds the 0x7E, checks the length bound
and the CRC, and on any failure drops one byte and looks for the next 0x7E.
A false start inside garbage therefore costs at most one CRC check.
"""

from __future__ import annotations

from dataclasses import dataclass

SOF = 0x7E
MAX_PAYLOAD = 200
OVERHEAD = 7  # SOF addr ctrl cmd len + 2 CRC bytes
MAX_FRAME = MAX_PAYLOAD + OVERHEAD
BROADCAST = 0
MAX_ADDR = 247
REPLY = 0x80

# -- commands, controller → device
PING = 0x01          # → INFO
POLL = 0x02          # payload: ack event id (0 = none) → EVENT or ACK
LED_TEXT = 0x10      # payload: flags, flash_s, nlines, (len, GB2312 bytes)… → ACK
KEYPAD_SHOW = 0x11   # payload: status, waiting u16 BE, len, ASCII number → ACK
EVAL_PROMPT = 0x12   # payload: timeout_s, len, ASCII number → ACK
EVAL_CANCEL = 0x13   # → ACK
# -- replies, device → controller
ACK = 0x80
INFO = 0x81          # payload: kind, fw major, fw minor
EVENT = 0x82         # payload: event id (1..255), key code, arg bytes
NAK = 0x8F           # payload: reason

NAK_UNKNOWN_CMD, NAK_BAD_PAYLOAD, NAK_WRONG_KIND = 1, 2, 3

# -- device kinds (INFO)
KIND_LEDBAR, KIND_KEYPAD, KIND_EVALUATOR = 1, 2, 3
KIND_NAMES = {KIND_LEDBAR: "ledbar", KIND_KEYPAD: "keypad", KIND_EVALUATOR: "evaluator"}

# -- LED flags
LED_FLASH = 0x01
LED_SCROLL = 0x02

# -- keypad status byte
STATUS_CODES = {"closed": 0, "open": 1, "paused": 2}

# -- key codes in EVENT frames; args are ASCII digits where noted
KEYS = {
    0x01: "next", 0x02: "recall", 0x03: "noshow", 0x04: "start",
    0x05: "transfer",  # arg: target window number
    0x06: "pause", 0x07: "resume", 0x08: "finish",
    0x09: "login",     # arg: staff number
    0x0A: "logout",
    0x20: "rate",      # arg: one byte, level 1..5 (5 = 非常满意)
    0x21: "rate_timeout",
}
KEY_CODES = {v: k for k, v in KEYS.items()}


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_TABLE = _crc_table()


def crc16(data: bytes | bytearray | memoryview, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE; ``crc16(b"123456789") == 0x29B1``."""
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ b) & 0xFF]
    return crc


class FrameError(ValueError):
    """A value that cannot be put in a frame."""


@dataclass(frozen=True)
class Frame:
    addr: int
    cmd: int
    payload: bytes = b""
    seq: int = 0
    reply: bool = False

    def encode(self) -> bytes:
        return encode(self.addr, self.cmd, self.payload, seq=self.seq, reply=self.reply)


def encode(addr: int, cmd: int, payload: bytes = b"", *, seq: int = 0, reply: bool = False) -> bytes:
    if not 0 <= addr <= MAX_ADDR:
        raise FrameError(f"address {addr} outside 0..{MAX_ADDR}")
    if len(payload) > MAX_PAYLOAD:
        raise FrameError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes((addr, (REPLY if reply else 0) | (seq & 0x0F), cmd & 0xFF, len(payload))) + bytes(payload)
    crc = crc16(body)
    return bytes((SOF,)) + body + bytes((crc >> 8, crc & 0xFF))


def check_packet(buf: bytes | bytearray) -> int:
    """Klipper's contract: 0 = need more bytes, n > 0 = a frame of n bytes
    starts the buffer, -n = discard n bytes (garbage or a broken frame)."""
    if not buf:
        return 0
    if buf[0] != SOF:
        nxt = buf.find(bytes((SOF,)), 1)
        return -(nxt if nxt > 0 else len(buf))
    if len(buf) < 5:
        return 0
    n = buf[4]
    if n > MAX_PAYLOAD:
        return -1
    total = n + OVERHEAD
    if len(buf) < total:
        return 0
    crc = crc16(memoryview(buf)[1:total - 2])
    if buf[total - 2] != crc >> 8 or buf[total - 1] != crc & 0xFF:
        return -1
    return total


def decode(raw: bytes | bytearray) -> Frame:
    """One complete, checked frame (as accepted by :func:`check_packet`)."""
    ctrl = raw[2]
    return Frame(addr=raw[1], cmd=raw[3], payload=bytes(raw[5:5 + raw[4]]),
                 seq=ctrl & 0x0F, reply=bool(ctrl & REPLY))


class FrameParser:
    """Fed any chunking of the byte stream (one byte at a time is fine);
    returns the frames completed by each chunk and counts what it dropped."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.dropped = 0  # bytes discarded while resyncing
        self.frames = 0

    def feed(self, data: bytes | bytearray) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        while self._buf:
            n = check_packet(self._buf)
            if n == 0:
                # a 7E in noise with a big length byte would hold a real frame behind it
                # until 200 more bytes came; on a half-duplex bus none come, so look for
                # a complete, CRC-checked frame further on and drop the false start
                k = self._complete_frame_after_start()
                if k <= 0:
                    break
                self.dropped += k
                del self._buf[:k]
                continue
            if n < 0:
                self.dropped += -n
                del self._buf[:-n]
                continue
            out.append(decode(self._buf[:n]))
            self.frames += 1
            del self._buf[:n]
        return out

    def _complete_frame_after_start(self) -> int:
        buf = self._buf
        k = buf.find(bytes((SOF,)), 1)
        while k > 0:
            if check_packet(buf[k:]) > 0:
                return k
            k = buf.find(bytes((SOF,)), k + 1)
        return 0

    def reset(self) -> None:
        self._buf.clear()

    @property
    def pending(self) -> int:
        """Bytes held back until the rest of their frame comes."""
        return len(self._buf)


# ------------------------------------------------------------ payloads ---

def led_payload(lines: list[bytes], flash_s: int = 0, scroll: bool = False) -> bytes:
    """LED_TEXT payload from already GB2312-encoded lines."""
    if not 1 <= len(lines) <= 4:
        raise FrameError("an LED bar has 1 to 4 lines")
    flags = (LED_FLASH if flash_s > 0 else 0) | (LED_SCROLL if scroll else 0)
    out = bytearray((flags, min(max(flash_s, 0), 255), len(lines)))
    for line in lines:
        if len(line) > 96:
            raise FrameError("an LED line is at most 96 bytes")
        out.append(len(line))
        out += line
    return bytes(out)


def parse_led_payload(p: bytes) -> tuple[int, int, list[bytes]]:
    """(flags, flash_s, lines) — used by the fake LED bar and the tests."""
    if len(p) < 3:
        raise FrameError("short LED payload")
    flags, flash_s, n = p[0], p[1], p[2]
    lines, i = [], 3
    for _ in range(n):
        if i >= len(p):
            raise FrameError("truncated LED payload")
        ln = p[i]
        if i + 1 + ln > len(p):
            raise FrameError("truncated LED line")
        lines.append(bytes(p[i + 1:i + 1 + ln]))
        i += 1 + ln
    if i != len(p):
        raise FrameError("trailing bytes in LED payload")
    return flags, flash_s, lines


def keypad_payload(status: str, waiting: int, number: str) -> bytes:
    num = number.encode("ascii", "replace")[:16]
    w = min(max(waiting, 0), 0xFFFF)
    return bytes((STATUS_CODES[status], w >> 8, w & 0xFF, len(num))) + num


def parse_keypad_payload(p: bytes) -> tuple[str, int, str]:
    if len(p) < 4 or len(p) != 4 + p[3]:
        raise FrameError("bad keypad payload")
    status = {v: k for k, v in STATUS_CODES.items()}.get(p[0])
    if status is None:
        raise FrameError(f"bad keypad status {p[0]}")
    return status, (p[1] << 8) | p[2], p[4:].decode("ascii", "replace")


def prompt_payload(timeout_s: int, number: str) -> bytes:
    num = number.encode("ascii", "replace")[:16]
    return bytes((min(max(timeout_s, 1), 255), len(num))) + num


def parse_prompt_payload(p: bytes) -> tuple[int, str]:
    if len(p) < 2 or len(p) != 2 + p[1]:
        raise FrameError("bad prompt payload")
    return p[0], p[2:].decode("ascii", "replace")


def event_payload(event_id: int, key: str, arg: bytes = b"") -> bytes:
    return bytes((event_id, KEY_CODES[key])) + arg


def parse_event(p: bytes) -> tuple[int, str, bytes]:
    """(event id, key name, arg); raises FrameError for an unknown key."""
    if len(p) < 2 or p[0] == 0:
        raise FrameError("bad event payload")
    key = KEYS.get(p[1])
    if key is None:
        raise FrameError(f"unknown key code 0x{p[1]:02X}")
    return p[0], key, bytes(p[2:])


def wire_ms(nbytes: int, baud: int, bits_per_byte: int = 10) -> float:
    """Time on the wire at 8N1 (start + 8 data + stop = 10 bits a byte)."""
    return nbytes * bits_per_byte * 1000.0 / baud

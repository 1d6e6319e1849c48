# OWB/1 device side for MicroPython (RP2040 / ESP32) — and CPython, for the tests.
#
# The same bytes as firmware_bridge/frames.py (the controller side), written
# again without dataclasses, typing or memoryview tricks so it runs on
# MicroPython 1.20+; tests/test_bridge_frames.py checks it against the golden
# frames in tests/golden/bridge/owb_frames.jsonl.

SOF = 0x7E
MAX_PAYLOAD = 200
REPLY = 0x80

PING = 0x01
POLL = 0x02
LED_TEXT = 0x10
KEYPAD_SHOW = 0x11
EVAL_PROMPT = 0x12
EVAL_CANCEL = 0x13
ACK = 0x80
INFO = 0x81
EVENT = 0x82
NAK = 0x8F

KIND_LEDBAR = 1
KIND_KEYPAD = 2
KIND_EVALUATOR = 3
FW_VERSION = (1, 0)
FLAG_NEEDS_STATE = 0x01
STATUS = ("closed", "open", "paused")

KEY_NEXT = 0x01
KEY_RECALL = 0x02
KEY_NOSHOW = 0x03
KEY_START = 0x04
KEY_TRANSFER = 0x05
KEY_PAUSE = 0x06
KEY_RESUME = 0x07
KEY_FINISH = 0x08
KEY_LOGIN = 0x09
KEY_LOGOUT = 0x0A
KEY_RATE = 0x20
KEY_RATE_TIMEOUT = 0x21


def crc16(data, crc=0xFFFF):
    # CRC-16/CCITT-FALSE, bitwise: 200 bytes take ~2 ms on an RP2040, far under
    # a frame's wire time at 9600 baud
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc


def encode(addr, cmd, payload=b"", seq=0, reply=False):
    body = bytearray(4 + len(payload))
    body[0] = addr
    body[1] = (REPLY if reply else 0) | (seq & 0x0F)
    body[2] = cmd
    body[3] = len(payload)
    body[4:] = payload
    crc = crc16(body)
    out = bytearray(1)
    out[0] = SOF
    out.extend(body)
    out.append(crc >> 8)
    out.append(crc & 0xFF)
    return out


class Parser:
    """feed(byte) -> (addr, ctrl, cmd, payload) when a frame completes, else None.

    Written for MicroPython's bytearray: no find(), no slice assignment, no del
    of slices (not in every port's build); a new bytearray from a slice instead.
    """

    def __init__(self):
        self.buf = bytearray()

    def _resync(self, start):
        buf = self.buf
        for i in range(start, len(buf)):
            if buf[i] == SOF:
                self.buf = bytearray(buf[i:])
                return
        self.buf = bytearray()

    def feed(self, b):
        if not self.buf and b != SOF:
            return None
        self.buf.append(b)
        while self.buf:
            buf = self.buf
            if len(buf) < 5:
                return None
            n = buf[4]
            if n > MAX_PAYLOAD:
                self._resync(1)
                continue
            if len(buf) < n + 7:
                return None
            crc = crc16(buf[1:n + 5])
            if buf[n + 5] == crc >> 8 and buf[n + 6] == crc & 0xFF:
                frame = (buf[1], buf[2], buf[3], bytes(buf[5:n + 5]))
                self._resync(n + 7)
                return frame
            self._resync(1)
        return None


class Device:
    """One addressed device: event queue with ids, retransmission cache, views."""

    def __init__(self, address, kind):
        self.address = address
        self.kind = kind
        self.events = []          # [(event id, key code, arg bytes)]
        self.eid = 0
        self.fresh = True         # nothing shown since power-up
        self.last = None
        self.last_reply = None
        self.lines = []           # LED bar: GB2312 lines
        self.flash_s = 0
        self.display = None       # keypad: (status, waiting, number)
        self.prompt = None        # evaluator: (timeout_s, number)

    def queue_key(self, code, arg=b""):
        self.eid = self.eid % 255 + 1
        self.events.append((self.eid, code, bytes(arg)))
        if len(self.events) > 16:  # a stuck bus must not eat the RAM
            self.events.pop(0)

    def flags(self):
        return bytes((FLAG_NEEDS_STATE if self.fresh else 0,))

    def handle(self, addr, seq, cmd, payload):
        """One controller frame -> the reply bytes (None: not for us / broadcast)."""
        if addr != self.address:
            return None
        key = (seq, cmd, bytes(payload))
        if key == self.last and self.last_reply is not None:
            return self.last_reply  # retransmission: same answer, no second action
        rcmd, rpayload = self.dispatch(cmd, payload)
        reply = encode(self.address, rcmd, rpayload, seq, True)
        self.last, self.last_reply = key, reply
        return reply

    def dispatch(self, cmd, p):
        if cmd == PING:
            return INFO, bytes((self.kind, FW_VERSION[0], FW_VERSION[1])) + self.flags()
        if cmd == POLL:
            ack = p[0] if len(p) else 0
            if self.events and ack and self.events[0][0] == ack:
                self.events.pop(0)
            if self.events:
                eid, code, arg = self.events[0]
                return EVENT, bytes((eid, code)) + arg
            return ACK, self.flags()
        if cmd == LED_TEXT and self.kind == KIND_LEDBAR:
            lines, i = [], 3
            for _ in range(p[2]):
                n = p[i]
                lines.append(bytes(p[i + 1:i + 1 + n]))
                i += 1 + n
            self.lines = lines
            self.flash_s = p[1] if p[0] & 1 else 0
        elif cmd == KEYPAD_SHOW and self.kind == KIND_KEYPAD:
            self.display = (STATUS[p[0]], (p[1] << 8) | p[2], bytes(p[4:4 + p[3]]).decode())
        elif cmd == EVAL_PROMPT and self.kind == KIND_EVALUATOR:
            self.prompt = (p[0], bytes(p[2:2 + p[1]]).decode())
        elif cmd == EVAL_CANCEL and self.kind == KIND_EVALUATOR:
            self.prompt = None
        elif cmd in (LED_TEXT, KEYPAD_SHOW, EVAL_PROMPT, EVAL_CANCEL):
            return NAK, b"\x03"
        else:
            return NAK, b"\x01"
        self.fresh = False
        return ACK, self.flags()

    def rate(self, level):
        """A citizen's key 1..5 while prompted; ignored when dark."""
        if self.prompt is None:
            return False
        self.prompt = None
        self.queue_key(KEY_RATE, bytes((level,)))
        return True

    def prompt_timed_out(self):
        if self.prompt is not None:
            self.prompt = None
            self.queue_key(KEY_RATE_TIMEOUT)

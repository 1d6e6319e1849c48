"""A fake GSM modem on a pty: answers AT commands and records the PDUs it is given.

The real driver (sms/gsm.py) opens ``fake.port`` with pyserial
exactly as it opens ``/dev/ttyUSB2``, so its line handling, prompt and error
paths run in tests.  Quirks as switches (OctoPrint's virtual printer lesson):

* ``echo``: echo commands until ``ATE0`` (a modem's power-on default);
* ``sim``: ``ready`` | ``missing`` (CME 10) | ``pin`` (needs ``AT+CPIN="<pin>"``);
* ``fail_next``: CMS error codes for the next ``AT+CMGS`` PDUs, one per part;
* ``silent``: answer nothing (a hung or unplugged modem);
* ``urc``: send an unsolicited ``+CMTI`` line before every reply.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from hall.ptypeer import PtyPeer

from .pdu import Decoded, decode_submit, join_parts


@dataclass
class ModemQuirks:
    echo: bool = True
    sim: str = "ready"
    pin: str = "1234"
    signal: int = 21
    fail_next: list[int] = field(default_factory=list)
    silent: bool = False
    urc: bool = False
    # the next n PDUs go out to the network but their +CMGS reply is lost (a modem
    # that hangs after sending, a USB hiccup): the sender cannot know they were sent
    lost_replies: int = 0


class FakeModem(PtyPeer):
    name = "fake-modem"

    def __init__(self, quirks: ModemQuirks | None = None):
        super().__init__()
        self.quirks = quirks or ModemQuirks()
        self.pdus: list[str] = []  # every PDU accepted (+CMGS answered)
        self.commands: list[str] = []
        self._mr = 0
        self._lock = threading.Lock()
        self._pin_ok = False
        self._buf = b""
        self._pdu_len: int | None = None  # set after AT+CMGS: the PDU comes next

    # --------------------------------------------------------------- decoded --
    def decoded(self) -> list[Decoded]:
        with self._lock:
            return [decode_submit(p) for p in self.pdus]

    def messages(self) -> list[tuple[str, str]]:
        """(number, full text) per message, concatenated parts joined."""
        out: list[tuple[str, str]] = []
        groups: dict[tuple[str, int], list[Decoded]] = {}
        for d in self.decoded():
            if d.total == 1:
                out.append((d.number, d.text))
                continue
            g = groups.setdefault((d.number, d.ref or 0), [])
            g.append(d)
            if len(g) == d.total:
                out.append((d.number, join_parts(g)))
                del groups[(d.number, d.ref or 0)]
        return out

    # ------------------------------------------------------------------ wire --
    def _send(self, text: str) -> None:
        self.reply(text.encode("ascii"))

    def _reply(self, *lines: str) -> None:
        if self.quirks.urc:
            self._send('\r\n+CMTI: "SM",3\r\n')
        self._send("".join(f"\r\n{x}\r\n" for x in lines))

    def on_data(self, data: bytes) -> None:
        self._buf += data
        while True:
            if self._pdu_len is not None:
                i = min([x for x in (self._buf.find(b"\x1a"), self._buf.find(b"\x1b")) if x >= 0], default=-1)
                if i < 0:
                    return
                pdu, end, self._buf = self._buf[:i], self._buf[i:i + 1], self._buf[i + 1:]
                if end == b"\x1a":  # Ctrl-Z sends; Esc cancels
                    self._take_pdu(pdu.decode("ascii", errors="replace").strip())
                self._pdu_len = None
                continue
            i = self._buf.find(b"\r")
            if i < 0:
                return
            line, self._buf = self._buf[:i].decode("ascii", errors="replace").strip(), self._buf[i + 1:]
            if not line:
                continue
            with self._lock:
                self.commands.append(line if not line.upper().startswith("AT+CPIN=") else "AT+CPIN=<pin>")
            if self.quirks.silent:
                continue
            if self.quirks.echo:
                self._send(line + "\r")
            self._pdu_len = self._command(line)

    def _command(self, line: str) -> int | None:
        up = line.upper()
        q = self.quirks
        if up in ("AT", "AT+CMEE=1", "AT+CMGF=0"):
            self._reply("OK")
        elif up == "ATE0":
            q.echo = False
            self._reply("OK")
        elif up == "AT+CPIN?":
            if q.sim == "missing":
                self._reply("+CME ERROR: 10")
            elif q.sim == "pin" and not self._pin_ok:
                self._reply("+CPIN: SIM PIN", "OK")
            else:
                self._reply("+CPIN: READY", "OK")
        elif up.startswith("AT+CPIN="):
            if line.split("=", 1)[1].strip('"') == q.pin:
                self._pin_ok = True
                self._reply("OK")
            else:
                self._reply("+CME ERROR: 16")
        elif up == "AT+CSQ":
            self._reply(f"+CSQ: {q.signal},99", "OK")
        elif up.startswith("AT+CMGS="):
            if q.sim == "missing":
                self._reply("+CMS ERROR: 310")
                return None
            self._send("\r\n> ")
            return int(up.split("=", 1)[1])
        else:
            self._reply("ERROR")
        return None

    def _take_pdu(self, pdu: str) -> None:
        q = self.quirks
        if q.fail_next:
            self._reply(f"+CMS ERROR: {q.fail_next.pop(0)}")
            return
        try:
            decode_submit(pdu)
        except ValueError:
            self._reply("+CMS ERROR: 304")  # invalid PDU mode parameter
            return
        with self._lock:
            self.pdus.append(pdu)
            self._mr = (self._mr + 1) % 256
            mr = self._mr
        if q.lost_replies:
            q.lost_replies -= 1
            return
        self._reply(f"+CMGS: {mr}", "OK")

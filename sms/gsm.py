"""GSM/4G modem driver: AT commands over a serial port, PDU mode (AT+CMGF=0).

PDUs (UCS2 for Chinese, GSM 7-bit where every character fits, concatenated
beyond one part) come from sms/pdu.py.

Tested against the fake modem on a pty (sms/fake_modem.py),
which follows the 3GPP TS 27.005/27.007 replies of common USB modems (Quectel
EC20/EC25, SIMCom SIM7600, Huawei E3372 in serial mode):

* init: ``AT`` (until the modem answers), ``ATE0`` (no echo), ``AT+CMEE=1``
  (numeric errors), ``AT+CPIN?`` (SIM state), ``AT+CMGF=0``, ``AT+CSQ``;
* send: ``AT+CMGS=<tpdu octets>`` → prompt ``> `` → PDU hex + Ctrl-Z →
  ``+CMGS: <mr>`` + ``OK``, one per part;
* errors: ``+CMS ERROR: <n>`` (TS 27.005 §3.2.5) and ``+CME ERROR: <n>``
  (TS 27.007 §9.2); SIM faults (not inserted, PIN/PUK, failure) and network
  trouble keep the message queued; a number or message the network rejects
  fails that message only.

URCs (``+CMTI``, ``RING``, ``^RSSI`` on Huawei) may arrive between commands;
lines not belonging to the answer are ignored.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from hall.pii import mask
from hall.seriallink import ByteLink, LinkError

from . import SendResult, SmsError
from .pdu import PduError, encode_submit

log = logging.getLogger("sms.gsm")

CTRL_Z = b"\x1a"
ESC = b"\x1b"

# +CME ERROR codes meaning the SIM is not usable (TS 27.007 §9.2.1)
SIM_CME = {10: "SIM not inserted", 11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure",
           14: "SIM busy", 15: "SIM wrong", 16: "incorrect password", 17: "SIM PIN2 required",
           18: "SIM PUK2 required"}
# +CMS ERROR codes (TS 27.005 §3.2.5, TS 24.011 causes)
SIM_CMS = {310: "SIM not inserted", 311: "SIM PIN required", 312: "PH-SIM PIN required",
           313: "SIM failure", 314: "SIM busy", 315: "SIM wrong", 316: "SIM PUK required"}
DEVICE_CMS = {38: "network out of order", 41: "temporary failure", 42: "congestion",
              47: "resources unavailable", 300: "ME failure", 302: "operation not allowed",
              330: "SMSC address unknown", 331: "no network service", 332: "network timeout",
              340: "no +CNMA expected", 500: "unknown error"}
# everything else (1 unassigned number, 8 barred, 21 rejected, 28 unidentified subscriber,
# 96 invalid mandatory information, 304 invalid PDU parameter…) fails this message only


def _cms(code: int) -> SmsError:
    if code in SIM_CMS:
        return SmsError(f"CMS{code}", SIM_CMS[code], device=True)
    if code in DEVICE_CMS:
        return SmsError(f"CMS{code}", DEVICE_CMS[code], device=code in (300, 302, 330, 500))
    return SmsError(f"CMS{code}", "rejected by the network", permanent=True)


class ModemProtocolError(SmsError):
    def __init__(self, message: str):
        super().__init__("modem", message, device=True)


class GsmModem:
    """One modem on one ``ByteLink``; used from one thread."""

    kind = "sms-gsm"

    def __init__(self, link: ByteLink, smsc: str | None = None, pin: Callable[[], str | None] | None = None,
                 command_timeout_s: float = 10.0, send_timeout_s: float = 60.0, sleep=time.sleep,
                 monotonic=time.monotonic):
        self.link = link
        self.smsc = smsc
        self._pin = pin or (lambda: None)
        self.command_timeout_s = command_timeout_s
        self.send_timeout_s = send_timeout_s
        self._sleep = sleep
        self._mono = monotonic
        self._buf = b""
        self.ready = False
        self.detail: dict = {"sim": "unknown", "signal": None}

    # ----------------------------------------------------------- lines --
    def _read_line(self, deadline: float, prompt: bool = False) -> str:
        """The next non-empty line; with ``prompt`` a bare ``> `` counts as a line."""
        while True:
            while b"\n" in self._buf or b"\r" in self._buf:
                i = min(x for x in (self._buf.find(b"\r"), self._buf.find(b"\n")) if x >= 0)
                line, self._buf = self._buf[:i], self._buf[i + 1:]
                text = line.decode("ascii", errors="replace").strip()
                if text:
                    return text
            if prompt and self._buf.lstrip().startswith(b">"):
                self._buf = b""
                return ">"
            left = deadline - self._mono()
            if left <= 0:
                raise ModemProtocolError("no answer from the modem")
            try:
                self._buf += self.link.read(min(left, 0.5))
            except LinkError as e:
                raise SmsError("port", str(e), device=True) from e

    def _write(self, data: bytes) -> None:
        try:
            self.link.write(data)
        except LinkError as e:
            raise SmsError("port", str(e), device=True) from e

    def _final(self, line: str) -> bool:
        if line == "OK":
            return True
        if line in ("ERROR", "NO CARRIER"):
            raise SmsError("ERROR", "the modem answered ERROR", device=True)
        if line.startswith("+CMS ERROR:"):
            raise _cms(self._code(line))
        if line.startswith("+CME ERROR:"):
            code = self._code(line)
            if code in SIM_CME:
                self.detail["sim"] = SIM_CME[code]
                raise SmsError(f"CME{code}", SIM_CME[code], device=True)
            raise SmsError(f"CME{code}", "modem error", device=True)
        return False

    @staticmethod
    def _code(line: str) -> int:
        try:
            return int(line.split(":", 1)[1].strip())
        except ValueError:
            return 500

    def command(self, cmd: str, timeout: float | None = None) -> list[str]:
        """Send one AT command; returns the information lines before ``OK``."""
        self._buf = b""  # stale URCs
        self._write(cmd.encode("ascii") + b"\r")
        deadline = self._mono() + (timeout or self.command_timeout_s)
        lines: list[str] = []
        while True:
            line = self._read_line(deadline)
            if line == cmd:  # echo (before ATE0 takes effect)
                continue
            if self._final(line):
                return lines
            lines.append(line)

    # ------------------------------------------------------------ life --
    def open(self) -> None:
        self.ready = False
        try:
            if not self.link.is_open:
                self.link.open()
        except LinkError as e:
            raise SmsError("port", str(e), device=True) from e
        for attempt in range(3):  # a modem that just booted ignores the first AT
            try:
                self.command("AT", timeout=min(2.0, self.command_timeout_s))
                break
            except ModemProtocolError:
                if attempt == 2:
                    raise
        self.command("ATE0")
        self.command("AT+CMEE=1")
        self._check_sim()
        self.command("AT+CMGF=0")
        self.read_signal()
        self.ready = True

    def _check_sim(self) -> None:
        state = next((x.split(":", 1)[1].strip() for x in self.command("AT+CPIN?") if x.startswith("+CPIN:")),
                     "")
        if state == "SIM PIN":
            pin = self._pin()
            if not pin:
                self.detail["sim"] = "SIM PIN required"
                raise SmsError("CME11", "SIM PIN required and no PIN configured", device=True)
            self.command(f'AT+CPIN="{pin}"')  # the PIN is never logged
            state = "READY"
        if state != "READY":
            self.detail["sim"] = state or "unknown"
            raise SmsError("sim", f"SIM not ready: {state or 'no answer'}", device=True)
        self.detail["sim"] = "ready"

    def read_signal(self) -> int | None:
        for line in self.command("AT+CSQ"):
            if line.startswith("+CSQ:"):
                rssi = self._code(line.split(",")[0])
                self.detail["signal"] = None if rssi == 99 else rssi  # 0–31, 99 = unknown
        return self.detail["signal"]

    def close(self) -> None:
        self.ready = False
        self.link.close()

    def status(self) -> dict:
        return dict(self.detail)

    # ------------------------------------------------------------ send --
    def send(self, sms_id: str, phone: str, text: str, concat_ref: int = 0, start_part: int = 0,
             progress=None) -> SendResult:
        try:
            parts = encode_submit(phone, text, concat_ref, self.smsc)
        except PduError as e:
            raise SmsError("pdu", str(e), permanent=True) from e
        refs: list[str] = []
        for part in parts[start_part:]:
            refs.append(self._send_part(part.hex, part.tpdu_len))
            if progress is not None:
                progress(part.seq, list(refs))
        log.info("sms %s to %s: %d part(s) from %d, refs %s", sms_id, mask(phone, "phone"), len(parts),
                 start_part + 1, refs)
        return SendResult(parts=len(parts), refs=refs)

    def _send_part(self, pdu_hex: str, tpdu_len: int) -> str:
        self._buf = b""
        self._write(f"AT+CMGS={tpdu_len}\r".encode())
        deadline = self._mono() + self.command_timeout_s
        while True:
            line = self._read_line(deadline, prompt=True)
            if line == ">":
                break
            if line.startswith("AT+CMGS"):
                continue
            self._final(line)  # raises on an error; anything else (a URC) is skipped
        self._write(pdu_hex.encode("ascii") + CTRL_Z)
        # From here the modem has the whole part: only a clear error (+CMS ERROR) says it
        # was not sent. Silence, a dead port or an OK without reference may hide a sent
        # SMS, so the outcome is unknown and the message is never tried again.
        deadline = self._mono() + self.send_timeout_s
        ref = None
        while True:
            try:
                line = self._read_line(deadline)
            except SmsError as e:  # timeout (ModemProtocolError) or the port went away
                try:
                    self._write(ESC)  # leave the PDU prompt if the modem is still in it
                except SmsError:
                    pass
                raise SmsError("CMGS", f"no +CMGS after the PDU ({e.message}); it may have been sent",
                               device=True, unknown=True) from None
            if line.startswith("+CMGS:"):
                ref = line.split(":", 1)[1].strip()
                continue
            if self._final(line):
                if ref is None:
                    raise SmsError("CMGS", "OK without +CMGS reference; it may have been sent",
                                   device=True, unknown=True)
                return ref

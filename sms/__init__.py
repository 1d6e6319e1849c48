"""The SMS sender: one interface, a GSM/4G modem driver and an HTTP gateway driver.

``onewindow sms`` (sms/cli.py) runs :class:`~.service.SmsService`,
the only process that ever sees a full phone number: the engine's requests on
``device/<sender id>/sms`` carry it, everything else (logs, status, the
engine's records on the bus) shows it masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol


class SmsError(Exception):
    """Sending failed.

    ``permanent``: this message will never go (bad number, rejected by the
    network) — report ``failed``.  ``unknown``: the message was handed over
    whole and no answer came (a timeout after the PDU or the HTTP request went
    out), so it may have been sent — report ``unknown`` and never try again: a
    citizen must not get the same SMS twice.  Otherwise it stays queued and is
    tried again; ``device``: the modem, SIM or gateway is at fault (status not
    ok, reopen before the next try)."""

    def __init__(self, code: str, message: str, *, permanent: bool = False, device: bool = False,
                 unknown: bool = False):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.permanent = permanent
        self.device = device
        self.unknown = unknown


@dataclass
class SendResult:
    parts: int
    refs: list[str] = field(default_factory=list)  # modem +CMGS references / gateway message id


# progress(parts_done, refs_so_far): a multipart message resumes after the last part sent
Progress = Callable[[int, list[str]], None]


class SmsSender(Protocol):
    kind: str

    def open(self) -> None:
        """Get ready (init the modem, check the SIM); raises SmsError(device=True)."""

    def close(self) -> None: ...

    def send(self, sms_id: str, phone: str, text: str, concat_ref: int = 0, start_part: int = 0,
             progress: Progress | None = None) -> SendResult:
        """Send one message (parts from ``start_part`` on); raises SmsError."""

    def status(self) -> dict:
        """Detail for ``device/<id>/status`` (signal, SIM state…); never a phone number."""


"""Byte transport of one RS-485 line, and the backoff used to reopen it.

``ByteLink`` is the whole interface a driver needs (python-escpos's lesson:
transports only move bytes).  The constructor does no I/O; ``open()`` may fail
and is retried by the driver with :class:`Backoff` on its own clock.
"""

from __future__ import annotations

import os
import select
from typing import Protocol


class LinkError(OSError):
    """The port is gone or cannot be opened (unplugged USB adapter, permissions)."""


class ByteLink(Protocol):
    name: str

    @property
    def is_open(self) -> bool: ...

    def open(self) -> None: ...

    def close(self) -> None: ...

    def write(self, data: bytes) -> None: ...

    def read(self, timeout: float) -> bytes:
        """Bytes available within ``timeout`` seconds (b"" if none)."""


def _serial():
    try:
        import serial  # pyserial
    except ImportError as e:  # pragma: no cover - pyserial is a core dependency
        raise LinkError("pyserial is missing: pip install pyserial (Debian: python3-serial)") from e
    return serial


class SerialLink:
    """A serial port through pyserial (a USB RS-485 adapter, or a pty in tests).

    USB RS-485 adapters (FTDI / CH340 with auto direction) switch the driver
    enable themselves, so no RTS toggling is done here.
    """

    def __init__(self, port: str, baud: int):
        self.name = port
        self.port = port
        self.baud = baud
        self._ser = None
        self._fd = -1
        self._poll = None

    @property
    def is_open(self) -> bool:
        return self._ser is not None

    def open(self) -> None:
        serial = _serial()
        try:
            self._ser = serial.Serial(self.port, self.baud, bytesize=8, parity="N", stopbits=1,
                                      timeout=0, write_timeout=1.0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as e:
            self._ser = None
            raise LinkError(str(e)) from e
        # the fd and a poll object once per open: a line makes ~1,000 reads a second
        self._fd = self._ser.fileno()
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)

    def close(self) -> None:
        ser, self._ser = self._ser, None
        self._fd, self._poll = -1, None
        if ser is not None:
            try:
                ser.close()
            except Exception:
                pass

    def write(self, data: bytes) -> None:
        """os.write() on the fd (pyserial's write() costs more than the frame's wire
        time at 115200 on a Pi); waits for room at most 1 s."""
        if self._ser is None:
            raise LinkError("port closed")
        view = memoryview(data)
        fd = self._fd
        try:
            while view:
                try:
                    n = os.write(fd, view)
                except BlockingIOError:
                    if not select.select([], [fd], [], 1.0)[1]:
                        raise LinkError("write timed out: the adapter takes no data") from None
                    continue
                view = view[n:]
        except (OSError, ValueError) as e:
            if isinstance(e, LinkError):
                raise
            raise LinkError(str(e)) from e

    def read(self, timeout: float) -> bytes:
        """poll() + os.read() on the port's fd rather than pyserial's read: setting
        pyserial's ``timeout`` re-runs tcsetattr() on every call, which costs more than a
        whole 115200-baud poll.  Returns as soon as any byte is there (the timeout is
        only the most it waits), so it adds no latency of its own."""
        poller = self._poll
        if poller is None:
            raise LinkError("port closed")
        try:
            # milliseconds, rounded up by Python: a wait is never cut to a busy spin
            if not poller.poll(max(timeout, 0) * 1000.0):
                return b""
            data = os.read(self._fd, 4096)
        except (OSError, ValueError) as e:
            raise LinkError(str(e)) from e
        if not data:
            # readable but empty: the USB adapter (or the pty's other end) is gone
            raise LinkError("device reports readiness to read but returned no data")
        return data


class Backoff:
    """Exponential delays ``base, 2·base, …`` capped at ``cap`` (pure)."""

    def __init__(self, base: float = 0.5, cap: float = 30.0):
        self.base = base
        self.cap = cap
        self._n = 0

    def next(self) -> float:
        d = min(self.cap, self.base * (2 ** self._n))
        if d < self.cap:
            self._n += 1
        return d

    def reset(self) -> None:
        self._n = 0

    @property
    def failures(self) -> int:
        return self._n

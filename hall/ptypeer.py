"""The far end of a pseudo-terminal, for device fakes (a modem, a printer).

A fake device is a program on a pty speaking the device's real protocol, so
the real driver opens ``port`` like a serial port and its code runs in tests.
Subclasses implement :meth:`on_data`; :meth:`reply` writes back to the driver.
"""

from __future__ import annotations

import os
import select
import threading
import tty


def open_raw_pty() -> tuple[int, int]:
    """(master, slave) of a new pty in raw mode: no echo, no line discipline,
    bytes as a UART delivers them, before the driver opens it."""
    m, s = os.openpty()
    tty.setraw(s)
    tty.setraw(m)
    return m, s


def close_fds(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


class PtyPeer:
    name = "fake-device"

    def __init__(self) -> None:
        self.port = ""
        self._master = self._slave = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self):
        self._master, self._slave = open_raw_pty()
        self.port = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        close_fds(self._master, self._slave)
        self._master = self._slave = -1

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reply(self, data: bytes) -> None:
        os.write(self._master, data)

    def on_data(self, data: bytes) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        while not self._stop.is_set():
            r, _, _ = select.select([self._master], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return  # the pty was closed under us
            self.on_data(data)

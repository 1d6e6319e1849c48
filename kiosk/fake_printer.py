"""A fake ESC/POS thermal printer on a pty, behind the same serial transport as a real one.

It answers the real-time status queries the kiosk sends — ``DLE EOT 1``
(printer), ``DLE EOT 4`` (roll paper), ``GS r 1`` (paper sensor) — with the
bytes an Epson TM-T20II sends, and keeps every other byte as "printed".
``paper`` switches it between ok / near_end / out / offline / silent (no
reply at all, like a printer without a back channel or one powered off).
Used by the tests and by ``printer.type: fake`` for demos.
"""

from __future__ import annotations

import os
import pty
import select
import threading
import tty

REPLIES = {
    # state: (DLE EOT 1, DLE EOT 4, GS r 1)
    "ok": (0x12, 0x12, 0x00),
    "near_end": (0x12, 0x1E, 0x03),
    "out": (0x1A, 0x72, 0x0F),       # an Epson goes offline when the paper ends
    "offline": (0x1A, 0x12, 0x00),   # cover open
}


class FakePrinter:
    def __init__(self, paper: str = "ok"):
        if paper not in REPLIES and paper != "silent":
            raise ValueError(f"unknown fake printer state {paper!r}")
        self.paper = paper
        self.received = bytearray()
        self.queries: list[bytes] = []
        self._master = self._slave = -1
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending = bytearray()
        self.path = ""

    def start(self) -> "FakePrinter":
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        tty.setraw(self._master)
        self.path = os.ttyname(self._slave)
        self._thread = threading.Thread(target=self._run, name="fake-printer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "FakePrinter":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def take(self) -> bytes:
        """The bytes printed so far (status queries excluded), and forget them."""
        with self._lock:
            out = bytes(self.received)
            self.received.clear()
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            r, _, _ = select.select([self._master], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            for b in data:
                self._feed(b)

    def _feed(self, b: int) -> None:
        buf = self._pending
        buf.append(b)
        if buf[0] not in (0x10, 0x1D):
            self._keep(buf)
            return
        if len(buf) < 3:
            if len(buf) == 2 and not ((buf[0] == 0x10 and buf[1] == 0x04) or (buf[0] == 0x1D and buf[1] == 0x72)):
                self._keep(buf)
            return
        cmd = bytes(buf)
        buf.clear()
        if cmd[:2] == b"\x10\x04" and cmd[2] in (1, 4):
            self._answer(cmd, 0 if cmd[2] == 1 else 1)
        elif cmd[:2] == b"\x1d\x72" and cmd[2] in (1, 49):
            self._answer(cmd, 2)
        else:
            with self._lock:
                self.received += cmd

    def _keep(self, buf: bytearray) -> None:
        with self._lock:
            self.received += buf
        buf.clear()

    def _answer(self, cmd: bytes, which: int) -> None:
        self.queries.append(cmd)
        if self.paper == "silent":
            return
        os.write(self._master, bytes([REPLIES[self.paper][which]]))

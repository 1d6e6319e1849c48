"""A fake ESC/POS thermal printer on a pty, behind the same serial transport as a real one.

It answers the real-time status queries the kiosk sends — ``DLE EOT 1``
(printer), ``DLE EOT 4`` (roll paper), ``GS r 1`` (paper sensor) — with the
bytes an Epson TM-T20II sends, and keeps every other byte as "printed".
``paper`` switches it between ok / near_end / out / offline / silent (no
reply at all, like a printer without a back channel or one powered off).
Used by the tests and by ``printer.type: fake`` for demos.  ``tcp=True``
listens on 127.0.0.1 instead (``address`` → ``host:port``), as a LAN printer
on port 9100 would, for the ``network`` transport.
"""

from __future__ import annotations

import select
import socket
import threading

from hall.ptypeer import PtyPeer

REPLIES = {
    # state: (DLE EOT 1, DLE EOT 4, GS r 1)
    "ok": (0x12, 0x12, 0x00),
    "near_end": (0x12, 0x1E, 0x03),
    "out": (0x1A, 0x72, 0x0F),       # an Epson goes offline when the paper ends
    "offline": (0x1A, 0x12, 0x00),   # cover open
}


class FakePrinter(PtyPeer):
    name = "fake-printer"

    def __init__(self, paper: str = "ok", tcp: bool = False):
        super().__init__()
        if paper not in REPLIES and paper != "silent":
            raise ValueError(f"unknown fake printer state {paper!r}")
        self.paper = paper
        self.received = bytearray()
        self.queries: list[bytes] = []
        self._lock = threading.Lock()
        self._pending = bytearray()
        self.tcp = tcp
        self.address = ""
        self._server: socket.socket | None = None
        self._conn: socket.socket | None = None

    @property
    def path(self) -> str:
        """The pty the kiosk opens as its serial printer."""
        return self.port

    def start(self) -> "FakePrinter":
        if not self.tcp:
            return super().start()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.address = "127.0.0.1:%d" % self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._run_tcp, name="fake-printer-tcp", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        super().stop()
        for sock in (self._conn, self._server):
            if sock is not None:
                sock.close()

    def take(self) -> bytes:
        """The bytes printed so far (status queries excluded), and forget them."""
        with self._lock:
            out = bytes(self.received)
            self.received.clear()
        return out

    def on_data(self, data: bytes) -> None:
        for b in data:
            self._feed(b)

    def _run_tcp(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            r, _, _ = select.select([self._server] + ([self._conn] if self._conn else []), [], [], 0.05)
            for sock in r:
                if sock is self._server:
                    if self._conn is not None:
                        self._conn.close()  # a reconnecting kiosk replaces the old connection
                    self._conn, _ = self._server.accept()
                    continue
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    sock.close()
                    self._conn = None
                    continue
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
        reply = bytes([REPLIES[self.paper][which]])
        if self.tcp:
            if self._conn is not None:
                self._conn.sendall(reply)
        else:
            self.reply(reply)

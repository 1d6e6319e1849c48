"""One fake RS-485 bus on a pty (see the package docstring)."""

from __future__ import annotations

import logging
import os
import random
import select
import tempfile
import threading
import time
from dataclasses import dataclass

from hall.ptypeer import close_fds, open_raw_pty

from .. import frames as F
from .. import legacy68 as L

log = logging.getLogger("firmware_bridge.fakes")


@dataclass
class Quirks:
    drop_rate: float = 0.0       # each reply byte lost with this probability
    garbage_rate: float = 0.0    # probability of noise bytes before a reply
    reply_delay_s: float = 0.0   # extra delay before every reply
    wire_baud: int = 0           # emulate wire time of request + reply at this baud (0 = off)
    seed: int = 1


class FakeLine:
    def __init__(self, protocol: str = "onewindow", link_path: str | None = None,
                 quirks: Quirks | None = None):
        if protocol not in ("onewindow", "legacy68"):
            raise ValueError(protocol)
        self.protocol = protocol
        self.quirks = quirks or Quirks()
        self._rng = random.Random(self.quirks.seed)
        self._tmp = None
        if link_path is None:
            self._tmp = tempfile.mkdtemp(prefix="onewindow-fakeline-")
            link_path = os.path.join(self._tmp, "ttyRS485")
        self.port = link_path
        self.devices: dict[int, object] = {}
        self._master = self._slave = -1
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.rx_frames = 0
        self.plugged = False

    def add(self, device):
        self.devices[device.address] = device
        return device

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "FakeLine":
        self._plug()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"fake-{os.path.basename(self.port)}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        self._unplug()
        if self._tmp:
            try:
                os.rmdir(self._tmp)
            except OSError:
                pass

    def _plug(self) -> None:
        with self._lock:
            m, s = self._master, self._slave = open_raw_pty()
            tmp = self.port + ".new"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(os.ttyname(s), tmp)
            os.replace(tmp, self.port)
            self._parser = F.FrameParser() if self.protocol == "onewindow" else L.LegacyParser()
            self.plugged = True

    def _unplug(self) -> None:
        with self._lock:
            self.plugged = False
            close_fds(self._master, self._slave)
            self._master = self._slave = -1
            if os.path.lexists(self.port):
                os.unlink(self.port)

    def unplug(self) -> None:
        """The USB adapter pulled out: the port vanishes and open handles fail."""
        self._unplug()

    def replug(self) -> None:
        """Plugged back in: a new tty under the same by-id name."""
        self._plug()

    # ----------------------------------------------------------------- loop
    def _run(self) -> None:
        while not self._stop.is_set():
            m = self._master
            if m < 0:
                time.sleep(0.02)
                continue
            try:
                r, _, _ = select.select([m], [], [], 0.05)
                if not r:
                    continue
                data = os.read(m, 4096)
            except OSError:
                time.sleep(0.02)  # unplugged, or no slave opened yet
                continue
            for frame in self._parser.feed(data):
                self._handle(frame, m)

    def _handle(self, frame, master: int) -> None:
        if self.protocol == "onewindow":
            if frame.reply:
                return  # another device's reply (or an adapter's echo)
            raw_len = len(frame.payload) + F.OVERHEAD
        else:
            raw_len = len(frame.data) + 9
        self.rx_frames += 1
        dev = self.devices.get(frame.addr)
        if dev is None:
            return
        reply = dev.handle(frame)
        if not reply:
            return
        q = self.quirks
        delay = q.reply_delay_s
        if q.wire_baud:
            delay += F.wire_ms(raw_len + len(reply), q.wire_baud) / 1000.0
        if delay:
            time.sleep(delay)
        out = bytearray()
        if q.garbage_rate and self._rng.random() < q.garbage_rate:
            out += bytes(self._rng.randrange(256) for _ in range(self._rng.randrange(1, 12)))
        if q.drop_rate:
            out += bytes(b for b in reply if self._rng.random() >= q.drop_rate)
        else:
            out += reply
        try:
            os.write(master, bytes(out))
        except OSError:
            return
        dev.written(reply)

    def write_raw(self, data: bytes) -> None:
        """Inject bytes onto the bus as if some device sent them (noise tests)."""
        os.write(self._master, data)

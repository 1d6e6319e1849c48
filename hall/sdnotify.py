"""systemd's notify protocol: READY=1, STOPPING=1 and watchdog pings.

A unit with ``Type=notify`` and ``WatchdogSec=`` hands the process
``$NOTIFY_SOCKET`` (a Unix datagram socket; a leading ``@`` is Linux's abstract
namespace) and ``$WATCHDOG_USEC``.  The process sends ``WATCHDOG=1`` more often
than that, or systemd kills and restarts it.

The pings come from the threads that do the work, never from a timer thread
of their own: each worker loop calls :func:`beat` with its name once per pass,
and ``WATCHDOG=1`` goes out only while *every* worker that registered with
:func:`watch` has beaten within half the watchdog period.  A worker stuck in a
lock, an fsync or a dead serial read stops beating, so the pings stop and
systemd restarts the process — which a timer thread would have hidden.

Outside systemd (tests, ``make demo``) there is no socket and every call is a
cheap no-op.  No dependency: the protocol is one ``sendto`` of ``KEY=VALUE``
lines.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Callable, Mapping


class Notifier:
    """Speaks to ``$NOTIFY_SOCKET``; the socket is opened on the first send."""

    def __init__(self, environ: Mapping[str, str] | None = None,
                 monotonic: Callable[[], float] = time.monotonic):
        env = os.environ if environ is None else environ
        addr = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + addr[1:] if addr.startswith("@") else addr
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        # WATCHDOG_PID names the process the watchdog is meant for: a child we
        # started (espeak-ng, aplay) inherits the variables but must not ping.
        mine = not pid or pid == str(os.getpid())
        self.period = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and mine else 0.0
        self._mono = monotonic
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._beats: dict[str, float] = {}
        self._last_ping = -1e18

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *fields: str) -> bool:
        """One datagram of ``KEY=VALUE`` lines; False when not under systemd."""
        if not self.address:
            return False
        with self._lock:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            try:
                self._sock.sendto("\n".join(fields).encode(), self.address)
            except OSError:
                return False  # systemd went away (shutdown): nothing to tell
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    # ------------------------------------------------------------ watchdog --
    def watch(self, name: str) -> None:
        """From now on ``name`` must keep beating for the pings to go on."""
        with self._lock:
            self._beats[name] = self._mono()

    def unwatch(self, name: str) -> None:
        """A worker that ended on purpose (stop()) no longer holds the pings back."""
        with self._lock:
            self._beats.pop(name, None)

    def beat(self, name: str) -> bool:
        """Called by worker ``name`` once per pass of its loop; True if it pinged."""
        if not self.period:
            return False
        now = self._mono()
        half = self.period / 2
        with self._lock:
            self._beats[name] = now
            if now - self._last_ping < half / 2:
                return False  # rate limit: a busy loop beats thousands of times a second
            if any(now - t > half for t in self._beats.values()):
                return False  # another worker is stuck: let systemd see it
            self._last_ping = now
        return self.send("WATCHDOG=1")


NOTIFIER = Notifier()


def watch(name: str) -> None:
    NOTIFIER.watch(name)


def unwatch(name: str) -> None:
    NOTIFIER.unwatch(name)


def beat(name: str) -> bool:
    return NOTIFIER.beat(name)

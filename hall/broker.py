"""Start a local MQTT broker for the demo, tests and benchmarks.

mosquitto (Debian package) when installed — the production broker; otherwise
an embedded amqtt broker on loopback, which speaks MQTT 3.1.1 only, so the
returned settings say which protocol to use.  Production halls run mosquitto
under systemd with ``config/mosquitto/`` instead of this module.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .bus import BusSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)), None)


@dataclass(frozen=True)
class TlsListener:
    """A TLS listener beside the plaintext one (``onewindow certs`` makes the files).

    ``require_certificate``: clients must present a certificate signed by the CA,
    as on the hall LAN (``config/mosquitto/onewindow.conf``).
    """

    cafile: str
    certfile: str
    keyfile: str
    require_certificate: bool = True

    def conf(self, port: int) -> str:
        return (f"listener {port} 127.0.0.1\n"
                f"cafile {self.cafile}\ncertfile {self.certfile}\nkeyfile {self.keyfile}\n"
                f"require_certificate {'true' if self.require_certificate else 'false'}\n"
                "tls_version tlsv1.2\n")


def readable_by_broker(*paths: str | Path) -> None:
    """mosquitto started as root drops to the ``mosquitto`` user before reading
    its files: hand it the (test) files it must read."""
    if os.geteuid() != 0:
        return
    import pwd
    try:
        pw = pwd.getpwnam("mosquitto")
    except KeyError:
        return
    for p in paths:
        os.chown(p, pw.pw_uid, pw.pw_gid)


@dataclass
class LocalBroker:
    """A broker process on 127.0.0.1; ``settings`` is what clients connect with."""

    kind: str
    port: int
    proc: subprocess.Popen | None
    workdir: Path
    extra_conf: str = ""
    tls: TlsListener | None = None
    tls_port: int | None = None

    @property
    def settings(self) -> BusSettings:
        return BusSettings(host="127.0.0.1", port=self.port,
                           protocol="5" if self.kind == "mosquitto" else "3.1.1")

    def tls_settings(self, certfile: str | Path | None = None, keyfile: str | Path | None = None,
                     host: str = "localhost") -> BusSettings:
        """Client settings for the TLS listener, checking the broker against the CA."""
        assert self.tls is not None and self.tls_port is not None, "started without tls="
        return BusSettings(host=host, port=self.tls_port, tls=True, cafile=self.tls.cafile,
                           certfile=str(certfile) if certfile else None,
                           keyfile=str(keyfile) if keyfile else None)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        """Stop and start again on the same port (for reconnect tests)."""
        self.stop()
        fresh = _start(self.kind, self.port, self.workdir, self.extra_conf, self.tls, self.tls_port)
        self.proc = fresh.proc

    def __enter__(self) -> "LocalBroker":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _start(kind: str, port: int, workdir: Path, extra_conf: str, tls: TlsListener | None = None,
           tls_port: int | None = None) -> LocalBroker:
    """``extra_conf`` may set ``allow_anonymous false`` with a password file and ACL."""
    log = open(workdir / f"{kind}.log", "ab")
    if kind == "mosquitto":
        exe = find_mosquitto()
        assert exe
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\n"
            + ("" if "allow_anonymous" in extra_conf else "allow_anonymous true\n") +
            "persistence false\n"
            "max_inflight_messages 0\n"
            "max_queued_messages 100000\n"
            # without it, Nagle + delayed ACK add ~40 ms to every small reply
            "set_tcp_nodelay true\n"
            "log_dest stderr\nlog_type error\nlog_type warning\n" + extra_conf
            + (tls.conf(tls_port) if tls and tls_port else ""))
        proc = subprocess.Popen([exe, "-c", str(conf)], stdout=log, stderr=log, start_new_session=True)
    else:
        script = (
            "import asyncio, sys\n"
            "from amqtt.broker import Broker\n"
            "cfg = {'listeners': {'default': {'type': 'tcp', 'bind': '127.0.0.1:%d'}},\n"
            "       'plugins': {'amqtt.plugins.authentication.AnonymousAuthPlugin': {'allow_anonymous': True}}}\n"
            "async def main():\n"
            "    b = Broker(cfg)\n"
            "    await b.start()\n"
            "    await asyncio.Event().wait()\n"
            "asyncio.run(main())\n" % port)
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=log, stderr=log, start_new_session=True)
    if not _wait_port(port, 15):
        proc.kill()
        raise RuntimeError(f"{kind} did not listen on port {port}; see {workdir / (kind + '.log')}")
    if tls_port and not _wait_port(tls_port, 15):
        proc.kill()
        raise RuntimeError(f"{kind} did not listen on TLS port {tls_port}; see {workdir / (kind + '.log')}")
    return LocalBroker(kind, port, proc, workdir, extra_conf, tls, tls_port)


def start_local_broker(prefer: str = "mosquitto", port: int | None = None,
                       workdir: str | Path | None = None, extra_conf: str = "",
                       tls: TlsListener | None = None) -> LocalBroker:
    """Start mosquitto if installed (or if ``prefer='mosquitto'``), else amqtt.

    ``tls``: also a TLS listener on another free port (mosquitto only).
    """
    wd = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="onewindow-broker-"))
    wd.mkdir(parents=True, exist_ok=True)
    kind = "mosquitto" if prefer == "mosquitto" and find_mosquitto() else "amqtt"
    if kind == "amqtt" and importlib.util.find_spec("amqtt") is None:
        raise RuntimeError("no broker: install mosquitto (Debian: apt-get install mosquitto) "
                           "or the Python package amqtt")
    if tls is not None and kind != "mosquitto":
        raise RuntimeError("a TLS listener needs mosquitto (Debian: apt-get install mosquitto)")
    return _start(kind, port or free_port(), wd, extra_conf, tls, free_port() if tls else None)

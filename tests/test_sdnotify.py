"""systemd notify protocol: datagrams on a real socket; the watchdog pings stop
when the engine's worker is stuck behind a hung commit, and come back after."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time

import pytest

from hall import sdnotify
from hall.topics import REGISTRY


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def notify_socket(tmp_path):
    path = str(tmp_path / "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(5)
    yield path, s
    s.close()


def drain(s: socket.socket) -> list[str]:
    out = []
    s.settimeout(0)
    try:
        while True:
            out.append(s.recv(4096).decode())
    except BlockingIOError:
        pass
    s.settimeout(5)
    return out


def test_ready_status_and_stopping_are_datagrams(notify_socket):
    path, s = notify_socket
    n = sdnotify.Notifier({"NOTIFY_SOCKET": path})
    assert n.ready("engine of hall X")
    assert s.recv(4096) == b"READY=1\nSTATUS=engine of hall X"
    assert n.stopping()
    assert s.recv(4096) == b"STOPPING=1"


def test_abstract_socket_address():
    n = sdnotify.Notifier({"NOTIFY_SOCKET": "@/org/test/notify"})
    assert n.address == "\0/org/test/notify"


def test_outside_systemd_nothing_is_sent():
    n = sdnotify.Notifier({})
    assert not n.enabled and not n.ready() and not n.beat("w")


def test_watchdog_for_another_pid_is_ignored(notify_socket):
    path, _ = notify_socket
    n = sdnotify.Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000",
                           "WATCHDOG_PID": str(os.getpid() + 1)})
    assert n.period == 0 and not n.beat("w")


def test_a_stale_worker_holds_back_the_pings(notify_socket):
    path, s = notify_socket
    clock = FakeClock()
    n = sdnotify.Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}, monotonic=clock)
    n.watch("a")
    n.watch("b")
    assert n.beat("a")  # both fresh
    assert s.recv(4096) == b"WATCHDOG=1"
    clock.t += 0.3
    assert not n.beat("a")  # rate limit: not more than every period/4
    clock.t += 0.9  # b last beat 1.2 s ago > period/2
    assert not n.beat("a")
    n.beat("b")  # b beats again: the next beat of anyone pings
    assert drain(s) == ["WATCHDOG=1"]
    n.unwatch("b")
    clock.t += 5
    assert n.beat("a")  # b left on purpose: it no longer holds the pings


@pytest.mark.broker
def test_engine_pings_stop_while_a_commit_hangs(notify_socket, running_engine, bus_client,
                                               small_config, monkeypatch):
    """The loop keeps serving the door while a commit hangs, but the committer
    thread no longer beats, so the pings stop and systemd restarts the engine."""
    path, s = notify_socket
    clock = FakeClock()
    n = sdnotify.Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}, monotonic=clock)
    monkeypatch.setattr(sdnotify, "NOTIFIER", n)
    svc = running_engine()

    def advance_until_beaten(*names: str) -> None:
        clock.t += 1.5  # over period/2: only fresh beats let a ping out
        end = time.monotonic() + 10
        while any(n._beats.get(x) != clock.t for x in names) and time.monotonic() < end:
            time.sleep(0.01)
        assert all(n._beats.get(x) == clock.t for x in names), f"not all of {names} beat"

    advance_until_beaten("caller-loop", "caller-commit")
    assert s.recv(4096) == b"WATCHDOG=1", "a healthy engine must ping"

    # hang the committer inside a commit, as a stuck fsync would
    entered, release = threading.Event(), threading.Event()
    real_commit = svc.store.commit

    def hung_commit(*a, **kw):
        entered.set()
        release.wait(30)
        return real_commit(*a, **kw)

    monkeypatch.setattr(svc.store, "commit", hung_commit)
    bus = bus_client(small_config.hall.id, "kiosk-wd")
    bus.publish(REGISTRY["kiosk.request.issue"], "K1", {"id": "wd-1", "matter": "M1"})
    assert entered.wait(10), "the request never reached the committer"  # the positive marker
    drain(s)
    stale = n._beats.get("caller-commit")
    advance_until_beaten("caller-loop")  # the loop goes on
    assert n._beats.get("caller-commit") == stale
    assert not n.beat("probe"), "pings went on while the commit was stuck"
    assert drain(s) == []

    release.set()
    advance_until_beaten("caller-loop", "caller-commit")
    n.beat("probe")
    assert s.recv(4096) == b"WATCHDOG=1", "pings did not come back after the commit"


@pytest.mark.broker
def test_caller_command_says_ready_and_pings_under_systemd(notify_socket, broker, tmp_path):
    """The real `onewindow caller` with the variables systemd sets for Type=notify, WatchdogSec=2."""
    import subprocess

    import yaml

    from tests.conftest import small_raw, unique_hall_id
    path, s = notify_socket
    raw = small_raw()
    raw["hall"]["id"] = unique_hall_id()
    cfg = tmp_path / "hall.yaml"
    cfg.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "ONEWINDOW_MQTT_PORT": str(broker.port), "NOTIFY_SOCKET": path,
           "WATCHDOG_USEC": "2000000"}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "hall.cli", "caller", "--config", str(cfg),
                             "--db", str(tmp_path / "e.sqlite")], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "log", "wb"))
    try:
        s.settimeout(30)
        # pings may start before READY (systemd takes them from the start); READY comes
        # once the store is loaded and the bus is up, and the pings go on after it
        while not (msg := s.recv(4096).decode()).startswith("READY=1"):
            assert msg == "WATCHDOG=1", msg
        assert msg.startswith(f"READY=1\nSTATUS=engine of hall {raw['hall']['id']} ("), msg
        assert s.recv(4096) == b"WATCHDOG=1"
        proc.terminate()  # systemd's SIGTERM
        while (msg := s.recv(4096).decode()) != "STOPPING=1":
            assert msg == "WATCHDOG=1", msg
    finally:
        proc.terminate()
        proc.wait(20)
    assert proc.returncode == 0


def test_bridge_line_stuck_in_a_read_stops_the_pings(notify_socket, monkeypatch):
    """Each RS-485 line's own thread beats: one stuck in a serial read holds the pings back."""
    from firmware_bridge.fakes import FakeLedBar
    from tests.test_bridge_driver import Rig
    path, s = notify_socket
    clock = FakeClock()
    n = sdnotify.Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}, monotonic=clock)
    monkeypatch.setattr(sdnotify, "NOTIFIER", n)
    r = Rig()
    r.add(FakeLedBar(1), "led", "ledbar")
    entered, release = threading.Event(), threading.Event()
    r.start()
    try:
        def line_beats_now() -> bool:
            end = time.monotonic() + 10
            while n._beats.get("line-L1") != clock.t and time.monotonic() < end:
                time.sleep(0.01)
            return n._beats.get("line-L1") == clock.t

        clock.t += 1.5
        assert line_beats_now(), "the line's thread does not beat"
        n.beat("probe")
        assert b"WATCHDOG=1" in [s.recv(4096)]

        real_read = r.driver.link.read

        def stuck_read(timeout):
            entered.set()
            release.wait(30)  # a USB adapter that stopped answering, read without its timeout
            return real_read(timeout)

        monkeypatch.setattr(r.driver.link, "read", stuck_read)
        assert entered.wait(10), "the line never read"
        drain(s)
        clock.t += 1.5
        assert not n.beat("probe"), "pings went on while the line was stuck"
        assert drain(s) == []

        release.set()
        clock.t += 1.5
        assert line_beats_now(), "the line did not come back"
        n.beat("probe")
        assert s.recv(4096) == b"WATCHDOG=1"
    finally:
        release.set()
        r.stop()

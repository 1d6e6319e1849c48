"""kill -9 the engine process while kiosks are issuing: nothing acknowledged is lost."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from hall.bus import RequestError, Requester
from hall.topics import REGISTRY
from tests.conftest import small_raw, unique_hall_id

pytestmark = pytest.mark.broker


def start_engine(cfg_path: Path, db: Path, broker, log: Path) -> subprocess.Popen:
    env = {**os.environ, "ONEWINDOW_MQTT_PORT": str(broker.port),
           "ONEWINDOW_MQTT_PROTOCOL": broker.settings.protocol}
    return subprocess.Popen([sys.executable, "-m", "hall.cli", "caller", "--config", str(cfg_path),
                             "--db", str(db)], env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def wait_online(bus, timeout=20.0):
    got = threading.Event()
    bus.subscribe(REGISTRY["engine.availability"],
                  lambda p, d: json.loads(d or b"{}").get("state") == "online" and got.set(), ident="caller")
    return got.wait(timeout)


@pytest.mark.parametrize("round_", [1, 2])
def test_kill_9_loses_no_acknowledged_ticket(broker, bus_client, tmp_path, round_):
    raw = small_raw()
    hid = raw["hall"]["id"] = unique_hall_id()
    cfg_path = tmp_path / "hall.yaml"
    cfg_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    db = tmp_path / "engine.sqlite"
    proc = start_engine(cfg_path, db, broker, tmp_path / "engine.log")
    watcher = bus_client(hid, "watch")
    assert wait_online(watcher), (tmp_path / "engine.log").read_text()

    acked: list[tuple[str, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def kiosk(n: int) -> None:
        bus = bus_client(hid, f"k{n}")
        req = Requester(bus, "kiosk", f"K{n}")
        while not stop.is_set():
            try:
                t = req.call("issue", {"matter": ["M1", "M4", "M2"][n % 3]}, timeout=1.0, retries=0)
            except RequestError:
                continue  # unacknowledged: may or may not exist, must not matter
            with lock:
                acked.append((t["ticket"], t["number"]))

    threads = [threading.Thread(target=kiosk, args=(i,), daemon=True) for i in range(6)]
    for th in threads:
        th.start()
    end = time.monotonic() + 10
    while len(acked) < 150 + 100 * round_ and time.monotonic() < end:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream, requests in flight
    proc.wait()
    stop.set()
    for th in threads:
        th.join(5)
    assert len(acked) >= 100

    # the engine's retained window state is wiped; a restart must republish it
    watcher.clear_retained(REGISTRY["window.state"], "W1")
    proc = start_engine(cfg_path, db, broker, tmp_path / "engine.log")
    try:
        check = bus_client(hid, "check")
        assert wait_online(check)
        con = sqlite3.connect(db)
        rows = dict(con.execute("SELECT id, number FROM tickets"))
        for tid, number in acked:
            assert rows.get(tid) == number, f"acknowledged {number} lost"
        numbers = [n for n in rows.values()]
        assert len(numbers) == len(set(numbers))
        # new numbers continue after everything acknowledged (no repeat on this day)
        req = Requester(check, "kiosk", "KX")
        new = {req.call("issue", {"matter": m}, timeout=5)["number"] for m in ("M1", "M4", "M2")}
        assert not new & {n for _, n in acked}
        assert not new & set(numbers)
        got = threading.Event()
        check.subscribe(REGISTRY["window.state"], lambda p, d: d and got.set(), ident="W1")
        assert got.wait(5), "window state was not republished after restart"
    finally:
        proc.terminate()
        proc.wait(10)

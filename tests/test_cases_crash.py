"""kill -9 the engine process while an outside case system moves cases along their
timelines: every acknowledged step is in the store after the restart, and the timelines
go on from where they were."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time

import pytest
import yaml

from hall.bus import RequestError, Requester
from hall.crypto import new_key
from tests.conftest import small_raw, unique_hall_id
from tests.test_engine_crash import start_engine, wait_online

pytestmark = pytest.mark.broker

STAGES = ("review", "decided", "issuing", "ready", "collected")  # each case's whole way after 受理


def test_kill_9_during_transitions_loses_no_acknowledged_step(broker, bus_client, tmp_path, monkeypatch):
    raw = small_raw()
    hid = raw["hall"]["id"] = unique_hall_id()
    raw["cases"] = {"systems": [{"id": "approval"}]}
    cfg_path = tmp_path / "hall.yaml"
    cfg_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    key = tmp_path / "data-key"
    key.write_bytes(new_key())
    monkeypatch.setenv("ONEWINDOW_DATA_KEY_FILE", str(key))  # the engine subprocess's data key
    db = tmp_path / "engine.sqlite"
    log = tmp_path / "engine.log"
    proc = start_engine(cfg_path, db, broker, log)
    watcher = bus_client(hid, "watch")
    assert wait_online(watcher), log.read_text()

    acked: list[tuple[str, str]] = []  # (case, stage) the engine acknowledged
    lock = threading.Lock()
    stop = threading.Event()

    def system(n: int) -> None:  # one stream of cases per thread, each walked to 已领取
        req = Requester(bus_client(hid, f"approval{n}"), "device", "approval")
        k = 0
        while not stop.is_set():
            ref = f"T{n}-{k}"
            try:
                c = req.call("case_open", {"ref": ref, "matter": "M1", "handler": "李科员"}, timeout=1.0,
                             retries=0)
                for stage in STAGES:
                    c = req.call("case_step", {"ref": ref, "stage": stage, "handler": "王审查"}, timeout=1.0,
                                 retries=0)
                    with lock:
                        acked.append((c["case"], stage))
            except RequestError:
                pass  # unacknowledged: may or may not be stored, must not matter
            k += 1

    threads = [threading.Thread(target=system, args=(i,), daemon=True) for i in range(4)]
    for th in threads:
        th.start()
    end = time.monotonic() + 20
    while len(acked) < 120 and time.monotonic() < end:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: steps in flight
    proc.wait()
    stop.set()
    for th in threads:
        th.join(5)
    assert len(acked) >= 60, log.read_text()[-2000:]

    proc = start_engine(cfg_path, db, broker, log)
    try:
        check = bus_client(hid, "check")
        assert wait_online(check), log.read_text()[-2000:]
        con = sqlite3.connect(db)
        steps = {cid: [s["stage"] for s in json.loads(data)["steps"]]
                 for cid, data in con.execute("SELECT id, CAST(data AS TEXT) FROM cases")}
        for case, stage in acked:
            assert stage in steps.get(case, []), f"acknowledged step {stage} of case {case} lost"
        for case, got in steps.items():  # nothing half-applied: every timeline is a prefix of the way
            assert got == ["accepted", *STAGES][:len(got)], (case, got)
        # the timelines go on after the restart: a case left halfway is moved on
        half = next((c for c, got in steps.items() if 1 < len(got) < 6), None)
        if half is not None:
            ref = json.loads(con.execute("SELECT CAST(data AS TEXT) FROM cases WHERE id = ?",
                                         (half,)).fetchone()[0])["ref"]
            nxt = STAGES[len(steps[half]) - 1]
            view = Requester(check, "device", "approval").call(
                "case_step", {"ref": ref, "stage": nxt, "handler": "王审查"}, timeout=5)
            assert view["stage"] == nxt
        numbers = sorted(steps)
        assert len(numbers) == len(set(numbers))
    finally:
        proc.terminate()
        proc.wait(10)

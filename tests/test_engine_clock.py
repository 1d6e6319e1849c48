"""The engine refuses to number tickets when the clock is earlier than the last
committed ticket (a Pi that booted without time sync), and says so."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import yaml

from caller.service import CallerService, ClockError
from hall.bus import Requester
from hall.clock import ManualClock
from tests.conftest import small_raw, unique_hall_id

pytestmark = pytest.mark.broker


def issue_one(svc, bus_client, hall_id: str) -> dict:
    bus = bus_client(hall_id, "kiosk-clock")
    return Requester(bus, "kiosk", "K1").call("issue", {"matter": "M1"}, timeout=5)


def test_engine_refuses_a_clock_behind_the_last_ticket(broker, bus_client, small_config, tmp_path):
    db = tmp_path / "engine.sqlite"
    t0 = time.time()
    clock = ManualClock(t0)
    svc = CallerService(small_config, db, broker.settings, clock=clock, client_id="clk-a")
    svc.start()
    try:
        issue_one(svc, bus_client, small_config.hall.id)
    finally:
        svc.stop()

    behind = CallerService(small_config, db, broker.settings, clock=ManualClock(t0 - 3 * 86400),
                           client_id="clk-b")
    with pytest.raises(ClockError, match="earlier than the last committed ticket"):
        behind.start()
    behind.store.close()

    # the right time again: it starts and numbers on
    ok = CallerService(small_config, db, broker.settings, clock=ManualClock(t0 + 60), client_id="clk-c")
    ok.start()
    try:
        assert issue_one(ok, bus_client, small_config.hall.id)["number"].endswith("002")
    finally:
        ok.stop()


def test_caller_command_says_why_it_will_not_start(broker, bus_client, tmp_path):
    """Through the real command: exit status 1 and one clear line, no traceback."""
    raw = small_raw()
    hid = raw["hall"]["id"] = unique_hall_id()
    cfg_path = tmp_path / "hall.yaml"
    cfg_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    db = tmp_path / "engine.sqlite"
    from hall.config import parse_config
    svc = CallerService(parse_config(raw), db, broker.settings, clock=ManualClock(time.time() + 7 * 86400),
                        client_id="clk-future")
    svc.start()
    try:
        issue_one(svc, bus_client, hid)  # a ticket "from next week"
    finally:
        svc.stop()
    env = {**os.environ, "ONEWINDOW_MQTT_PORT": str(broker.port)}
    r = subprocess.run([sys.executable, "-m", "hall.cli", "caller", "--config", str(cfg_path), "--db", str(db)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "earlier than the last committed ticket" in r.stderr
    assert "Traceback" not in r.stderr

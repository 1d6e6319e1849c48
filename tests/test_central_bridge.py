"""Two halls bridged into one central broker: the city sees both halls' stats (全域一张网)."""

from __future__ import annotations

import json
import queue
import time

import pytest

from hall.broker import find_mosquitto, free_port, start_local_broker
from hall.bus import Bus, Requester
from hall.topics import REGISTRY
from tests.conftest import small_raw, unique_hall_id

pytestmark = [pytest.mark.broker,
              pytest.mark.skipif(not find_mosquitto(), reason="needs mosquitto (Debian package)")]


def bridge_conf(hall_id: str, central_port: int) -> str:
    # the same topics as config/mosquitto/bridge-central.conf, on loopback, no TLS
    return (f"connection {hall_id}-central\naddress 127.0.0.1:{central_port}\n"
            "bridge_protocol_version mqttv311\ncleansession true\n"
            f"topic onewindow/{hall_id}/stats/# out 1\n"
            f"topic onewindow/{hall_id}/alert/# out 1\n"
            f"topic onewindow/{hall_id}/zone/+/board out 1\n")


def test_central_broker_sees_every_hall(tmp_path_factory):
    from caller.service import CallerService
    from hall.config import parse_config
    central = start_local_broker(workdir=tmp_path_factory.mktemp("central"))
    halls, engines = [], []
    try:
        seen: queue.Queue = queue.Queue()
        city = Bus("city", "city-view", central.settings)
        # the command centre reads every hall with `+` in the hall level
        city.subscribe(REGISTRY["stats.summary"], lambda p, d: seen.put((p.hall_id, json.loads(d))),
                       hall_id="+", ident="hall")
        city.start()
        ids = []
        for n in range(2):
            raw = small_raw()
            hid = raw["hall"]["id"] = unique_hall_id()
            ids.append(hid)
            b = start_local_broker(workdir=tmp_path_factory.mktemp(f"hall{n}"),
                                   extra_conf=bridge_conf(hid, central.port))
            halls.append(b)
            eng = CallerService(parse_config(raw), tmp_path_factory.mktemp(f"db{n}") / "e.sqlite", b.settings)
            eng.start()
            engines.append(eng)
            bus = Bus(hid, f"k-{hid}", b.settings)
            bus.start()
            for _ in range(n + 1):
                Requester(bus, "kiosk", "K1").call("issue", {"matter": "M4"})
            bus.stop()
        issued: dict[str, int] = {}
        end = time.monotonic() + 10
        while time.monotonic() < end and any(issued.get(h) != i + 1 for i, h in enumerate(ids)):
            try:
                hid, s = seen.get(timeout=0.5)
            except queue.Empty:
                continue
            issued[hid] = s["issued"]
        assert issued == {ids[0]: 1, ids[1]: 2}
        city.stop()
    finally:
        for e in engines:
            e.stop()
        for b in halls:
            b.stop()
        central.stop()

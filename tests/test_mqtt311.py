"""The protocol works on MQTT 3.1.1: against mosquitto in 3.1.1 mode and the embedded amqtt broker."""

from __future__ import annotations

import dataclasses
import json
import queue

import pytest

from hall.broker import start_local_broker
from hall.bus import Bus, Requester
from hall.topics import REGISTRY
from tests.needs import needs

pytestmark = pytest.mark.broker


def run_flow(settings, small_config, tmp_path):
    from caller.service import CallerService
    eng = CallerService(small_config, tmp_path / "e.sqlite", settings)
    eng.start()
    try:
        c = Bus(small_config.hall.id, "c311", settings)
        states: queue.Queue = queue.Queue()
        c.subscribe(REGISTRY["window.state"], lambda p, d: states.put(json.loads(d)), ident="W5")
        c.start()
        k = Requester(c, "kiosk", "K1")
        w = Requester(c, "window", "W5")
        same = k.call("issue", {"matter": "M4"}, req_id="r-311")
        assert same == k.call("issue", {"matter": "M4"}, req_id="r-311")
        w.call("login", {"staff": "S5"})
        assert w.call("next", {})["ticket"]["number"] == "G001"
        while True:
            st = states.get(timeout=5)
            if st["ticket"]:
                break
        assert st["ticket"]["number"] == "G001"
        c.stop()
    finally:
        eng.stop()


def test_mosquitto_in_311_mode(broker, small_config, tmp_path):
    run_flow(dataclasses.replace(broker.settings, protocol="3.1.1"), small_config, tmp_path)


@needs("amqtt")
def test_embedded_amqtt_broker(small_config, tmp_path):
    b = start_local_broker(prefer="amqtt", workdir=tmp_path / "amqtt")
    try:
        assert b.kind == "amqtt" and b.settings.protocol == "3.1.1"
        run_flow(b.settings, small_config, tmp_path)
    finally:
        b.stop()

"""The web terminal's MQTT user under the hall ACL: it acts at windows and reads their
replies and states; it cannot take numbers as a kiosk; the bridge cannot read a visit."""

from __future__ import annotations

import asyncio
import json
import queue

import pytest

from hall.acl import start_acl_broker
from hall.bus import Bus, BusSettings, RequestError, Requester
from hall.config.access import identities
from hall.topics import REGISTRY
from tests.needs import needs
from tests.web_kit import terminal_config
from web.busclient import Hub

pytestmark = [pytest.mark.broker, needs("mosquitto")]


def test_web_user_acts_at_windows_and_the_bridge_never_sees_a_form(tmp_path):
    from caller.service import CallerService
    # the web terminal acts at W1 and W2; the bridge drives W1's LED bar
    cfg = terminal_config(
        devices={"lines": [{"id": "l1", "port": "/dev/null-l1"}],
                 "serial": [{"id": "led1", "line": "l1", "kind": "ledbar", "address": 1, "window": "W1"}]},
        access={"terminals": [{"id": "onewindow-web", "windows": ["W1", "W2"]}],
                "bridges": [{"id": "onewindow-bridge", "lines": ["l1"]}]})
    hid = cfg.hall.id
    users = {i.id: f"pw-{i.id}" for i in identities(cfg)}
    b = start_acl_broker(cfg, users)

    def st(user):
        return BusSettings(host="127.0.0.1", port=b.port, username=user, password=users[user])
    eng = CallerService(cfg, tmp_path / "e.sqlite", st("onewindow-caller"))
    eng.start()
    hub = Hub(hid, st("onewindow-web"), client_id="onewindow-web", timeout_s=1.0, retries=0)
    bridge = Bus(hid, "onewindow-bridge", st("onewindow-bridge"))
    kiosk_bus = Bus(hid, "K01", st("K01"))
    try:
        for c in (hub, bridge, kiosk_bus):
            c.start()
        seen: queue.Queue = queue.Queue()
        for op in ("visit", "next"):
            bridge.subscribe(REGISTRY[f"window.response.{op}"], lambda p, d, op=op: seen.put((op, json.loads(d))))
        form = {"legal_person": "张三", "id_number": "11010519491231002X"}
        Requester(kiosk_bus, "kiosk", "K01").call("issue", {"matter": "M1", "form": form})

        async def clerk():
            while hub.engine != "online":
                await asyncio.sleep(0.02)
            await hub.request("W1", "login", {"staff": "S001"})
            await hub.request("W1", "next", {})
            visit = await hub.request("W1", "visit", {})
            await hub.request("W1", "next", {})  # the marker: a reply the bridge may read
            return visit
        visit = asyncio.run(clerk())
        assert visit["form"] == form
        got = [seen.get(timeout=5)]
        while [op for op, _ in got].count("next") < 2:  # the second next came after the visit reply
            got.append(seen.get(timeout=5))
        assert [op for op, _ in got] == ["next", "next"]  # never the visit with its form
        assert hub.states["W1"]["staff"] == "S001"  # the web user reads window states
        # the web user cannot take a number as a kiosk
        with pytest.raises(RequestError) as e:
            Requester(hub.bus, "kiosk", "K01").call("issue", {"matter": "M1"}, timeout=0.7, retries=0)
        assert e.value.code == "timeout"
        assert len(eng.engine.tickets) == 1
    finally:
        for c in (kiosk_bus, bridge):
            c.stop()
        hub.stop()
        eng.stop()
        b.stop()

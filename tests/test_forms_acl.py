"""Profiles and filled forms through mosquitto with the hall's ACL: only the asking kiosk
or window reads the reply; another kiosk, the admin account and the bridge never do."""

from __future__ import annotations

import queue

import pytest

from hall.acl import start_acl_broker
from hall.bus import Bus, BusSettings, Requester
from hall.config import parse_config
from hall.config.access import identities
from hall.topics import REGISTRY
from tests.needs import needs

from .test_forms_engine import B1_FORM, ID_NO, data_key, with_forms  # noqa: F401  (data_key is a fixture)

pytestmark = [pytest.mark.broker, needs("mosquitto")]

def test_profile_and_form_replies_reach_only_the_asker(small_config, tmp_path, data_key):
    from caller.service import CallerService
    # W1's soft terminal, a bridge driving W1's LED bar, an admin account
    raw = with_forms(small_config).model_dump(mode="json") | {
        "devices": {"lines": [{"id": "l1", "port": "/dev/null-l1"}],
                    "serial": [{"id": "led1", "line": "l1", "kind": "ledbar", "address": 1, "window": "W1"}]},
        "access": {"terminals": [{"id": "W1", "windows": ["W1"]}], "admins": ["onewindow-admin"],
                   "bridges": [{"id": "onewindow-bridge", "lines": ["l1"]}]}}
    cfg = parse_config(raw)
    hid = cfg.hall.id
    USERS = {i.id: f"pw-{i.id}" for i in identities(cfg)}
    broker = start_acl_broker(cfg, USERS)

    def bus(user: str) -> Bus:
        b = Bus(hid, f"{user}-c{len(started)}", BusSettings(host="127.0.0.1", port=broker.port, username=user,
                                              password=USERS[user]))
        return b

    eng = CallerService(cfg, tmp_path / "e.sqlite", BusSettings(host="127.0.0.1", port=broker.port,
                                                                 username="onewindow-caller",
                                                                 password=USERS["onewindow-caller"]))
    eng.start()
    started: list[Bus] = []
    try:
        # the onlookers: each subscribes to the private replies and to one topic it may read (the marker)
        seen: dict[str, queue.Queue] = {}
        for user, private, marker in (
                ("K02", "kiosk.response.profile_get", ("zone.waiting", "Z1")),
                ("onewindow-admin", "kiosk.response.profile_get", ("zone.waiting", "Z1")),
                ("onewindow-admin", "window.response.form", ("zone.waiting", "Z1")),
                ("onewindow-bridge", "window.response.form", ("window.state", "W1"))):
            q: queue.Queue = queue.Queue()
            b = bus(user)
            b.subscribe(REGISTRY[private], lambda p, d, q=q: q.put(("private", d)))
            b.subscribe(REGISTRY[marker[0]], lambda p, d, q=q: q.put(("marker", d)), ident=marker[1])
            b.start()
            started.append(b)
            seen[f"{user}/{private}"] = q

        k01 = bus("K01")
        k01.start()
        started.append(k01)
        kiosk = Requester(k01, "kiosk", "K01")
        kiosk.call("profile_put", {"id_number": ID_NO, "values": {"name": "张三丰", "phone": "13812345678"}})
        assert kiosk.call("profile_get", {"id_number": ID_NO})["values"]["name"] == "张三丰"   # the asker reads it
        kiosk.call("issue", {"bundle": "B1", "form": B1_FORM})        # → new Z1 counts: the marker
        w1b = bus("W1")
        w1b.start()
        started.append(w1b)
        w1 = Requester(w1b, "window", "W1")
        w1.call("login", {"staff": "S01"})
        w1.call("next", {})
        assert w1.call("form", {})["values"]["name"] == "张三丰"     # the clerk's window reads it
        w1.call("recall", {})                                          # → a new W1 state: the bridge's marker
        kiosk.call("issue", {"matter": "M1"})                          # → new Z1 counts, after the form reply

        # each onlooker reads until the marker that was published after every private reply:
        # the Z1 counts with the M1 ticket, or W1's state after the recall
        for key, q in seen.items():
            last = b'"recalls":1' if key.startswith("onewindow-bridge") else b'"A":1'
            while True:
                kind, data = q.get(timeout=10)
                assert kind == "marker", f"{key} read a private reply: {data[:80]!r}"
                if last in data:
                    break
    finally:
        for b in started:
            b.stop()
        eng.stop()
        broker.stop()

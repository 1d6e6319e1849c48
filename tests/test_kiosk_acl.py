"""A kiosk under the production broker ACL (username = kiosk id) can take numbers and publish its printer state."""

from __future__ import annotations

import time

import pytest

from hall import messages as m
from hall.acl import start_acl_broker
from hall.bus import Bus, BusSettings
from hall.config import parse_config
from hall.topics import REGISTRY
from kiosk.fake_printer import FakePrinter
from kiosk.flow import S
from kiosk.printer import EscposTicketPrinter
from kiosk.service import KioskService

from .conftest import small_raw, unique_hall_id
from .needs import needs
from .test_kiosk_flow import kiosk_config

pytestmark = [pytest.mark.broker,
              needs("mosquitto")]

USERS = {"onewindow-caller": "pw-engine", "K1": "pw-k1", "admin": "pw-admin"}


def take_a_number(svc: KioskService) -> dict:
    """Touch through M4 (social security card) to the ticket screen; the ticket shown."""
    svc.press("target:M4")
    svc.press("next")
    svc.press("next")
    svc.press("take")
    end = time.monotonic() + 10
    while svc.flow.screen != S.TICKET and time.monotonic() < end:
        svc.pump(0.05)
    assert svc.flow.screen == S.TICKET, svc.flow.s.error
    return svc.flow.s.ticket


def test_kiosk_works_as_its_own_user_under_the_acl(tmp_path):
    from caller.service import CallerService
    raw = small_raw()
    raw["hall"]["id"] = unique_hall_id()
    raw["kiosks"] = kiosk_config().kiosks.model_dump(mode="json")
    cfg = parse_config(raw)
    b = start_acl_broker(cfg, USERS)

    def settings(user):
        return BusSettings(host="127.0.0.1", port=b.port, username=user, password=USERS[user])
    eng = CallerService(cfg, tmp_path / "e.sqlite", settings("onewindow-caller"), client_id="acl-engine")
    fp = FakePrinter("near_end").start()
    pr = EscposTicketPrinter(cfg.kiosks.device("K1").printer.model_copy(update={"device": fp.path}))
    svc = KioskService(cfg, "K1", settings("K1"), printer=pr)
    seen: list[m.DeviceStatus] = []
    watch = Bus(cfg.hall.id, "acl-watch", settings("admin"))  # admins read device status
    try:
        eng.start()
        watch.subscribe(REGISTRY["device.status"], lambda p, data: seen.append(m.decode(data, m.DeviceStatus)),
                        ident="K1")
        watch.start()
        svc.start(connect_timeout=5)
        take_a_number(svc)
        end = time.monotonic() + 10
        while not seen and time.monotonic() < end:
            time.sleep(0.05)
        assert seen and seen[-1].device == "K1" and seen[-1].detail["state"] == "near_end"
    finally:
        svc.stop()
        watch.stop()
        eng.stop()
        pr.close()
        fp.stop()
        b.stop()

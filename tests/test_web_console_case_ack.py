"""A case's supervision warning (电子监察) acknowledged in the console is the engine's
record, not only the console's: through a real mosquitto with the hall's ACL, the
console's own admin identity sends ``alert/<admin-id>/request/case_ack``, the engine
keeps the acknowledged colour and republishes the retained alert, the page gets the
engine's reply; a second acknowledgement changes nothing; a console without an admin
identity refuses and records nothing. The click is made in Chromium (screenshot
tests/artifacts/screens/admin/05-case-warning-acknowledged.png)."""

from __future__ import annotations

import pytest

from hall.acl import start_acl_broker
from hall.bus import Bus, BusSettings, Requester
from hall.clock import ManualClock
from hall.config import parse_config
from hall.config.access import identities
from tests.needs import needs
from tests.test_engine_bus import Collector
from tests.test_forms_engine import data_key  # noqa: F401 (fixture)
from tests.test_ratings_core import at
from tests.test_web_browser import browser, wait  # noqa: F401 (the Chromium fixture)
from tests.test_web_console import PASSWORDS, ConsoleUser, accounts, console_raw
from tests.test_web_console_browser import data, login, shot
from tests.web_kit import WebServer

pytestmark = [pytest.mark.broker, needs("mosquitto")]


def desk(eng):
    return next(x for x in eng.extensions if x.name == "cases")


def test_a_case_warning_acknowledged_in_the_console_is_kept_by_the_engine(tmp_path, data_key, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    from caller.service import CallerService
    raw = console_raw()
    raw["access"] = {**raw["access"], "terminals": [{"id": "onewindow-web", "windows": ["W1"]}]}
    cfg = parse_config(raw)
    hid = cfg.hall.id
    users = {i.id: f"pw-{i.id}" for i in identities(cfg)}
    b = start_acl_broker(cfg, users)

    def st(user: str) -> BusSettings:
        return BusSettings(host="127.0.0.1", port=b.port, username=user, password=users[user])
    clock = ManualClock(at("2026-11-16", "10:00"))
    eng = CallerService(cfg, tmp_path / "e.sqlite", st("onewindow-caller"), clock=clock)
    eng.start()
    probe, kiosk_bus = Bus(hid, "onewindow-web", st("onewindow-web")), Bus(hid, "K01", st("K01"))
    webs: list[WebServer] = []
    people: list[ConsoleUser] = []
    try:
        alerts = Collector(probe, "alert.case", "+")  # the terminal's user reads what the console reads
        for c in (probe, kiosk_bus):
            c.start()
        Requester(kiosk_bus, "kiosk", "K01").call("issue", {"matter": "M1"})
        w1 = Requester(probe, "window", "W1")
        w1.call("login", {"staff": "S001"})
        w1.call("next", {})
        w1.call("finish", {"outcome": {"kind": "accepted"}})  # case 2026000001, promised in 5 working days
        clock.set(at("2026-11-20", "09:00"))  # within cases.warn_days (2) of its deadline: yellow
        _, raised = alerts.get(where=lambda i, a: a and i == "2026000001")
        assert (raised["level"], raised["acked"]) == ("yellow", False)

        web = WebServer(cfg, st("onewindow-web"), accounts=accounts(), admin_id="admin", admin_bus=st("admin"),
                        clock=clock).start()
        webs.append(web)
        admin = ConsoleUser(web)
        people.append(admin)
        admin.login("admin1", PASSWORDS["admin1"])
        # the supervisor clicks 确认 in Chromium: the page shows the engine's reply
        key = "case:2026000001:yellow"
        d = browser
        login(d, web.url, "sup1", PASSWORDS["sup1"])
        wait(d, lambda d: any(a["key"] == key and a["ack"] is None for a in data(d, "alerts")), what="the warning")
        d.find_element(By.CSS_SELECTOR, f'button[data-ack="{key}"]').click()
        wait(d, lambda d: data(d, "lastAck"), what="the reply")
        got = data(d, "lastAck.body")
        assert data(d, "lastAck.status") == 200 and got["ack"]["by"] == "sup1"
        assert {k: got["engine"][k] for k in ("case", "level", "acked")} == {
            "case": "2026000001", "level": "yellow", "acked": True}  # the engine's reply
        said = d.find_element(By.ID, "toast").text
        assert said == "已确认：办件 2026000001 黄色预警，引擎已记录（期限 2026-11-23）", said
        wait(d, lambda d: any(a["key"] == key and a["ack"] for a in data(d, "alerts")), what="shown acknowledged")
        shot(d, "05-case-warning-acknowledged")
        # the engine keeps it and tells every console on the retained alert
        _, kept = alerts.get(where=lambda i, a: a and i == "2026000001" and a["acked"])
        assert kept["level"] == "yellow"
        assert desk(eng).open["2026000001"].acked == "yellow"
        # again, from another account: the same answer, the first acknowledgement stays the console's record
        r2 = admin.post("/admin/alerts/ack", {"key": key})
        assert r2.status_code == 200 and r2.json()["engine"]["acked"] is True and r2.json()["ack"]["by"] == "sup1"
        assert desk(eng).open["2026000001"].acked == "yellow"

        # a console without an admin identity cannot tell the engine: it says so and records nothing
        bare = WebServer(cfg, st("onewindow-web"), accounts=accounts(), clock=clock).start()
        webs.append(bare)
        other = ConsoleUser(bare)
        people.append(other)
        other.login("sup1", PASSWORDS["sup1"])
        seen = other.listen().get("alerts", lambda al: any(a["key"] == key for a in al))
        # what the engine keeps shows at every console: acknowledged, though not in this one's store
        assert next(a for a in seen if a["key"] == key)["ack"]["by"] == "已在引擎记录"
        r3 = other.post("/admin/alerts/ack", {"key": key})
        assert r3.status_code == 503 and r3.json()["error"]["code"] == "no_admin_identity"
        assert bare.ctx.acks.get([key]) == {}
        assert eng.failed is None
    finally:
        for p in people:
            p.close()
        for w in webs:
            w.stop()
        for c in (kiosk_bus, probe):
            c.stop()
        eng.stop()
        b.stop()

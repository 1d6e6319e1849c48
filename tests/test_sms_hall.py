"""SMS reminders, ratings and follow-ups end to end through mosquitto: engine + SMS sender on a fake pty modem.

A ticket with a phone number gets its reminder exactly once when it comes near
(the PDU decoded back to the Chinese text), a sender restart loses nothing, a
finished visit prompts the evaluator and records the rating, a bad review opens
a follow-up with the right deadline (closed from the CLI), and satisfaction
stats appear on the bus.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from caller.sms_outbox import SmsOutbox
from hall.bus import Requester
from hall.config import parse_config
from hall.seriallink import SerialLink
from sms.fake_modem import FakeModem
from sms.gsm import GsmModem
from sms.service import SmsService
from tests.conftest import small_raw, unique_hall_id
from tests.test_engine_bus import Collector

pytestmark = pytest.mark.broker

PHONE = "13812345678"
PHONE2 = "13900001111"


class OffsetClock:
    """Real time moved to a Friday morning in the hall, so service hours are open."""

    def __init__(self, local: dt.datetime):
        self.off = local.timestamp() - time.time()

    def now(self) -> float:
        return time.time() + self.off

    def monotonic(self) -> float:
        return time.monotonic()


def wait_for(cond, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def hall_cfg():
    raw = small_raw()
    raw["hall"]["id"] = unique_hall_id()
    raw["service_hours"] = {"closed_dates": ["2026-11-24"]}
    raw["notify"] = {"evaluation": {"timeout_s": 20},
                     "followup": {"deadline_working_days": 3, "callback_working_days": 1},
                     "sms": {"enabled": True, "sender_id": "sms1", "near_ahead": 2, "near_minutes": None,
                             "resend_s": 2, "sender": {"type": "gsm", "port": "/dev/null"}}}
    return parse_config(raw)


def test_reminder_once_restart_rating_followup_and_stats(running_engine, bus_client, broker, hall_cfg,
                                                         tmp_path, caplog):
    import logging
    caplog.set_level(logging.DEBUG)
    clock = OffsetClock(dt.datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    eng = running_engine(hall_cfg, clock=clock)
    hid = eng.hall_id
    fm = FakeModem().start()
    journal = tmp_path / "sms.sqlite"

    def sender():
        drv = GsmModem(SerialLink(fm.port, 115200), command_timeout_s=2, send_timeout_s=2)
        s = SmsService(hid, "sms1", drv, journal, broker.settings, clock=clock)
        s.start()
        return s

    sms = sender()
    try:
        c = bus_client(hid, "t")
        status = Collector(c, "device.status", "sms1")
        prompts = Collector(c, "window.evaluate", "W5")
        followups = Collector(c, "alert.followup")
        sat_window = Collector(c, "stats.satisfaction.window", "W5")
        sat_day = Collector(c, "stats.satisfaction.day", "hall")
        kiosk = Requester(c, "kiosk", "K1")
        win = Requester(c, "window", "W5")
        for _ in range(4):
            kiosk.call("issue", {"matter": "M4"})
        t = kiosk.call("issue", {"matter": "M4", "phone": PHONE})
        assert t["ahead"] == 4
        assert status.get(where=lambda i, s: s["ok"])[1]["detail"]["sim"] == "ready"
        win.call("login", {"staff": "S005"})
        win.call("next", {})  # three ahead: not near yet (the exact text below says "2人")
        win.call("next", {})  # two ahead now
        wait_for(lambda: fm.messages(), what="the near SMS")
        # the figures follow the real clock here (tests/test_sms_rules.py pins them)
        near = fm.messages()[0][1]
        got = re.fullmatch(r"【测试行政服务中心】您的号码G005前面还有2人，预计约(\d+)–(\d+)分钟叫到，请回到社保医保区等候。", near)
        assert got and int(got[1]) <= int(got[2]), near
        win.call("next", {})  # one ahead: still near, never a second one
        ob = next(x for x in eng.extensions if isinstance(x, SmsOutbox))
        wait_for(lambda: not ob.pending, what="the sent status back at the engine")
        assert fm.messages() == [(PHONE, near)]
        # the outbox knows before its batch is committed: wait for the store's row
        rows = wait_for(lambda: (r := {x.reason: x for x in eng.store.sms_rows()}) and
                        r.get("near") and r["near"].state == "sent" and r, what="the sent row committed")
        assert (rows["near"].state, rows["near"].refs, rows["near"].parts) == ("sent", ["1"], 1)

        # the sender stops; the call happens meanwhile; nothing is lost
        sms.stop()
        win.call("next", {})  # G004
        win.call("next", {})  # G005 called
        wait_for(lambda: set(ob.pending) == {f"{t['ticket']}.called"}, what="the called SMS pending")
        sms = sender()
        wait_for(lambda: len(fm.messages()) == 2, what="the called SMS after the restart")
        wait_for(lambda: not ob.pending, what="its status")
        win.call("recall", {})  # the same reason as the call: no second SMS (checked at the end)

        # a finished visit prompts the evaluator; a bad rating opens a follow-up
        win.call("finish", {})
        _, pr = prompts.get(where=lambda i, p: p["ticket"] == t["ticket"])
        assert (pr["ticket"], pr["staff"], pr["timeout_s"]) == (t["ticket"], "S005", 20)
        assert win.call("rate", {"level": 2}) == {"ticket": t["ticket"], "level": 2}
        fid, f = followups.get(where=lambda i, msg: msg and msg["status"] == "open")
        assert (fid, f["level"], f["staff"], f["phone"]) == (f"FU-{t['ticket']}", 2, "S005", "138****5678")
        assert (f["callback_due"], f["due"]) == ("2026-11-23", "2026-11-26")  # Tue 24 is a holiday
        _, sw = sat_window.get(where=lambda i, s: s["rated"] == 1)
        assert (sw["bad"], sw["levels"]["2"], sw["day"]) == (1, 1, "2026-11-20")
        _, sd = sat_day.get(where=lambda i, s: s["rated"] == 1)
        assert sd["rate"] == 0.0 and sd["avg"] == 2.0

        # the CLI lists and closes it over the bus
        s = broker.settings
        base = ["--hall", hid, "--host", s.host, "--port", str(s.port), "--client", "sup1"]
        from caller.followup_cli import cmd
        r = CliRunner().invoke(cmd, base + ["list"])
        assert r.exit_code == 0, r.output
        assert fid in r.output and "138****5678" in r.output and PHONE not in r.output
        r = CliRunner().invoke(cmd, base + ["close", fid, "--note", " "])
        assert r.exit_code != 0
        r = CliRunner().invoke(cmd, base + ["close", fid, "--note", "已回访，已整改"])
        assert r.exit_code == 0 and "closed by sup1: 已回访，已整改" in r.output
        followups.get(where=lambda i, msg: msg and msg["status"] == "closed")
        r = CliRunner().invoke(cmd, base + ["list"])
        assert "no open follow-ups" in r.output
        assert PHONE not in caplog.text and "138****5678" in caplog.text  # engine and sender logs

        # barrier: one more called SMS, sent after the recall; once it is at the modem,
        # anything the recall had sent would be there before it
        assert kiosk.call("issue", {"matter": "M4", "phone": PHONE2})["number"] == "G006"
        win.call("next", {})
        wait_for(lambda: len(fm.messages()) >= 3, what="the marker SMS")
        assert fm.messages() == [(PHONE, near), (PHONE, "【测试行政服务中心】请G005号到5号窗口办理。"),
                                 (PHONE2, "【测试行政服务中心】请G006号到5号窗口办理。")]
    finally:
        sms.stop()
        fm.stop()

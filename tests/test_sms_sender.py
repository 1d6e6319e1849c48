"""The sender process against a stand-in engine on the real broker: journal, dedupe,
SIM faults, expiry, status reports, and recovery of a crash mid-send."""

from __future__ import annotations

import json
import threading
import time

import pytest

from hall.seriallink import SerialLink
from sms.fake_modem import FakeModem, ModemQuirks
from sms.gsm import GsmModem
from sms.journal import Journal
from sms.service import SmsService
from hall import messages as m
from hall.topics import REGISTRY
from tests.conftest import unique_hall_id
from tests.test_engine_bus import Collector
from tests.test_sms_hall import wait_for

pytestmark = pytest.mark.broker
PHONE = "13812345678"


class StandIn:
    """Plays the engine: answers sms_status / sms_sync, publishes SMS requests."""

    def __init__(self, bus):
        self.bus = bus
        self.statuses: list[dict] = []
        self.syncs = 0
        self._lock = threading.Lock()
        for op in ("sms_status", "sms_sync"):
            bus.subscribe(REGISTRY[f"device.request.{op}"], self._answer, ident="sms1")

    def _answer(self, parsed, data):
        req = json.loads(data)
        with self._lock:
            if parsed.spec.op == "sms_status":
                self.statuses.append(req)
                data = m.SmsStatusAck(sms=req["sms"], state=req["state"])
            else:
                self.syncs += 1
                data = m.SmsPending(pending=0)
        self.bus.publish(REGISTRY.response_for(parsed.spec), parsed.ident,
                         m.Response(id=req["id"], status="ok", data=data))  # the replies the engine gives

    def states(self, sms_id):
        with self._lock:
            return [s["state"] for s in self.statuses if s["sms"] == sms_id]

    def request(self, sms_id, text="你好，请到5号窗口", expires_in=600.0):
        now = time.time()
        self.bus.publish(REGISTRY["device.sms"], "sms1", m.SmsRequest(
            sms=sms_id, ticket=sms_id.split(".")[0], reason="called", phone=PHONE, text=text, lang="zh-CN",
            at=now, expires_at=now + expires_in, attempt=1))


@pytest.fixture
def rig(broker, bus_client, tmp_path):
    hid = unique_hall_id()
    made = []

    def make(**quirks):
        fm = FakeModem(ModemQuirks(**quirks)).start()
        eng = StandIn(bus_client(hid, "standin"))
        svc = SmsService(hid, "sms1", GsmModem(SerialLink(fm.port, 115200), command_timeout_s=1.0,
                                               send_timeout_s=1.0), tmp_path / "j.sqlite", broker.settings)
        svc.start()
        made.append((fm, svc))
        # the sync proves the sender's subscriptions are live (the real engine resends anyway)
        wait_for(lambda: eng.syncs >= 1, what="the sync at start")
        return fm, svc, eng, bus_client(hid, "watch")

    yield make
    for fm, svc in made:
        svc.stop()
        fm.stop()


def test_sent_once_even_when_the_request_comes_again(rig):
    fm, svc, eng, watch = rig()
    wait_for(lambda: eng.syncs >= 1, what="the sync at start")
    eng.request("20261120-A001.called")
    wait_for(lambda: "sent" in eng.states("20261120-A001.called"), what="sent")
    eng.request("20261120-A001.called")  # the engine resends: its status was slow
    wait_for(lambda: eng.states("20261120-A001.called").count("sent") >= 2, what="re-report")
    assert fm.messages() == [(PHONE, "你好，请到5号窗口")]
    sent = [s for s in eng.statuses if s["state"] == "sent"][0]
    assert (sent["parts"], sent["refs"]) == (1, ["1"])


def test_sim_fault_keeps_messages_queued_until_the_sim_is_back(rig):
    fm, svc, eng, watch = rig(sim="missing")
    status = Collector(watch, "device.status", "sms1")
    _, st = status.get(where=lambda i, s: not s["ok"])
    assert st["detail"]["sim"] == "SIM not inserted" and "CME10" in st["detail"]["last_error"]
    eng.request("20261120-A002.called")
    wait_for(lambda: "queued" in eng.states("20261120-A002.called"), what="queued")
    # barrier: the sender asked the modem for the SIM again since (and still found none)
    probes = fm.commands.count("AT+CPIN?")
    wait_for(lambda: fm.commands.count("AT+CPIN?") > probes, what="another SIM check")
    assert fm.messages() == [] and not any(c.startswith("AT+CMGS") for c in fm.commands)
    fm.quirks.sim = "ready"  # someone pushed the SIM back in
    wait_for(lambda: "sent" in eng.states("20261120-A002.called"), timeout=15, what="sent after the fault")
    assert status.get(where=lambda i, s: s["ok"])[1]["detail"]["sim"] == "ready"
    assert PHONE not in json.dumps(st)


def test_a_part_sent_without_its_cmgs_reply_is_unknown_and_never_sent_twice(rig):
    fm, svc, eng, watch = rig(lost_replies=1)
    eng.request("20261120-A005.called", text="请A005号到5号窗口")
    wait_for(lambda: "unknown" in eng.states("20261120-A005.called"), what="unknown")
    # barrier: a second message, sent after the first one's outcome was decided
    eng.request("20261120-A006.called", text="请A006号到6号窗口")
    wait_for(lambda: "sent" in eng.states("20261120-A006.called"), timeout=15, what="the next message sent")
    assert fm.messages() == [(PHONE, "请A005号到5号窗口"), (PHONE, "请A006号到6号窗口")]
    assert eng.states("20261120-A005.called") == ["queued", "unknown"]
    [st] = [s for s in eng.statuses if s["sms"] == "20261120-A005.called" and s["state"] == "unknown"]
    assert "may have been sent" in st["error"] and PHONE not in json.dumps(st)


def test_late_and_rejected_messages_are_not_sent(rig):
    fm, svc, eng, watch = rig(fail_next=[21])
    eng.request("20261120-A003.called")
    wait_for(lambda: "failed" in eng.states("20261120-A003.called"), what="failed")
    assert [s["error"] for s in eng.statuses if s["state"] == "failed"] == ["CMS21: rejected by the network"]
    eng.request("20261120-A004.called", expires_in=-1)
    wait_for(lambda: "expired" in eng.states("20261120-A004.called"), what="expired")
    assert fm.messages() == []


def test_a_crash_mid_send_is_reported_unknown_and_not_resent(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    j.open()
    assert j.accept("x.called", PHONE, "hi", 0, 1e12, 0)
    assert not j.accept("x.called", PHONE, "hi", 0, 1e12, 0)
    j.set_state("x.called", "sending", 1)
    j.close()
    j2 = Journal(tmp_path / "j.sqlite")
    assert j2.open() == ["x.called"]
    [msg] = j2.unreported()
    assert (msg.state, msg.error) == ("unknown", "the sender stopped while sending it")
    assert j2.next_due(10) is None
    j2.close()


def test_http_gateway_sender_built_from_the_config(broker, bus_client, tmp_path, caplog):
    import logging

    from sms.service import build_driver
    from hall.config import parse_config
    from tests.conftest import small_raw
    from tests.test_sms_gateway import SECRET, Gateway
    caplog.set_level(logging.DEBUG)
    gw = Gateway()
    try:
        (tmp_path / "token").write_text(SECRET)
        raw = small_raw()
        raw["hall"]["id"] = unique_hall_id()
        raw["notify"] = {"sms": {"enabled": True, "sender": {
            "type": "http", "url": gw.url, "secret_file": str(tmp_path / "token")}}}
        cfg = parse_config(raw)
        eng = StandIn(bus_client(cfg.hall.id, "standin"))
        svc = SmsService(cfg.hall.id, "sms1", build_driver(cfg), tmp_path / "j.sqlite", broker.settings)
        svc.start()
        try:
            wait_for(lambda: eng.syncs >= 1, what="the sync at start")
            eng.request("20261120-A009.called", text="请A009号到1号窗口办理。")
            wait_for(lambda: "sent" in eng.states("20261120-A009.called"), what="sent through the gateway")
            assert [b for _, b in gw.requests] == [
                {"id": "20261120-A009.called", "to": PHONE, "text": "请A009号到1号窗口办理。"}]
            assert [s["refs"] for s in eng.statuses if s["state"] == "sent"] == [["m1"]]
        finally:
            svc.stop()
    finally:
        gw.stop()
    logged = caplog.text
    assert SECRET not in logged and PHONE not in logged and "should-not-be-logged" not in logged

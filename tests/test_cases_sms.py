"""Citizens told by SMS about their case: at 待领取, at 补正中 (with what is missing) and
when the deadline is extended — once per step, through the SMS outbox (resent until
the sender reports, kept over a restart), the phone encrypted at rest and masked in logs."""

from __future__ import annotations

import logging

from caller.case_desk import CaseDesk
from caller.forms import Forms
from caller.sms_outbox import SmsOutbox
from hall.config import parse_config
from hall.crypto import DataCipher, new_key
from tests.test_cases_desk import FORM, accept, hall_cfg
from tests.test_forms_engine import PERSON
from tests.test_ratings_core import Harness, at

PHONE = PERSON["phone"]


def harness(tmp_path, now, key, enabled=True):
    raw = hall_cfg().to_json_dict()
    raw["notify"] = {"sms": {"enabled": enabled}}
    cfg = parse_config(raw)
    cipher = DataCipher(key)
    sms = SmsOutbox(cfg)
    return Harness(cfg, [Forms(cfg, cipher), sms, CaseDesk(cfg, cipher, sms)], now,
                   db_path=str(tmp_path / "cases.sqlite"))


def test_ready_correction_and_extension_each_tell_the_applicant_once(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    key = new_key()
    h = harness(tmp_path, at("2026-11-16", "10:00"), key)  # Monday; M1 promises 3 working days
    accept(h, form=FORM)
    h.do("window.case_step", "W1", case="2026000001", stage="review", opinion="")
    assert h.take("device.sms") == []  # accepted, review: nothing to tell
    h.do("window.case_step", "W1", case="2026000001", stage="correction", opinion="营业执照副本、法人身份证复印件")
    h.do("window.case_step", "W1", now=at("2026-11-18", "10:00"), case="2026000001", stage="review",
         opinion="材料已补齐")
    h.do("window.case_extend", "W1", case="2026000001", days=2, reason="需现场核查")
    for stage in ("decided", "ready", "collected"):
        h.do("window.case_step", "W1", case="2026000001", stage=stage, opinion="")
    sent = [(ident, p.sms, p.reason, p.phone, p.text) for ident, p in h.take("device.sms")]
    # paused 17–18 Nov: the deadline 19 Nov moves to 23 Nov, extended by 2 to 25 Nov
    assert sent == [
        ("sms1", "2026000001.case_correction.2", "case_correction", PHONE,
         "【测试行政服务中心】您的办件2026000001（有限责任公司设立登记）需补正：营业执照副本、法人身份证复印件。"
         "请备齐后到大厅提交，补正期间办理时限暂停。"),
        ("sms1", "2026000001.case_extended.4", "case_extended", PHONE,
         "【测试行政服务中心】您的办件2026000001（有限责任公司设立登记）办理时限延长至2026-11-25，原因：需现场核查。"),
        ("sms1", "2026000001.case_ready.6", "case_ready", PHONE,
         "【测试行政服务中心】您的办件2026000001（有限责任公司设立登记）已办结，请携带身份证件到大厅领取。"),
    ]
    assert sorted(h.exts[1].pending) == sorted(s[1] for s in sent)  # resent until the sender reports
    h.do("device.sms_status", "sms1", sms="2026000001.case_ready.6", state="sent", parts=1, refs=["7"])
    assert "2026000001.case_ready.6" not in h.exts[1].pending
    # at rest: the phone only encrypted; in the log: masked
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("cases.sqlite*"))
    assert PHONE.encode() not in raw
    assert PHONE not in caplog.text and "138****5678" in caplog.text
    h.store.close()
    # restarted: what the sender has not reported is pending again, and nothing new is made
    h2 = harness(tmp_path, at("2026-11-19", "09:00"), key)
    assert sorted(h2.exts[1].pending) == ["2026000001.case_correction.2", "2026000001.case_extended.4"]
    h2.do("device.sms_sync", "sms1")
    assert sorted(p.sms for _, p in h2.take("device.sms")) == ["2026000001.case_correction.2",
                                                                "2026000001.case_extended.4"]
    rows = h2.store.sms_rows()
    assert sorted(r.id for r in rows) == sorted(s[1] for s in sent)  # one row per step, ever


def test_no_phone_or_sms_off_tells_nobody(tmp_path):
    h = harness(tmp_path, at("2026-11-16", "10:00"), new_key(), enabled=False)
    accept(h, form=FORM)
    h.do("window.case_step", "W1", case="2026000001", stage="correction", opinion="缺材料")
    (tmp_path / "x").mkdir()
    h2 = harness(tmp_path / "x", at("2026-11-16", "10:00"), new_key())
    accept(h2, matter="M3", form=None)  # no form, no phone on the ticket: nobody to tell
    h2.do("window.case_step", "W1", case="2026000001", stage="correction", opinion="缺材料")
    assert h.take("device.sms") == [] and h2.take("device.sms") == []
    assert h.store.sms_rows() == [] and h2.store.sms_rows() == []


def test_a_step_at_night_is_told_at_the_next_sending_hour_once_over_a_restart(tmp_path, caplog):
    """Steps at 03:00 and 21:00 are held (only the row, no request) until 08:00 hall time;
    the held rows outlive a restart and the day's purge of personal data, and each goes
    out once when due. A step inside the hours goes out at once."""
    caplog.set_level(logging.INFO)
    key = new_key()
    h = harness(tmp_path, at("2026-11-16", "10:00"), key)  # Monday
    accept(h, form=FORM)
    h.do("window.case_step", "W1", now=at("2026-11-17", "03:00"), case="2026000001", stage="correction",
         opinion="营业执照副本", handler="王审查")
    h.tick(at("2026-11-17", "07:59"))
    assert h.take("device.sms") == []  # positive marker below: the row exists and is held
    (row,) = h.store.sms_rows()
    assert (row.id, row.state, row.day, row.due_at) == ("2026000001.case_correction.1", "pending", "2026-11-17",
                                                        at("2026-11-17", "08:00"))
    assert "held until 2026-11-17T08:00+08:00" in caplog.text
    h.do("device.sms_sync", "sms1")  # a sender (re)starting asks for what is pending: not what is held
    assert h.take("device.sms") == []
    h.tick(at("2026-11-17", "08:00"))
    (sent,) = h.take("device.sms")
    assert (sent[1].sms, sent[1].phone, sent[1].expires_at) == ("2026000001.case_correction.1", PHONE,
                                                                at("2026-11-17", "08:15"))
    h.do("device.sms_status", "sms1", sms="2026000001.case_correction.1", state="sent", parts=1, refs=["1"])
    # an evening step: held to tomorrow's 08:00, across midnight's purge and a restart
    h.do("window.case_step", "W1", now=at("2026-11-17", "21:00"), case="2026000001", stage="accepted",
         opinion="材料已补齐", handler="王审查")
    h.do("window.case_extend", "W1", case="2026000001", days=2, reason="需现场核查")
    h.tick(at("2026-11-17", "23:59"))
    assert h.take("device.sms") == []
    h.store.purge_personal("2026-11-18", at("2026-11-18", "00:00"))  # the engine's midnight roll (retention 0)
    h.store.close()
    h2 = harness(tmp_path, at("2026-11-18", "07:00"), key)
    assert sorted(h2.exts[1].pending) == ["2026000001.case_extended.3"]
    h2.tick(at("2026-11-18", "07:30"))
    assert h2.take("device.sms") == []
    h2.tick(at("2026-11-18", "08:00"))
    (sent,) = h2.take("device.sms")
    assert (sent[1].sms, sent[1].phone) == ("2026000001.case_extended.3", PHONE)
    h2.do("device.sms_status", "sms1", sms="2026000001.case_extended.3", state="sent", parts=1, refs=["2"])
    h2.tick(at("2026-11-18", "09:00"))
    # inside the hours: at once
    h2.now = at("2026-11-18", "10:00")
    for stage in ("review", "decided", "ready"):
        h2.do("window.case_step", "W1", case="2026000001", stage=stage, opinion="", handler="王审查")
    (sent,) = h2.take("device.sms")
    assert sent[1].sms == "2026000001.case_ready.6"
    assert sorted(r.id for r in h2.store.sms_rows()) == [
        "2026000001.case_correction.1", "2026000001.case_extended.3", "2026000001.case_ready.6"]  # once each


def test_the_next_sending_time():
    from caller.sms_rules import next_allowed
    from hall.config.queue import Period
    import datetime as dt
    hours = Period(start=dt.time(8, 0), end=dt.time(20, 0))
    tz = "Asia/Shanghai"
    assert next_allowed(at("2026-11-16", "08:00"), tz, hours) == at("2026-11-16", "08:00")
    assert next_allowed(at("2026-11-16", "19:59"), tz, hours) == at("2026-11-16", "19:59")
    assert next_allowed(at("2026-11-16", "20:00"), tz, hours) == at("2026-11-17", "08:00")
    assert next_allowed(at("2026-11-16", "00:00"), tz, hours) == at("2026-11-16", "08:00")
    assert next_allowed(at("2026-12-31", "23:00"), tz, hours) == at("2027-01-01", "08:00")

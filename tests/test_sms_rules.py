"""SMS rules and the outbox on a simulated day: pure core, fake times, no broker."""

from __future__ import annotations

import pytest

from caller.engine import Refused
from hall import messages as m
from caller.sms_outbox import SmsOutbox
from tests.test_ratings_core import Harness, at, cfg_with

FRI = "2026-11-20"
PHONE = "13812345678"


def make(tmp_path=None, **sms):
    rules = {"enabled": True, "near_ahead": 2, "near_minutes": None} | sms
    cfg = cfg_with(sms=rules)
    db = str(tmp_path / "sms.sqlite") if tmp_path else ":memory:"
    return Harness(cfg, [SmsOutbox(cfg)], at(FRI, "09:00"), db_path=db)


def sent(h):
    return [(ident, r.reason, r.text) for ident, r in h.take("device.sms")]


def queue_up(h, n, matter="M4", now=None):
    """``n`` tickets without a phone, a second apart (equal times share a place)."""
    h.now = now or h.now
    for _ in range(n):
        h.do("kiosk.issue", "K1", h.now + 1, matter=matter)
    h.now += 1


def test_near_reminder_once_then_called_once(tmp_path):
    h = make()
    queue_up(h, 5)
    t = h.do("kiosk.issue", "K2", phone=PHONE, matter="M4")
    assert t.ahead == 5 and sent(h) == []
    h.do("window.login", "W5", staff="S5")
    h.do("window.next", "W5", at(FRI, "09:10"))
    h.do("window.next", "W5")
    assert sent(h) == []
    h.do("window.next", "W5")  # three called: two ahead now (W5 learned it is quick: 0–25 min)
    assert sent(h) == [("sms1", "near", "【测试行政服务中心】您的号码G006前面还有2人，预计约0–25分钟叫到，请回到社保医保区等候。")]
    h.do("window.next", "W5")
    h.do("window.next", "W5")
    assert sent(h) == []  # never a second "near"
    h.do("window.next", "W5")
    assert sent(h) == [("sms1", "called", "【测试行政服务中心】请G006号到5号窗口办理。")]
    h.do("window.recall", "W5")
    h.do("window.recall", "W5")
    assert sent(h) == []
    rows = h.store.sms_rows()
    assert sorted((r.id, r.state, r.phone) for r in rows) == [
        (f"{t.ticket}.called", "pending", PHONE), (f"{t.ticket}.near", "pending", PHONE)]


def test_estimate_rule_and_english_template():
    h = make(near_ahead=None, near_minutes=25)
    queue_up(h, 4, matter="M4")  # 10 min each, W5 and W6 serve M4
    h.do("window.login", "W5", staff="S5")
    t = h.do("kiosk.issue", "K1", phone=PHONE, matter="M4", lang="en")
    assert t.estimate_min > 25
    h.do("window.next", "W5")
    assert sent(h) == []
    h.do("window.login", "W6", staff="S6")  # a second window opens: the estimate halves
    assert sent(h) == [("sms1", "near", "[Test Service Hall] G005: 3 ahead of you, about 6–28 min. "
                                         "Please come back to Social insurance zone.")]


def test_ticket_near_at_issue_is_not_reminded_unless_configured():
    h = make()
    t = h.do("kiosk.issue", "K1", phone=PHONE, matter="M5")
    h.do("window.login", "W7", staff="S7")
    h.do("window.next", "W7", h.now + 60)
    assert [r for _, r, _ in sent(h)] == ["called"]
    assert [(r.reason, r.state, r.detail) for r in h.store.sms_rows()][0] == (
        "near", "skipped", "near already when issued")
    h2 = make(near_at_issue=True, on_issue=True)
    h2.do("kiosk.issue", "K1", phone=PHONE, matter="M5")
    assert [r for _, r, _ in sent(h2)] == ["issued", "near"]
    assert t.ticket


def test_no_message_outside_service_hours_and_near_resumes_after_lunch():
    h = make()
    queue_up(h, 4, now=at(FRI, "11:50"))
    t = h.do("kiosk.issue", "K1", at(FRI, "11:55"), phone=PHONE, matter="M4")
    h.do("window.login", "W5", staff="S5")
    h.do("window.next", "W5", at(FRI, "12:05"))  # lunch break: not judged
    h.do("window.next", "W5")
    assert sent(h) == []
    h.tick(at(FRI, "13:00"))
    assert sent(h) == []
    h.tick(at(FRI, "13:30"))  # the hall reopens: two ahead → reminded now
    assert [r for _, r, _ in sent(h)] == ["near"]
    # a call outside hours is recorded as skipped and never sent later
    h.do("window.next", "W5", at(FRI, "17:40"))
    h.do("window.next", "W5")
    h.do("window.next", "W5")
    assert sent(h) == []
    assert {(r.reason, r.state, r.detail) for r in h.store.sms_rows()} >= {
        ("called", "skipped", "outside service hours")}
    assert t.ticket


def test_per_number_rate_limit_and_noshow_deadline():
    h = make(on_issue=True, per_phone_max=2, per_phone_minutes=60, near_ahead=None)
    for _ in range(3):
        h.do("kiosk.issue", "K1", phone=PHONE, matter="M1")
    assert len(sent(h)) == 2
    skipped = [r for r in h.store.sms_rows() if r.state == "skipped"]
    assert [(r.reason, r.detail) for r in skipped] == [("issued", "rate limit: 2 per 60 min")]
    h.do("window.login", "W1", staff="S1")
    h.now = at(FRI, "10:30")  # an hour later the limit allows again
    h.do("window.next", "W1")
    h.do("window.noshow", "W1")
    assert [(r, txt) for _, r, txt in sent(h)] == [
        ("called", "【测试行政服务中心】请A001号到1号窗口办理。"),
        ("requeue", "【测试行政服务中心】您的号码A001已过号，请于11:00前到取号机重新排队。")]


def test_status_resend_sync_expiry_and_wrong_sender():
    h = make(on_issue=True, near_ahead=None, resend_s=20, expire_s=300)
    t1 = h.do("kiosk.issue", "K1", phone=PHONE, matter="M1")
    t2 = h.do("kiosk.issue", "K1", phone="13900001111", matter="M1")
    assert len(sent(h)) == 2
    ob = h.exts[0]
    h.do("device.sms_status", "sms1", sms=f"{t1.ticket}.issued", state="sent", parts=1, refs=["17"])
    h.tick(at(FRI, "09:00") + 10)
    assert sent(h) == []
    h.tick(at(FRI, "09:00") + 21)  # the second was never answered: resent, the first not
    [(ident, req)] = h.take_raw = [(i, r) for i, r in h.take("device.sms")]
    assert (req.sms, req.attempt, req.phone) == (f"{t2.ticket}.issued", 2, "13900001111")
    assert h.do("device.sms_sync", "sms1") == m.SmsPending(pending=1)
    assert [r.attempt for _, r in h.take("device.sms")] == [3]
    with pytest.raises(Refused) as e:
        h.do("device.sms_status", "rogue", sms=f"{t2.ticket}.issued", state="sent")
    assert e.value.code == "unknown_sender"
    h.tick(at(FRI, "09:00") + 301)
    assert sent(h) == [] and ob.pending == {}
    states = {r.id: (r.state, r.refs) for r in h.store.sms_rows()}
    assert states == {f"{t1.ticket}.issued": ("sent", ["17"]),
                      f"{t2.ticket}.issued": ("expired", [])}
    # a re-report of a final message changes nothing
    assert h.do("device.sms_status", "sms1", sms=f"{t1.ticket}.issued", state="unknown").state == "unknown"
    assert h.store.sms_rows()[0].state == "sent"


def test_restart_keeps_pending_and_never_sends_a_reason_twice(tmp_path):
    h = make(tmp_path)
    queue_up(h, 4)
    t = h.do("kiosk.issue", "K1", phone=PHONE, matter="M4")
    h.do("window.login", "W5", staff="S5")
    h.do("window.next", "W5", h.now + 60)
    h.do("window.next", "W5")
    assert [r for _, r, _ in sent(h)] == ["near"]
    h2 = Harness(h.cfg, [SmsOutbox(h.cfg)], h.now + 5, db_path=h.store.path)  # engine restart
    assert set(h2.exts[0].pending) == {f"{t.ticket}.near"}
    h2.do("window.next", "W5")
    assert sent(h2) == []  # still near, but never twice
    h2.do("window.next", "W5")
    h2.do("window.next", "W5")
    h2.do("window.recall", "W5")
    assert [r for _, r, _ in sent(h2)] == ["called"]
    h3 = Harness(h.cfg, [SmsOutbox(h.cfg)], h2.now + 5, db_path=h.store.path)
    h3.do("window.recall", "W5")
    assert sent(h3) == []
    assert set(h3.exts[0].pending) == {f"{t.ticket}.near", f"{t.ticket}.called"}


def test_midnight_closes_yesterday_without_messages():
    h = make(on_issue=True)
    h.do("kiosk.issue", "K1", phone=PHONE, matter="M1")
    assert [r for _, r, _ in sent(h)] == ["issued"]
    before = [(r.id, r.state) for r in h.store.sms_rows()]
    h.tick(at("2026-11-21", "00:00") + 1)
    h.tick(at("2026-11-23", "09:00"))  # Monday: the hall is open again
    assert sent(h) == [] and h.exts[0].rules.watching() == 0
    after = [(r.id, r.state) for r in h.store.sms_rows()]
    assert [i for i, _ in after] == [i for i, _ in before]
    assert dict(after)[before[0][0]] == "expired"  # unsent and too late; not overwritten as skipped

"""The kiosk's case look-up (办件进度查询) drawn headless against a real mosquitto and
the real engine: the case number and the last four of the applicant's phone on the
on-screen keypads, the whole masked timeline, a slip on the (fake, pty) ticket
printer, and a wrong code that reads like an unknown case. Screenshots go to
tests/artifacts/kiosk/."""

from __future__ import annotations

import pytest

from hall.bus import Requester
from hall.clock import ManualClock
from kiosk.flow import S
from tests.test_forms_engine import data_key  # noqa: F401 (fixture)
from tests.test_kiosk_ui import hall, kiosk, kivy_ready, printed_bytes, shot, touch_targets_ok  # noqa: F401
from tests.test_ratings_core import at

pytestmark = [pytest.mark.ui, pytest.mark.broker]

PHONE = "13812345678"


def screen_text(h) -> str:
    return " ".join(w.text for w in h.view.root.walk() if hasattr(w, "text"))


def look_up(h) -> str:
    """The case number and the right code typed on PROGRESS: the result screen's text."""
    for k in "2026000001":
        h.press(f"key:{k}")
    h.press("submit")
    for k in PHONE[-4:]:
        h.press(f"key:{k}")
    h.press("submit")
    assert h.until(lambda: h.svc.flow.screen == S.PROGRESS_RESULT)
    return screen_text(h)


def test_a_citizen_reads_and_prints_their_case(hall, running_engine, kiosk, bus_client, data_key):  # noqa: F811
    clock = ManualClock(at("2026-09-30", "10:00"))  # the day before 国庆
    running_engine(hall, clock=clock)
    client = bus_client(hall.hall.id, "clerk")
    Requester(client, "kiosk", "K1").call("issue", {"matter": "M1", "phone": PHONE})
    clerk = Requester(client, "window", "W1")
    clerk.call("login", {"staff": "S01"})
    clerk.call("next", {})
    clerk.call("finish", {"outcome": {"kind": "accepted"}})
    clock.set(at("2026-10-08", "09:30"))
    clerk.call("case_step", {"case": "2026000001", "stage": "review", "opinion": "材料齐全"})
    clerk.call("case_step", {"case": "2026000001", "stage": "correction", "opinion": "缺营业执照副本"})
    h, fp = kiosk(hall)
    h.press("progress")
    for k in "2026000001":
        h.press(f"key:{k}")
    shot(h, "70-case-number")
    touch_targets_ok(h)
    h.press("submit")
    assert h.svc.flow.screen == S.PROGRESS_CODE
    for k in "1234":  # not this applicant's
        h.press(f"key:{k}")
    shot(h, "71-case-code")
    assert PHONE[-4:] not in screen_text(h) and "1234" not in screen_text(h)  # dots only
    touch_targets_ok(h)
    h.press("submit")
    assert h.until(lambda: h.svc.flow.screen == S.ERROR)
    assert "没有找到这个办件，请核对办件编号和验证码" in screen_text(h)
    shot(h, "72-case-unknown")
    h.press("back")
    text = look_up(h)
    # deadline 13 October (5 working days over 国庆 and the 调休 Saturday); 补正中 since 8 October
    for want in ("补正中", "办件编号：2026000001", "承诺办结：2026-10-13", "2026-09-30 10:00  受理  S01",
                 "2026-10-08 09:30  审查  S01：材料齐全", "2026-10-08 09:30  补正中  S01：缺营业执照副本"):
        assert want in text, want
    assert PHONE not in text and "138****5678" not in text  # the applicant's phone is not shown at all
    shot(h, "73-case-timeline")
    touch_targets_ok(h)
    fp.take()
    h.press("print_case")
    assert h.until(lambda: h.svc.flow.s.case_print == "ok")
    slip = printed_bytes(fp, "缺营业执照副本".encode("gb18030"))
    for want in ("2026000001", "补正中", "缺营业执照副本", "市场监督管理局"):
        assert want.encode("gb18030") in slip, want
    assert PHONE.encode() not in slip
    h.step()
    shot(h, "74-case-printed")
    assert "已打印，请取走凭条" in screen_text(h)
    # the same case on a Traditional-Chinese kiosk: the matter and department in its names
    h.press("home")
    assert h.until(lambda: h.svc.flow.screen == S.HOME)
    h.press("lang:zh-TW")
    h.press("progress")
    text = look_up(h)
    for want in ("事項：有限責任公司設立登記", "辦理部門：市場監督管理局", "補正中"):
        assert want in text, want
    assert "有限责任公司" not in text
    shot(h, "75-case-timeline-zh-TW")

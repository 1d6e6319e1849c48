"""The kiosk's pure core: screens, guidance, search, never-two-tickets, timeouts (no Kivy, no bus)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from hall.config import ConfigError, load_config, parse_config
from hall import guide
from kiosk import texts, view
from kiosk.flow import S, KioskFlow, Print, PrintCase, Send
from hall.matter_search import SearchIndex

from .conftest import small_raw

HERE = Path(__file__).parent
ROOT = HERE.parent


def kiosk_config(**over):
    raw = small_raw()
    raw.update(yaml.safe_load((HERE / "golden" / "kiosk" / "kiosks.yaml").read_text(encoding="utf-8")))
    for k, v in over.items():
        raw["kiosks"][k] = v
    return parse_config(raw)


def make_flow(cfg=None, **kw) -> KioskFlow:
    ids = itertools.count(1)
    return KioskFlow(cfg or kiosk_config(), "K1", lambda: f"K1-r{next(ids)}", **kw)


TICKET = {"ticket": "20261121-A001", "number": "A001", "day": "2026-11-21", "state": "waiting",
          "matter": "M1", "bundle": None, "zone": "Z1", "windows": ["1", "2"], "ahead": 3,
          "estimate_min": 12, "priority": "normal", "issued_at": 1795237380.0}


def to_confirm(f: KioskFlow, target: str = "M1", now: float = 1.0) -> None:
    f.press("zone:Z1", now)
    f.press(f"target:{target}", now)
    f.press("next", now)
    f.press("next", now)
    assert f.screen == S.CONFIRM


def test_example_config_guides_are_valid():
    cfg = load_config(ROOT / "config" / "hall.example.yaml")
    guide.check_guides(cfg)
    assert len(cfg.kiosks.guides) >= 5
    f = KioskFlow(cfg, "K01", lambda: "x")
    for g in cfg.kiosks.guides:
        f.press(f"target:{g.target}", 0)
        assert f.screen == S.MATTER
        assert view.build(f, 0).blocks


def test_guide_for_unknown_matter_is_refused():
    cfg = kiosk_config(guides=[{"target": "M999", "materials": []}])
    with pytest.raises(ConfigError) as e:
        make_flow(cfg)
    assert "kiosks.guides[0].target" in str(e.value)


def test_material_condition_on_unknown_answer_is_refused():
    with pytest.raises(ConfigError) as e:
        kiosk_config(guides=[{"target": "M1", "questions": [
            {"id": "q", "text": {"zh": "问", "en": "q"},
             "options": [{"id": "a", "text": {"zh": "甲", "en": "a"}}, {"id": "b", "text": {"zh": "乙", "en": "b"}}]}],
            "materials": [{"id": "m", "name": {"zh": "材料", "en": "m"}, "when": {"q": ["c"]}}]}])
    assert "kiosks.guides[0]" in str(e.value)


def test_answers_decide_the_checklist():
    f = make_flow()
    f.press("target:M1", 0)
    assert [m.id for m in f.checklist()] == ["id_card", "articles"]
    f.press("answer:agent=agent", 0)
    assert [m.id for m in f.checklist()] == ["id_card", "articles", "power_of_attorney"]
    f.press("answer:agent=nonsense", 0)  # not an option: ignored
    assert f.s.answers["agent"] == "agent"


def test_bundle_merges_its_matters_guides_without_duplicates():
    f = make_flow()
    f.press("target:B1", 0)
    res = f.resolved()
    assert [q.id for q in res.questions] == ["agent", "kind"]
    ids = [m.id for m in f.checklist()]
    assert ids.count("id_card") == 1
    assert ids == ["id_card", "articles", "floor_plan"]
    v = view.build(f, 0)
    assert any("有限责任公司设立登记、食品经营许可" in b.text for b in v.blocks)


def test_search_by_pinyin_initials_name_and_english():
    idx = SearchIndex(kiosk_config())
    assert [e.target for e in idx.search("yxzr")] == ["M1"]
    assert idx.search("SHBZK")[0].target == "M4"        # 社会保障卡申领
    assert [e.target for e in idx.search("kbcyd")] == ["B1"]
    assert [e.target for e in idx.search("退休")] == ["M5"]
    assert "M6" in [e.target for e in idx.search("medical")]
    assert idx.search("zzzz") == []


def test_pinyin_reads_polyphones_by_phrase_and_is_not_kept_loaded(monkeypatch):
    """The index's readings use pypinyin's phrase dictionaries (重 of 重新, 行 of
    银行); ~55 MB that a kiosk or the web terminal must not carry afterwards."""
    import sys

    from hall.matter_search import _pinyin_all
    for name in [k for k in sys.modules if k.split(".")[0] == "pypinyin"]:
        monkeypatch.delitem(sys.modules, name)
    assert _pinyin_all(["重新办理银行卡", "住房公积金"]) == [("cxblyhk", "chongxinbanliyinhangka"),
                                                         ("zfgjj", "zhufanggongjijin")]
    assert not [k for k in sys.modules if k.split(".")[0] == "pypinyin"]


def test_search_screen_types_initials_on_screen_keys():
    f = make_flow()
    f.press("search", 0)
    for k in "TX":
        f.press(f"key:{k}", 0)
    v = view.build(f, 0)
    actions = [b.action for blk in v.blocks for b in blk.buttons]
    assert "target:M5" in actions and "key:A" in actions
    f.press("key:del", 0)
    assert f.s.typed == "T"


def test_issue_body_carries_priority_phone_answers_and_identity():
    f = make_flow()
    f.press("target:M1", 0)
    f.press("next", 0)
    f.scan("330106199001011234", 0)
    f.press("phone", 0)
    for d in "13800138000":
        f.press(f"key:{d}", 0)
    f.press("submit", 0)
    f.press("prio:elderly", 0)
    (eff,) = f.press("take", 0)
    assert eff.op == "issue"
    assert eff.body == {"matter": "M1", "priority": "elderly", "lang": "zh-CN", "phone": "13800138000",
                        "answers": {"agent": "self"}}  # the situation answers go to the window


def test_bad_phone_number_stays_on_keypad():
    f = make_flow()
    f.press("target:M1", 0)
    f.press("next", 0)
    f.press("phone", 0)
    for d in "1234":
        f.press(f"key:{d}", 0)
    f.press("submit", 0)
    assert f.screen == S.PHONE and f.s.phone is None
    hint = [b for b in view.build(f, 0).blocks if b.kind == "text"][0]
    assert hint.style == "error" and "11" in hint.text
    f.press("key:5", 0)
    assert [b for b in view.build(f, 0).blocks if b.kind == "text"][0].style == "muted"


def test_never_two_tickets_double_press_and_retry_reuse_the_id():
    f = make_flow()
    to_confirm(f)
    (first,) = f.press("take", 1)
    assert isinstance(first, Send) and first.op == "issue"
    assert f.screen == S.BUSY
    assert f.press("take", 1.1) == []         # a second press while waiting sends nothing
    assert f.press("home", 1.2) == []         # and the citizen cannot leave mid-request
    assert f.tick(10_000) == []               # busy never times out by itself
    assert f.on_reply(first.token, False, None, "timeout", 5) == []
    assert f.screen == S.ERROR
    v = view.build(f, 0)
    assert "无法连接" in v.blocks[1].text
    (again,) = f.press("retry", 6)
    assert again.req_id == first.req_id and again.body == first.body
    effects = f.on_reply(again.token, True, TICKET, None, 7)
    assert f.screen == S.TICKET
    assert isinstance(effects[0], Print)


def test_late_reply_after_leaving_is_ignored():
    f = make_flow()
    to_confirm(f)
    (first,) = f.press("take", 1)
    f.on_reply(first.token, False, None, "timeout", 2)
    f.press("home", 3)
    assert f.on_reply(first.token, True, TICKET, None, 4) == []
    assert f.screen == S.HOME


def test_a_new_visit_gets_a_new_request_id():
    f = make_flow()
    to_confirm(f)
    (a,) = f.press("take", 1)
    f.on_reply(a.token, True, TICKET, None, 2)
    f.press("done", 3)
    to_confirm(f)
    (b,) = f.press("take", 4)
    assert a.req_id != b.req_id


def test_failed_print_keeps_number_on_screen_and_tells_engine():
    f = make_flow()
    to_confirm(f)
    (a,) = f.press("take", 1)
    (p,) = f.on_reply(a.token, True, TICKET, None, 2)
    (sent,) = f.on_printed(p.token, "20261121-A001", False, "printer paper_out", 3)
    assert sent.op == "printed" and sent.token is None
    assert sent.body == {"ticket": "20261121-A001", "ok": False, "error": "printer paper_out"}
    v = view.build(f, 0)
    assert any(b.kind == "number" and b.text == "A001" for b in v.blocks)
    assert any(b.kind == "banner" and "请记下您的号码：A001" in b.text for b in v.blocks)


def test_printed_is_reported_even_after_the_citizen_left():
    f = make_flow()
    to_confirm(f)
    (a,) = f.press("take", 1)
    (p,) = f.on_reply(a.token, True, TICKET, None, 2)
    f.press("done", 3)
    (sent,) = f.on_printed(p.token, "20261121-A001", True, None, 4)
    assert sent.body == {"ticket": "20261121-A001", "ok": True}


def test_kiosk_without_printer_asks_to_note_the_number():
    f = make_flow(has_printer=False)
    to_confirm(f)
    (a,) = f.press("take", 1)
    (sent,) = f.on_reply(a.token, True, TICKET, None, 2)
    assert sent.op == "printed" and sent.body["ok"] is False
    assert f.s.print_state == "no_printer"


@pytest.mark.parametrize("code,back,text", [
    ("bad_priority_code", S.CONFIRM, "绿色通道码无效"),
    ("unknown_matter", S.HOME, "该事项暂不能在此取号"),
    ("unknown_bundle", S.HOME, "一件事"),
    ("hall_closed", S.HOME, "办公时间"),
])
def test_engine_errors_have_friendly_screens(code, back, text):
    f = make_flow()
    to_confirm(f)
    f.press("prio:green", 1)
    assert f.screen == S.CODE
    for k in "XX1":
        f.press(f"key:{k}", 1)
    f.press("submit", 1)
    (a,) = f.press("take", 1)
    assert a.body["priority"] == "green" and a.body["priority_code"] == "XX1"
    f.on_reply(a.token, False, None, code, 2)
    v = view.build(f, 0)
    assert f.screen == S.ERROR and any(text in b.text for b in v.blocks)
    assert "err.generic" not in str(v)
    f.press("back", 3)
    assert f.screen == back
    if code == "bad_priority_code":
        assert f.s.priority == "normal" and f.s.priority_code is None


def test_unknown_error_code_still_reads_as_a_sentence():
    f = make_flow()
    to_confirm(f)
    (a,) = f.press("take", 1)
    f.on_reply(a.token, False, None, "strange_code", 2)
    v = view.build(f, 0)
    assert "请咨询导办人员" in v.blocks[1].text


def test_every_screen_times_out_to_home_and_resets_language():
    f = make_flow()
    f.press("lang:en", 0)
    f.press("elderly", 0)
    f.press("zone:Z1", 10)
    assert f.tick(69) == [] and f.screen == S.ZONE
    f.tick(71)
    assert f.screen == S.HOME and f.lang == "zh-CN" and not f.s.elderly
    to_confirm(f, now=100)
    (a,) = f.press("take", 100)
    f.on_reply(a.token, True, TICKET, None, 101)
    f.tick(120)
    assert f.screen == S.TICKET        # ticket_s = 30
    f.tick(132)
    assert f.screen == S.HOME


def test_scanned_booking_code_checks_in_and_ticket_qr_looks_up():
    f = make_flow()
    (c,) = f.scan("APPT-7788", 0)
    assert c.op == "checkin" and c.body == {"code": "APPT-7788", "lang": "zh-CN"}
    f.on_reply(c.token, True, dict(TICKET, priority="appointment"), None, 1)
    assert f.screen == S.TICKET and f.s.target == "M1"
    f.press("done", 2)
    (lk,) = f.scan("20261121-A001.0a1b2c3d4e5f6789", 3)
    assert lk.op == "ticket" and lk.body == {"ticket": "20261121-A001"}  # a look-up needs no secret
    f.on_reply(lk.token, True, dict(TICKET, state="noshow", requeue_until=10**10), None, 4)
    assert f.screen == S.LOOKUP
    (rq,) = f.press("requeue", 5)
    assert rq.op == "requeue" and rq.body == {"ticket": "20261121-A001", "secret": "0a1b2c3d4e5f6789"}
    f.on_reply(rq.token, True, TICKET, None, 6)
    assert f.screen == S.TICKET


def test_rating_a_finished_visit_from_its_ticket_qr():
    f = make_flow()
    (lk,) = f.scan("20261121-A001.0a1b2c3d4e5f6789", 0)
    f.on_reply(lk.token, True, dict(TICKET, state="done"), None, 1)
    v = view.build(f, 0)
    labels = [b.label for blk in v.blocks for b in blk.buttons]
    assert labels == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    (r,) = f.press("rate:2", 2)
    assert r.op == "rate" and r.body == {"ticket": "20261121-A001", "secret": "0a1b2c3d4e5f6789", "level": 2}


def test_a_ticket_looked_up_without_its_secret_cannot_be_cancelled():
    f = make_flow()
    (lk,) = f.scan("20261121-A001", 0)  # an id alone (typed, or an old ticket's QR)
    f.on_reply(lk.token, True, dict(TICKET, state="waiting"), None, 1)
    assert f.screen == S.LOOKUP
    assert f.press("cancel", 2) == []  # nothing sent
    assert (f.screen, f.s.error) == (S.ERROR, "bad_secret")
    assert view.build(f, 2).blocks  # the message is rendered from texts (err.bad_secret)


CASE = {"case": "2026000001", "name": "张*丰", "matter": "有限责任公司设立登记", "department": "市场监督管理局",
        "stage": "correction", "deadline": "2026-10-13", "days_left": 3, "overdue": False, "result": None,
        "steps": [{"stage": "accepted", "at": 1790733600.0, "handler": "李科员", "opinion": "材料齐全"},
                  {"stage": "correction", "at": 1791423000.0, "handler": "王审查", "opinion": "缺营业执照副本"}]}


def test_case_query_asks_the_number_then_the_code_and_prints_the_timeline():
    f = make_flow()
    f.press("progress", 0)
    for k in "2026000001":
        f.press(f"key:{k}", 0)
    assert f.press("submit", 0) == [] and f.screen == S.PROGRESS_CODE
    for k in "002":
        f.press(f"key:{k}", 0)
    assert f.press("submit", 0) == [] and f.s.bad_input  # three characters: not sent
    v = view.build(f, 0)
    assert [b.text for b in v.blocks if b.kind == "field"] == ["●●●"]  # no digits on screen
    f.press("key:X", 0)
    (q,) = f.press("submit", 0)
    assert (q.op, q.body) == ("case", {"case": "2026000001", "code": "002X"})
    f.on_reply(q.token, True, CASE, None, 1)
    assert f.screen == S.PROGRESS_RESULT
    shown = [b.text for b in view.build(f, 0).blocks]
    assert shown[:6] == ["补正中", "办件编号：2026000001", "申请人：张*丰", "事项：有限责任公司设立登记",
                         "办理部门：市场监督管理局", "承诺办结：2026-10-13（剩 3 个工作日）"]
    assert shown[6:9] == ["办理经过", "2026-09-30 10:00  受理  李科员：材料齐全",
                          "2026-10-08 09:30  补正中  王审查：缺营业执照副本"]
    (pr,) = f.press("print_case", 2)
    assert isinstance(pr, PrintCase) and pr.case == CASE and f.s.case_print == "printing"
    assert f.press("print_case", 2) == []  # one slip at a time
    f.on_case_printed(pr.token, True)
    assert "已打印，请取走凭条" in [b.text for b in view.build(f, 0).blocks]
    f.press("back", 3)
    assert f.screen == S.HOME  # not back to the code


@pytest.mark.parametrize("lang, matter, department", [
    ("zh-CN", "事项：有限责任公司设立登记", "办理部门：市场监督管理局"),
    ("zh-TW", "事項：有限責任公司設立登記", "辦理部門：市場監督管理局"),
    ("en", "Matter: Company registration", "Department: Market Regulation")])
def test_the_timeline_names_the_matter_and_department_in_the_kiosk_language(lang, matter, department):
    """The engine names them in Simplified Chinese; the kiosk's own names for the
    matter's id say them in the citizen's language, on screen and on the slip."""
    from kiosk.case_slip import case_slip
    f = make_flow()
    f.press(f"lang:{lang}", 0)
    f.press("progress", 0)
    f.scan("2026000001", 0)
    for k in "002X":
        f.press(f"key:{k}", 0)
    (q,) = f.press("submit", 0)
    f.on_reply(q.token, True, dict(CASE, matter_id="M1"), None, 1)
    shown = [b.text for b in view.build(f, 0).blocks]
    assert shown[3:5] == [matter, department]
    slip = case_slip(f.cfg, CASE, view.case_lines(f, dict(CASE, matter_id="M1"), lang), lang, 32, 0.0)
    printed = [i.text for i in slip.items if hasattr(i, "text")]
    assert matter in printed and department in printed
    # a matter the kiosk does not know (a newer config): the engine's words, not nothing
    assert view.case_lines(f, dict(CASE, matter_id="M999"), lang)[2][1].endswith("有限责任公司设立登记")


def test_a_wrong_code_reads_like_an_unknown_case():
    f = make_flow()
    f.press("progress", 0)
    f.scan("2026000001", 0)  # a scanned case number goes straight to the code
    assert (f.screen, f.s.case_no) == (S.PROGRESS_CODE, "2026000001")
    for k in "1234":
        f.press(f"key:{k}", 0)
    (q,) = f.press("submit", 0)
    f.on_reply(q.token, False, None, "unknown_case", 1)
    assert (f.screen, f.s.error, f.s.error_back) == (S.ERROR, "unknown_case", S.PROGRESS)
    assert "没有找到这个办件，请核对办件编号和验证码" in [b.text for b in view.build(f, 0).blocks]


@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW", "en"])
def test_every_screen_builds_in_every_language(lang):
    f = make_flow()
    f.press(f"lang:{lang}", 0)
    f.set_engine_online(False)
    f.set_printer_state("paper_out")
    for screen, elderly in itertools.product(S, (False, True)):
        if screen.value.startswith("form"):
            continue  # they need a form being filled: tests/test_kiosk_forms.py builds them
        f.screen, f.s.elderly = screen, elderly
        f.s.target = "B1"
        f.s.zone = "Z1"
        f.s.ticket = TICKET
        f.s.lookup = TICKET
        f.s.progress = {"case": "1", "status": "done"}
        v = view.build(f, 0)
        assert v.name == screen.value
        for blk in v.blocks:
            assert "{" not in blk.text


def test_every_text_has_three_languages():
    for key, row in texts._T.items():
        assert len(row) == 3 and all(row), key
    assert texts.t("ticket.ahead", "en", n=2) == "2 ahead of you"


def test_elderly_mode_pages_fewer_items():
    cfg = load_config(ROOT / "config" / "hall.example.yaml")
    f = KioskFlow(cfg, "K01", lambda: "x")
    f.press("zone:Z3", 0)
    normal = view.build(f, 0)
    f.press("elderly", 0)
    big = view.build(f, 0)
    assert big.elderly and not normal.elderly
    assert len(big.blocks[-1].buttons) < len(normal.blocks[-1].buttons)


def test_corrected_request_after_a_refusal_gets_a_new_id():
    f = make_flow()
    to_confirm(f)
    f.press("prio:green", 1)
    f.press("key:X", 1)
    f.press("submit", 1)
    (a,) = f.press("take", 1)
    f.on_reply(a.token, False, None, "bad_priority_code", 2)
    f.press("back", 3)
    (b,) = f.press("take", 4)
    assert b.req_id != a.req_id and b.body["priority"] == "normal"


def test_newer_hall_config_from_the_engine_is_applied_at_home_only():
    from hall import messages as m
    from hall.bus import BusSettings
    from kiosk.service import KioskService
    cfg = kiosk_config()
    svc = KioskService(cfg, "K1", BusSettings(port=1))   # never started: no I/O
    raw = cfg.to_json_dict()
    raw["matters"][0]["name"]["zh"] = "公司设立登记（新）"
    raw["kiosks"] = {}                                    # the engine's file has no kiosk section
    published = m.ConfigCurrent(version=1, digest="x", config=raw)   # as the bus decodes it
    svc.press("zone:Z1")
    svc._on_config(None, published)
    svc.pump()
    assert svc.flow.cfg.matter("M1").name.zh == "有限责任公司设立登记"   # mid-session: kept
    svc.press("home")
    svc._on_config(None, published)
    svc.pump()
    assert svc.flow.cfg.matter("M1").name.zh == "公司设立登记（新）"
    assert svc.flow.cfg.kiosks.guide("M1") is not None                 # own guides kept
    svc._on_config(None, m.ConfigCurrent(version=1, digest="y", config={"hall": "not a hall"}))  # refused
    svc._on_config(None, None)                                          # cleared
    svc.pump()
    assert svc.flow.cfg.matter("M1").name.zh == "公司设立登记（新）"


def _actions(v) -> list[str]:
    return [b.action for b in v.nav] + [b.action for blk in v.blocks for b in blk.buttons]


def test_every_button_on_every_screen_dispatches_through_the_action_table():
    from kiosk.flow import ACTIONS
    f = make_flow()
    seen: set[str] = set()
    lookup = dict(TICKET, state="done")
    for screen, elderly in itertools.product(S, (False, True)):
        if screen.value.startswith("form"):
            continue  # they need a form being filled: tests/test_kiosk_forms.py builds them
        f.screen, f.s.elderly = screen, elderly
        f.s.target, f.s.zone = "M1", "Z1"
        f.s.ticket, f.s.lookup, f.s.error = dict(TICKET), lookup, "timeout"
        f.s.progress = {"case": "C1", "status": "received", "matter": "M1"}
        for action in _actions(view.build(f, 0)):
            name, _, raw = action.partition(":")
            assert name in ACTIONS, action
            ACTIONS[name].parse(raw)          # raises ValueError on an argument of the wrong type
            seen.add(name)
    assert {"home", "zone", "target", "answer", "take", "rate"} <= seen


@pytest.mark.parametrize("action", ["nonsense", "rate:9", "page:x", "answer:noequals", "home:extra"])
def test_an_unknown_action_or_a_badly_typed_argument_is_refused_by_name(action):
    f = make_flow()
    with pytest.raises(ValueError, match="kiosk action"):
        f.press(action, 0)

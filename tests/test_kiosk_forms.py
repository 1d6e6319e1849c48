"""The form screens of the kiosk's pure core: ID, consent, pads, pinyin, review, issue (kiosk/forms_flow.py)."""

from __future__ import annotations

import itertools

import pytest

from hall.config import parse_config
from kiosk import view
from kiosk.flow import S, KioskFlow, Print, Send
from kiosk.forms_flow import candidates

from .test_forms_engine import forms_raw
from .test_kiosk_flow import TICKET, kiosk_config

ID_NO = "11010519491231002X"


def forms_kiosk_config():
    raw = kiosk_config().to_json_dict()
    raw["forms"] = forms_raw()
    return parse_config(raw)


def make(cfg=None) -> KioskFlow:
    ids = itertools.count(1)
    return KioskFlow(cfg or forms_kiosk_config(), "K1", lambda: f"K1-r{next(ids)}")


def to_form(f: KioskFlow, target="B1", consent="no") -> list:
    f.press(f"target:{target}", 0)
    f.press("next", 0)
    assert f.screen == S.FORM_ID
    f.scan(ID_NO, 0)
    assert f.screen == S.FORM_CONSENT
    return f.press(f"fconsent:{consent}", 0)


def type_keys(f: KioskFlow, keys: str) -> None:
    for k in keys:
        f.press(f"fkey:{k}", 0)


def fill(f: KioskFlow, fid: str, keys: str) -> None:
    f.press(f"ffield:{fid}", 0)
    assert f.screen == S.FORM_FIELD
    type_keys(f, keys)
    f.press("fok", 0)


def texts_of(f: KioskFlow) -> str:
    v = view.build(f, 1795237380.0)
    return " ".join([v.title] + [b.text for b in v.blocks] + [x.label + (x.sub or "") for b in v.blocks
                                                             for x in b.buttons])


def test_a_matter_without_a_form_keeps_the_old_path():
    f = make()
    f.press("target:M3", 0)
    f.press("next", 0)
    assert f.screen in (S.IDENTITY, S.PHONE, S.CONFIRM) and f.s.form is None


def test_typed_id_is_checked_before_the_consent_screen():
    f = make()
    f.press("target:B1", 0)
    f.press("next", 0)
    type_keys(f, "110105194912310021")           # wrong check digit
    f.press("fidok", 0)
    assert f.screen == S.FORM_ID and "校验位" in texts_of(f)
    f.press("fkey:del", 0)
    f.press("fkey:X", 0)
    f.press("fidok", 0)
    assert f.screen == S.FORM_CONSENT
    assert "1101**********002X" in texts_of(f) and ID_NO not in texts_of(f)


def test_consent_fetches_the_profile_and_prefills_only_then():
    f = make()
    (eff,) = to_form(f, consent="yes")
    assert (eff.op, eff.body) == ("profile_get", {"id_number": ID_NO})
    f.on_reply(eff.token, True, {"found": True, "values": {"name": "张三丰", "phone": "13812345678",
                                                          "employer": "西湖区某单位"}}, None, 0)
    assert f.screen == S.FORM
    assert f.s.form.values == {"id_number": ID_NO, "name": "张三丰", "phone": "13812345678"}
    assert f.s.form.prefilled == {"name", "phone"}          # employer is not on B1's form
    screen = texts_of(f)
    assert "张*丰" in screen and "138****5678" in screen and "张三丰" not in screen
    # without consent nothing is asked of the engine
    g = make()
    assert to_form(g, consent="no") == [] and g.screen == S.FORM and g.s.form.values == {"id_number": ID_NO}


def test_pads_pinyin_candidates_review_and_issue_with_the_form():
    f = make()
    to_form(f, consent="yes")
    f.on_reply(f.pending, True, {"found": False, "values": {}}, None, 0)
    # a name by pinyin: letters, then a candidate from the bar
    f.press("ffield:name", 0)
    type_keys(f, "zhangsanfeng")
    v = view.build(f, 0)
    cands = [b.label for blk in v.blocks for b in blk.buttons if b.action.startswith("fcand:")]
    assert cands[0] == "张三丰"
    f.press("fcand:0", 0)
    assert f.s.form.typed == "张三丰" and f.s.form.pinyin == ""
    f.press("fok", 0)
    # a bad phone stays on its pad with the reason; a good one is kept
    fill(f, "phone", "1381234567")
    assert f.screen == S.FORM_FIELD and "11 位手机号码" in texts_of(f)
    type_keys(f, "8")
    f.press("fok", 0)
    f.press("ffield:company_name", 0)
    type_keys(f, "xihu")
    f.press(f"fcand:{candidates(f.s.form).index('西湖')}", 0)
    type_keys(f, "mianguan")
    f.press("fcand:0", 0)
    f.press("fok", 0)
    fill(f, "registered_capital", "50")
    f.press("ffield:food_category", 0)
    f.press("fchoice:catering", 0)
    assert f.screen == S.FORM
    # review refuses while a required field is empty: the credit code is optional, the rest filled
    f.press("freview", 0)
    assert f.screen == S.FORM_REVIEW, f.s.form.problems
    assert "共8项，已填6项" in texts_of(f)            # the address and the credit code are optional
    f.press("fconfirm", 0)
    assert f.screen == S.CONFIRM
    (eff,) = f.press("take", 0)
    assert eff.op == "issue"
    form = eff.body["form"]
    assert form["name"] == "张三丰" and form["phone"] == "13812345678" and form["id_number"] == ID_NO
    assert form["company_name"].startswith("西湖") and form["food_category"] == "catering"
    # the ticket: the profile is kept (consent given) and the screen says how much is filled
    effects = f.on_reply(eff.token, True, dict(TICKET, bundle="B1", matter=None), None, 0)
    put = next(e for e in effects if isinstance(e, Send))
    assert put.op == "profile_put" and put.token is None
    assert put.body == {"id_number": ID_NO, "values": {"name": "张三丰", "phone": "13812345678"}}
    assert any(isinstance(e, Print) for e in effects)
    assert "申请表已填6/8项" in texts_of(f)


def test_no_profile_is_saved_without_consent_and_erase_is_offered():
    f = make()
    to_form(f, consent="no")
    f.press("fback", 0)
    assert f.screen == S.FORM_CONSENT
    (eff,) = f.press("ferase", 0)
    assert (eff.op, eff.body) == ("profile_erase", {"id_number": ID_NO})
    f.on_reply(eff.token, True, {"erased": True}, None, 0)
    assert f.screen == S.FORM_CONSENT and "已删除您保存的信息" in texts_of(f)
    f.press("fconsent:no", 0)
    fill(f, "phone", "13812345678")
    f.s.form.values.update({"name": "李四", "company_name": "西湖面馆", "registered_capital": "5",
                            "food_category": "catering"})
    f.press("freview", 0)
    f.press("fconfirm", 0)
    (eff,) = f.press("take", 0)
    effects = f.on_reply(eff.token, True, dict(TICKET, bundle="B1", matter=None), None, 0)
    assert not any(isinstance(e, Send) and e.op == "profile_put" for e in effects)


def test_a_timeout_clears_the_form_from_the_screen():
    f = make()
    to_form(f, consent="no")
    fill(f, "phone", "13812345678")
    f.press("ffield:name", 0)
    type_keys(f, "zhang")
    idle = f.cfg.kiosks.timeouts.idle_s
    f.tick(idle + 1)
    assert f.screen == S.HOME and f.s.form is None
    assert "138" not in texts_of(f) and "zhang" not in texts_of(f)


def test_engine_refusal_of_a_form_goes_back_to_the_form():
    f = make()
    to_form(f, consent="no")
    f.s.form.values.update({"name": "李四", "phone": "13812345678", "company_name": "西湖面馆",
                            "registered_capital": "5", "food_category": "catering"})
    f.press("freview", 0)
    f.press("fconfirm", 0)
    (eff,) = f.press("take", 0)
    f.on_reply(eff.token, False, None, "bad_form", 0)
    assert f.screen == S.ERROR
    f.press("back", 0)
    assert f.screen == S.FORM and f.s.form.values["name"] == "李四"


@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW", "en"])
def test_every_form_screen_and_pad_builds_in_every_language(lang):
    f = make()
    f.press(f"lang:{lang}", 0)
    to_form(f, consent="no")
    for elderly in (False, True):
        f.s.elderly = elderly
        for screen in (S.FORM_ID, S.FORM_CONSENT, S.FORM, S.FORM_REVIEW):
            f.screen = screen
            v = view.build(f, 0)
            assert v.name == screen.value and all("{" not in b.text for b in v.blocks)
        for slot in f.s.form.form.slots:          # every field type's editor
            f.screen = S.FORM
            f.press(f"ffield:{slot.field.id}", 0)
            if slot.field.type in ("name", "company", "address", "text"):
                type_keys(f, "xi")
            v = view.build(f, 0)
            actions = {b.action for blk in v.blocks for b in blk.buttons}
            if slot.field.type == "choice":
                assert {f"fchoice:{c.id}" for c in slot.field.choices} <= actions
            elif slot.field.type == "id_number":
                assert "fkey:X" in actions and "fkey:A" not in actions
            elif slot.field.type in ("phone", "number"):
                assert "fkey:5" in actions and "fkey:a" not in actions
            else:
                assert "fcand:0" in actions or slot.field.type == "uscc"
            f.press("fback", 0)

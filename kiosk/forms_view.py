"""What the form screens show, as plain data (pure; kiosk/ui.py draws it).

The kiosk stands in a hall: on the form list and the review page the
citizen's name, ID number and phone are shown masked (``hall.pii.mask``);
each is shown in full only on its own editor, while being typed.
"""

from __future__ import annotations

from hall.forms import display_value
from hall.pii import mask

from . import forms_flow as ff_
from .flow import S, KioskFlow
from .keypads import pad_for
from . import texts
from .texts import t
from .view import SCREENS, Block, Btn, ScreenView, target_name

# key: (zh-CN, zh-TW, en)
_T: dict[str, tuple[str, str, str]] = {
    "id.title": ("读取身份证", "讀取身分證", "Your ID card"),
    "id.hint": ("请将身份证放在读卡区，或用下方数字键输入身份证号",
                "請將身分證放在讀卡區，或用下方數字鍵輸入身分證號",
                "Place your ID card on the reader, or type its number below"),
    "consent.title": ("个人信息使用确认", "個人資料使用確認", "Your basic details"),
    "consent.body": ("同意后，本中心将加密保存您的姓名、身份证号、联系电话、地址、工作单位等基本信息，"
                     "本次和今后办事自动填写，不必重复填写。保存{days}天，您可随时在取号机删除。",
                     "同意後，本中心將加密保存您的姓名、身分證號、聯絡電話、地址、工作單位等基本資料，"
                     "本次和今後辦事自動填寫，不必重複填寫。保存{days}天，您可隨時在取號機刪除。",
                     "If you agree, the hall keeps your name, ID number, phone, address and employer "
                     "encrypted and fills them in for you now and on later visits. Kept {days} days; "
                     "you can erase them at any kiosk."),
    "consent.card": ("身份证：{id}", "身分證：{id}", "ID card: {id}"),
    "consent.yes": ("同意，自动填写并保存", "同意，自動填寫並保存", "Agree: fill in and keep"),
    "consent.no": ("不同意，本次手工填写", "不同意，本次手工填寫", "No thanks: I will type them"),
    "consent.erase": ("删除我已保存的信息", "刪除我已保存的資料", "Erase my kept details"),
    "form.title": ("填写申请表", "填寫申請表", "Application form"),
    "form.saved": ("一张表单：各事项相同的内容只填一次，已为您省去 {n} 项", "一張表單：各事項相同的內容只填一次，已為您省去 {n} 項",
                   "One form for the bundle: {n} repeated fields left out"),
    "form.progress": ("已填{filled}/{total}项，点击任一项修改", "已填{filled}/{total}項，點擊任一項修改",
                      "{filled} of {total} filled; tap a field to change it"),
    "form.empty": ("未填写", "未填寫", "not filled"),
    "form.required": ("必填", "必填", "required"),
    "form.review": ("检查并确认", "檢查並確認", "Review"),
    "form.fix": ("还有 {n} 项需要填写或更正（红色）", "還有 {n} 項需要填寫或更正（紅色）",
                 "{n} fields still need filling or fixing (in red)"),
    "form.note.prefilled": ("已用您保存的信息自动填写，请核对", "已用您保存的資料自動填寫，請核對",
                            "Filled in from your kept details: please check"),
    "form.note.no_profile": ("您还没有保存的信息：本次填写后将为您保存", "您還沒有保存的資料：本次填寫後將為您保存",
                             "Nothing kept yet: what you type now will be kept"),
    "form.note.erased": ("已删除您保存的信息", "已刪除您保存的資料", "Your kept details are erased"),
    "form.note.nothing_to_erase": ("没有您保存的信息", "沒有您保存的資料", "Nothing was kept for you"),
    "field.pinyin": ("拼音：{py}　请在下方选字", "拼音：{py}　請在下方選字", "Pinyin: {py} — pick the characters below"),
    "field.type_pinyin": ("用字母键输入拼音，再选字", "用字母鍵輸入拼音，再選字", "Type pinyin, then pick the characters"),
    "field.date": ("按年月日输入 8 位数字，如 20261121", "按年月日輸入 8 位數字，如 20261121",
                   "Type 8 digits: year, month, day (20261121)"),
    "field.save": ("保存", "儲存", "Save"),
    "review.title": ("核对申请表", "核對申請表", "Check your form"),
    "review.counts": ("共{total}项，已填{filled}项，其中{pre}项自动填写",
                      "共{total}項，已填{filled}項，其中{pre}項自動填寫",
                      "{filled} of {total} filled, {pre} of them from your kept details"),
    "review.ok": ("确认无误，去取号", "確認無誤，去取號", "Correct: take a number"),
}

# Reasons from hall/forms.py and hall/idcodes.py (English), as a citizen reads them.
_WHY_ZH = {
    "required": "必填", "check digit": "身份证号校验位不对，请核对",
    "birth date": "身份证号中的出生日期不对", "18 characters": "应为 18 位",
    "a mobile number": "应为 11 位手机号码", "unified social credit code": "统一社会信用代码不正确",
    "a date": "请按 年月日 输入 8 位数字", "a name": "请输入 2 个以上汉字",
    "not a number": "请输入数字", "below": "数值太小", "above": "数值太大",
    "longer than": "内容太长", "too short": "请填写完整", "not one of": "请选择一项",
}


# one table of kiosk strings: the form screens' join kiosk/texts.py's (and its checks)
assert not set(_T) & set(texts._T), "form text keys clash with kiosk/texts.py"
texts._T.update(_T)
ft = t


def why(reason: str, lang: str) -> str:
    if lang.startswith("en"):
        return reason
    return next((zh for k, zh in _WHY_ZH.items() if k in reason), reason)


def shown(ftype: str, value: str, lang: str, f) -> str:
    """A value as the public screen may show it."""
    if not value:
        return ""
    if ftype in ("name", "id_number", "phone"):
        return mask(value, ftype)
    if ftype == "date" and value.isdigit() and len(value) == 8:
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return display_value(f, value, lang)


def _ff(flow: KioskFlow) -> ff_.FormFill:
    assert flow.s.form is not None
    return flow.s.form


def _title(flow: KioskFlow, key: str) -> str:
    return f"{ft(key, flow.lang)} · {target_name(flow, flow.s.target)}"


def _v_form_id(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    ff = _ff(flow)
    typed = ff.typed
    blocks = [Block("text", ft("id.hint", lang), style="strong"),
              Block("field", typed or "______ ________ ____", style="" if typed else "muted")]
    if "id_number" in ff.problems:
        blocks.append(Block("text", why(ff.problems["id_number"], lang), style="error"))
    blocks += [Block("spacer", weight=1), *pad_for("id_number", lang, flow.s.elderly)]
    return ScreenView("form_id", _title(flow, "id.title"), tuple(blocks),
                      _nav(flow, Btn(t("nav.ok", lang), "fidok", "primary")))


def _nav(flow: KioskFlow, *extra: Btn) -> tuple[Btn, ...]:
    """Back steps within the form (``fback``), never out of it by surprise."""
    lang = flow.lang
    return (Btn(t("nav.back", lang), "fback", "quiet"), Btn(t("nav.home", lang), "home", "quiet"), *extra)


def _v_form_consent(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    ff = _ff(flow)
    days = flow.cfg.privacy.profile_retention_days
    blocks = [Block("banner", ft("consent.card", lang, id=mask(ff.id_number or "", "id_number")), style="info")]
    if ff.note:
        blocks.append(Block("banner", ft(ff.note, lang), style="warn"))
    blocks += [Block("text", ft("consent.body", lang, days=days)),
               Block("spacer", weight=1),
               Block("buttons", cols=1, buttons=(Btn(ft("consent.yes", lang), "fconsent:yes", "primary"),
                                                 Btn(ft("consent.no", lang), "fconsent:no"),
                                                 Btn(ft("consent.erase", lang), "ferase", "danger")))]
    return ScreenView("form_consent", ft("consent.title", lang), tuple(blocks), _nav(flow))


def _page_size(flow: KioskFlow) -> int:
    return 6 if flow.s.elderly else 12


def _v_form(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    ff = _ff(flow)
    filled, total, _pre = ff_.counts(flow)
    blocks: list[Block] = []
    if ff.note:
        blocks.append(Block("banner", ft(ff.note, lang), style="info"))
    if ff.form.saved:
        blocks.append(Block("text", ft("form.saved", lang, n=ff.form.saved), style="muted"))
    bad = [s.field.id for s in ff.form.slots if s.field.id in ff.problems]
    if bad:
        blocks.append(Block("text", ft("form.fix", lang, n=len(bad)), style="error"))
    else:
        blocks.append(Block("text", ft("form.progress", lang, filled=filled, total=total), style="strong"))
    btns = []
    for s in ff.form.slots:
        f = s.field
        value = ff.values.get(f.id, "")
        label = f.label.get(lang) + ("" if not s.required else " *")
        if f.id in ff.problems:
            sub, style = why(ff.problems[f.id], lang), "danger"
        elif value:
            sub, style = shown(f.type, value, lang, f), "selected"
        else:
            sub, style = ft("form.required" if s.required else "form.empty", lang), "normal"
        btns.append(Btn(label, f"ffield:{f.id}", style, sub=sub))
    size = _page_size(flow)
    pages = max(1, -(-len(btns) // size))
    page = min(flow.s.page, pages - 1)
    blocks.append(Block("buttons", buttons=tuple(btns[page * size:(page + 1) * size]),
                        cols=1 if flow.s.elderly else 2))
    blocks.append(Block("spacer", weight=1))
    pager = []
    if page > 0:
        pager.append(Btn("◀", "page:-1", "quiet"))
    if page < pages - 1:
        pager.append(Btn(f"▶ {page + 1}/{pages}", "page:1", "quiet"))
    return ScreenView("form", _title(flow, "form.title"), tuple(blocks),
                      _nav(flow, *pager, Btn(ft("form.review", lang), "freview", "primary")))


def _v_form_field(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    ff = _ff(flow)
    slot = ff.form.slot(ff.editing or "")
    f = slot.field
    blocks: list[Block] = []
    if f.type == "choice":
        chosen = ff.values.get(f.id)
        blocks += [Block("spacer", weight=1),
                   Block("buttons", cols=1, buttons=tuple(
                       Btn(c.label.get(lang), f"fchoice:{c.id}", "selected" if c.id == chosen else "normal")
                       for c in f.choices)),
                   Block("spacer", weight=1)]
        return ScreenView("form_field", f.label.get(lang), tuple(blocks), _nav(flow))
    typed = ff.typed
    if f.type == "date":
        typed = "-".join(x for x in (typed[:4], typed[4:6], typed[6:8]) if x)
    blocks.append(Block("field", (typed + (f"｜{ff.pinyin}" if ff.pinyin else "")) or " "))
    if f.id in ff.problems:
        blocks.append(Block("text", why(ff.problems[f.id], lang), style="error"))
    if f.type in ff_.TEXT_TYPES:
        cands = ff_.candidates(ff)
        if ff.pinyin:
            blocks.append(Block("text", ft("field.pinyin", lang, py=ff.pinyin), style="muted"))
            per = 4 if flow.s.elderly else 6
            page = min(ff.cand_page, max(0, (len(cands) - 1) // per))
            shown_c = cands[page * per:(page + 1) * per]
            btns = [Btn(c, f"fcand:{page * per + i}", "primary") for i, c in enumerate(shown_c)]
            if page > 0:
                btns.insert(0, Btn("◀", "fcpage:-1", "quiet"))
            if (page + 1) * per < len(cands):
                btns.append(Btn("▶", "fcpage:1", "quiet"))
            blocks.append(Block("buttons", buttons=tuple(btns), cols=max(1, len(btns))))
        else:
            blocks.append(Block("text", ft("field.type_pinyin", lang), style="muted"))
    elif f.type == "date":
        blocks.append(Block("text", ft("field.date", lang), style="muted"))
    blocks.append(Block("spacer", weight=1))
    blocks += pad_for(f.type, lang, flow.s.elderly)
    return ScreenView("form_field", f.label.get(lang), tuple(blocks),
                      _nav(flow, Btn(ft("field.save", lang), "fok", "primary")))


def _v_form_review(flow: KioskFlow, now: float) -> ScreenView:
    lang = flow.lang
    ff = _ff(flow)
    filled, total, pre = ff_.counts(flow)
    blocks = [Block("text", ft("review.counts", lang, total=total, filled=filled, pre=pre), style="strong")]
    sep = ": " if lang.startswith("en") else "："
    for s in ff.form.slots:
        value = ff.values.get(s.field.id, "")
        blocks.append(Block("text", s.field.label.get(lang) + sep + (shown(s.field.type, value, lang, s.field)
                                                                    or "—")))
    blocks.append(Block("spacer", weight=1))
    blocks.append(Block("buttons", buttons=(Btn(ft("review.ok", lang), "fconfirm", "primary"),), cols=1))
    return ScreenView("form_review", ft("review.title", lang), tuple(blocks), _nav(flow))


def ticket_note(flow: KioskFlow) -> Block | None:
    """On the ticket screen: how much of the form the window already has."""
    tk = flow.s.ticket or {}
    if not tk.get("form_total"):
        return None
    return Block("banner", t("ticket.form", flow.lang, filled=tk["form_filled"], total=tk["form_total"]),
                 style="info")


SCREENS.update({S.FORM_ID: _v_form_id, S.FORM_CONSENT: _v_form_consent, S.FORM: _v_form,
                S.FORM_FIELD: _v_form_field, S.FORM_REVIEW: _v_form_review})

"""Filling the application form at the kiosk (pure, like kiosk/flow.py).

After the matter (or bundle) and its situation questions, a target with a
form goes: read the ID card (or type the number on the ID pad) → the consent
screen (keep and reuse my basic data? / erase what is kept) → the form, its
fields prefilled from the profile when the citizen agreed → one field at a
time on its own pad (digits, ID, phone, dates, choices, Chinese by pinyin) →
the review page → the usual confirm screen and "take a number", whose
``issue`` request carries the form.  With consent, the profile keys of the
form are saved afterwards (``profile_put``, fire and forget).

Every value is checked here with the engine's own checks (hall/forms.py), so
a citizen sees a problem on the field itself; the engine checks again, and
only it knows the hall's date (past/future dates and birth dates in the
future are its to refuse: this core has no calendar clock).  The
whole state lives in ``Session.form``: a timeout or "home" drops it with the
session, and nothing of it is kept anywhere else on the kiosk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hall.forms import Form, check_form, check_value, filled_count, merged_form
from hall.idcodes import check_id_number

from .flow import ACTIONS as FLOW_ACTIONS
from .flow import S, Effect, Handler, KioskFlow, Send, _plain, _text

MAX_TYPED = 100
MAX_PINYIN = 24


@dataclass
class FormFill:
    form: Form
    values: dict[str, str] = field(default_factory=dict)
    id_number: str | None = None
    consent: bool = False
    prefilled: set[str] = field(default_factory=set)    # filled from the kept profile
    problems: dict[str, str] = field(default_factory=dict)
    editing: str | None = None                          # field id on the editor screen
    typed: str = ""                                     # the editor's value (or the ID being typed)
    pinyin: str = ""                                    # letters not yet turned into 汉字
    cand_page: int = 0
    note: str | None = None                             # a banner key: profile found, erased…


def has_form(flow: KioskFlow) -> bool:
    return bool(flow.s.target) and merged_form(flow.cfg, flow.s.target) is not None


def start(flow: KioskFlow) -> None:
    flow.s.form = FormFill(form=merged_form(flow.cfg, flow.s.target))
    flow._go(S.FORM_ID)


def _ff(flow: KioskFlow) -> FormFill:
    assert flow.s.form is not None, "no form being filled"
    return flow.s.form


def _set_id(flow: KioskFlow, value: str) -> bool:
    ff = _ff(flow)
    value = value.strip().upper()
    why = check_id_number(value, None)
    if why:
        ff.problems["id_number"] = why
        flow.changes += 1
        return False
    ff.problems.pop("id_number", None)
    ff.id_number = value
    ff.typed = ""
    if ff.form.slot("id_number") is not None:
        ff.values["id_number"] = value
    flow._go(S.FORM_CONSENT)
    return True


def scan(flow: KioskFlow, line: str) -> list[Effect]:
    """An ID reader's line on a form screen: the card's number."""
    ff = _ff(flow)
    if flow.screen == S.FORM_ID:
        _set_id(flow, line)
    elif flow.screen == S.FORM_FIELD and ff.editing and ff.form.slot(ff.editing).field.type == "id_number":
        ff.typed = line.strip().upper()[:18]
        flow.changes += 1
    return []


# ---------------------------------------------------------------- actions --

def _key(flow: KioskFlow, key: str) -> None:
    ff = _ff(flow)
    ftype = ff.form.slot(ff.editing).field.type if ff.editing else "id_number"
    if key == "del":
        if ff.pinyin:
            ff.pinyin = ff.pinyin[:-1]
        else:
            ff.typed = ff.typed[:-1]
    elif key == "clear":
        ff.typed, ff.pinyin = "", ""
    elif key == "space":
        ff.typed = (ff.typed + " ")[:MAX_TYPED]
    elif len(key) == 1 and key.isalpha() and key.islower() and ftype in TEXT_TYPES:
        ff.pinyin = (ff.pinyin + key)[:MAX_PINYIN]
    elif len(key) == 1 and (key.isalnum() or key in ".-·"):
        limit = 18 if ftype in ("id_number", "uscc") else 11 if ftype == "phone" else \
            8 if ftype == "date" else MAX_TYPED
        if len(ff.typed) < limit:
            ff.typed += key
    ff.cand_page = 0
    if ff.editing:
        ff.problems.pop(ff.editing, None)
    flow.changes += 1


TEXT_TYPES = ("name", "text", "address", "company")


def _id_ok(flow: KioskFlow) -> None:
    _set_id(flow, _ff(flow).typed)


def _consent(flow: KioskFlow, answer: str) -> list[Effect] | None:
    ff = _ff(flow)
    if answer == "yes" and ff.id_number:
        ff.consent = True
        return [flow._send("profile_get", {"id_number": ff.id_number})]
    ff.consent = False
    flow._go(S.FORM)
    return None


def _erase(flow: KioskFlow) -> list[Effect] | None:
    ff = _ff(flow)
    if not ff.id_number:
        return None
    ff.consent = False
    return [flow._send("profile_erase", {"id_number": ff.id_number})]


def _open(flow: KioskFlow, fid: str) -> None:
    ff = _ff(flow)
    if ff.form.slot(fid) is None:
        return
    ff.editing = fid
    value = ff.values.get(fid, "")
    ff.typed = value.replace("-", "") if ff.form.slot(fid).field.type == "date" else value
    ff.pinyin = ""
    ff.cand_page = 0
    flow._go(S.FORM_FIELD)


def candidates(ff: FormFill) -> list[str]:
    if not ff.pinyin:
        return []
    from .ime import candidates as ime_candidates
    return ime_candidates(ff.pinyin)


def _cand(flow: KioskFlow, index: int) -> None:
    ff = _ff(flow)
    cands = candidates(ff)
    if 0 <= index < len(cands):
        ff.typed = (ff.typed + cands[index])[:MAX_TYPED]
        ff.pinyin = ""
        ff.cand_page = 0
        flow.changes += 1


def _cand_page(flow: KioskFlow, delta: int) -> None:
    ff = _ff(flow)
    ff.cand_page = max(0, ff.cand_page + delta)
    flow.changes += 1


def _store(flow: KioskFlow, fid: str, value: str) -> bool:
    """Check and keep one value; False (and the reason shown) when it is wrong."""
    ff = _ff(flow)
    slot = ff.form.slot(fid)
    value = value.strip()
    if slot.field.type == "date" and value.isdigit() and len(value) == 8:
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if not value:
        ff.values.pop(fid, None)
        ff.problems.pop(fid, None)
        ff.prefilled.discard(fid)
        return True
    why = check_value(slot.field, value, None)
    if why:
        ff.problems[fid] = why
        flow.changes += 1
        return False
    if ff.values.get(fid) != value:
        ff.prefilled.discard(fid)
    ff.values[fid] = value
    ff.problems.pop(fid, None)
    if fid == "id_number":
        ff.id_number = value.upper()
    return True


def _field_ok(flow: KioskFlow) -> None:
    ff = _ff(flow)
    if ff.editing and _store(flow, ff.editing, ff.typed):  # letters never turned into 汉字 are dropped
        ff.editing, ff.typed, ff.pinyin = None, "", ""
        flow._go(S.FORM)


def _choice(flow: KioskFlow, cid: str) -> None:
    ff = _ff(flow)
    if ff.editing and _store(flow, ff.editing, cid):
        ff.editing, ff.typed = None, ""
        flow._go(S.FORM)


def _review(flow: KioskFlow) -> None:
    ff = _ff(flow)
    ff.problems = dict(check_form(ff.form, ff.values, None))
    if ff.problems:
        flow.changes += 1
        return
    flow._go(S.FORM_REVIEW)


def _confirm(flow: KioskFlow) -> None:
    flow._go(S.CONFIRM)


def _back(flow: KioskFlow) -> None:
    ff = _ff(flow)
    if flow.screen == S.FORM_FIELD:
        ff.editing, ff.typed, ff.pinyin = None, "", ""
        flow._go(S.FORM)
    elif flow.screen == S.FORM_REVIEW:
        flow._go(S.FORM)
    elif flow.screen == S.FORM:
        flow._go(S.FORM_CONSENT if ff.id_number else S.FORM_ID)
    elif flow.screen == S.FORM_CONSENT:
        flow._go(S.FORM_ID)
    else:
        flow.s.form = None
        flow._go(S.MATTER)


# ---------------------------------------------------------------- replies --

def on_reply(flow: KioskFlow, op: str, data: Any) -> list[Effect]:
    ff = _ff(flow)
    if op == "profile_get":
        kept = (data or {}).get("values") or {}
        for slot in ff.form.slots:
            key = slot.field.profile
            if key and kept.get(key) and not ff.values.get(slot.field.id):
                ff.values[slot.field.id] = kept[key]
                ff.prefilled.add(slot.field.id)
        ff.note = "form.note.prefilled" if ff.prefilled - {"id_number"} else "form.note.no_profile"
        flow._go(S.FORM)
    elif op == "profile_erase":
        ff.note = "form.note.erased" if (data or {}).get("erased") else "form.note.nothing_to_erase"
        for fid in list(ff.prefilled - {"id_number"}):
            ff.values.pop(fid, None)
        ff.prefilled.clear()
        flow._go(S.FORM_CONSENT)
    return []


def issue_form(flow: KioskFlow) -> dict[str, str] | None:
    ff = flow.s.form
    return {k: v for k, v in ff.values.items() if v} if ff and ff.values else None


def after_issue(flow: KioskFlow) -> list[Effect]:
    """With consent, keep the form's basic data for the next matter and visit."""
    ff = flow.s.form
    if ff is None or not ff.consent or not ff.id_number:
        return []
    values = {s.field.profile: ff.values[s.field.id] for s in ff.form.slots
              if s.field.profile and s.field.profile != "id_number" and ff.values.get(s.field.id)}
    if not values:
        return []
    return [Send("profile_put", {"id_number": ff.id_number, "values": values}, flow.new_id(), None)]


def counts(flow: KioskFlow) -> tuple[int, int, int]:
    """(filled, on the form, prefilled from the profile) for the review page and the ticket."""
    ff = flow.s.form
    if ff is None:
        return 0, 0, 0
    filled, total = filled_count(ff.form, ff.values)
    return filled, total, len(ff.prefilled & set(ff.values))


def _int(raw: str) -> int:
    return int(raw)


ACTIONS: dict[str, Handler[Any]] = {
    "fkey": Handler(_key, _text),
    "fidok": _plain(_id_ok),
    "fconsent": Handler(_consent, _text),
    "ferase": _plain(_erase),
    "ffield": Handler(_open, _text),
    "fcand": Handler(_cand, _int),
    "fcpage": Handler(_cand_page, _int),
    "fchoice": Handler(_choice, _text),
    "fok": _plain(_field_ok),
    "freview": _plain(_review),
    "fconfirm": _plain(_confirm),
    "fback": _plain(_back),
}
FLOW_ACTIONS.update(ACTIONS)

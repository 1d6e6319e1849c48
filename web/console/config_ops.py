"""Config as operations: the console's forms, each a change of the whole config (pure).

An operation takes the config in force (the mapping ``config/<id>/request/get``
answers), a subject (a window, a staff member, a matter…) and the form's
values, and returns the new whole config. Nothing here validates beyond
reading the form: the result goes through :func:`hall.config.parse_config`
like any file (web/console/config_desk.py), so the schema and its
cross-checks decide, with the same messages a pushed file gets.

:func:`form` gives each operation's inputs filled with the subject's current
values; the page draws them (web/static/config.js) and posts them back.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

WEEKDAYS_ZH = {"mon": "周一", "tue": "周二", "wed": "周三", "thu": "周四", "fri": "周五", "sat": "周六",
               "sun": "周日"}
NEW = "+new"  # the subject of a form that adds one (a new staff member)


class OpError(ValueError):
    """A form value that cannot even be read into the config (``field`` names the input)."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


@dataclass
class Input:
    name: str
    label: str
    kind: str  # text | number | select | multi | check | lines | weights | secret
    value: Any = None
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    hint: str = ""


@dataclass(frozen=True)
class Operation:
    id: str
    title: str
    subject_label: str  # "" when the operation has no subject
    subjects: Callable[[dict], list[tuple[str, str]]]
    inputs: Callable[[dict, str], list[Input]]
    apply: Callable[[dict, str, dict], str]  # mutates the copy; returns a one-line summary


# ------------------------------------------------------------- helpers --

def _names(raw: dict, key: str) -> list[tuple[str, str]]:
    return [(x["id"], f"{x['id']} {x['name']['zh']}") for x in raw.get(key) or []]


def _windows(raw: dict) -> list[tuple[str, str]]:
    return [(w["id"], f"{w['number']}号窗口 ({w['id']})") for w in raw["windows"]]


def _targets(raw: dict) -> list[tuple[str, str]]:
    return _names(raw, "matters") + _names(raw, "bundles")


def _find(items: list[dict], key: str, value: str, what: str) -> dict:
    for x in items:
        if x.get(key) == value:
            return x
    raise OpError("subject", f"no {what} {value!r} in the config in force")


def _text(p: dict, name: str, required: bool = True) -> str:
    v = str(p.get(name, "") or "").strip()
    if required and not v:
        raise OpError(name, "required")
    return v


def _number(p: dict, name: str, cast: Callable[[str], Any] = float) -> Any:
    try:
        return cast(str(p.get(name, "")).strip())
    except ValueError:
        raise OpError(name, f"not a number: {p.get(name)!r}") from None


def _list(p: dict, name: str) -> list[str]:
    v = p.get(name) or []
    if isinstance(v, str):
        v = v.splitlines()
    if not isinstance(v, list):
        raise OpError(name, "must be a list")
    return [str(x).strip() for x in v if str(x).strip()]


def _check(p: dict, name: str) -> bool:
    return p.get(name) in (True, "true", "on", "1", 1)


# ---------------------------------------------------------- operations --

def _notice_inputs(raw: dict, subject: str) -> list[Input]:
    screens = raw.get("screens") or {}
    cur = screens.get("notice") if not subject else _find(screens.get("displays") or [], "id", subject,
                                                          "display").get("notice")
    cur = cur or {}
    return [Input("zh", "通知（中文）", "text", cur.get("zh", ""), hint="留空：不显示通知" if not subject
                  else "留空：用全厅默认通知"),
            Input("en", "Notice (English)", "text", cur.get("en", ""))]


def _notice_apply(raw: dict, subject: str, p: dict) -> str:
    zh, en = _text(p, "zh", False), _text(p, "en", False)
    if bool(zh) != bool(en):
        raise OpError("en" if zh else "zh", "give the notice in both languages, or clear both")
    screens = raw.setdefault("screens", {})
    target = screens if not subject else _find(screens.get("displays") or [], "id", subject, "display")
    target["notice"] = {"zh": zh, "en": en} if zh else None
    where = f"屏幕 {subject}" if subject else "全厅"
    return f"{where}通知：{zh or '（清除）'}"


def _window_open_inputs(raw: dict, subject: str) -> list[Input]:
    w = _find(raw["windows"], "id", subject, "window")
    return [Input("attended", "开放（服务时间内应有人值守；关闭则不排班、不报空岗）", "check", w.get("attended", True))]


def _window_open_apply(raw: dict, subject: str, p: dict) -> str:
    w = _find(raw["windows"], "id", subject, "window")
    w["attended"] = _check(p, "attended")
    return f"{w['number']}号窗口{'开放' if w['attended'] else '关闭'}"


def _window_matters_inputs(raw: dict, subject: str) -> list[Input]:
    w = _find(raw["windows"], "id", subject, "window")
    return [Input("serves", "可办事项与权重（0 = 不办，1–9 越大越优先）", "weights", dict(w["serves"]),
                  _targets(raw)),
            Input("authorised", "忙闲不均时可借调办理（事项、一件事或整区）", "multi", list(w.get("authorised") or []),
                  _targets(raw) + _names(raw, "zones"))]


def _window_matters_apply(raw: dict, subject: str, p: dict) -> str:
    w = _find(raw["windows"], "id", subject, "window")
    weights = p.get("serves")
    if not isinstance(weights, dict):
        raise OpError("serves", "must map matter ids to weights")
    serves: dict[str, int] = {}
    for k, v in weights.items():
        try:
            n = int(str(v).strip() or 0)
        except ValueError:
            raise OpError("serves", f"weight of {k} is not a whole number: {v!r}") from None
        if n:
            serves[str(k)] = n  # a weight outside 1–9 is the schema's to refuse, with its message
    w["serves"] = serves
    w["authorised"] = _list(p, "authorised")
    return f"{w['number']}号窗口可办事项：{', '.join(f'{k}×{v}' for k, v in serves.items()) or '（无）'}"


def _staff_subjects(raw: dict) -> list[tuple[str, str]]:
    return [(NEW, "（新增工作人员）")] + [(s["id"], f"{s['id']} {s['name']}") for s in raw.get("staff") or []]


def _staff_inputs(raw: dict, subject: str) -> list[Input]:
    s = {} if subject == NEW else _find(raw.get("staff") or [], "id", subject, "staff member")
    out = [Input("id", "工号", "text", s.get("id", ""))] if subject == NEW else []
    out += [Input("name", "姓名", "text", s.get("name", "")),
            Input("windows", "可登录窗口", "multi", list(s.get("windows") or []), _windows(raw)),
            Input("pin", "新PIN（6–12位数字）", "secret", "",
                  hint="必填" if subject == NEW else "留空：PIN 不变")]
    if subject != NEW:
        out.append(Input("remove", "从名册删除", "check", False))
    return out


def _staff_apply(raw: dict, subject: str, p: dict, hash_pin: Callable[[str], str]) -> str:
    staff = raw.setdefault("staff", [])
    if subject != NEW and _check(p, "remove"):
        s = _find(staff, "id", subject, "staff member")
        staff.remove(s)
        return f"删除工作人员 {subject}"
    pin = str(p.get("pin") or "").strip()
    if subject == NEW:
        if not pin:
            raise OpError("pin", "a new staff member needs a PIN")
        s = {"id": _text(p, "id"), "roles": ["clerk"]}
        staff.append(s)
    else:
        s = _find(staff, "id", subject, "staff member")
    s["name"] = _text(p, "name")
    s["windows"] = _list(p, "windows")
    if pin:
        try:
            s["pin_hash"] = hash_pin(pin)
        except ValueError as e:
            raise OpError("pin", str(e)) from None
    return f"{'新增' if subject == NEW else '修改'}工作人员 {s['id']} {s['name']}" + ("（PIN 已更换）" if pin and
                                                                                   subject != NEW else "")


def _matter_inputs(raw: dict, subject: str) -> list[Input]:
    m = _find(raw["matters"], "id", subject, "matter")
    groups = [(g["prefix"], f"{g['prefix']} {g['name']['zh']}") for g in raw["groups"]]
    return [Input("zh", "名称（中文）", "text", m["name"]["zh"]),
            Input("en", "Name (English)", "text", m["name"]["en"]),
            Input("group", "号码分组", "select", m["group"], groups),
            Input("minutes", "预计办理（分钟）", "number", m.get("minutes", 10)),
            Input("promise_days", "承诺时限（工作日）", "number", m.get("promise_days", 5))]


def _matter_apply(raw: dict, subject: str, p: dict) -> str:
    m = _find(raw["matters"], "id", subject, "matter")
    m["name"] = {**m["name"], "zh": _text(p, "zh"), "en": _text(p, "en")}
    if m["name"].get("tw"):  # a Traditional name written for the old one would now be wrong
        m["name"]["tw"] = None
    m["group"] = _text(p, "group")
    m["minutes"] = _number(p, "minutes")
    m["promise_days"] = _number(p, "promise_days", int)
    return f"事项 {subject}：{m['name']['zh']}，{m['group']} 组，{m['minutes']:g} 分钟，承诺 {m['promise_days']} 个工作日"


def _priority_subjects(raw: dict) -> list[tuple[str, str]]:
    return [(c["id"], f"{c['id']} {c['name']['zh']}") for c in (raw.get("priority") or {}).get("classes") or []]


def _priority_inputs(raw: dict, subject: str) -> list[Input]:
    c = _find(raw["priority"]["classes"], "id", subject, "priority class")
    return [Input("requires_code", "取号须凭码（绿色通道）", "check", c.get("requires_code", False)),
            Input("codes", "有效码（每行一个）", "lines", "\n".join(c.get("codes") or [])),
            Input("boost_minutes", "优先（相当于多等的分钟数）", "number", c.get("boost_minutes", 0))]


def _priority_apply(raw: dict, subject: str, p: dict) -> str:
    c = _find(raw["priority"]["classes"], "id", subject, "priority class")
    c["requires_code"] = _check(p, "requires_code")
    c["codes"] = _list(p, "codes")
    c["boost_minutes"] = _number(p, "boost_minutes")
    if c["requires_code"] and not c["codes"]:
        raise OpError("codes", "a class that requires a code needs at least one code")
    return f"优先类别 {subject}：{len(c['codes'])} 个有效码，优先 {c['boost_minutes']:g} 分钟"


def _hours_inputs(raw: dict, subject: str) -> list[Input]:
    h = raw.get("service_hours") or {}
    return [Input("days", "开放日", "multi", list(h.get("days") or []), list(WEEKDAYS_ZH.items())),
            Input("periods", "开放时段（每行 08:30-12:00）", "lines",
                  "\n".join(f"{x['start'][:5]}-{x['end'][:5]}" for x in h.get("periods") or [])),
            Input("closed_dates", "闭厅日期（节假日，每行 2026-10-01）", "lines", "\n".join(h.get("closed_dates") or [])),
            Input("extra_open_dates", "调休上班日期（每行一个）", "lines", "\n".join(h.get("extra_open_dates") or []))]


_PERIOD = re.compile(r"^(\d{1,2}:\d{2})\s*[-–~]\s*(\d{1,2}:\d{2})$")


def _hours_apply(raw: dict, subject: str, p: dict) -> str:
    periods = []
    for line in _list(p, "periods"):
        m = _PERIOD.match(line)
        if not m:
            raise OpError("periods", f"{line!r}: write HH:MM-HH:MM")
        periods.append({"start": m.group(1).zfill(5), "end": m.group(2).zfill(5)})
    dates: dict[str, list[str]] = {}
    for name in ("closed_dates", "extra_open_dates"):
        dates[name] = []
        for line in _list(p, name):
            try:
                dates[name].append(dt.date.fromisoformat(line).isoformat())
            except ValueError:
                raise OpError(name, f"{line!r}: write YYYY-MM-DD") from None
    raw["service_hours"] = {"days": _list(p, "days"), "periods": periods, **dates}
    days = "、".join(WEEKDAYS_ZH.get(d, d) for d in raw["service_hours"]["days"])
    spans = ", ".join(f"{x['start']}-{x['end']}" for x in periods)
    return f"服务时间：{days} {spans}；闭厅 {len(dates['closed_dates'])} 天"


def _devices(raw: dict) -> list[dict]:
    d = raw.get("devices") or {}
    return list(d.get("serial") or []) + list(d.get("inputs") or [])


def _device_subjects(raw: dict) -> list[tuple[str, str]]:
    return [(d["id"], f"{d['id']} ({d.get('kind', '')} → {d.get('window') or '—'})") for d in _devices(raw)]


def _device_inputs(raw: dict, subject: str) -> list[Input]:
    d = _find(_devices(raw), "id", subject, "device")
    return [Input("window", "绑定窗口", "select", d.get("window") or "", [("", "（不绑定）")] + _windows(raw))]


def _device_apply(raw: dict, subject: str, p: dict) -> str:
    d = _find(_devices(raw), "id", subject, "device")  # the same dict as in raw: _devices copies the lists only
    d["window"] = _text(p, "window", False) or None
    return f"设备 {subject} 绑定到 {d['window'] or '（无）'}"


def _screen_subjects(raw: dict) -> list[tuple[str, str]]:
    return [(d["id"], d["id"]) for d in (raw.get("screens") or {}).get("displays") or []]


def _screen_inputs(raw: dict, subject: str) -> list[Input]:
    d = _find(raw["screens"]["displays"], "id", subject, "display")
    return [Input("zones", "显示的区域（不选：全部）", "multi", list(d.get("zones") or []), _names(raw, "zones")),
            Input("style", "样式", "select", d.get("style", "calls"), [("calls", "叫号"), ("windows", "窗口一览")]),
            Input("layout", "方向", "select", d.get("layout", "landscape"), [("landscape", "横屏"), ("portrait", "竖屏")])]


def _screen_apply(raw: dict, subject: str, p: dict) -> str:
    d = _find(raw["screens"]["displays"], "id", subject, "display")
    d["zones"] = _list(p, "zones")
    d["style"] = _text(p, "style")
    d["layout"] = _text(p, "layout")
    return f"屏幕 {subject}：{d['style']}，{d['layout']}，区域 {', '.join(d['zones']) or '全部'}"


def operations(hash_pin: Callable[[str], str]) -> dict[str, Operation]:
    """Every operation by id; ``hash_pin`` makes a roster PIN hash (web.auth.hash_pin)."""
    none = lambda raw: []  # noqa: E731  (no subject)
    ops = [
        Operation("notice", "通知文字", "屏幕（不选：全厅默认）",
                  lambda raw: [("", "（全厅默认）")] + _screen_subjects(raw), _notice_inputs, _notice_apply),
        Operation("window_open", "开放/关闭窗口", "窗口", _windows, _window_open_inputs, _window_open_apply),
        Operation("window_matters", "窗口可办事项与权重", "窗口", _windows, _window_matters_inputs,
                  _window_matters_apply),
        Operation("staff", "工作人员名册与PIN", "工作人员", _staff_subjects, _staff_inputs,
                  lambda raw, s, p: _staff_apply(raw, s, p, hash_pin)),
        Operation("matter", "事项名称、分组、时长、承诺时限", "事项", lambda raw: _names(raw, "matters"),
                  _matter_inputs, _matter_apply),
        Operation("priority", "优先类别与绿色通道码", "类别", _priority_subjects, _priority_inputs, _priority_apply),
        Operation("hours", "服务时间与闭厅日期", "", none, _hours_inputs, _hours_apply),
        Operation("device", "设备绑定", "设备", _device_subjects, _device_inputs, _device_apply),
        Operation("screen", "大屏", "屏幕", _screen_subjects, _screen_inputs, _screen_apply),
    ]
    return {o.id: o for o in ops}


def catalogue(ops: dict[str, Operation], raw: dict) -> list[dict]:
    """The operations with their subjects, for the page's first menu."""
    return [{"id": o.id, "title": o.title, "subject_label": o.subject_label, "subjects": o.subjects(raw)}
            for o in ops.values()]


def form(op: Operation, raw: dict, subject: str, secrets: bool = False) -> list[dict]:
    """The operation's inputs with the subject's current values. Green-channel codes
    are filled in only for who may change them (``secrets``)."""
    out = [asdict(i) for i in op.inputs(raw, subject)]
    if not secrets:
        for i in out:
            if op.id == "priority" and i["name"] == "codes":
                i["value"], i["hint"] = "", "只读账号看不到有效码"
    return out


def apply(op: Operation, raw: dict, subject: str, params: dict) -> tuple[dict, str]:
    """The new whole config and a one-line summary; ``raw`` is left as it was."""
    if op.subject_label and op.id != "notice" and not subject:
        raise OpError("subject", f"choose a {op.subject_label}")
    new = copy.deepcopy(raw)
    summary = op.apply(new, subject, params if isinstance(params, dict) else {})
    return new, summary

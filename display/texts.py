"""What the screens say, in zh-CN, zh-TW and en (pure; no Kivy).

Names of the hall, zones and groups come from the hall config (``Names``);
the fixed wording lives here.
"""

from __future__ import annotations

import datetime as dt

from hall.config import HallConfig
from hall.pii import mask

LABELS: dict[str, dict[str, str]] = {
    "please": {"zh-CN": "请", "zh-TW": "請", "en": "Number"},
    "hao": {"zh-CN": "号", "zh-TW": "號", "en": ""},
    "goto": {"zh-CN": "到 {w} 号窗口", "zh-TW": "到 {w} 號窗口", "en": "please go to window {w}"},
    "call": {"zh-CN": "请 {n} 号 到 {w} 号窗口", "zh-TW": "請 {n} 號 到 {w} 號窗口",
             "en": "Number {n}, please go to window {w}"},
    "window": {"zh-CN": "{w}号窗口", "zh-TW": "{w}號窗口", "en": "Window {w}"},
    "call_short": {"zh-CN": "请 {n} 号到 {w} 号窗口", "zh-TW": "請 {n} 號到 {w} 號窗口", "en": "No. {n} → Window {w}"},
    "window_cell": {"zh-CN": "{w}号", "zh-TW": "{w}號", "en": "W{w}"},
    "win_open": {"zh-CN": "办理中", "zh-TW": "辦理中", "en": "Serving"},
    "win_idle": {"zh-CN": "空闲", "zh-TW": "空閒", "en": "Free"},
    "win_paused": {"zh-CN": "暂停", "zh-TW": "暫停", "en": "Paused"},
    "win_closed": {"zh-CN": "未开放", "zh-TW": "未開放", "en": "Closed"},
    "win_unknown": {"zh-CN": "—", "zh-TW": "—", "en": "—"},
    "recall": {"zh-CN": "再次呼叫", "zh-TW": "再次呼叫", "en": "Recall"},
    "recent": {"zh-CN": "最近叫号", "zh-TW": "最近叫號", "en": "Recent calls"},
    "waiting": {"zh-CN": "等候人数", "zh-TW": "等候人數", "en": "Waiting"},
    "total": {"zh-CN": "合计", "zh-TW": "合計", "en": "Total"},
    "no_calls": {"zh-CN": "暂无叫号", "zh-TW": "暫無叫號", "en": "No calls yet"},
    "offline_broker": {"zh-CN": "离线 · 信息可能未更新", "zh-TW": "離線 · 資訊可能未更新",
                       "en": "Offline · may be out of date"},
    "offline_engine": {"zh-CN": "叫号系统离线", "zh-TW": "叫號系統離線",
                       "en": "Calling system offline"},
    "progress_title": {"zh-CN": "办事进度公示", "zh-TW": "辦事進度公示", "en": "Case progress"},
    "case": {"zh-CN": "受理编号", "zh-TW": "受理編號", "en": "Case no."},
    "name": {"zh-CN": "申请人", "zh-TW": "申請人", "en": "Applicant"},
    "matter": {"zh-CN": "事项", "zh-TW": "事項", "en": "Matter"},
    "status": {"zh-CN": "状态", "zh-TW": "狀態", "en": "Status"},
    "department": {"zh-CN": "办理部门", "zh-TW": "辦理部門", "en": "Department"},
    "stage": {"zh-CN": "办理环节", "zh-TW": "辦理環節", "en": "Stage"},
    "deadline": {"zh-CN": "承诺办结 {d}", "zh-TW": "承諾辦結 {d}", "en": "Due {d}"},
    "days_left": {"zh-CN": "剩 {n} 个工作日", "zh-TW": "剩 {n} 個工作日", "en": "{n} days left"},
    "overdue_n": {"zh-CN": "逾期 {n} 日", "zh-TW": "逾期 {n} 日", "en": "{n} days late"},
    "overdue": {"zh-CN": "已逾期", "zh-TW": "已逾期", "en": "Late"},
    "stage_accepted": {"zh-CN": "受理", "zh-TW": "受理", "en": "Accepted"},
    "stage_review": {"zh-CN": "审查", "zh-TW": "審查", "en": "Review"},
    "stage_decided": {"zh-CN": "决定", "zh-TW": "決定", "en": "Decided"},
    "stage_issuing": {"zh-CN": "制证", "zh-TW": "製證", "en": "Issuing"},
    "stage_ready": {"zh-CN": "待领取", "zh-TW": "待領取", "en": "Ready"},
    "stage_collected": {"zh-CN": "已领取", "zh-TW": "已領取", "en": "Collected"},
    "stage_correction": {"zh-CN": "补正中", "zh-TW": "補正中", "en": "Correction"},
    "stage_denied": {"zh-CN": "不予许可", "zh-TW": "不予許可", "en": "Refused"},
    "stage_withdrawn": {"zh-CN": "撤回", "zh-TW": "撤回", "en": "Withdrawn"},
    "page": {"zh-CN": "第 {i}/{n} 页", "zh-TW": "第 {i}/{n} 頁", "en": "Page {i}/{n}"},
    "received": {"zh-CN": "已受理", "zh-TW": "已受理", "en": "Received"},
    "processing": {"zh-CN": "办理中", "zh-TW": "辦理中", "en": "In progress"},
    "done": {"zh-CN": "已办结", "zh-TW": "已辦結", "en": "Completed"},
    "ready": {"zh-CN": "可领取", "zh-TW": "可領取", "en": "Ready to collect"},
    "notice": {"zh-CN": "请留意屏幕叫号，过号请到取号机重新排队。办事进度可在取号机查询。",
               "zh-TW": "請留意螢幕叫號，過號請到取號機重新排隊。辦事進度可在取號機查詢。",
               "en": "Please watch the screen for your number. Missed it? Re-queue at a kiosk."},
}

WEEKDAYS = {
    "zh-CN": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
    "zh-TW": ["週一", "週二", "週三", "週四", "週五", "週六", "週日"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}


def t(key: str, lang: str, **kw: str) -> str:
    table = LABELS[key]
    text = table.get(lang) or table["zh-CN"]
    return text.format(**kw) if kw else text


def call_line(number: str, window_number: str, lang: str) -> str:
    return t("call", lang, n=number, w=window_number)


def clock_text(local: dt.datetime, lang: str) -> tuple[str, str]:
    """(time, date) as shown in the header: ``15:04`` and ``2026-11-21 周六``."""
    return local.strftime("%H:%M"), f"{local:%Y-%m-%d} {WEEKDAYS.get(lang, WEEKDAYS['zh-CN'])[local.weekday()]}"


def waiting_label(cfg: HallConfig, key: str, by: str, lang: str) -> str:
    if by == "zone":
        z = cfg.zone(key)
        return z.name.get(lang) if z else key
    g = cfg.group(key)
    return f"{key} {g.name.get(lang)}" if g else key


def case_cells(cfg: HallConfig, c, lang: str) -> tuple[str, str, str, str, str, str, str]:
    """One case of the progress board as the screen shows it: number, masked name,
    matter, department, stage, deadline, working days left — each saying what it is
    (the screen has no column heads: a case takes a block of lines) — in ``lang``."""
    m = cfg.matter(c.matter) if c.matter else None
    department = m.department.get(lang) if m is not None else department_label(cfg, c.department, lang)
    stage = t(f"stage_{c.stage}", lang) if c.stage and f"stage_{c.stage}" in LABELS else t(c.status, lang)
    deadline = t("deadline", lang, d=c.deadline[5:]) if c.deadline else ""
    if c.overdue and c.days_left is not None and c.days_left < 0:
        left = t("overdue_n", lang, n=str(-c.days_left))
    elif c.overdue:
        left = t("overdue", lang)
    elif c.days_left is not None and c.stage in OPEN_STAGES:
        left = t("days_left", lang, n=str(c.days_left))
    else:
        left = ""
    # the publisher masks the name (张*明); masked again here, a no-op then, so that
    # a publisher's slip never puts a full name on a public screen
    return (c.case, mask(c.name, "name"), matter_label(cfg, c.matter, lang), department, stage, deadline, left)


def department_label(cfg: HallConfig, name: str | None, lang: str) -> str:
    """A department the engine names in Chinese (a case of a matter this config
    does not list: an outside case system's), in ``lang`` when a matter of the
    hall has it."""
    if not name:
        return ""
    return next((m.department.get(lang) for m in cfg.matters if m.department.get("zh-CN") == name), name)


OPEN_STAGES = ("accepted", "review", "decided", "issuing", "correction")


def matter_label(cfg: HallConfig, matter: str | None, lang: str) -> str:
    if not matter:
        return ""
    m = cfg.matter(matter) or cfg.bundle(matter)
    return m.name.get(lang) if m else matter

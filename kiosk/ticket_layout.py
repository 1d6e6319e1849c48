"""What a printed ticket says, line by line (pure; no printer, no escpos).

Widths are counted in printer columns: a Han character or full-width
punctuation mark takes two columns of font A, a Latin letter one, so the
checklist wraps at the paper edge instead of being cut by the printer.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from hall.clock import local_dt
from hall.config import HallConfig
from hall.pii import mask

from . import guide as guides
from .texts import t


def ticket_qr(ticket: dict[str, Any]) -> str:
    """What a ticket's QR says: ``<ticket>.<secret>`` (just the id if the engine gave no secret)."""
    tid, secret = ticket.get("ticket", ""), ticket.get("secret")
    return f"{tid}.{secret}" if secret else tid


@dataclass(frozen=True)
class Line:
    text: str
    align: str = "left"     # left | center
    bold: bool = False
    scale: int = 1          # character magnification (GS !), 1..8


@dataclass(frozen=True)
class Qr:
    data: str


@dataclass(frozen=True)
class Rule:
    pass


Item = Line | Qr | Rule


@dataclass(frozen=True)
class TicketDoc:
    ticket: str
    items: tuple[Item, ...]


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cw(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def wrap(text: str, cols: int, indent: int = 0) -> list[str]:
    """Break ``text`` at column ``cols``; continuation lines get ``indent`` spaces.

    Han text breaks anywhere; a Latin word moves whole to the next line unless
    it alone is wider than the paper.
    """
    out: list[str] = []
    cur, w = "", 0
    for ch in text:
        cw = _cw(ch)
        if w + cw > cols:
            head, tail = cur, ""
            if ch != " " and cw == 1:
                cut = cur.rfind(" ")
                if cut > indent:
                    head, tail = cur[:cut], cur[cut + 1:]
            out.append(head.rstrip())
            cur = " " * indent + tail
            w = sum(_cw(c) for c in cur)
            if ch == " ":
                continue
        cur += ch
        w += cw
    if cur.strip():
        out.append(cur.rstrip())
    return out or [""]


def layout(cfg: HallConfig, ticket: dict[str, Any], *, target: str | None, answers: dict[str, str],
           lang: str, phone: str | None, cols: int, number_scale: int) -> TicketDoc:
    items: list[Item] = []
    hall = cfg.hall.name.get(lang)
    items.append(Line(hall, "center", True, 2 if width(hall) * 2 <= cols else 1))
    items.append(Line(t("print.title", lang), "center"))
    number = ticket.get("number", "")
    items.append(Line(number, "center", True, number_scale))
    tid = ticket.get("bundle") or ticket.get("matter") or target
    obj = (cfg.matter(tid) or cfg.bundle(tid)) if tid else None
    if obj is not None:
        for part in wrap(obj.name.get(lang), cols):
            items.append(Line(part, "center", True))
    prio = ticket.get("priority", "normal")
    if prio != "normal":
        cls = next((c for c in cfg.priority.classes if c.id == prio), None)
        items.append(Line(t("ticket.priority", lang, cls=cls.name.get(lang) if cls else prio), "center"))
    items.append(Rule())
    zone = cfg.zone(ticket.get("zone", ""))
    where = (f"{zone.floor} " if zone and zone.floor else "") + (zone.name.get(lang) if zone else ticket.get("zone", ""))
    for part in wrap(t("ticket.wait_at", lang, where=where), cols):
        items.append(Line(part, bold=True))
    if ticket.get("windows"):
        nums = [(cfg.window(w).number if cfg.window(w) else w) for w in ticket["windows"]]
        sep = ", " if lang == "en" else "、"
        for part in wrap(t("ticket.windows", lang, windows=sep.join(nums)), cols):
            items.append(Line(part))
    items.append(Line(t("ticket.ahead", lang, n=ticket.get("ahead", 0))))
    items.append(Line(t("ticket.estimate", lang, m=ticket.get("estimate_min", 0))))
    if ticket.get("form_total"):
        for part in wrap(t("ticket.form", lang, filled=ticket.get("form_filled", 0),
                           total=ticket["form_total"]), cols):
            items.append(Line(part))
    issued = local_dt(float(ticket.get("issued_at") or 0), cfg.hall.timezone)
    items.append(Line(t("ticket.time", lang, time=issued.strftime("%Y-%m-%d %H:%M"))))
    if tid:
        res = guides.resolve(cfg, tid)
        needed = guides.checklist(res, answers)
        if needed:
            items.append(Rule())
            items.append(Line(t("matter.checklist", lang), bold=True))
            for m in needed:
                text = m.name.get(lang)
                if m.note is not None:
                    text += f"（{m.note.get(lang)}）" if lang != "en" else f" ({m.note.get(lang)})"
                for part in wrap("□ " + text, cols, indent=3 if lang != "en" else 2):
                    items.append(Line(part))
    items.append(Rule())
    items.append(Qr(ticket_qr(ticket)))
    items.append(Line(t("ticket.qr_hint", lang), "center"))
    mins = cfg.queue.noshow_requeue_minutes
    if mins:
        for part in wrap(t("print.note", lang, m=mins), cols):
            items.append(Line(part, "center"))
    if phone:
        items.append(Line(t("ticket.sms", lang, phone=mask(phone, "phone")), "center"))
    return TicketDoc(ticket.get("ticket", ""), tuple(items))

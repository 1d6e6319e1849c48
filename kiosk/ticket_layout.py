"""What a printed ticket says, line by line (pure; no printer, no escpos).

Widths are counted in printer columns: a Han character or full-width
punctuation mark takes two columns of font A, a Latin letter one, so the
checklist wraps at the paper edge instead of being cut by the printer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from hall.clock import local_dt
from hall.config import HallConfig
from hall.pii import mask

from hall import guide as guides
from .texts import t



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


def ticket_link(cfg: HallConfig, ticket: dict[str, Any]) -> str:
    """What the ticket's QR holds: a link to the hall's ticket page carrying the
    ticket's secret (which lets its holder see the position, cancel and rate),
    or the bare ticket id when the hall has no public page (a kiosk reads both)."""
    tid = ticket.get("ticket", "")
    base = cfg.hall.public_url
    secret = ticket.get("secret")  # optional until every engine sends it
    if not base:  # the kiosk still needs the secret to cancel, re-queue or rate
        return f"{tid}.{secret}" if secret else tid
    return f"{base}/t/{tid}" + (f"?s={secret}" if secret else "")


def parse_ticket_qr(cfg: HallConfig, line: str) -> tuple[str, str | None] | None:
    """(ticket id, secret) from a scanned ticket QR — a link of this hall's
    public page or a bare id; None for anything else."""
    from urllib.parse import parse_qs, urlsplit
    base = cfg.hall.public_url
    if base and line.startswith(base + "/t/"):
        parts = urlsplit(line)
        tid = parts.path.rsplit("/", 1)[-1]
        secret = parse_qs(parts.query).get("s", [None])[0]
        return (tid, secret) if TICKET_ID.match(tid) else None
    tid, _, secret = line.partition(".")
    if TICKET_ID.match(tid) and (not secret or TICKET_SECRET.match(secret)):
        return tid, secret or None
    return None


TICKET_ID = re.compile(r"^[0-9]{8}-[A-Z]{1,2}[0-9]{2,5}$")
TICKET_SECRET = re.compile(r"^[0-9a-f]{8,64}$")


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
    link = ticket_link(cfg, ticket)
    items.append(Qr(link))
    items.append(Line(t("ticket.qr_hint", lang), "center"))
    if cfg.hall.public_url:  # the same, readable, for a citizen without a phone
        for part in wrap(link, cols):
            items.append(Line(part, "center"))
        if ticket.get("secret"):
            items.append(Line(t("ticket.code", lang, code=ticket["secret"]), "center", True))
    mins = cfg.queue.noshow_requeue_minutes
    if mins:
        for part in wrap(t("print.note", lang, m=mins), cols):
            items.append(Line(part, "center"))
    if phone:
        items.append(Line(t("ticket.sms", lang, phone=mask(phone, "phone")), "center"))
    return TicketDoc(ticket.get("ticket", ""), tuple(items))

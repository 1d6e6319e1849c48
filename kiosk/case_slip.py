"""A case's progress printed on the ticket printer (pure: lines for
:mod:`kiosk.printer`, as kiosk/ticket_layout.py does for tickets).

It says what the look-up screen showed — the masked name, the stages with
time, handler and opinion — and nothing the screen did not: the slip is
left behind at the kiosk as often as it is taken."""

from __future__ import annotations

from typing import Any

from hall.clock import local_dt
from hall.config import HallConfig

from .texts import t
from .ticket_layout import Item, Line, Rule, TicketDoc, width, wrap


def case_slip(cfg: HallConfig, case: dict[str, Any], lines: list[tuple[str, str]], lang: str, cols: int,
              now: float) -> TicketDoc:
    """``lines``: the screen's (style, text) lines (kiosk/view.py case_lines)."""
    items: list[Item] = []
    hall = cfg.hall.name.get(lang)
    items.append(Line(hall, "center", True, 2 if width(hall) * 2 <= cols else 1))
    items.append(Line(t("progress.slip", lang), "center"))
    number = case.get("case", "")
    items.append(Line(number, "center", True, 2 if width(number) * 2 <= cols else 1))
    items.append(Rule())
    for style, text in lines[1:]:  # the number is above, large
        if style == "strong":
            items.append(Rule())
        for part in wrap(text, cols, indent=2):
            items.append(Line(part, bold=style in ("strong", "error")))
    items.append(Rule())
    printed = local_dt(now, cfg.hall.timezone).strftime("%Y-%m-%d %H:%M")
    items.append(Line(t("progress.printed_at", lang, time=printed), "center"))
    return TicketDoc(number, tuple(items))

"""The retained views the engine publishes: window states, zone boards and waiting
counts, the hall summary."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hall import messages as m

from . import settle
from .model import ACTIVE

if TYPE_CHECKING:
    from .engine import Engine


def window_state(e: Engine, wid: str, now: float) -> m.WindowState:
    w = e.windows[wid]
    wc = e.cfg.window(wid)
    brief = None
    t = e.tickets.get(w.current or "")
    if t is not None and t.state in ACTIVE:
        brief = m.TicketBrief(ticket=t.id, number=t.number, matter=t.matter, bundle=t.bundle,
                              state=t.state, called_at=t.called_at, recalls=t.recalls,
                              priority=t.priority)
    return m.WindowState(window=wid, number=wc.number, zone=wc.zone, status=w.status,
                         staff=w.staff, ticket=brief, at=now,
                         pause_reason=w.pause_reason if w.status == "paused" else None)


def zone_board(e: Engine, zone: str, now: float) -> m.ZoneBoard:
    current = []
    tickets, windows, numbers = e.tickets, e.windows, e.routing.number_of
    for wid in e.routing.zone_windows.get(zone, ()):
        cur = windows[wid].current
        t = tickets.get(cur) if cur else None
        if t is not None and t.state in ACTIVE:
            current.append(m.CallEntry(ticket=t.id, number=t.number, window=wid,
                                       window_number=numbers[wid], matter=t.matter or t.bundle,
                                       at=t.called_at or now, recall=t.recalls))
    return m.ZoneBoard(zone=zone, current=current, recent=list(e.recent[zone]), at=now)


def zone_waiting(e: Engine, zone: str, now: float) -> m.ZoneWaiting:
    groups = {g: n for (z, g), n in e.waiting_zone_group.items() if z == zone and n > 0}
    windows = e.routing.waiting_in_zone(zone)
    return m.ZoneWaiting(zone=zone, groups=dict(sorted(groups.items())), total=sum(groups.values()),
                         windows=windows, at=now)


def summary(e: Engine, now: float) -> m.HallSummary:
    s = e.stats
    return m.HallSummary(
        day=e.day, issued=s["issued"], served=s["served"],
        waiting=sum(e.routing.waiting_by_line.values()), noshow=s["noshow"],
        avg_wait_s=round(s["wait_s"] / s["wait_n"], 1) if s["wait_n"] else 0.0,
        avg_handle_s=round(s["handle_s"] / s["handle_n"], 1) if s["handle_n"] else 0.0,
        open_windows=sum(1 for w in e.windows.values() if w.status == "open"), at=now,
        **settle.summary_fields(s), **estimate_error(e))


def estimate_error(e: Engine) -> dict:
    errs = e.estimate_errors
    if not errs:
        return {}
    ab = e.estimate_abs  # kept sorted by the engine: a late day's thousands are not sorted per summary
    return dict(estimate_n=len(errs),
                estimate_median_abs_err_min=round(_quantile(ab, 0.5), 1),
                estimate_p90_abs_err_min=round(_quantile(ab, 0.9), 1),
                estimate_bias_min=round(sum(errs) / len(errs), 1),
                estimate_coverage=round(e.estimate_inside / len(errs), 3))


def _quantile(sorted_vals: list[float], q: float) -> float:
    i = min(len(sorted_vals) - 1, max(0, math.ceil(q * len(sorted_vals)) - 1))
    return sorted_vals[i]

"""Settling a visit at the window: 办结, 受理, 补正 (with the one-time notice), 不予受理.

Pure: the outcome is checked against the hall config before anything changes
(a refused outcome leaves the ticket as it was), then recorded on the ticket
with a ``window.settled`` event that extensions and the case system listen to.
补正 visits are the hall's repeat-trip figure: the citizen has to come again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hall import messages as m
from hall.config import HallConfig, Names
from hall.errors import ErrorCode as E
from hall.guide import resolve  # pure: situation questions → materials (hall config only)

from .domain import VisitSettled
from .effects import Emit, Refused
from .model import Ticket, WindowRec

if TYPE_CHECKING:
    from .engine import Engine

KINDS = ("done", "accepted", "correction", "rejected")


def materials_of(cfg: HallConfig, t: Ticket) -> dict[str, Names]:
    """Material id → name of the ticket's matter or bundle (its guide)."""
    return {mat.id: mat.name for mat in resolve(cfg, t.service).materials}


def check(e: Engine, t: Ticket, o: m.VisitOutcome) -> None:
    """Refuse an outcome that cannot be carried out, before anything changes."""
    if o.kind == "correction":
        if not o.missing and not o.note:
            raise Refused(E.BAD_REQUEST, "补正 needs the missing materials (`missing`) or a `note`")
        known = materials_of(e.cfg, t)
        unknown = [x for x in o.missing if x not in known]
        if unknown:
            raise Refused(E.UNKNOWN_MATERIAL, f"no material {unknown[0]!r} for {t.service}")
        if len(set(o.missing)) != len(o.missing):
            raise Refused(E.BAD_REQUEST, "a missing material is listed twice")
        if o.notify == "sms":
            if not t.phone:
                raise Refused(E.NO_PHONE, f"ticket {t.number} left no phone number; print the notice")
            if not e.cfg.notify.sms.enabled:
                raise Refused(E.SMS_DISABLED, "SMS is not enabled in this hall; print the notice")
    elif o.missing or o.note:
        raise Refused(E.BAD_REQUEST, "`missing` and `note` belong to a 补正 (correction) outcome")
    if o.kind == "rejected" and not (o.reason or "").strip():
        raise Refused(E.BAD_REQUEST, "不予受理 needs a `reason`")


def apply(e: Engine, w: WindowRec, t: Ticket, o: m.VisitOutcome, now: float) -> None:
    t.outcome = o
    e.stats[f"outcome_{o.kind}"] += 1
    e.touch(t)
    e.happened(VisitSettled(t, w.id, o))
    e.events.append(Emit("window.settled", w.id, m.SettledEvent(
        ticket=t.id, number=t.number, window=w.id, staff=t.staff, matter=t.matter, bundle=t.bundle,
        outcome=o, at=now)))


def count(stats: dict, t: Ticket) -> None:
    """Restore the day's outcome counters from a stored ticket."""
    if t.outcome is not None:
        stats[f"outcome_{t.outcome.kind}"] += 1


def summary_fields(stats: dict) -> dict:
    outcomes = {k: stats[f"outcome_{k}"] for k in KINDS if stats[f"outcome_{k}"]}
    return {"outcomes": outcomes, "repeat_trips": stats["outcome_correction"]}


def notice_lines(cfg: HallConfig, t: Ticket, lang: str) -> list[str]:
    """The one-time notice (一次性告知): exactly the materials still to bring."""
    names = materials_of(cfg, t)
    o = t.outcome
    if o is None:
        return []
    out = [names[x].get(lang) for x in o.missing if x in names]
    if o.note:
        out.append(o.note)
    return out

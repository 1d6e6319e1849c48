"""呼叫工作人员: a kiosk's "call staff" button raises an alert for the floor staff.

An engine extension (caller/extension.py).  ``kiosk/<id>/request/staff``
retains a :class:`~hall.messages.StaffCall` on ``alert/<kiosk>/staff``, where
the admin console shows it; the console clears it with an empty retained
message when someone has gone.  A second press while a call is open answers
with the open call (a citizen pressing again does not page anyone twice).
Nothing personal is in it: the kiosk, the reason button, the language.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hall import messages as m
from hall.errors import ErrorCode as E

from .domain import DomainEvent
from .engine import Emit, Engine, Refused
from .extension import ExtOut

if TYPE_CHECKING:
    from .store import Store

REPEAT_S = 120.0  # a call younger than this is the same call


class StaffCalls:
    name = "staff_calls"

    def __init__(self, cfg: Any):
        self.kiosks = {k.id for k in cfg.kiosks.devices}
        self.open: dict[str, m.StaffCall] = {}

    def restore(self, store: "Store", engine: Engine, now: float) -> None:
        return None

    def ops(self) -> dict[str, type]:
        return {"kiosk.staff": m.StaffCallRequest}

    def handle(self, op: str, ident: str, req: Any, engine: Engine, now: float) -> tuple[Any, ExtOut]:
        if self.kiosks and ident not in self.kiosks:
            raise Refused(E.UNKNOWN_KIOSK, f"no kiosk {ident!r} in this hall")
        prev = self.open.get(ident)
        if prev is not None and now - prev.at < REPEAT_S:
            return prev, ExtOut()
        call = m.StaffCall(kiosk=ident, reason=req.reason, lang=req.lang, at=now)
        self.open[ident] = call
        return call, ExtOut(events=[Emit("alert.staff", ident, call)])

    def on_events(self, events: list[DomainEvent], engine: Engine, now: float) -> ExtOut:
        return ExtOut()

    def tick(self, engine: Engine, now: float) -> ExtOut:
        return ExtOut()

    def republish(self, engine: Engine, now: float) -> list[Emit]:
        # the broker keeps the retained alert; re-sending it here could bring back
        # one the console has already cleared
        return []

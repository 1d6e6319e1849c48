"""Driver for deployed "FF 68" callers and evaluators (:mod:`firmware_bridge.legacy68`).

These units have no sequence numbers and no boot flag, so: a key is
acknowledged by the next poll carrying its function code; the current view is
sent again whenever a unit comes back after being silent; an LED bar cannot
hang on such a line (the config refuses it).
"""

from __future__ import annotations

import logging

from . import legacy68 as L
from .driver import BusDriver, KeyEvent, Slot
from .evaluator import PromptView
from .keypad import KeypadView

log = logging.getLogger("firmware_bridge.legacy68")


class Legacy68Driver(BusDriver):
    protocol = "legacy68"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._parser = L.LegacyParser()
        self._warned: set[tuple[str, str]] = set()

    def update_request(self, slot: Slot, view) -> bytes | None:
        a = slot.cfg.address
        if isinstance(view, KeypadView):
            num = view.number.encode("ascii", "replace")[:8]
            return L.encode(a, L.SHOW, bytes((min(view.waiting, 255),)) + num)
        if isinstance(view, PromptView):
            if view.ticket is None:
                return L.encode(a, L.EVAL_CANCEL)
            return L.encode(a, L.EVALUATE, bytes((min(max(view.timeout_s, 1), 255),)))
        return None  # nothing else can be shown on these units

    def poll_request(self, slot: Slot) -> bytes:
        data = bytes((slot.pending_ack,)) if slot.pending_ack else b""
        return L.encode(slot.cfg.address, L.POLL, data)

    probe_request = poll_request

    def is_reply(self, slot: Slot, request: bytes, msg: L.LegacyFrame) -> bool:
        if msg.addr != slot.cfg.address:
            return False
        func = request[6]  # FF 68 L L 68 addr func
        if func == L.POLL:  # a key, known or not (a request code would be our own echo)
            return not msg.func & L.ACK_BIT and msg.func not in (L.POLL, L.SHOW, L.EVAL_CANCEL)
        return msg.func == (func | L.ACK_BIT)

    def handle_reply(self, slot: Slot, kind: str, msg: L.LegacyFrame) -> list[KeyEvent]:
        if msg.func & L.ACK_BIT:
            return []
        slot.pending_ack = 0
        if msg.func == L.NOTHING:
            return []
        slot.pending_ack = msg.func  # acknowledged even when unknown: the unit re-reports
        self.schedule(slot, 0.0)      # a key until acked, so it would block every later key
        key = L.KEYS.get(msg.func)
        if key is None:
            if (slot.id, "func") not in self._warned:
                self._warned.add((slot.id, "func"))
                log.warning("%s: unknown key function 0x%02X; acknowledged and dropped", slot.id, msg.func)
            return []
        if key == "rate":
            try:
                level = L.legacy_level(msg.data[0] if msg.data else 0)
            except L.LegacyError as e:
                log.warning("%s: %s", slot.id, e)
                return []
            return [KeyEvent(slot.id, slot.cfg.window, "rate", level=level)]
        return [KeyEvent(slot.id, slot.cfg.window, key, arg=msg.data.decode("ascii", "replace"))]

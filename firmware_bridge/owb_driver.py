"""Driver for our OWB/1 protocol (:mod:`firmware_bridge.frames`).

Keys are never lost nor doubled: a device keeps each key event (with an id
1..255) until a later POLL carries that id as its acknowledgement, and the
driver drops an event id it has just delivered (its ack got lost and the
device said it again).  A device that powered up blank says so in the flags
byte of ACK/INFO, and gets its view again.
"""

from __future__ import annotations

import logging
import random

from . import frames as F
from .driver import BusDriver, KeyEvent, Slot
from .evaluator import PromptView
from .keypad import KeypadView
from .ledbar import LedView

log = logging.getLogger("firmware_bridge.owb")

FLAG_NEEDS_STATE = 0x01  # in ACK / INFO: shown nothing since power-up
EXPECTED_KIND = {"ledbar": F.KIND_LEDBAR, "keypad": F.KIND_KEYPAD, "evaluator": F.KIND_EVALUATOR}


class OwbDriver(BusDriver):
    protocol = "onewindow"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._parser = F.FrameParser()
        # sequence numbers count per device: only a retransmission repeats one, so a
        # device can tell "the same request again" from "a new request that looks the
        # same" (two POLLs). With one counter for the whole line, every 16th request to
        # a device reused its last number and got the cached reply instead of a poll.
        # A random start keeps a restarted bridge from matching the device's cache.
        self._seqs = {s.id: random.randrange(16) for s in self._order}
        self._warned: set[tuple[str, str]] = set()
        # a plain poll (nothing to acknowledge) and its "no key" ACK, per device and
        # sequence number, built once: most of a line's traffic is these 16 pairs
        self._plain_polls: dict[str, list[tuple[bytes, bytes] | None]] = {s.id: [None] * 16 for s in self._order}

    def _frame(self, slot: Slot, cmd: int, payload: bytes = b"") -> bytes:
        seq = self._seqs[slot.id] = (self._seqs[slot.id] + 1) & 0x0F
        return F.encode(slot.cfg.address, cmd, payload, seq=seq)

    def update_request(self, slot: Slot, view) -> bytes | None:
        if isinstance(view, LedView):
            enc = view.encoded()
            scroll = any(len(b) > slot.cfg.columns for b in enc)
            return self._frame(slot, F.LED_TEXT, F.led_payload(enc, view.flash_s, scroll))
        if isinstance(view, KeypadView):
            return self._frame(slot, F.KEYPAD_SHOW, F.keypad_payload(view.status, view.waiting, view.number))
        if isinstance(view, PromptView):
            if view.ticket is None:
                return self._frame(slot, F.EVAL_CANCEL)
            return self._frame(slot, F.EVAL_PROMPT, F.prompt_payload(view.timeout_s, view.number))
        raise TypeError(f"no OWB request for {type(view).__name__}")

    def poll_request(self, slot: Slot) -> bytes:
        if slot.pending_ack:
            return self._frame(slot, F.POLL, bytes((slot.pending_ack,)))
        seq = self._seqs[slot.id] = (self._seqs[slot.id] + 1) & 0x0F
        pair = self._plain_polls[slot.id][seq]
        if pair is None:
            a = slot.cfg.address
            pair = self._plain_polls[slot.id][seq] = (
                F.encode(a, F.POLL, b"\x00", seq=seq), F.encode(a, F.ACK, b"\x00", seq=seq, reply=True))
        return pair[0]

    def quiet_reply(self, slot: Slot, request: bytes) -> bytes | None:
        """ACK with no flags to a plain poll: no key, not blank since power-up."""
        if request[3] != F.POLL or request[5] != 0:
            return None
        pair = self._plain_polls[slot.id][request[2] & 0x0F]
        return pair[1] if pair is not None and pair[0] == request else None

    def probe_request(self, slot: Slot) -> bytes:
        return self._frame(slot, F.PING)

    def is_reply(self, slot: Slot, request: bytes, msg: F.Frame) -> bool:
        return msg.reply and msg.addr == slot.cfg.address and msg.seq == (request[2] & 0x0F)

    def _warn_once(self, slot: Slot, what: str, text: str, *args) -> None:
        if (slot.id, what) not in self._warned:
            self._warned.add((slot.id, what))
            log.warning(text, *args)

    def handle_reply(self, slot: Slot, kind: str, msg: F.Frame) -> list[KeyEvent]:
        if msg.cmd in (F.ACK, F.INFO):
            flags = 0
            if msg.cmd == F.ACK and msg.payload:
                flags = msg.payload[0]
            elif msg.cmd == F.INFO and len(msg.payload) >= 4:
                flags = msg.payload[3]
                if msg.payload[0] != EXPECTED_KIND[slot.cfg.kind]:
                    self._warn_once(slot, "kind", "%s: address %d answers as a %s, configured as %s",
                                    slot.id, slot.cfg.address,
                                    F.KIND_NAMES.get(msg.payload[0], "?"), slot.cfg.kind)
            if kind == "poll":
                slot.pending_ack = 0
            if flags & FLAG_NEEDS_STATE:
                # power-cycled: its event ids restart too
                slot.confirmed = None
                slot.last_event = None
            return []
        if msg.cmd == F.NAK:
            self._warn_once(slot, f"nak{msg.payload[:1].hex()}", "%s refused a request (NAK %s)",
                            slot.id, msg.payload.hex())
            return []
        if msg.cmd == F.EVENT:
            try:
                eid, key, arg = F.parse_event(msg.payload)
            except F.FrameError as e:
                self._warn_once(slot, "event", "%s: bad event %s (%s); acknowledged and dropped",
                                slot.id, msg.payload.hex(), e)
                if msg.payload and msg.payload[0]:
                    # a key we cannot read is still acknowledged: the device holds its
                    # events in order until acked, so one unknown code (newer firmware,
                    # a stuck key) would otherwise block every later key of that keypad
                    slot.pending_ack = msg.payload[0]
                    self.schedule(slot, 0.0)
                return []
            slot.pending_ack = eid
            self.schedule(slot, 0.0)  # drain its queue: poll it again at once
            if eid == slot.last_event:
                return []
            slot.last_event = eid
            return [_key_event(slot, key, arg)]
        self._warn_once(slot, f"cmd{msg.cmd}", "%s: unexpected reply 0x%02X", slot.id, msg.cmd)
        return []


def _key_event(slot: Slot, key: str, arg: bytes) -> KeyEvent:
    if key == "rate":
        level = arg[0] if arg and 1 <= arg[0] <= 5 else None
        return KeyEvent(slot.id, slot.cfg.window, "rate", level=level)
    if key == "rate_timeout":
        return KeyEvent(slot.id, slot.cfg.window, "rate", level=None)
    return KeyEvent(slot.id, slot.cfg.window, key, arg=arg.decode("ascii", "replace"))

"""The SMS outbox: an engine extension between the rules and the sender process.

* A message is a row of the ``sms`` table written in the same transaction as
  the ticket change that caused it, and published on ``device/<sender>/sms``
  (QoS 1) only after that commit.
* It is resent every ``resend_s`` until the sender reports a state on
  ``device/<sender>/request/sms_status``; a sender (re)starting asks
  ``…/request/sms_sync`` and gets every pending message at once.  So neither
  an engine crash nor a sender restart nor a broker hiccup loses one; the
  sender's own journal keeps a resent message from being sent twice.
* A message still unsent ``expire_s`` after it was due is dropped (``expired``).
* The full phone number is in the row and in the request to the sender; logs
  here show it masked.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hall import messages as m
from hall.clock import local_day, local_dt
from hall.pii import mask
from hall.errors import ErrorCode as E

from .domain import DomainEvent
from .engine import Emit, Engine, Refused
from .extension import ExtOut
from .sms_rules import FINAL, Reason, SmsRecord, SmsRules

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger("caller.sms")


QUEUED_RESEND_FACTOR = 6  # the sender journalled it: ask again only now and then



class SmsOutbox:
    name = "sms"

    def __init__(self, cfg: Any):
        self.rules = SmsRules()
        self.pending: dict[str, SmsRecord] = {}

    # ---------------------------------------------------------------- life --
    def restore(self, store: Store, engine: Engine, now: float) -> None:
        self.rules.restore(store.sms_rows(engine.day), list(engine.tickets.values()), engine.day)
        for rec in store.sms_unfinished():
            self.pending[rec.id] = rec

    def ops(self) -> dict[str, type]:
        return {"device.sms_status": m.SmsStatusRequest, "device.sms_sync": m.SmsSyncRequest}

    # ------------------------------------------------------------- helpers --
    def _request(self, rec: SmsRecord, now: float) -> tuple[SmsRecord, Emit]:
        rec.attempts += 1
        rec.last_sent_at = now
        req = m.SmsRequest(sms=rec.id, ticket=rec.ticket, reason=rec.reason, phone=rec.phone,
                           text=rec.text, lang=rec.lang, at=rec.created_at, expires_at=rec.expires_at,
                           attempt=rec.attempts)
        return rec, Emit("device.sms", self._sender_id, req)

    _sender_id = "sms1"  # from the config in force, refreshed at every batch

    def enqueue(self, sms_id: str, about: str, phone: str, text: str, engine: Engine, now: float,
                reason: Reason = "supervision", lang: str = "zh-CN", due_at: float = 0.0) -> ExtOut:
        """A message that belongs to no ticket (an alert to the supervision office, a
        case's step told to its applicant): one row and one request, kept and resent
        like any other. ``sms_id`` is unique (the row's key: never sent twice);
        ``about`` (in the row's ticket column) says what it is about. A ``due_at``
        after ``now`` holds it (the row only, kept over a restart) until the tick
        that reaches it; its row belongs to the day it is due, so the day's purge
        of personal data does not take its phone while it waits."""
        sc = engine.cfg.notify.sms
        self._sender_id = sc.sender_id
        held = due_at > now
        rec = SmsRecord(id=sms_id, day=local_day(due_at, engine.tz) if held else engine.day, ticket=about,
                        reason=reason, phone=phone, text=text, lang=lang, state="pending", created_at=now,
                        expires_at=max(now, due_at) + sc.expire_s, updated_at=now, due_at=due_at)
        self.pending[rec.id] = rec
        if held:
            log.info("sms %s to %s held until %s", rec.id, mask(rec.phone, "phone"),
                     local_dt(due_at, engine.tz).isoformat(timespec="minutes"))
            return ExtOut(records=[rec])
        rec, ev = self._request(rec, now)
        log.info("sms %s to %s queued", rec.id, mask(rec.phone, "phone"))
        return ExtOut(events=[ev], records=[rec])

    # ---------------------------------------------------------------- core --
    def on_events(self, events: list[DomainEvent], engine: Engine, now: float) -> ExtOut:
        out = ExtOut()
        sc = engine.cfg.notify.sms
        if not sc.enabled or not events:
            return out
        self._sender_id = sc.sender_id
        for rec in self.rules.batch(engine.cfg, engine, events, now):
            if rec.state == "pending":
                self.pending[rec.id] = rec
                rec, ev = self._request(rec, now)
                out.events.append(ev)
                log.info("sms %s to %s queued", rec.id, mask(rec.phone, "phone"))
            out.records.append(rec)
        return out

    def handle(self, op: str, ident: str, req: Any, engine: Engine, now: float) -> tuple[Any, ExtOut]:
        sc = engine.cfg.notify.sms
        if ident != sc.sender_id:
            raise Refused(E.UNKNOWN_SENDER, f"{ident!r} is not this hall's SMS sender ({sc.sender_id})")
        self._sender_id = sc.sender_id
        if op == "device.sms_sync":
            out = ExtOut()
            for rec in self.pending.values():
                if rec.due_at > now:
                    continue  # held: the tick sends it when it is due
                rec, ev = self._request(rec, now)
                out.events.append(ev)
                out.records.append(rec)
            return m.SmsPending(pending=len(self.pending)), out
        rec = self.pending.get(req.sms)
        if rec is None:  # already final (a re-report after a restart) or unknown: nothing to change
            return m.SmsStatusAck(sms=req.sms, state=req.state), ExtOut()
        rec.state = req.state
        rec.parts = req.parts
        rec.refs = list(req.refs)
        rec.detail = req.error
        rec.updated_at = now
        if rec.state in FINAL:
            del self.pending[rec.id]
        level = logging.WARNING if req.state in ("failed", "unknown") else logging.INFO
        log.log(level, "sms %s to %s: %s%s", rec.id, mask(rec.phone, "phone"), req.state,
                f" ({req.error})" if req.error else "")
        return m.SmsStatusAck(sms=rec.id, state=rec.state), ExtOut(records=[rec])

    def tick(self, engine: Engine, now: float) -> ExtOut:
        out = ExtOut()
        sc = engine.cfg.notify.sms
        if not sc.enabled:
            return out
        self._sender_id = sc.sender_id
        for rec in list(self.pending.values()):
            if rec.due_at > now:
                continue
            if now >= rec.expires_at:
                rec.state, rec.detail, rec.updated_at = "expired", "not sent in time", now
                del self.pending[rec.id]
                out.records.append(rec)
                log.warning("sms %s to %s expired unsent", rec.id, mask(rec.phone, "phone"))
                continue
            every = sc.resend_s * (QUEUED_RESEND_FACTOR if rec.state == "queued" else 1)
            if now - rec.last_sent_at >= every:
                rec, ev = self._request(rec, now)
                out.events.append(ev)
                out.records.append(rec)
        # the hall reopening (after lunch) lets waiting tickets be judged again
        for rec in self.rules.batch(engine.cfg, engine, [], now):
            if rec.state == "pending":
                self.pending[rec.id] = rec
                rec, ev = self._request(rec, now)
                out.events.append(ev)
            out.records.append(rec)
        return out

    def republish(self, engine: Engine, now: float) -> list[Emit]:
        return []  # requests are events; the tick resends what is pending

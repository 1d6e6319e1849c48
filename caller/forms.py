"""Forms filled once: the engine extension that keeps citizens' profiles and the
forms issued with tickets, encrypted.

* **Profiles** (``kiosk/<id>/request/profile_get|profile_put|profile_erase``):
  a citizen's basic data by profile key (name, phone, address, employer…),
  found by ``DataCipher.lookup_hash(id_number)`` and stored as one Fernet
  token.  The kiosk asks for one only after the citizen agreed on its consent
  screen, and saves one only then; the citizen erases it there.  A profile
  expires ``privacy.profile_retention_days`` after it was last saved.
* **Ticket forms**: the core checks a form in the ``issue`` request and hands
  it over as a ``FormFilled`` event (the ticket record never holds it); here it is
  sealed into ``ticket_forms`` in the same transaction as the ticket, and the
  window serving the ticket reads it with ``window/<id>/request/form``.
  Erased ``privacy.form_retention_days`` after the visit.

Replies with personal data go to the asking kiosk or window only (ACL
``%u`` patterns) and are never retained; logs name fields and masked values.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from hall import messages as m
from hall.clock import local_day
from hall.config.forms import PROFILE_KEYS
from hall.crypto import DataCipher, KeyError_, new_key
from hall.forms import check_value, filled_count, merged_form
from hall.pii import mask
from hall.errors import ErrorCode as E

from .domain import DomainEvent, FormFilled
from .engine import Emit, Engine, Refused
from .extension import ExtOut
from .form_records import FormsPurge, ProfileDrop, ProfileRow, TicketFormRow
from .model import ACTIVE

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger("caller.forms")

PURGE_EVERY_S = 600.0
RECENT = 512  # rows written in a batch that may not be committed yet when the next batch reads


def engine_cipher() -> DataCipher:
    """The hall's data key; without one (a desk demo) a key for this run only,
    so personal data is still never stored in clear — it just does not
    outlive the process."""
    try:
        return DataCipher.from_env()
    except KeyError_ as e:
        log.warning("%s: profiles and forms kept now are unreadable after a restart", e)
        return DataCipher(new_key())


class Forms:
    name = "forms"
    # window.visit (the core's) carries the form this extension hands it
    unrecorded = frozenset({"kiosk.profile_get", "kiosk.profile_put", "window.form", "window.visit"})

    def __init__(self, cfg: Any, cipher: DataCipher):
        self.cipher = cipher
        self.store: Store | None = None
        # puts and erases of the last batches: the store's reader sees only what is committed
        self._profiles: OrderedDict[str, ProfileRow | None] = OrderedDict()
        self._forms: OrderedDict[str, TicketFormRow] = OrderedDict()
        self._next_purge = 0.0

    # ---------------------------------------------------------------- life --
    def restore(self, store: Store, engine: Engine, now: float) -> None:
        self.store = store
        engine.form_of = lambda t: self._ticket_form(t)[1]

    def ops(self) -> dict[str, type]:
        return {"kiosk.profile_get": m.ProfileRef, "kiosk.profile_put": m.ProfilePutRequest,
                "kiosk.profile_erase": m.ProfileRef, "window.form": m.Plain}

    def republish(self, engine: Engine, now: float) -> list[Emit]:
        return []  # nothing of it is ever retained

    # ------------------------------------------------------------- helpers --
    @staticmethod
    def _remember(cache: OrderedDict, key: str, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > RECENT:
            cache.popitem(last=False)

    def _profile(self, key: str, now: float) -> dict[str, str] | None:
        row = self._profiles[key] if key in self._profiles else (self.store.profile(key) if self.store else None)
        if row is None or row.expires_at <= now:
            return None
        try:
            return self.cipher.decrypt_json(row.data)
        except KeyError_:
            log.warning("a profile does not decrypt with this data key; treated as absent")
            return None

    def _checked_profile(self, engine: Engine, values: dict[str, str]) -> dict[str, str]:
        fields = {f.profile: f for f in engine.cfg.forms.fields if f.profile}
        out = {}
        for k, v in values.items():
            v = v.strip()
            if k not in PROFILE_KEYS:
                raise Refused(E.BAD_PROFILE, f"field {k}: not a profile key")
            if k not in fields:
                raise Refused(E.BAD_PROFILE, f"field {k}: no form of this hall uses it")
            if not v:
                continue
            why = check_value(fields[k], v)
            if why:
                raise Refused(E.BAD_PROFILE, f"field {k}: {why}")
            out[k] = v
        return out

    # ----------------------------------------------------------------- ops --
    def handle(self, op: str, ident: str, req: Any, engine: Engine, now: float) -> tuple[Any, ExtOut]:
        if op == "window.form":
            return self._window_form(ident, engine), ExtOut()
        id_number = req.id_number.upper()
        key = self.cipher.lookup_hash(id_number)
        if op == "kiosk.profile_get":
            values = self._profile(key, now)
            log.info("kiosk %s: profile of %s %s", ident, mask(id_number, "id_number"),
                     "found" if values is not None else "not found")
            return m.ProfileData(found=values is not None, values=values or {}), ExtOut()
        if op == "kiosk.profile_erase":
            existed = self._profile(key, now) is not None
            self._remember(self._profiles, key, None)
            log.info("kiosk %s: profile of %s erased by the citizen", ident, mask(id_number, "id_number"))
            return m.ProfileErased(erased=existed), ExtOut(records=[ProfileDrop(key=key)])
        # profile_put: what was kept, updated by what was typed now
        values = {**(self._profile(key, now) or {}), **self._checked_profile(engine, req.values)}
        values["id_number"] = id_number
        expires = now + engine.cfg.privacy.profile_retention_days * 86400
        row = ProfileRow(key=key, updated_at=now, expires_at=expires, data=self.cipher.encrypt_json(values))
        self._remember(self._profiles, key, row)
        log.info("kiosk %s: profile of %s saved (%d fields)", ident, mask(id_number, "id_number"), len(values))
        return m.ProfileData(found=True, values={}, expires_at=expires), ExtOut(records=[row])

    def _window_form(self, wid: str, engine: Engine) -> m.FilledForm:
        w = engine.windows.get(wid)
        if w is None:
            raise Refused(E.UNKNOWN_WINDOW, f"no window {wid!r} in this hall")
        t = engine.tickets.get(w.current or "")
        if t is None or t.state not in ACTIVE:
            raise Refused(E.NO_TICKET, f"window {wid} is serving no ticket")
        target, values = self._ticket_form(t)
        filled, total = filled_count(merged_form(engine.cfg, target), values)
        return m.FilledForm(ticket=t.id, number=t.number, target=target, values=values or {},
                            filled=filled, total=total)

    def _ticket_form(self, t: Any) -> tuple[str, dict[str, str] | None]:
        """(whose form it is, the values) of a ticket; None when it came without one."""
        row = self._forms.get(t.id) or (self.store.ticket_form(t.id) if self.store else None)
        if row is None:
            return t.bundle or t.matter or t.service, None
        try:
            return row.target, self.cipher.decrypt_json(row.data)
        except KeyError_:
            log.warning("the form of %s does not decrypt with this data key", t.number)
            return row.target, None

    # -------------------------------------------------------------- events --
    def on_events(self, events: list[DomainEvent], engine: Engine, now: float) -> ExtOut:
        out = ExtOut()
        for ev in events:
            if not isinstance(ev, FormFilled):
                continue
            row = TicketFormRow(ticket=ev.ticket, day=ev.day, target=ev.target,
                                data=self.cipher.encrypt_json(ev.values))
            self._remember(self._forms, ev.ticket, row)
            out.records.append(row)
        return out

    def tick(self, engine: Engine, now: float) -> ExtOut:
        if now < self._next_purge:
            return ExtOut()
        self._next_purge = now + PURGE_EVERY_S
        fc = engine.cfg.privacy
        today = dt.date.fromisoformat(local_day(now, engine.tz))
        before = (today - dt.timedelta(days=fc.form_retention_days)).isoformat()
        self._profiles = OrderedDict((k, r) for k, r in self._profiles.items() if r is None or r.expires_at > now)
        self._forms = OrderedDict((k, r) for k, r in self._forms.items() if r.day >= before)
        return ExtOut(records=[FormsPurge(profiles_before=now, forms_before_day=before)])

"""Is the requester one the config knows, for the kind it speaks as?

The broker's ACL already confines each login to its own topics; this is the
engine's own check behind it (a hand-edited ACL, a login left over from an
old config): a request on ``kiosk/<id>/request/…`` is served only if ``<id>``
is a configured kiosk, so a display, or a kiosk the config no longer lists,
cannot take a number; ``device/<id>`` must be its SMS sender, ``config/<id>``
and ``alert/<id>`` an admin; the case ops on ``device/<id>`` an outside case
system (``cases.systems``), and no SMS sender may speak them. ``window/<id>`` is checked where the engine looks
the window up (``unknown_window``): which bridge or terminal may speak for a
window is the broker's to enforce, the engine cannot see the login.
"""

from __future__ import annotations

from hall.config import HallConfig
from hall.config.access import identities
from hall.topics import Parsed

# request kind (topic level) -> identity kinds that speak as it
SPEAKERS = {"kiosk": ("kiosk",), "device": ("sender",), "config": ("admin",), "alert": ("admin",)}
# ops of a kind that only some of its speakers may send (as hall/acl.py OP_REQUESTERS)
OP_SPEAKERS = {"device.case_open": ("casesys",), "device.case_step": ("casesys",),
               "device.case_extend": ("casesys",)}


def _known(config: HallConfig) -> dict[str, frozenset[str]]:
    cached = config.__dict__.get("_requesters")
    if cached is None:  # once per config object: pushes make a new one
        by_kind: dict[str, set[str]] = {}
        for ident in identities(config):
            by_kind.setdefault(ident.kind, set()).add(ident.id)
        cached = {k: frozenset(by_kind.get(k, ())) for k in ("kiosk", "sender", "admin", "casesys")}
        object.__setattr__(config, "_requesters", cached)  # frozen model: cache beside it
    return cached


def refused_requester(config: HallConfig, parsed: Parsed) -> str | None:
    """Why this request's id may not ask, or None if it may."""
    kind = parsed.spec.kind.value
    if kind == "window":
        return None
    known = _known(config)
    speakers = OP_SPEAKERS.get(f"{kind}.{parsed.spec.op}") or SPEAKERS.get(kind)
    if speakers is None:
        return f"no requester of kind {kind!r} is configured"
    if any(parsed.ident in known[s] for s in speakers):
        return None
    what = " or ".join(speakers)
    return f"{parsed.ident!r} is not a configured {what} of this hall"

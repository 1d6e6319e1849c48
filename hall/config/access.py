"""Who may be on the hall bus: one MQTT username per device, terminal and person.

Kiosks (``kiosks.devices``), wall displays (``screens.displays``) and the SMS
sender (``notify.sms.sender_id``) are named in their own sections; this
section names the rest: the engine, each device bridge with the serial lines
and input devices it drives (hence its windows), each soft terminal (the
``onewindow web`` window terminal) with the windows it may act for, the voice
announcers, the admins and read-only monitors. :func:`identities` lists them all with their kind;
the broker ACL (``onewindow acl``), the credentials (``onewindow creds``) and
the engine's requester check are all made from that one list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field

from .base import Ident, Strict


class BridgeAccess(Strict):
    id: Ident = Field(description="The bridge's MQTT username (also `onewindow bridge --id` and its "
                                  "`device/<id>/availability`).")
    lines: list[Ident] = Field(default=[], description="`devices.lines` it drives; their devices' windows "
                                                       "are the only windows it may act for.")
    inputs: list[Ident] = Field(default=[], description="`devices.inputs` (keypads, scanners) it reads.")


class TerminalAccess(Strict):
    id: Ident = Field(description="The terminal's MQTT username, e.g. `web` for `onewindow web`.")
    windows: list[Ident] = Field(min_length=1, description="Windows whose requests it may send and "
                                                           "whose state it may read.")


class AccessConfig(Strict):
    engine: Ident = Field("onewindow-caller", description="The queue engine's MQTT username.")
    bridges: list[BridgeAccess] = Field(default=[], description="Device bridges, one per Pi with serial "
                                                                "lines or USB keypads/scanners.")
    terminals: list[TerminalAccess] = Field(default=[], description="Soft window terminals (web window "
                                                                    "terminal, soft callers).")
    announcers: list[Ident] = Field(default=[], description="Voice announcers (`onewindow announcer --id`).")
    admins: list[Ident] = Field(default=["admin"], description="Admin and supervisor accounts (config "
                                                               "push, follow-ups, case board); they read no "
                                                               "personal-data topic.")
    monitors: list[Ident] = Field(default=[], description="Read-only watchers of availability, alerts and "
                                                          "statistics (`onewindow metrics`); no personal data.")


KINDS = ("engine", "kiosk", "display", "announcer", "bridge", "terminal", "sender", "admin", "monitor",
         "casesys")


@dataclass(frozen=True)
class Identity:
    """One MQTT username and what it stands for.

    ``windows``: windows it may act for (bridge, terminal) or show (a
    window-grid display); ``devices``: ids
    of ``device/<id>/…`` topics it publishes (its own availability, a kiosk's
    printer, a bridge's LED bars, keypads, evaluators and scanners);
    ``scanners``: scanner device ids whose reads it publishes (a bridge) or
    may see (a terminal: the scanners at its windows).
    """

    id: str
    kind: str
    windows: frozenset[str] = field(default_factory=frozenset)
    devices: frozenset[str] = field(default_factory=frozenset)
    scanners: frozenset[str] = field(default_factory=frozenset)


def _bridge(cfg, b: BridgeAccess) -> Identity:
    lines = set(b.lines)
    serial = [d for d in cfg.devices.serial if d.line in lines]
    inputs = [d for d in cfg.devices.inputs if d.id in set(b.inputs)]
    windows = {d.window for d in serial} | {d.window for d in inputs if d.window}
    return Identity(b.id, "bridge", frozenset(windows),
                    frozenset({b.id} | {d.id for d in serial} | {d.id for d in inputs}),
                    frozenset(d.id for d in inputs if d.kind == "scanner"))


def identities(cfg) -> list[Identity]:
    """Every identity of a :class:`hall.config.HallConfig`, engine first."""
    a: AccessConfig = cfg.access
    out = [Identity(a.engine, "engine")]
    for k in cfg.kiosks.devices:
        out.append(Identity(k.id, "kiosk", devices=frozenset({k.id, k.printer.id or k.id})))
    for d in cfg.screens.displays:
        # a window-grid display shows every window of its zones (all zones: every window)
        grid = {w.id for w in cfg.windows if not d.zones or w.zone in d.zones} if d.style == "windows" else set()
        out.append(Identity(d.id, "display", frozenset(grid)))
    out += [Identity(i, "announcer") for i in a.announcers]
    out += [_bridge(cfg, b) for b in a.bridges]
    for t in a.terminals:
        scanners = {d.id for d in cfg.devices.inputs if d.kind == "scanner" and d.window in set(t.windows)}
        out.append(Identity(t.id, "terminal", frozenset(t.windows), scanners=frozenset(scanners)))
    sid = cfg.notify.sms.sender_id
    out.append(Identity(sid, "sender", devices=frozenset({sid})))
    out += [Identity(i, "admin") for i in a.admins]
    out += [Identity(i, "monitor") for i in a.monitors]
    # an outside case system (审批系统, docs/cases.md): its own device/<id> requests and availability
    out += [Identity(s.id, "casesys", devices=frozenset({s.id})) for s in cfg.cases.systems]
    return out


def access_problems(cfg) -> list[tuple[str, str]]:
    """Ids shared across kinds, unknown lines, inputs or windows, and a device
    topic two identities would both publish, as (path, reason)."""
    problems: list[tuple[str, str]] = []
    a: AccessConfig = cfg.access
    lines = {ln.id for ln in cfg.devices.lines}
    inputs = {d.id for d in cfg.devices.inputs}
    windows = {w.id for w in cfg.windows}
    owners: dict[str, dict[str, str]] = {"lines": {}, "inputs": {}}
    for i, b in enumerate(a.bridges):
        for attr, known, what, verb in (("lines", lines, "line", "driven"), ("inputs", inputs, "input", "read")):
            for x in getattr(b, attr):
                owner = owners[attr]
                if x not in known:
                    problems.append((f"access.bridges[{i}].{attr}", f"unknown {what} {x!r}"))
                elif x in owner:
                    problems.append((f"access.bridges[{i}].{attr}",
                                     f"{what} {x!r} is already {verb} by {owner[x]!r}"))
                owner.setdefault(x, b.id)
    for i, t in enumerate(a.terminals):
        for w in t.windows:
            if w not in windows:
                problems.append((f"access.terminals[{i}].windows", f"unknown window {w!r}"))
    kind_of: dict[str, str] = {}
    for ident in identities(cfg):
        other = kind_of.get(ident.id)
        if other is not None:
            problems.append(("access", f"id {ident.id!r} is both a {other} and a {ident.kind}: "
                                       "every MQTT username must be unique across kinds"))
        kind_of.setdefault(ident.id, ident.kind)
    publisher: dict[str, str] = {}
    for ident in identities(cfg):
        for dev in sorted(ident.devices):
            other = publisher.get(dev)
            if other is not None and other != ident.id:
                problems.append(("access", f"device id {dev!r} would be published by both {other!r} "
                                           f"and {ident.id!r}"))
            publisher.setdefault(dev, ident.id)
    return problems

"""电子监察 on the floor: long waits, long queues, paused and idle windows, 忙闲不均.

An engine extension (caller/extension.py). Every tick it measures, from the
core's state (read only) and the time it is given:

* ``long_wait`` — a matter's (or bundle's) oldest waiting ticket has waited
  ``supervision.long_wait_minutes`` (id ``long_wait.<matter>``, with that ticket's
  number);
* ``long_queue`` — ``supervision.long_queue`` tickets wait for one matter;
* ``paused`` — a window paused for ``paused_minutes`` in service hours (空岗);
* ``idle`` — a window open with nobody called for ``idle_minutes`` in service
  hours while tickets it may serve wait (空岗: 有人无服务);
* ``imbalance`` — the balancer's imbalance index reached ``supervision.imbalance``,
  with its suggestion of which comprehensive windows to switch to which matters.

(A window in service hours with nobody logged in is the core's own
``alert/<window>/unattended``; cases past their deadline are ``alert/<case>/case``
and bad reviews ``alert/<id>/followup``.)

Each alert is retained on ``alert/<kind>.<subject>/supervision`` while it lasts and
cleared with an empty retained message. Hysteresis: a measured alert clears only
when its figure falls under ``clear_ratio`` of its threshold, and none clears
within ``hold_s`` of being raised, so an alert does not flap around its line.
Nothing personal is in an alert: ids, window numbers, ticket numbers, counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from hall import messages as m
from hall.clock import local_dt

from .domain import DomainEvent
from .engine import Emit, Engine
from .extension import ExtOut

if TYPE_CHECKING:
    from .store import Store

KINDS = ("long_wait", "long_queue", "paused", "idle", "imbalance")


@dataclass(frozen=True)
class Reading:
    """One measured condition this tick: over its threshold (raise), or under its
    clearing line (clear); in between nothing changes."""

    kind: str
    subject: str
    value: float
    threshold: float
    over: bool
    under: bool


class Supervision:
    name = "supervision"

    def __init__(self, cfg: Any, sms: Any = None):
        self.sms = sms  # the SMS outbox (caller/sms_outbox.py), for supervision.sms_to
        self.raised: dict[str, m.SupervisionAlert] = {}  # alert id → the alert as published
        self.idle_since: dict[str, float] = {}  # window → open, calling nobody, with tickets waiting
        self._swept = False  # ids of a run before a restart are cleared once

    # ----------------------------------------------------------- protocol --
    def restore(self, store: "Store", engine: Engine, now: float) -> None:
        return None

    def ops(self) -> dict[str, type]:
        return {}

    def handle(self, op: str, ident: str, req: Any, engine: Engine, now: float) -> tuple[Any, ExtOut]:
        raise KeyError(op)

    def on_events(self, events: list[DomainEvent], engine: Engine, now: float) -> ExtOut:
        return ExtOut()  # measured each tick, from the core's state at that moment

    def republish(self, engine: Engine, now: float) -> list[Emit]:
        out = [Emit("alert.supervision", aid, a) for aid, a in self.raised.items()]
        if not self._swept:
            # after a restart the broker may still hold alerts this run never raised
            self._swept = True
            out += [Emit("alert.supervision", aid, b"") for aid in self._possible(engine)
                    if aid not in self.raised]
        return out

    def tick(self, engine: Engine, now: float) -> ExtOut:
        return self.judge(self.readings(engine, now), engine, now)

    # ------------------------------------------------------------ measures --
    def readings(self, engine: Engine, now: float) -> list[Reading]:
        """The readings that can change something this tick: those over their
        threshold, and those of the alerts raised now (which may clear).  Any
        other reading — under its threshold, no alert — would leave everything
        as it is, so none is made: a tick of a 1,000-window hall costs the
        windows' few comparisons, not thousands of readings to judge."""
        s = engine.cfg.supervision
        r = s.clear_ratio
        raised: dict[str, set[str]] = {}  # kind → subjects with an alert up
        for a in self.raised.values():
            raised.setdefault(a.kind, set()).add(a.subject)
        out: list[Reading] = []

        def read(kind: str, subject: str, value: float, threshold: float, over: bool, under: bool) -> None:
            if over or subject in raised.get(kind, ()):
                out.append(Reading(kind, subject, value, threshold, over, under))

        for line, n in engine.routing.waiting_by_line.items():
            if line.startswith("@") or not n:
                continue  # a ticket sent to one window waits in that window's line: its window's alerts
            oldest = engine.routing.oldest(line)
            wait = (now - oldest) / 60.0 if oldest is not None else 0.0
            read("long_wait", line, round(wait, 1), s.long_wait_minutes,
                 wait >= s.long_wait_minutes, wait < s.long_wait_minutes * r)
            read("long_queue", line, n, s.long_queue, n >= s.long_queue, n < s.long_queue * r)
        in_hours = engine.cfg.service_hours.is_open(local_dt(now, engine.tz))
        waiting_for = engine.routing.waiting_for_window
        idle_since = self.idle_since
        paused_up, idle_up = raised.get("paused", ()), raised.get("idle", ())
        for wc in engine.cfg.windows:
            wid = wc.id
            w = engine.windows.get(wid)
            if w is None:
                continue
            status = w.status if in_hours else "closed"  # out of hours nobody is paused or idle
            # a window neither paused, nor idle, nor with an alert up reads 0 and "under"
            # on both measures: nothing to judge (the common case, kept cheap)
            if status == "paused" or wid in paused_up:
                paused = (now - w.since) / 60.0 if status == "paused" else 0.0
                read("paused", wid, round(paused, 1), s.paused_minutes, paused >= s.paused_minutes,
                     paused == 0.0)
            idle = status == "open" and w.current is None and waiting_for(wid) > 0
            if idle:
                since = idle_since.setdefault(wid, now)
            elif wid in idle_since:
                del idle_since[wid]
            if idle or wid in idle_up:
                minutes = (now - since) / 60.0 if idle else 0.0
                read("idle", wid, round(minutes, 1), s.idle_minutes, minutes >= s.idle_minutes, not idle)
        index = engine.balancer.imbalance()
        out.append(Reading("imbalance", "hall", index, s.imbalance, index >= s.imbalance,
                           index < s.imbalance * r))
        return out

    @staticmethod
    def _oldest_number(engine: Engine, line: str) -> str | None:
        """The number that has waited longest in ``line`` (when raising only: it scans the tickets)."""
        best = min((t for t in engine.tickets.values() if t.state == "waiting" and engine.line_of(t) == line),
                   key=lambda t: (t.enqueued_at, t.qseq), default=None)
        return best.number if best is not None else None

    # ----------------------------------------------------- raise and clear --
    def judge(self, readings: list[Reading], engine: Engine, now: float) -> ExtOut:
        hold = engine.cfg.supervision.hold_s
        ext = ExtOut()
        out = ext.events
        seen: set[str] = set()
        for rd in readings:
            aid = f"{rd.kind}.{rd.subject}"
            seen.add(aid)
            cur = self.raised.get(aid)
            if cur is None and rd.over:
                a = self._alert(engine, rd, now)
                self.raised[aid] = a
                out.append(Emit("alert.supervision", aid, a))
                self._text(engine, aid, a, now, ext)
            elif cur is not None and rd.under and now - cur.since >= hold:
                del self.raised[aid]
                out.append(Emit("alert.supervision", aid, b""))
            elif cur is not None and rd.kind == "imbalance":
                moves = self._moves(engine, now)
                if [(x.window, x.line) for x in moves] != [(x.window, x.line) for x in cur.moves]:
                    # another suggestion (not the same one re-judged a minute later): shown at once
                    self.raised[aid] = a = m.SupervisionAlert(**{**_fields(cur), "moves": moves, "at": now})
                    out.append(Emit("alert.supervision", aid, a))
        for aid in [a for a in self.raised if a not in seen and now - self.raised[a].since >= hold]:
            del self.raised[aid]  # its subject is gone (a queue emptied, a window removed by a push)
            out.append(Emit("alert.supervision", aid, b""))
        return ext

    def _text(self, engine: Engine, aid: str, a: m.SupervisionAlert, now: float, ext: ExtOut) -> None:
        """An SMS to the supervision office for a raised alert of ``sms_kinds``."""
        s = engine.cfg.supervision
        if self.sms is None or not s.sms_to or a.kind not in s.sms_kinds or not engine.cfg.notify.sms.enabled:
            return
        text = f"【电子监察】{engine.cfg.hall.name.zh}：{alert_text(engine.cfg, msgspec.to_builtins(a))}"
        for i, phone in enumerate(s.sms_to):
            got = self.sms.enqueue(f"{aid}.{int(now)}.{i}", aid, phone, text, engine, now)
            ext.events += got.events
            ext.records += got.records

    def _alert(self, engine: Engine, rd: Reading, now: float) -> m.SupervisionAlert:
        wc = engine.cfg.window(rd.subject) if rd.kind in ("paused", "idle") else None
        return m.SupervisionAlert(kind=rd.kind, subject=rd.subject, window_number=wc.number if wc else None,
                                  value=rd.value, threshold=rd.threshold, since=now,
                                  ticket=self._oldest_number(engine, rd.subject) if rd.kind == "long_wait" else None,
                                  moves=self._moves(engine, now) if rd.kind == "imbalance" else [], at=now)

    @staticmethod
    def _moves(engine: Engine, now: float) -> list[m.BalanceMove]:
        return list(engine.balancer.view(now).suggested)

    @staticmethod
    def _possible(engine: Engine) -> list[str]:
        lines = [x.id for x in engine.cfg.matters] + [b.id for b in engine.cfg.bundles]
        windows = [w.id for w in engine.cfg.windows]
        return ([f"{k}.{x}" for k in ("long_wait", "long_queue") for x in lines]
                + [f"{k}.{w}" for k in ("paused", "idle") for w in windows] + ["imbalance.hall"])


def _name(cfg: Any, line: str) -> str:
    t = cfg.matter(line) or cfg.bundle(line)
    return t.name.zh if t else line


def alert_text(cfg: Any, a: dict) -> str:
    """One line for an ``alert/<kind>.<subject>/supervision`` (decoded): the console's
    list and the office's SMS say the same. Ids, numbers and counts only."""
    k, v, th = a["kind"], a.get("value", 0), a.get("threshold", 0)
    if k == "long_wait":
        return f"「{_name(cfg, a['subject'])}」最久已等 {v:.0f} 分钟（{a.get('ticket') or '?'}，超过 {th:g} 分钟）"
    if k == "long_queue":
        return f"「{_name(cfg, a['subject'])}」{v:.0f} 人等候（超过 {th:g} 人）"
    where = f"{a.get('window_number') or a['subject']}号窗口"
    if k == "paused":
        return f"{where} 暂停已超过 {th:g} 分钟"
    if k == "idle":
        return f"{where} 已登录，{th:g} 分钟未叫号，而可办事项有人等候"
    moves = a.get("moves") or []
    return (f"忙闲不均指数 {v:g}（≥ {th:g}）· " + (
        "建议 " + "；".join(f"{mv['window_number']}号窗口 加办「{_name(cfg, mv['line'])}」"
                          f"（该队列约需 {mv.get('clearing_min', 0):.0f} 分钟清空）" for mv in moves)
        if moves else "暂无可借调的综合窗口"))


def _fields(a: m.SupervisionAlert) -> dict[str, Any]:
    return {f: getattr(a, f) for f in a.__struct_fields__}


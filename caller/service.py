"""The engine's service: the core, its store and extensions, behind the shell.

caller/shell.py runs the network and the core in one event loop and the
SQLite commit in one thread (group commit, replies after the commit); this
module is the core's side of it: answering one request (bounds before
decode, identity, idempotency, dispatch), sealing a batch (the extensions'
reactions, the views it changed), ticks, and the retained state republished
after a reconnect.

Waiting counts live on their own topic, one small retained message per zone
(``zone/<z>/waiting``: per matter group and per window of the zone), sent at
most every ``FLUSH_S`` seconds and only where a count changed: a new ticket
costs the zones it touches, never a re-send of every window's state (at 1,000
windows that was 2,000 retained messages a second whatever the load).  A
window's state goes out only when the window itself changes; calls and window
actions are published at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

import msgspec

from hall import messages as m
from hall.bus import Bus, BusSettings
from hall.clock import Clock, SystemClock, day_span, local_day
from hall.config import HallConfig
from hall.crypto import DataCipher
from hall.errors import ErrorCode as E
from hall.pii import scrub
from hall.topics import REGISTRY, Parsed

from . import config_admin
from .committer import Work
from .config_admin import ConfigAdmin
from .engine import Changes, Emit, Engine, Refused
from .engine_health import EngineHealth
from .extension import Extension, ExtOut, check_extensions, default_extensions
from .identity import refused_requester
from .shell import Batch, EngineShell
from .store import Store

log = logging.getLogger("caller.service")

MAX_BATCH = 500
FLUSH_S = 0.5
TICK_S = 1.0
REPLY_CACHE = 5000
# The replies kept for a retry are bounded by size as well as number: an issue's
# reply names every window of its line (1 KB in a 1,000-window hall, 5 MB for
# 5,000 of them).  1 MiB still holds the last seconds at 500 issues/s, more than a
# client's retry window; an older retry is answered from the store (one look-up).
REPLY_CACHE_BYTES = 1 << 20
REQUESTER_CACHE = 10_000  # (entry, id) whose right to ask is known (_refused_requester)
BACKLOG_STEP = 16  # coalesced views sent per turn of the loop
MQTT_CLIENTS = ("gmqtt", "paho")  # the engine's MQTT client: gmqtt in the loop, or paho's own thread

ENGINE_ID = "caller"




class ClockError(RuntimeError):
    """The wall clock is behind what the store already holds."""


CLOCK_SLACK_S = 2.0  # an NTP step of a second or two is not a broken clock


def check_clock(now: float, last_issued: float | None) -> None:
    """Refuse to number tickets on a clock earlier than the last committed one:
    a Pi without its RTC that booted without time sync would start "today"
    on 1970 or last week and hand out numbers of a day that already had them."""
    if last_issued is not None and now < last_issued - CLOCK_SLACK_S:
        import datetime as dt
        fmt = lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise ClockError(f"the clock says {fmt(now)}, earlier than the last committed ticket "
                         f"({fmt(last_issued)}): refusing to number tickets; fix the time "
                         "(chronyc tracking, timedatectl) and start again")




class CallerService(EngineShell):
    """``start()`` loads the store, connects and serves; ``stop()`` leaves 'stopped'."""

    TICK_S = TICK_S
    FLUSH_S = FLUSH_S

    def __init__(self, config: HallConfig, db_path: str | Path, bus_settings: BusSettings,
                 clock: Clock | None = None, client_id: str | None = None,
                 config_path: str | Path | None = None, extensions: list[Extension] | None = None,
                 max_batch: int = MAX_BATCH, bus: Bus | None = None,
                 cipher: DataCipher | None = None, mqtt_client: str = "gmqtt"):
        self.config = config
        self.cipher = cipher  # None: loaded at start from the credential (no I/O here)
        self.config_path = Path(config_path) if config_path else None
        self.hall_id = config.hall.id
        self.clock = clock or SystemClock()
        self.extensions = check_extensions(default_extensions(config) if extensions is None else extensions)
        self._ext_ops: dict[str, Extension] = {op: x for x in self.extensions for op in x.ops()}
        # read-only ops whose replies carry personal data: answered again on a
        # retry rather than kept in the idempotency records (stored in clear)
        self._unrecorded: set[str] = {op for x in self.extensions for op in getattr(x, "unrecorded", ())}
        self.store = Store(db_path)
        self.config_admin = ConfigAdmin(config, self.config_path)
        self.engine = Engine(config)
        if bus is None:  # injected in tests (an in-process bus); the real one connects only in start()
            if mqtt_client not in MQTT_CLIENTS:
                raise ValueError(f"mqtt_client: one of {MQTT_CLIENTS}, not {mqtt_client!r}")
            from hall.loopbus import LoopBus
            bus = (LoopBus if mqtt_client == "gmqtt" else Bus)(
                self.hall_id, client_id or f"onewindow-caller-{self.hall_id}", bus_settings,
                availability=(REGISTRY["engine.availability"], ENGINE_ID))
        self.bus = bus
        self._backlog: deque[tuple[str, str]] = deque()  # coalesced views still to send
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_bytes = 0  # of the keys and replies in _cache
        self._pending_lines: set[str] = set()
        self._pending_zones: set[str] = set()
        self._sent_waiting: dict[str, tuple[dict, dict]] = {}  # zone -> counts last published
        self._summary_dirty = True
        self._routes: dict[str, tuple] = {}  # request entry -> what _answer needs of it (_route)
        self._requesters_of: HallConfig | None = None  # the config _requesters was worked out for
        self._requesters: dict[tuple[str, str], str | None] = {}
        self.health = EngineHealth(self.clock.now())  # stats/hall/engine for `onewindow metrics`
        self._init_shell(max_batch)

    # ------------------------------------------------------------ life --
    def _load(self) -> None:
        if self.cipher is None:
            self.cipher = DataCipher.from_env()  # no key, no engine: personal data is never stored in clear
        self.store.cipher = self.cipher
        self.store.open()
        now = self.clock.now()
        check_clock(now, self.store.last_issued_at())
        self.engine.restore(*self.store.load(local_day(now, self.config.hall.timezone)), now=now)
        for x in self.extensions:
            x.restore(self.store, self.engine, now)
        revisions = self.config_admin.restore(self.store.config_revisions(), now)
        if revisions:  # the file changed on the server since the last revision
            self.store.commit(Changes(), [], revisions)
        self.store.purge_personal(*self._purge_horizon(now))

    def _subscribe(self) -> None:
        for spec in REGISTRY.requests():
            op = f"{spec.kind}.{spec.op}"
            if self.engine.handles(op) or op in self._ext_ops or op in config_admin.OPS:
                self.bus.subscribe(spec, self._on_message)

    # ----------------------------------------------------------- batch --
    def _seal(self, b: Batch, now: float) -> Work:
        """The batch's changes drained, its views rendered, its replies and
        events queued behind them: everything it sends, after its commit."""
        ch = self.engine.drain()
        b.events.extend(self._after(ch, now, b.records))
        for key, _day, data in b.to_store:
            self._cache_put(key, data)  # before the commit: a retry in a later batch is
        self._cache_trim(keep=len(b.to_store))  # answered after this batch's commit anyway
        self._publish_changes(ch, now)
        for resp_spec, ident, data in b.replies:
            self._emit(resp_spec, ident, data)
        for ev in b.events:
            self._emit(REGISTRY[ev.spec], ev.ident, ev.payload)
        if b.republish:
            self._republish_all(now)
        out, self._out = self._out, []
        return Work(ch, b.to_store, b.records, out, b.prune_before, b.purge)

    def _cache_put(self, key: str, data: bytes) -> None:
        old = self._cache.pop(key, None)
        if old is not None:
            self._cache_bytes -= len(key) + len(old)
        self._cache[key] = data
        self._cache_bytes += len(key) + len(data)

    def _cache_trim(self, keep: int) -> None:
        """Oldest first, never the ``keep`` newest: the batch being sealed is not
        committed yet, so the store could not answer a retry of it."""
        while (len(self._cache) > max(keep, REPLY_CACHE)
               or (self._cache_bytes > REPLY_CACHE_BYTES and len(self._cache) > keep)):
            k, v = self._cache.popitem(last=False)
            self._cache_bytes -= len(k) + len(v)

    def _answer_once(self, parsed: Parsed, payload: bytes, now: float, b: Batch) -> None:
        """Every request gets exactly one reply, even when answering it fails
        outside the command (the core has undone the command's changes)."""
        n = len(b.replies)
        try:
            self._answer(parsed, payload, now, b)
        except Exception as e:
            log.exception("internal error answering %s from %s", parsed.spec.name, parsed.ident)
            del b.replies[n:]
            b.replies.append((REGISTRY.response_for(parsed.spec), parsed.ident, m.encode(m.Response(
                id=m.best_effort_id(payload), status="error",
                error=m.ErrorBody(code=E.INTERNAL, message=type(e).__name__)))))

    def may_speak_as(self, kind: str, ident: str) -> tuple[str, str] | None:
        """THE one place that decides whether the requester ``ident`` may make
        requests as a ``kind`` (a display may not issue); returns (code,
        message) to refuse.  Called once per request, before its payload is
        decoded.  Allows everyone until the identity check fills it in."""
        return None

    def _answer(self, parsed: Parsed, payload: bytes, now: float, b: Batch) -> None:
        """Validate one request, answer it from the idempotency record or by
        dispatching it, and add its reply to the batch."""
        spec = parsed.spec
        route = self._routes.get(spec.name) or self._route(spec)
        op, resp_spec, req_type, limit, recorded, key_kind, key_op = route

        def refuse(rid: str, code: str, message: str) -> None:
            log.warning("refused %s from %s: %s: %s", op, parsed.ident, code, scrub(message))
            b.replies.append((resp_spec, parsed.ident, m.encode(m.Response(
                id=rid, status="error", error=m.ErrorBody(code=code, message=message)))))

        refusal = self.may_speak_as(spec.kind, parsed.ident)
        if refusal is not None:
            return refuse(m.best_effort_id(payload), *refusal)
        try:  # bounds first: nothing is decoded that is too large or nests too deep
            req = m.decode(payload, req_type, limit)
        except m.Unreadable as e:
            return refuse("", e.code, e.message)
        except msgspec.ValidationError as e:
            return refuse(m.best_effort_id(payload, limit), E.BAD_REQUEST, str(e))
        except msgspec.DecodeError as e:
            return refuse("", E.BAD_JSON, str(e))
        if (why := self._refused_requester(parsed)) is not None:
            return refuse(req.id, E.FORBIDDEN, why)
        key = f"{key_kind}/{parsed.ident}/{key_op}/{req.id}"
        cached = (b.in_batch.get(key) or self._cache.get(key) or self.store.reply(key)) if recorded else None
        if cached is not None:  # a retry: the first answer again, nothing done twice
            b.replies.append((resp_spec, parsed.ident, cached))
            return
        try:
            data, err, events = self._dispatch(op, parsed.ident, req, now, b)
        except Exception as e:  # a bug must not take the hall down; the log has the trace
            log.exception("internal error on %s %s", op, parsed.ident)
            data, err, events = None, (E.INTERNAL, type(e).__name__), []
        reply = m.encode(m.Response(
            id=req.id, status="error" if err else "ok", data=data,
            error=m.ErrorBody(code=err[0], message=err[1]) if err else None))
        if recorded:
            b.in_batch[key] = reply
            b.to_store.append((key, self.engine.day, reply))
        b.replies.append((resp_spec, parsed.ident, reply))
        b.events.extend(events)

    def _route(self, spec: Any) -> tuple:
        """What :meth:`_answer` needs of a request's registry entry, worked out
        once per entry: (op, reply entry, request type, size limit, whether its
        reply is kept for a retry, the kind and op in its idempotency key)."""
        op = f"{spec.kind}.{spec.op}"
        route = (op, REGISTRY.response_for(spec), m.REQUEST_TYPES[op],
                 m.PAYLOAD_LIMITS.get(op, m.MAX_PAYLOAD),  # a whole hall config is bigger
                 # reads carrying personal data or a whole config are never kept for a retry
                 op not in m.UNRECORDED_OPS and op not in self._unrecorded,
                 str(spec.kind), spec.op)
        self._routes[spec.name] = route
        return route

    def _refused_requester(self, parsed: Parsed) -> str | None:
        """caller/identity.py's answer, kept per config, entry and id: the same
        few hundred requesters ask again and again."""
        if self._requesters_of is not self.config:
            self._requesters_of, self._requesters = self.config, {}
        key = (parsed.spec.name, parsed.ident)
        try:
            return self._requesters[key]
        except KeyError:
            pass
        why = refused_requester(self.config, parsed)
        if len(self._requesters) >= REQUESTER_CACHE:  # bounded: ids come from outside
            self._requesters.clear()
        self._requesters[key] = why
        return why

    def _dispatch(self, op: str, ident: str, req: Any, now: float,
                  b: Batch) -> tuple[Any, tuple[str, str] | None, list[Emit]]:
        if op in config_admin.OPS:
            return self._config_op(op, ident, req, now, b)
        if op in self._ext_ops:
            ext = self._ext_ops[op]
            try:
                data, xo = ext.handle(op, ident, req, self.engine, now)
            except Refused as r:
                return None, (r.code, r.message), []
            b.records.extend(xo.records)
            return data, None, xo.events
        if op.startswith("window.") and self.config.window(ident) is None:
            return None, (E.UNKNOWN_WINDOW, f"no window {ident!r} in this hall"), []
        out = self.engine.handle(op, ident, req, now)
        return out.data, out.error, out.events

    def _after(self, ch: Changes, now: float,
               records: list[Any]) -> list[Emit]:
        """Let each extension react to the batch; its records join the transaction."""
        events: list[Emit] = []
        for x in self.extensions:
            xo: ExtOut = x.on_events(ch.domain, self.engine, now)
            events.extend(xo.events)
            records.extend(xo.records)
        return events

    def _publish_changes(self, ch: Changes, now: float) -> None:
        e = self.engine
        for wid in ch.window_views:
            self._emit(REGISTRY["window.state"], wid, e.window_state(wid, now))
        for zone in ch.zone_views:
            self._emit(REGISTRY["zone.board"], zone, e.zone_board(zone, now))
        for alert in ch.alerts:
            self._emit(REGISTRY["alert.unattended"], alert.window, alert)
        if ch.balance:
            self._emit(REGISTRY["stats.balance"], "hall", e.balancer.view(now))
        self._pending_lines |= ch.waiting_lines
        self._pending_zones |= ch.waiting_zones
        if ch.balance:  # a loan changes what a window may call
            self._pending_zones.update(e.recent)
        if ch.tickets or ch.window_views:
            self._summary_dirty = True

    def _flush_waiting(self) -> None:
        """Queue the zones whose waiting counts may have changed; _send_backlog
        sends them a few at a time, so a burst never holds up a call."""
        if self._pending_lines or self._pending_zones:
            zones = self._pending_zones | self.engine.zones_of_lines(self._pending_lines)
            self._pending_lines, self._pending_zones = set(), set()
            known = set(self._backlog)
            self._backlog.extend(("zone.waiting", z) for z in sorted(zones) if ("zone.waiting", z) not in known)
        if self._summary_dirty:
            self._summary_dirty = False
            self._backlog.append(("stats.summary", "hall"))

    def _send_backlog(self) -> bool:
        """Up to BACKLOG_STEP views per turn of the loop, rendered as they go
        out (so each shows the state of its moment, not of the flush); True
        while more wait."""
        now = self.clock.now()
        e = self.engine
        for _ in range(min(BACKLOG_STEP, len(self._backlog))):
            name, ident = self._backlog.popleft()
            if name == "stats.summary":
                self._emit(REGISTRY[name], ident, e.summary(now))
            elif ident in e.recent:  # else the zone went with a config push meanwhile
                self._emit_waiting(ident, now)
        return bool(self._backlog)

    def _emit_waiting(self, zone: str, now: float, force: bool = False) -> None:
        """A zone's counts, unless they are the ones it last published."""
        view = self.engine.zone_waiting(zone, now)
        counts = (view.groups, view.windows)
        if force or self._sent_waiting.get(zone) != counts:
            self._sent_waiting[zone] = counts
            self._emit(REGISTRY["zone.waiting"], zone, view)

    def _tick(self, b: Batch) -> None:
        now = self.clock.now()
        if self.health.due(self.clock.monotonic()):
            self._emit(REGISTRY["stats.engine"], "hall", self.health.render(now, self.inbound()))
        day_before = self.engine.day
        self.engine.tick(now)
        for x in self.extensions:
            xo = x.tick(self.engine, now)
            b.events.extend(xo.events)
            b.records.extend(xo.records)
        if day_before and self.engine.day != day_before:
            self._cache.clear()
            self._cache_bytes = 0
            b.republish = True
            b.prune_before = day_before
            b.purge = self._purge_horizon(now)

    def _republish_all(self, now: float) -> None:
        """After a (re)connect: the broker may have lost its retained state."""
        e = self.engine
        for wid in e.windows:
            self._emit(REGISTRY["window.state"], wid, e.window_state(wid, now))
        for zone in e.recent:
            self._emit(REGISTRY["zone.board"], zone, e.zone_board(zone, now))
            self._emit_waiting(zone, now, force=True)
        for wid, since in e.unattended.items():
            self._emit(REGISTRY["alert.unattended"], wid,
                             m.UnattendedAlert(window=wid, active=True, since=since, at=now))
        self._emit(REGISTRY["stats.balance"], "hall", e.balancer.view(now))
        self._emit(REGISTRY["stats.summary"], "hall", e.summary(now))
        for ev in self.config_admin.republish():
            self._emit(REGISTRY[ev.spec], ev.ident, ev.payload)
        for x in self.extensions:
            for ev in x.republish(self.engine, now):
                self._emit(REGISTRY[ev.spec], ev.ident, ev.payload)

    def _config_op(self, op: str, ident: str, req: Any, now: float,
                   b: Batch) -> tuple[Any, tuple[str, str] | None, list[Emit]]:
        """config/<id>/request/…: caller/config_admin.py decides; a new config
        is on disk and in the engine before this returns."""
        try:
            out = self.config_admin.handle(op, ident, req, self.engine, now)
        except Refused as r:
            return None, (r.code, r.message), []
        if out.applied is not None:
            self.config = out.applied
            b.republish = True
        b.records.extend(out.records)
        return out.data, None, []

    def _purge_horizon(self, now: float) -> tuple[str, float]:
        """Personal data of days before this one (and appointments before its
        start) is deleted: the privacy retention after the day's close."""
        tz = self.config.hall.timezone
        day = dt.date.fromisoformat(local_day(now, tz)) - dt.timedelta(days=self.config.privacy.retention_days)
        return day.isoformat(), day_span(day.isoformat(), tz)[0]

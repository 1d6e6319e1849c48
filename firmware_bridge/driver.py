"""One RS-485 line: the loop that sends views, polls keys, and survives faults.

A ``BusDriver`` owns one :class:`~hall.seriallink.ByteLink` and the
devices configured on it; one subclass per protocol (:mod:`owb_driver`,
:mod:`legacy_driver`) only says how to build requests and read replies.

Faults, each logged once per transition, never per retry:

* a silent device (wrong address, unplugged, dead): after ``1 + retries``
  unanswered tries it goes offline and is probed again with exponential
  backoff; the other devices keep their turns;
* a lost port (USB adapter unplugged): every device goes offline, the port
  is reopened with backoff, then every device is probed;
* when a device comes back (or says it has rebooted), the view it should show
  is sent again, so an LED bar shows the current call, not a blank.

Views are what a device should show (``LedView``, ``KeypadView``,
``PromptView``); ``set_view`` is thread-safe and only wakes the loop: the
MQTT thread never touches the port.  Only the newest view of a device is
ever sent (a bar that missed three updates gets the last one).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from hall import sdnotify
from hall.clock import Clock, SystemClock
from hall.config.devices import Line, SerialDevice
from hall.seriallink import Backoff, ByteLink, LinkError

from .frames import wire_ms

log = logging.getLogger("firmware_bridge.driver")

TURNAROUND_MS = 25.0     # device's reply latency we allow for, beside wire time
MAX_REPLY_BYTES = 32
QUIET = object()  # the reply was exactly the driver's ``quiet_reply``: nothing to interpret


@dataclass(frozen=True)
class KeyEvent:
    device: str
    window: str
    key: str                  # next, recall, …, login, transfer, rate
    arg: str = ""             # digits typed (staff / window number)
    level: int | None = None  # rate: 1..5, None = the evaluator timed out


@dataclass
class Slot:
    cfg: SerialDevice
    backoff: Backoff
    desired: Any = None
    confirmed: Any = None
    online: bool | None = None      # None: not heard from since start/reopen
    retry_at: float = 0.0           # offline: next probe; online: next poll/keepalive
    pending_ack: int = 0            # event id to acknowledge in the next poll
    last_event: int | None = None   # for duplicate suppression
    announced: bool | None = None   # last availability published
    sent_at: float = -1e9           # last view sent (for coalescing non-urgent ones)
    gen: int = 0                    # schedule generation: older heap entries are stale
    stats: dict = field(default_factory=lambda: {"tx": 0, "retries": 0, "timeouts": 0, "events": 0})
    # plain attributes, not properties: read several times per transaction
    id: str = field(init=False)
    polled: bool = field(init=False)

    def __post_init__(self) -> None:
        self.id = self.cfg.id
        self.polled = self.cfg.kind in ("keypad", "evaluator")


class BusDriver:
    protocol = "?"

    def __init__(self, line: Line, devices: list[SerialDevice], link: ByteLink, *,
                 on_event: Callable[[KeyEvent], None],
                 on_availability: Callable[[SerialDevice, bool, str], None],
                 clock: Clock | None = None):
        self.line = line
        self.link = link
        self.clock = clock or SystemClock()
        self.on_event = on_event
        self.on_availability = on_availability
        cap = line.backoff_max_s
        self.slots = {d.id: Slot(d, Backoff(0.5, cap)) for d in devices}
        self._order = list(self.slots.values())
        self._rr = 0
        self._dirty: dict[str, tuple[bool, int]] = {}  # device id → (urgent, order) of pending views
        self._dirty_seq = itertools.count()
        # the pending views by when they may go, so a pick never walks them all (with
        # 100 keypads' waiting counts held back by `coalesce_ms`, a walk per transaction
        # was half the line's CPU): ready ones by (not urgent, order), held-back ones by
        # release time; an entry whose (urgent, order) is no longer _dirty's is stale
        self._ready: list[tuple[bool, int, str]] = []
        self._held: list[tuple[float, int, str]] = []
        # by due time (line thread only), O(log n) per pick: keypad/evaluator polls, and
        # the rest (LED keepalives, probes of silent devices); the two take turns, so
        # 100 LED keepalives falling due together never stall the keypads
        self._due_polls: list[tuple[float, int, str, int]] = []
        self._due_other: list[tuple[float, int, str, int]] = []
        self._due_seq = itertools.count()
        self._other_last = False
        for s in self._order:
            self.schedule(s, 0.0)
        self._lock = threading.Lock()
        # a wake-up pending = this raw lock released; the loop sleeps in acquire(timeout)
        # (one C call, where an Event's wait and clear cost ~10 µs of Python per sleep,
        # and the loop sleeps between most polls)
        self._wake = threading.Lock()
        self._wake.acquire()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._port_backoff = Backoff(0.5, cap)
        self._port_retry_at = 0.0
        self._port_error: str | None = None
        self._stray_addrs: set[int] = set()
        self.timeout_s = (line.reply_timeout_ms or 0) / 1000.0
        # keepalives get at most a tenth of the line: 100 LED bars pinged every 5 s
        # would take 37 % of a 9600-baud bus, so there they are pinged every ~19 s
        n_quiet = sum(1 for s in self._order if not s.polled)
        self.keepalive_s = max(line.keepalive_s, n_quiet * wire_ms(7 + 11, line.baud) / 1000 / 0.10)
        self.transactions = 0

    # ---------------------------------------------------------- interface --
    def set_view(self, device_id: str, view: Any, urgent: bool = False) -> None:
        """Show ``view`` on the device.  ``urgent`` views (a new call on an LED bar) go
        out before the others (a waiting count that changed on every keypad when one
        ticket was called); within a class, in the order they were set."""
        with self._lock:
            slot = self.slots[device_id]
            slot.desired = view
            if view != slot.confirmed:
                prev = self._dirty.get(device_id)
                if prev is None or (urgent and not prev[0]):
                    self._mark_dirty_locked(slot, urgent)
        self._kick()

    def _mark_dirty_locked(self, slot: Slot, urgent: bool) -> None:
        order = next(self._dirty_seq)
        self._dirty[slot.id] = (urgent, order)
        if urgent:
            heapq.heappush(self._ready, (False, order, slot.id))
        else:
            # a waiting count changes at every keypad whenever any window calls:
            # at most one such update per device per `coalesce_ms`
            heapq.heappush(self._held, (slot.sent_at + self.line.coalesce_ms / 1000.0, order, slot.id))

    def _kick(self) -> None:
        """Wake the line loop (any thread)."""
        try:
            self._wake.release()
        except RuntimeError:
            pass  # already pending

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"line-{self.line.id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._kick()
        if self._thread:
            self._thread.join(5)
        self.link.close()

    def status(self, device_id: str) -> dict:
        s = self.slots[device_id]
        return {"line": self.line.id, "port": self.line.port, "protocol": self.protocol,
                "address": s.cfg.address, "window": s.cfg.window, **s.stats}

    # ------------------------------------------------- protocol hooks -------
    # A protocol driver sets ``self._parser``: a byte-fed frame parser with
    # ``feed(bytes) -> frames``, ``reset()`` and a ``dropped`` byte count.
    _parser: Any

    def parse(self, data: bytes) -> list:
        return self._parser.feed(data)

    def reset_parser(self) -> None:
        self._parser.reset()

    @property
    def dropped_bytes(self) -> int:
        return self._parser.dropped

    def update_request(self, slot: Slot, view: Any) -> bytes | None:
        """Request that makes the device show ``view`` (None: nothing to send)."""
        raise NotImplementedError

    def poll_request(self, slot: Slot) -> bytes:
        raise NotImplementedError

    def probe_request(self, slot: Slot) -> bytes:
        raise NotImplementedError

    def quiet_reply(self, slot: Slot, request: bytes) -> bytes | None:
        """The exact bytes of the reply that says nothing new to ``request`` (a poll's
        "no key"), or None.  Most of a line's transactions are such polls; a reply
        equal to these bytes is taken as read without parsing it (then
        ``handle_reply`` is not called: the reply must leave nothing to do)."""
        return None

    def is_reply(self, slot: Slot, request: bytes, msg) -> bool:
        raise NotImplementedError

    def handle_reply(self, slot: Slot, kind: str, msg) -> list[KeyEvent]:
        """Interpret a matching reply; may set ``slot.confirmed = None`` to resend."""
        raise NotImplementedError

    # --------------------------------------------------------------- loop --
    def _run(self) -> None:
        beat = f"line-{self.line.id}"
        sdnotify.watch(beat)
        while not self._stop.is_set():
            sdnotify.beat(beat)
            try:
                delay = self.step()
            except LinkError as e:
                self._port_lost(str(e))
                delay = 0.0
            except Exception:  # a bug must not silence the whole line
                log.exception("line %s: unexpected error", self.line.id)
                delay = 0.5
            if delay > 0:
                self._wake.acquire(True, min(delay, 1.0))  # at least a beat a second for the watchdog
        sdnotify.unwatch(beat)

    def step(self) -> float:
        """Do at most one transaction; return seconds until something is due."""
        now = self.clock.monotonic()
        if not self.link.is_open:
            if now < self._port_retry_at:
                return self._port_retry_at - now
            try:
                self.link.open()
            except LinkError as e:
                self._port_lost(str(e))
                return 0.0
            if self._port_error is not None:
                log.warning("line %s: port %s is back", self.line.id, self.line.port)
            self._port_error = None
            self._port_backoff.reset()
            self.reset_parser()
            with self._lock:
                for s in self._order:
                    # pending_ack and last_event stay: a key the device still holds
                    # must be acknowledged, not delivered twice
                    s.confirmed = None
                    self.schedule(s, 0.0)
                    s.backoff.reset()
                    self._redirty_locked(s)
        job = self._pick(now)
        if isinstance(job, float):
            return job
        slot, kind = job
        gen = slot.gen
        try:
            self._do(slot, kind, now)
        except BaseException:
            if kind != "update" and slot.gen == gen:
                with self._lock:
                    self.schedule(slot, now + 1.0)  # safety net: a bug must not unpoll a device
            raise
        return 0.0

    def schedule(self, slot: Slot, at: float) -> None:
        """Poll / ping / probe ``slot`` at monotonic time ``at`` (line thread only)."""
        slot.gen += 1
        slot.retry_at = at
        heap = self._due_polls if slot.polled and slot.online is not False else self._due_other
        heapq.heappush(heap, (at, next(self._due_seq), slot.id, slot.gen))

    def _peek(self, heap: list, now: float) -> tuple[Slot | None, float]:
        """The slot due first in ``heap`` if due now, else (None, seconds until one is)."""
        while heap:
            at, _, dev_id, gen = heap[0]
            s = self.slots[dev_id]
            if gen != s.gen:
                heapq.heappop(heap)  # rescheduled since
                continue
            return (s, 0.0) if at <= now else (None, at - now)
        return None, 3600.0

    def _redirty_locked(self, slot: Slot) -> None:
        """After ``confirmed`` was forgotten (reopen, reboot): its view is due again, urgently."""
        if slot.desired is not None and slot.confirmed is None:
            self._mark_dirty_locked(slot, True)

    def _pick(self, now: float):
        with self._lock:
            # 1. views to send to devices that are (or may be) there: urgent first, then FIFO
            held = 3600.0
            if self._dirty:
                dirty, ready, hq = self._dirty, self._ready, self._held
                gap = self.line.coalesce_ms / 1000.0
                while hq and hq[0][0] <= now:
                    _, order, dev_id = heapq.heappop(hq)
                    release = self.slots[dev_id].sent_at + gap  # it may have been sent since marked
                    if release <= now:
                        heapq.heappush(ready, (True, order, dev_id))
                    else:
                        heapq.heappush(hq, (release, order, dev_id))
                while ready:
                    _, order, dev_id = ready[0]
                    entry = dirty.get(dev_id)
                    if entry is None or entry[1] != order:
                        heapq.heappop(ready)  # sent, or superseded by a newer entry
                        continue
                    s = self.slots[dev_id]
                    if s.desired is None or s.desired == s.confirmed:
                        heapq.heappop(ready)
                        del dirty[dev_id]
                        continue
                    if s.online is False:
                        # stays in _dirty; it is marked again when the device answers
                        heapq.heappop(ready)
                        continue
                    return s, "update"
                if hq:
                    held = hq[0][0] - now
            else:
                self._ready.clear()
                self._held.clear()
            # 2. the poll due first, or a keepalive / probe: turn about when both are due
            poll, wait_p = self._peek(self._due_polls, now)
            other, wait_o = self._peek(self._due_other, now)
            if poll is not None and (other is None or self._other_last):
                s, self._other_last = poll, False
            elif other is not None:
                s, self._other_last = other, True
            else:
                s = None
            if s is not None:
                heapq.heappop(self._due_polls if s is poll else self._due_other)
                s.gen += 1  # out of the heaps until _do (or step's safety net) schedules it
                return s, ("poll" if s.polled and s.online is not False else "probe")
            soonest = min(wait_p, wait_o)
            if self._port_retry_at > now:
                soonest = min(soonest, self._port_retry_at - now)
            return max(min(soonest, held), 0.001)

    def _timeout(self, request: bytes) -> float:
        if self.timeout_s > 0:
            return self.timeout_s
        return (wire_ms(len(request) + MAX_REPLY_BYTES, self.line.baud) + TURNAROUND_MS) / 1000.0

    def _do(self, slot: Slot, kind: str, now: float) -> None:
        with self._lock:
            view = slot.desired
        if kind == "update":
            request = self.update_request(slot, view)
            if request is None:
                with self._lock:
                    slot.confirmed = view
                return
        elif kind == "poll":
            request = self.poll_request(slot)
        else:
            request = self.probe_request(slot)
        reply = self._transact(slot, request)
        now = self.clock.monotonic()
        if reply is None:
            self._silent(slot, now)
            return
        with self._lock:
            if kind == "update":
                slot.confirmed = view
                slot.sent_at = now
            if slot.online is False:
                slot.confirmed = None  # it may have been power-cycled: show it the state again
                slot.backoff.reset()
            slot.online = True
            self.schedule(slot, now + (self.line.poll_interval_ms / 1000.0 if slot.polled
                                       else self.keepalive_s))
            if reply is QUIET:
                self._redirty_locked(slot)
        if reply is QUIET:
            events = ()
        else:
            events = self.handle_reply(slot, kind, reply)
            with self._lock:
                self._redirty_locked(slot)
        if slot.announced is not True:
            self._announce(slot, True, "answering")
        for ev in events:
            slot.stats["events"] += 1
            try:
                self.on_event(ev)
            except Exception:
                log.exception("event handler failed for %s", slot.id)

    def _transact(self, slot: Slot, request: bytes):
        timeout = self._timeout(request)
        quiet = self.quiet_reply(slot, request)
        for attempt in range(1 + self.line.retries):
            if attempt:
                slot.stats["retries"] += 1
            self.link.write(request)
            slot.stats["tx"] += 1
            self.transactions += 1
            deadline = self.clock.monotonic() + timeout
            while True:
                left = deadline - self.clock.monotonic()
                if left <= 0:
                    break
                data = self.link.read(left)
                if not data:
                    continue
                if data == quiet and not self._parser.pending:
                    return QUIET
                for msg in self.parse(data):
                    if self.is_reply(slot, request, msg):
                        return msg
                    self._stray(msg)
        slot.stats["timeouts"] += 1
        return None

    def _stray(self, msg) -> None:
        log.debug("line %s: ignored %r", self.line.id, msg)
        addr = getattr(msg, "addr", None)
        if addr is not None and addr not in {s.cfg.address for s in self._order}:
            if addr not in self._stray_addrs:
                self._stray_addrs.add(addr)
                log.warning("line %s: a device answers at address %s, which is not configured "
                            "(wrong DIP switch?)", self.line.id, addr)

    def _silent(self, slot: Slot, now: float) -> None:
        with self._lock:
            was = slot.online
            slot.online = False
            self.schedule(slot, now + slot.backoff.next())
        if was is not False:
            log.warning("line %s: %s %s at address %d does not answer; retrying with backoff",
                        self.line.id, slot.cfg.kind, slot.id, slot.cfg.address)
        self._announce(slot, False, "no reply")

    def _announce(self, slot: Slot, online: bool, reason: str) -> None:
        if slot.announced == online:
            return
        if online and slot.announced is False:
            log.warning("line %s: %s is back", self.line.id, slot.id)
        slot.announced = online
        try:
            self.on_availability(slot.cfg, online, reason)
        except Exception:
            log.exception("availability handler failed")

    def _port_lost(self, reason: str) -> None:
        self.link.close()
        now = self.clock.monotonic()
        self._port_retry_at = now + self._port_backoff.next()
        if self._port_error is None:
            log.warning("line %s: port %s unavailable (%s); reopening with backoff",
                        self.line.id, self.line.port, reason)
        self._port_error = reason
        with self._lock:
            slots = list(self._order)
            # nothing is polled while the port is closed; reopening schedules a probe of
            # every device (clearing here keeps a day-long unplug from growing the heaps)
            self._due_polls.clear()
            self._due_other.clear()
            for s in slots:
                s.online = False
                s.gen += 1
        for s in slots:
            self._announce(s, False, f"port lost: {reason}")

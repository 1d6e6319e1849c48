"""The bridge shell: window devices ⇄ the hall bus.

* subscribes (through the topic registry) to every window's retained
  ``state`` and to ``evaluate`` prompts, and turns them into views for the
  window's LED bar, keypad and evaluator (pure presenters in ledbar.py,
  keypad.py, evaluator.py);
* turns keys into ``window/<wid>/request/<op>`` through one
  :class:`hall.bus.Requester` per window, in one worker per window so a
  window's keys reach the engine in the order they were pressed and a slow
  reply at one window never holds up another;
* keeps ``device/<id>/availability`` and ``device/<id>/status`` retained,
  and republishes them on every reconnect to the broker.

The line loops (driver.py) and evdev readers (inputs.py) run in their
own threads; the MQTT network thread only records state and wakes them.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import re
import threading
from typing import Callable

from hall import messages
from hall.bus import Bus, BusSettings, RequestError, Requester
from hall.clock import Clock, SystemClock
from hall.config.devices import window_problems
from hall.seriallink import SerialLink
from hall.topics import REGISTRY, Parsed

from .driver import BusDriver, KeyEvent
from .evaluator import EvaluatorSession
from .keypad import KeyRefused, keypad_view, request_for_key
from .ledbar import LedPresenter
from .legacy_driver import Legacy68Driver
from .owb_driver import OwbDriver

log = logging.getLogger("firmware_bridge.bridge")

DRIVERS: dict[str, type[BusDriver]] = {"onewindow": OwbDriver, "legacy68": Legacy68Driver}
KEY_MAX_AGE_S = 10.0  # a key still unsent after this long is dropped, not replayed
STATUS_EVERY_S = 60.0  # device/<id>/status counters refreshed this often
STATE_WAIT_S = 3.0  # show the closed text if the engine has said nothing about a window by then
ID_CARD_RE = re.compile(r"^[1-9]\d{16}[\dX]$")  # GB 11643 居民身份证号码


class BridgeError(RuntimeError):
    pass


class _WindowWorker:
    """Sends one window's requests in order, off the line and MQTT threads."""

    def __init__(self, name: str, fn: Callable[[KeyEvent], None]):
        self._q: queue.Queue = queue.Queue()
        self._fn = fn
        self._t = threading.Thread(target=self._run, name=f"win-{name}", daemon=True)
        self._t.start()

    def put(self, ev) -> None:
        self._q.put(ev)

    def _run(self) -> None:
        while True:
            ev = self._q.get()
            if ev is None:
                return
            try:
                self._fn(ev)
            except Exception:
                log.exception("handling %s failed", ev)


class Bridge:
    def __init__(self, config, settings: BusSettings, *, bridge_id: str = "bridge",
                 lines: set[str] | None = None, inputs: bool | set[str] = True, clock: Clock | None = None,
                 link_factory=SerialLink, input_factory=None):
        problems = window_problems(config)
        if problems:
            raise BridgeError("devices refer to unknown windows:\n" +
                              "\n".join(f"  {p}: {r}" for p, r in problems))
        self.config = config
        self.settings = settings
        self.bridge_id = bridge_id
        self.clock = clock or SystemClock()
        self.hall_id = config.hall.id
        dc = config.devices
        numbers = {w.id: w.number for w in config.windows}
        self._window_by_number = {w.number: w.id for w in config.windows}
        self.drivers: dict[str, BusDriver] = {}
        self._driver_of: dict[str, BusDriver] = {}
        self._leds: dict[str, LedPresenter] = {}
        self._by_window: dict[str, list] = {}
        self._sessions: dict[str, EvaluatorSession] = {}
        for line in dc.lines:
            if lines is not None and line.id not in lines:
                continue
            devs = [d for d in dc.serial if d.line == line.id]
            drv = DRIVERS[line.protocol](line, devs, link_factory(line.port, line.baud),
                                         on_event=self._on_key, on_availability=self._on_serial_availability,
                                         clock=self.clock)
            self.drivers[line.id] = drv
            for d in devs:
                self._driver_of[d.id] = drv
                self._by_window.setdefault(d.window, []).append(d)
                if d.kind == "ledbar":
                    self._leds[d.id] = LedPresenter(d, dc.led, numbers[d.window])
                elif d.kind == "evaluator":
                    self._sessions[d.window] = EvaluatorSession(dc.evaluation_grace_s)
        self.inputs = []
        # True: every input of the config; a set: only those (this bridge's, access.bridges)
        mine = [d for d in dc.inputs if inputs is True or (inputs and d.id in inputs)]
        if mine:
            from .inputs import InputReader
            for d in mine:
                self.inputs.append(InputReader(d, dc.keymap(d) if d.kind == "keypad" else {},
                                               on_key=self._on_key, on_scan=self._on_scan,
                                               on_availability=self._on_input_availability,
                                               opener=input_factory, clock=self.clock))
        self.windows = sorted({d.window for d in dc.serial if d.id in self._driver_of}
                              | {d.window for d in mine if d.window})
        self._window_set = set(self.windows)
        self._states: dict[str, messages.WindowState] = {}
        self._waiting: dict[str, int] = {}  # window -> its count, from the zone's waiting counts
        self._zones = sorted({w.zone for w in config.windows if w.id in self._window_set})
        self._last_view: dict[str, object] = {}
        self._avail: dict[str, tuple[str, dict]] = {}
        self._lock = threading.Lock()
        self._workers: dict[str, _WindowWorker] = {}
        self._requesters: dict[str, Requester] = {}
        self.bus: Bus | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.sent: collections.deque = collections.deque(maxlen=1000)  # (window, op, body), latest
        # since when the engine is unreachable (monotonic; None: online); unknown at start
        self._engine_lost_at: float | None = self.clock.monotonic()
        self.out_of_service = False  # the LED bars show texts.out_of_service

    # ------------------------------------------------------------ lifecycle --
    def start(self, timeout: float = 10.0) -> "Bridge":
        bus = Bus(self.hall_id, f"bridge-{self.bridge_id}-{os.getpid()}-{os.urandom(2).hex()}",
                  self.settings, availability=(REGISTRY["device.availability"], self.bridge_id))
        self.bus = bus
        for wid in self.windows:
            # request ids are at most 64 characters: window id (≤ 64) cut, plus randomness
            r = Requester(bus, "window", wid, prefix=f"{wid[:40]}-{os.urandom(4).hex()}")
            r.subscribe_all()  # before connecting: no reply can slip past
            self._requesters[wid] = r
            self._workers[wid] = _WindowWorker(wid, self._send)
        bus.listen(REGISTRY["window.state"], self._on_state)
        for zone in self._zones:
            bus.listen(REGISTRY["zone.waiting"], self._on_waiting, ident=zone)
        bus.listen(REGISTRY["window.evaluate"], self._on_evaluate)
        bus.listen(REGISTRY["engine.availability"], self._on_engine)
        bus.on_connect(self._republish)
        bus.start(timeout)
        self._started_at = self._engine_lost_at = self.clock.monotonic()
        for drv in self.drivers.values():
            drv.start()
        for inp in self.inputs:
            inp.start()
        self._ticker = threading.Thread(target=self._tick_loop, name="bridge-tick", daemon=True)
        self._ticker.start()
        log.info("bridge %s: %d lines, %d serial devices, %d input devices, %d windows",
                 self.bridge_id, len(self.drivers), len(self._driver_of), len(self.inputs), len(self.windows))
        return self

    def stop(self) -> None:
        self._stop.set()
        for inp in self.inputs:
            inp.stop()
        for drv in self.drivers.values():
            drv.stop()
        for w in self._workers.values():
            w.put(None)
        if self.bus is not None:
            for dev_id in list(self._avail):
                self._publish_availability(dev_id, "stopped", self._avail[dev_id][1])
            self.bus.stop()
            self.bus = None

    # --------------------------------------------------------- bus → views --
    def _on_state(self, parsed: Parsed, state: messages.WindowState | None) -> None:
        wid = parsed.ident
        if wid not in self._window_set or state is None:
            return  # (USB-keypad-only windows need the state too: pause toggles on it)
        with self._lock:
            self._states[wid] = state
        self._show(wid, state)

    def _on_waiting(self, parsed: Parsed, counts: messages.ZoneWaiting | None) -> None:
        """A zone's counts: only the windows whose own count moved are redrawn."""
        if counts is None:
            return
        moved = []
        with self._lock:
            for wid, n in counts.windows.items():
                if wid in self._window_set and self._waiting.get(wid) != n:
                    self._waiting[wid] = n
                    moved.append((wid, self._states.get(wid)))
        for wid, state in moved:
            if state is not None:  # before its state: nothing to draw the count on yet
                self._show(wid, state, count_only=True)

    def _show(self, wid: str, state, count_only: bool = False) -> None:
        """``count_only``: only the waiting count changed: devices that do not show it
        are left alone (not even formatted)."""
        now = self.clock.now()
        waiting = self._waiting.get(wid, 0)
        for d in self._by_window.get(wid, []):
            drv = self._driver_of.get(d.id)
            if drv is None:
                continue
            if d.kind == "ledbar":
                if count_only and not self._leds[d.id].shows_waiting:
                    continue
                view = self._leds[d.id].render(state, now, self.out_of_service, waiting)
                urgent = self._changed(d.id, view, lambda v: (v.lines[0], v.flash_s > 0))
            elif d.kind == "keypad":
                view = keypad_view(state, waiting)
                urgent = self._changed(d.id, view, lambda v: (v.status, v.number))
            else:
                continue
            drv.set_view(d.id, view, urgent=urgent)

    def _on_engine(self, parsed: Parsed, avail: messages.Availability | None) -> None:
        online = avail is not None and avail.state == "online"
        with self._lock:
            if online:
                self._engine_lost_at = None
            elif self._engine_lost_at is None:
                self._engine_lost_at = self.clock.monotonic()
        if online:
            self._check_service(self.clock.monotonic())

    def _check_service(self, now: float) -> None:
        """Switch the LED bars to or from the out-of-service text (ticker and engine news)."""
        after = self.config.devices.led.out_of_service_after_s
        with self._lock:
            if self.bus is not None and not self.bus.connected and self._engine_lost_at is None:
                self._engine_lost_at = now  # the broker is gone: so is the engine, for us
            lost = self._engine_lost_at
        away = after > 0 and lost is not None and now - lost >= after
        if away == self.out_of_service:
            return
        self.out_of_service = away
        if away:
            log.warning("engine unreachable for %.0f s: LED bars show the out-of-service text", now - lost)
        else:
            log.info("engine back: LED bars show the windows' state again")
        for wid in self._by_window:
            with self._lock:
                state = self._states.get(wid)
            self._show(wid, state)

    def _changed(self, dev_id: str, view, key) -> bool:
        """A new call or status is urgent; a new waiting count (which changes at every
        window when one calls) is not, so it never delays a call on the bus."""
        prev = self._last_view.get(dev_id)
        self._last_view[dev_id] = view
        return prev is None or key(prev) != key(view)

    def _on_evaluate(self, parsed: Parsed, p: messages.EvaluatePrompt | None) -> None:
        wid = parsed.ident
        session = self._sessions.get(wid)
        if session is None or p is None:
            return
        with self._lock:
            closed = session.prompt(p.ticket, p.number, p.timeout_s, self.clock.monotonic())
            view = session.view
        for body in closed:
            self._queue_rate(wid, body)
        self._set_eval_view(wid, view)

    def _set_eval_view(self, wid: str, view) -> None:
        for d in self._by_window.get(wid, []):
            if d.kind == "evaluator" and d.id in self._driver_of:
                self._driver_of[d.id].set_view(d.id, view, urgent=True)

    # --------------------------------------------------------- keys → bus --
    def _on_key(self, ev: KeyEvent) -> None:
        """From a line or input thread: never block here."""
        if ev.key == "rate":
            session = self._sessions.get(ev.window)
            if session is None:
                return
            with self._lock:
                body = session.key(ev.level)
                view = session.view
            if body is None:
                log.info("%s: rating key with no prompt lit, ignored", ev.device)
                return
            self._queue_rate(ev.window, body)
            self._set_eval_view(ev.window, view)
            return
        w = self._workers.get(ev.window)
        if w is not None:
            w.put((self.clock.monotonic(), ev))

    def _queue_rate(self, wid: str, body: dict) -> None:
        self._workers[wid].put((wid, "rate", body))

    def _send(self, item: tuple) -> None:
        if len(item) == 3:  # a rating: (window, "rate", body), never dropped
            wid, op, body = item
        else:
            pressed, ev = item
            wid = ev.window
            age = self.clock.monotonic() - pressed
            if age > KEY_MAX_AGE_S:
                # the engine was unreachable: staff who saw nothing happen pressed again
                # or walked away; five stale `next` presses must not call five tickets
                log.warning("window %s: dropped %s pressed %.0f s ago (no engine reply meanwhile)",
                            wid, ev.key, age)
                return
            with self._lock:
                state = self._states.get(wid)
            try:
                op, body = request_for_key(ev.key, ev.arg, state, self._window_by_number)
            except KeyRefused as e:
                log.info("%s: %s", ev.device, e)
                return
        self.sent.append((wid, op, body))
        try:
            self._requesters[wid].request(op, body, timeout=3.0, retries=2)
        except RequestError as e:
            log.info("window %s %s refused: %s", wid, op, e)

    def _on_scan(self, device_id: str, window: str | None, text: str) -> None:
        """A scanner's line → ``device/<id>/scan``; only its length is logged (it may be
        an ID-card number)."""
        log.info("scan from %s (window %s): %d characters", device_id, window, len(text))
        bus = self.bus
        if bus is None:
            return
        kind = "id_card" if ID_CARD_RE.match(text) else "text"
        bus.publish(REGISTRY["device.scan"], device_id,
                    messages.ScanEvent(device=device_id, window=window, kind=kind, text=text,
                                       at=self.clock.now()))

    # ------------------------------------------------------- availability --
    def _on_serial_availability(self, cfg, online: bool, reason: str) -> None:
        drv = self._driver_of[cfg.id]
        detail = {**drv.status(cfg.id), "reason": reason}
        self._publish_availability(cfg.id, "online" if online else "offline", detail, kind=cfg.kind)

    def _on_input_availability(self, cfg, online: bool, reason: str) -> None:
        self._publish_availability(cfg.id, "online" if online else "offline",
                                   {"path": cfg.path, "window": cfg.window, "reason": reason}, kind=cfg.kind)

    def _publish_availability(self, dev_id: str, state: str, detail: dict, kind: str | None = None) -> None:
        with self._lock:
            prev = self._avail.get(dev_id)
            kind = kind or (prev[1].get("_kind") if prev else "device")
            detail = {**detail, "_kind": kind}
            self._avail[dev_id] = (state, detail)
        self._publish_one(dev_id, state, detail)

    def _publish_one(self, dev_id: str, state: str, detail: dict) -> None:
        bus = self.bus
        if bus is None or not bus.connected:
            return  # sent by _republish on (re)connect
        # `bridge` names the availability to trust: device states are retained, so if
        # this bridge dies they stay as they were while device/<bridge>/availability
        # turns offline through the Last-Will
        shown = {**{k: v for k, v in detail.items() if k != "_kind"}, "bridge": self.bridge_id}
        bus.publish(REGISTRY["device.availability"], dev_id, messages.Availability(state=state))
        bus.publish(REGISTRY["device.status"], dev_id,
                    messages.DeviceStatus(device=dev_id, kind=detail["_kind"], ok=state == "online",
                                          detail=shown, at=self.clock.now()))

    def _republish(self) -> None:
        with self._lock:
            items = list(self._avail.items())
        for dev_id, (state, detail) in items:
            self._publish_one(dev_id, state, detail)

    # ------------------------------------------------------------- ticker --
    def _refresh_status(self) -> None:
        """Republish every serial device's status with fresh counters (retained)."""
        for dev_id, drv in self._driver_of.items():
            with self._lock:
                prev = self._avail.get(dev_id)
            if prev is not None:
                self._publish_availability(dev_id, prev[0], {**prev[1], **drv.status(dev_id)})

    def _tick_loop(self) -> None:
        shown_default = False
        next_status = self.clock.monotonic() + STATUS_EVERY_S
        while not self._stop.wait(0.25):
            now = self.clock.monotonic()
            if now >= next_status:
                next_status = now + STATUS_EVERY_S
                self._refresh_status()
            for wid, session in self._sessions.items():
                with self._lock:
                    body = session.tick(now)
                    view = session.view
                if body is not None:
                    log.info("window %s: evaluator silent past its timeout; not rated", wid)
                    self._queue_rate(wid, body)
                    self._set_eval_view(wid, view)
            self._check_service(now)
            if not shown_default and now - self._started_at >= STATE_WAIT_S:
                shown_default = True
                for wid in self._by_window:
                    with self._lock:
                        known = wid in self._states
                    if not known:
                        self._show(wid, None)

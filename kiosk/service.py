"""The kiosk's shell: carries out the flow's effects over MQTT and on the printer.

Threads and ownership:

* the flow (``KioskFlow``) is touched only by the thread that calls
  ``press`` / ``scan`` / ``tick`` / ``pump`` (the Kivy main thread in the app,
  the test thread in tests); bus replies and print results are handed to it
  through ``post``, which the app maps to ``Clock.schedule_once``;
* one request worker sends requests in order through ``Requester`` (which
  retries with the same id);
* one print worker renders and prints tickets, and polls the printer status,
  publishing each change as retained ``device/<printer>/status`` and
  ``device/<printer>/availability``.

The bus connects in the background: a kiosk booted while the broker is down
still shows its home screen (with the "ticketing unavailable" banner) and
connects when the broker comes back.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from hall import messages as m
from hall.bus import Bus, BusSettings, RequestError, Requester
from hall.clock import Clock, SystemClock
from hall.config import HallConfig, parse_config
from hall.topics import REGISTRY, Parsed
from hall.errors import ErrorCode as E

from .fake_printer import FakePrinter
from .flow import S, Effect, KioskFlow, Print, PrintCase, Send
from .printer import (EscposTicketPrinter, PrinterStatus, PrintError, TicketPrinter,
                      cols_for)
from .scanner import InputSource
from .ticket_layout import layout

log = logging.getLogger("kiosk.service")

Post = Callable[[Callable[[], None]], None]


def make_printer(cfg: HallConfig, kiosk_id: str) -> tuple[TicketPrinter | None, FakePrinter | None]:
    """The printer named by the kiosk's config; a `fake` one starts its pty here."""
    dev = cfg.kiosks.device(kiosk_id)
    pc = dev.printer if dev else None
    if pc is None or pc.type == "none":
        return None, None
    if pc.type == "fake":
        fake = FakePrinter(pc.fake_paper).start()
        real = pc.model_copy(update={"type": "serial", "device": fake.path})
        return EscposTicketPrinter(real), fake
    return EscposTicketPrinter(pc), None


class KioskService:
    def __init__(self, cfg: HallConfig, kiosk_id: str, settings: BusSettings, *,
                 printer: TicketPrinter | None = None, post: Post | None = None,
                 clock: Clock | None = None, sources: list[InputSource] | None = None,
                 client_id: str | None = None):
        self.cfg = cfg
        self.kiosk_id = kiosk_id
        self.clock = clock or SystemClock()
        self.bus = Bus(cfg.hall.id, client_id or f"onewindow-kiosk-{cfg.hall.id}-{kiosk_id}", settings,
                       availability=(REGISTRY["kiosk.availability"], kiosk_id))
        self.requester = Requester(self.bus, "kiosk", kiosk_id)
        self.printer = printer
        dev = cfg.kiosks.device(kiosk_id)
        self.printer_cfg = dev.printer if dev else None
        # The broker ACL lets a kiosk publish device state only as itself (device/%u/#).
        self.printer_id = (self.printer_cfg.id if self.printer_cfg else None) or kiosk_id
        self._scanners: dict[str, bool] = {}
        self.flow = KioskFlow(cfg, kiosk_id, self.requester.new_id, has_printer=printer is not None)
        self.sources = sources or []
        self._inbox: queue.Queue[Callable[[], None]] = queue.Queue()
        self._post = post or self._inbox.put
        self._requests: queue.Queue[Send | None] = queue.Queue()
        # fire-and-forget reports (`printed`) on their own worker, so one that
        # waits out its retries never holds the next citizen's `issue` back
        self._notes: queue.Queue[Send | None] = queue.Queue()
        self._prints: queue.Queue[Print | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._engines: dict[str, str] = {}
        self._last_status: PrinterStatus | None = None
        self.on_effects: Callable[[list[Effect]], None] | None = None  # hook for tests and the bench

    # ---------------------------------------------------------- lifecycle --
    def start(self, connect_timeout: float = 0.0) -> None:
        self.requester.subscribe_all()
        self.bus.listen(REGISTRY["engine.availability"], self._on_engine)
        self.bus.listen(REGISTRY["config.current"], self._on_config, ident="hall")
        # waiting counts on the matter buttons come from the zones' retained counts
        self.bus.listen(REGISTRY["zone.waiting"], self._on_waiting)
        self.bus.on_connect(self._on_connect)
        for name, target, arg in (("kiosk-requests", self._request_worker, self._requests),
                                  ("kiosk-notes", self._request_worker, self._notes),
                                  ("kiosk-printer", self._print_worker, None),
                                  ("kiosk-connect", self._connect_loop, None)):
            th = threading.Thread(target=target, args=(arg,) if arg is not None else (), name=name, daemon=True)
            th.start()
            self._threads.append(th)
        for src in self.sources:
            src.start(lambda line: self._post(lambda line=line: self.scan(line)))
        if self.cfg.forms.forms:
            from .ime import warm_up
            warm_up()  # the pinyin data takes seconds to load: not while a citizen waits
        if connect_timeout:
            self.bus.wait_connected(connect_timeout)

    def stop(self) -> None:
        self._stop.set()
        self._requests.put(None)
        self._notes.put(None)
        self._prints.put(None)
        for src in self.sources:
            src.stop()
        for th in self._threads:
            th.join(3)
        self.bus.stop()
        close = getattr(self.printer, "close", None)
        if close:
            close()

    def _connect_loop(self) -> None:
        try:  # the connection under way is kept: paho goes on trying by itself
            self.bus.start(timeout=5, keep_trying=True)
        except TimeoutError:
            log.warning("no broker yet; the kiosk keeps its screens and keeps trying")

    def _on_connect(self) -> None:
        if self._last_status is not None:
            self._publish_status(self._last_status)

    # ----------------------------------------------------- flow entrances --
    def press(self, action: str) -> None:
        self._run(self.flow.press(action, self.clock.monotonic()))

    def scan(self, line: str) -> None:
        self._run(self.flow.scan(line, self.clock.monotonic()))

    def tick(self) -> None:
        online = None if not self._engines else any(s == "online" for s in self._engines.values())
        if not self.bus.connected:
            online = False
        self.flow.set_engine_online(online)
        self._run(self.flow.tick(self.clock.monotonic()))

    def pump(self, timeout: float = 0.0) -> int:
        """Run posted callbacks on this thread (when no UI loop does it); returns how many."""
        n = 0
        try:
            fn = self._inbox.get(timeout=timeout) if timeout else self._inbox.get_nowait()
            while True:
                fn()
                n += 1
                fn = self._inbox.get_nowait()
        except queue.Empty:
            return n

    def _run(self, effects: list[Effect]) -> None:
        if self.on_effects and effects:
            self.on_effects(effects)
        for eff in effects:
            if isinstance(eff, Send):
                (self._requests if eff.token is not None else self._notes).put(eff)
            else:
                self._prints.put(eff)

    # ------------------------------------------------------------ workers --
    def _request_worker(self, jobs: "queue.Queue[Send | None]") -> None:
        t = self.cfg.kiosks.timeouts
        while True:
            eff = jobs.get()
            if eff is None:
                return
            try:
                if not self.bus.connected:
                    # Publishing now would park the request in paho's queue and
                    # deliver it after a reconnect, issuing a ticket to someone
                    # who has walked away; fail at once instead ("Retry" later
                    # resends the same id).
                    raise RequestError(E.TIMEOUT, "not connected to the broker")
                # typed both ways on the bus; the flow keeps its screen state as plain values
                data = self.requester.call(eff.op, eff.body, timeout=t.request_s,
                                           retries=t.retries, req_id=eff.req_id)
                ok, code = True, None
            except RequestError as e:
                data, ok, code = None, False, e.code
                log.info("%s %s refused: %s", eff.op, eff.req_id, e)
            except Exception as e:  # bus not started yet, or broken: same as unreachable
                data, ok, code = None, False, "timeout"
                log.warning("%s %s failed: %s", eff.op, eff.req_id, e)
            if eff.token is not None:
                self._post(lambda eff=eff, ok=ok, data=data, code=code: self._run(
                    self.flow.on_reply(eff.token, ok, data, code, self.clock.monotonic())))

    def _print_worker(self) -> None:
        poll = self.printer_cfg.poll_s if self.printer_cfg else 30.0
        next_poll = 0.0
        while True:
            wait = max(0.0, next_poll - self.clock.monotonic())
            try:
                job = self._prints.get(timeout=wait if self.printer else None)
            except queue.Empty:
                job = "poll"
            if job is None:
                return
            if self.printer is None:
                continue
            if job == "poll":
                self._update_status(self.printer.status())
                next_poll = self.clock.monotonic() + poll
                continue
            if isinstance(job, PrintCase):
                self._print_case(job)
                next_poll = self.clock.monotonic() + poll
                continue
            assert isinstance(job, Print)
            ok, err = True, None
            try:
                doc = self._doc(job)
                self.printer.print(doc)
            except PrintError as e:
                ok, err = False, e.reason
            except Exception as e:  # a bug in layout must not lose the ticket on screen
                log.exception("printing %s failed", job.ticket.get("number"))
                ok, err = False, f"internal: {e}"
            self._update_status(self.printer.status())
            next_poll = self.clock.monotonic() + poll
            tid = job.ticket.get("ticket", "")
            self._post(lambda job=job, ok=ok, err=err, tid=tid: self._run(
                self.flow.on_printed(job.token, tid, ok, err, self.clock.monotonic())))

    def _print_case(self, job: PrintCase) -> None:
        """A case slip: nothing to report to the engine, only to the screen."""
        from .case_slip import case_slip
        from .view import case_lines
        pc = self.printer_cfg
        ok = True
        try:
            lines = case_lines(self.flow, job.case, job.lang)
            self.printer.print(case_slip(self.cfg, job.case, lines, job.lang,
                                         cols_for(pc.profile if pc else "TM-T20II"), self.clock.now()))
        except PrintError as e:
            ok = False
            log.warning("case slip %s not printed: %s", job.case.get("case"), e.reason)
        except Exception:
            ok = False
            log.exception("case slip %s not printed", job.case.get("case"))
        self._update_status(self.printer.status())
        self._post(lambda: self.flow.on_case_printed(job.token, ok))

    def _doc(self, job: Print):
        pc = self.printer_cfg
        profile = pc.profile if pc else "TM-T20II"
        return layout(self.cfg, job.ticket, target=job.target, answers=job.answers, lang=job.lang,
                      phone=job.phone, cols=cols_for(profile), number_scale=pc.number_scale if pc else 4)

    def _update_status(self, st: PrinterStatus) -> None:
        changed = self._last_status is None or st.state != self._last_status.state
        self._last_status = st
        self._post(lambda: self.flow.set_printer_state(st.state))
        if changed:
            log.info("printer %s: %s %s", self.printer_id, st.state, st.detail)
        self._publish_status(st)

    def _publish_status(self, st: PrinterStatus) -> None:
        if not self.bus.connected:
            return
        try:
            self.bus.publish(REGISTRY["device.status"], self.printer_id, m.DeviceStatus(
                device=self.printer_id, kind="printer", ok=st.ok,
                detail={"state": st.state, "kiosk": self.kiosk_id, "scanners": dict(self._scanners), **st.detail},
                at=self.clock.now()))
            avail = "offline" if st.state in ("offline", "unknown") else "online"
            self.bus.publish(REGISTRY["device.availability"], self.printer_id, m.Availability(state=avail))
        except Exception:
            log.exception("publishing printer status failed")

    # ------------------------------------------------------- subscriptions --
    def _on_engine(self, parsed: Parsed, avail: m.Availability | None) -> None:
        self._engines[parsed.ident] = avail.state if avail else "offline"

    def _on_waiting(self, parsed: Parsed, counts: m.ZoneWaiting | None) -> None:
        groups = counts.groups if counts else None
        self._post(lambda: self.flow.on_waiting(parsed.ident, groups))

    def _on_config(self, parsed: Parsed, cur: m.ConfigCurrent | None) -> None:
        """A newer hall config from the engine; applied when the kiosk is at home."""
        if cur is None:
            return
        try:
            raw = dict(cur.config)
            kiosks = raw.get("kiosks") or {}
            if not kiosks.get("devices") and not kiosks.get("guides"):
                # the engine's file may carry no kiosk section: keep this kiosk's own
                raw["kiosks"] = self.cfg.kiosks.model_dump(mode="json")
            new = parse_config(raw, "config/hall/current")
        except Exception as e:
            log.warning("ignored retained config: %s", e)
            return
        if new.digest() == self.cfg.digest():
            return

        def apply() -> None:
            if self.flow.screen != S.HOME:
                return  # keep the citizen's session; the next retained copy comes on reconnect
            try:
                fresh = KioskFlow(new, self.kiosk_id, self.requester.new_id, has_printer=self.printer is not None)
            except Exception as e:
                log.warning("retained config refused for this kiosk: %s", e)
                return
            fresh.engine_online, fresh.printer_state = self.flow.engine_online, self.flow.printer_state
            fresh.changes = self.flow.changes + 1
            self.cfg, self.flow = new, fresh
            log.info("kiosk now uses hall config %s", new.digest())
        self._post(apply)

    def add_source(self, src: InputSource) -> None:
        """Start a scanner; its lines reach the flow on the flow's thread."""
        src.start(lambda line: self._post(lambda line=line: self.scan(line)))
        self.sources.append(src)

    def scanner_availability(self, device: str, online: bool, reason: str) -> None:
        """A reader plugged or unplugged: shown in the kiosk's device status detail."""
        self._scanners[device] = online
        if self._last_status is not None:
            self._publish_status(self._last_status)

    def poll_printer_now(self) -> None:
        self._prints.put("poll")  # type: ignore[arg-type]

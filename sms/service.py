"""The SMS sender process: bus in, journal, driver, status back to the engine.

Threads: paho's network thread only queues what arrives; one worker owns the
journal and the driver.  Its loop:

1. journal every request from ``device/<id>/sms`` (a known id is not sent
   again, its state is only reported again);
2. report every state change with ``device/<id>/request/sms_status`` until the
   engine acknowledges it (so the engine stops resending);
3. after every (re)connect, ask ``…/request/sms_sync`` so the engine resends
   whatever is pending at once;
4. send the oldest due message; a device fault (SIM, port, network, gateway
   credentials) keeps it queued, reopens the driver with backoff and shows
   ``ok: false`` on ``device/<id>/status``.

Phone numbers appear in full only in the journal and the driver call; every
log line and status masks them.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any


from hall import messages as m
from hall import sdnotify
from hall.bus import Bus, BusSettings, RequestError, Requester
from hall.clock import Clock, SystemClock
from hall.pii import mask
from hall.seriallink import Backoff
from hall.topics import REGISTRY

from . import SmsError, SmsSender
from .journal import Journal

log = logging.getLogger("sms")

_SYNC = object()
RETRY_S = 30.0  # a message whose try hit a transient fault waits this long
MAX_TRIES = 8  # transient failures of one message before it fails for good
REPORT_RETRY_S = 2.0
PRUNE_S = 7 * 86400


class SmsService:
    def __init__(self, hall_id: str, sender_id: str, driver: SmsSender, journal_path: str | Path,
                 bus_settings: BusSettings, clock: Clock | None = None, client_id: str | None = None):
        self.hall_id = hall_id
        self.sender_id = sender_id
        self.driver = driver
        self.journal = Journal(journal_path)
        self.clock = clock or SystemClock()
        self.bus = Bus(hall_id, client_id or f"onewindow-sms-{hall_id}-{sender_id}", bus_settings,
                       availability=(REGISTRY["device.availability"], sender_id))
        self.requester = Requester(self.bus, "device", sender_id)
        self._q: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = Backoff(1.0, 60.0)
        self._reopen_at = 0.0
        self._report_at = 0.0
        self._need_sync = False
        self._last_status: tuple | None = None
        self._ok: bool | None = None
        self._sync_warned = False
        self.last_error: str | None = None

    # ------------------------------------------------------------------ life --
    def start(self, timeout: float = 10.0) -> None:
        lost = self.journal.open()
        for sid in lost:
            log.warning("sms %s: the sender stopped while sending it; reported as unknown", sid)
        # typed by the bus: a malformed request is dropped there, with a log line naming the field
        self.bus.listen(REGISTRY["device.sms"], lambda p, req: req is not None and self._q.put(req),
                        ident=self.sender_id)
        self.requester.subscribe_all()
        self.bus.on_connect(lambda: self._q.put(_SYNC))
        self._thread = threading.Thread(target=self._run, name="sms-worker", daemon=True)
        self._thread.start()
        self.bus.start(timeout)

    def stop(self) -> None:
        self._stop.set()
        self._q.put(None)
        if self._thread:
            self._thread.join(15)
        self.driver.close()
        self.bus.stop()
        self.journal.close()

    # ---------------------------------------------------------------- worker --
    def _run(self) -> None:
        sdnotify.watch("sms-worker")
        while not self._stop.is_set():
            sdnotify.beat("sms-worker")
            try:
                self._step()
            except Exception:  # the worker must outlive a bug in one step
                log.exception("sms worker step failed")
                self._stop.wait(1.0)

    def _step(self) -> None:
        busy = self._take(0.0)
        now = self.clock.now()
        if self.bus.connected and self.clock.monotonic() >= self._report_at:
            self._report()
            if self._need_sync and self._sync():
                self._need_sync = False
        ready = self._ensure_open()  # also with nothing to send: the status shows a SIM fault early
        msg = self.journal.next_due(now) if ready else None
        if msg is not None:
            self._send(msg, now)
            self._report()
            return
        if not busy:
            self._take(0.2)

    def _take(self, timeout: float) -> bool:
        got = False
        try:
            item = self._q.get(timeout=timeout) if timeout else self._q.get_nowait()
        except queue.Empty:
            return False
        while True:
            got = True
            if item is _SYNC:
                self._need_sync = True
                self._report_at = 0.0
                if self._ok is not None:  # the broker may have lost our retained status
                    self._publish_status(self._ok, force=True)
            elif isinstance(item, m.SmsRequest):
                self._accept(item)
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return got

    def _accept(self, req: m.SmsRequest) -> None:
        if self.journal.accept(req.sms, req.phone, req.text, req.at, req.expires_at, self.clock.now()):
            log.info("sms %s to %s queued (%d chars)", req.sms, mask(req.phone, "phone"), len(req.text))

    def _ensure_open(self) -> bool:
        if getattr(self.driver, "ready", True) and self._ok:
            return True
        mono = self.clock.monotonic()
        if mono < self._reopen_at:
            return False
        try:
            self.driver.close()
            self.driver.open()
        except SmsError as e:
            self._fault(e)
            return False
        self._backoff.reset()
        self.last_error = None
        self._publish_status(True)
        return True

    def _fault(self, e: SmsError) -> None:
        delay = self._backoff.next()
        self._reopen_at = self.clock.monotonic() + delay
        self.last_error = f"{e.code}: {e.message}"
        log.warning("sms sender %s not ready: %s (again in %.0fs)", self.sender_id, self.last_error, delay)
        self._publish_status(False)

    def _send(self, msg, now: float) -> None:
        j = self.journal
        if now >= msg.expires_at:
            j.set_state(msg.id, "expired", now, error="too late to send")
            log.info("sms %s to %s expired before it could be sent", msg.id, mask(msg.phone, "phone"))
            return
        j.set_state(msg.id, "sending", now, tried=True)
        prev = list(msg.refs)
        try:
            res = self.driver.send(msg.id, msg.phone, msg.text, msg.concat_ref, msg.done_parts,
                                   progress=lambda done, refs: j.progress(msg.id, done, prev + refs))
        except SmsError as e:
            if e.unknown:  # it may have gone out: never a second try
                j.set_state(msg.id, "unknown", self.clock.now(), error=f"{e.code}: {e.message}")
                log.warning("sms %s to %s: outcome unknown, not retried: %s", msg.id,
                            mask(msg.phone, "phone"), e)
                if e.device:
                    self._fault(e)
            elif e.permanent or msg.tries + 1 >= MAX_TRIES:
                j.set_state(msg.id, "failed", self.clock.now(), error=f"{e.code}: {e.message}")
                log.warning("sms %s to %s failed: %s", msg.id, mask(msg.phone, "phone"), e)
            else:
                j.set_state(msg.id, "queued", self.clock.now(), error=f"{e.code}: {e.message}",
                            retry_at=self.clock.now() + (0 if e.device else RETRY_S))
                if e.device:
                    self._fault(e)
            return
        j.set_state(msg.id, "sent", self.clock.now(), parts=res.parts, refs=prev + res.refs)
        self._publish_status(True)

    def _report(self) -> None:
        for msg in self.journal.unreported():
            body = {"sms": msg.id, "state": msg.state, "parts": msg.parts, "refs": msg.refs,
                    "error": msg.error, "at": self.clock.now()}
            try:
                self.requester.request("sms_status", body, timeout=2.0, retries=1)
            except RequestError as e:
                if e.code == "timeout":
                    self._report_at = self.clock.monotonic() + REPORT_RETRY_S
                    return  # the engine is away: keep it for later
                log.warning("engine refused the status of sms %s: %s", msg.id, e)
            self.journal.mark_reported(msg.id, msg.state)

    def _sync(self) -> bool:
        try:
            got = self.requester.request("sms_sync", {}, timeout=2.0, retries=1)
        except RequestError as e:
            # once per outage at warning level: an engine that is down is retried every few seconds
            log.log(logging.DEBUG if self._sync_warned else logging.WARNING,
                    "sms sync with the engine failed: %s", e)
            self._sync_warned = True
            self._report_at = self.clock.monotonic() + REPORT_RETRY_S
            return e.code != "timeout"
        self._sync_warned = False
        log.info("sms sync: the engine has %d pending", got.pending)
        return True

    def _publish_status(self, ok: bool, force: bool = False) -> None:
        self._ok = ok
        detail = {**self.driver.status(), "queued": self.journal.counts().get("queued", 0),
                  "last_error": self.last_error}
        key = (ok, tuple(sorted((k, str(v)) for k, v in detail.items())))
        if key == self._last_status and not force:
            return
        self._last_status = key
        if self.bus.connected:
            self.bus.publish(REGISTRY["device.status"], self.sender_id, m.DeviceStatus(
                device=self.sender_id, kind=self.driver.kind, ok=ok, detail=detail, at=self.clock.now()))


def build_driver(cfg: Any) -> SmsSender:
    """The driver named by ``notify.sms.sender`` in the hall config."""
    from hall.seriallink import SerialLink

    from .gsm import GsmModem
    from .http_gateway import FakeSender, HttpGateway, read_secret
    sc = cfg.notify.sms.sender
    if sc.type == "gsm":
        return GsmModem(SerialLink(sc.port, sc.baud), smsc=sc.smsc,
                        pin=lambda: read_secret(sc.pin_file, "sms-sim-pin"),
                        command_timeout_s=sc.command_timeout_s, send_timeout_s=sc.send_timeout_s)
    if sc.type == "http":
        return HttpGateway(sc.url, sc.username, sc.secret_file, sc.timeout_s)
    return FakeSender()

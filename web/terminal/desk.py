"""One window's terminal in the web process: its live state, queue and visit,
the action in flight, and the pages (SSE streams) open on it.

Everything here runs in the asyncio loop; the bus hub's callbacks are moved
into it with ``call_soon_threadsafe`` (see :class:`Desks`).

* One action at a time per window: a second click while ``next`` is on its
  way is refused (``busy``), and a repeated request id joins the first —
  a double click never calls two citizens.
* No action is lost silently: when the engine does not answer, the action is
  kept as *unconfirmed* on every page of the window, with a retry that
  re-sends the same request id (so it is done at most once).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from hall.bus import RequestError
from hall.config import HallConfig

from . import view

log = logging.getLogger("web.terminal")

ACTIONS = ("next", "recall", "noshow", "start", "transfer", "pause", "resume", "finish")
QUEUE_EVERY_S = 1.0  # at most one queue refresh per window per second, however busy the hall


class Page:
    """One open page's event stream; ``closed`` when it fell too far behind."""

    def __init__(self, size: int = 256):
        self.q: asyncio.Queue = asyncio.Queue(maxsize=size)
        self.closed = False


@dataclass
class Inflight:
    rid: str
    op: str
    task: asyncio.Task


class Desk:
    def __init__(self, window: str, cfg: HallConfig, hub: Any):
        self.window = window
        self.cfg = cfg
        self.hub = hub
        self.state: dict | None = hub.states.get(window)
        self.waiting: int = hub.window_waiting.get(window, 0)
        self.visit: dict | None = None  # the engine's VisitView of the current ticket
        self.queue: dict | None = None
        self.settled: dict | None = None  # the last visit settled here (for the notice print view)
        self.unconfirmed: dict | None = None
        self.inflight: Inflight | None = None
        self.pages: set[Page] = set()
        self._queue_task: asyncio.Task | None = None
        self._queue_dirty = False
        self._visit_task: asyncio.Task | None = None

    # ------------------------------------------------------------ pages --
    def snapshot(self) -> list[tuple[str, Any]]:
        return [("window", view.window_view(self.cfg, self.window)),
                ("engine", self.engine_view()), ("state", self.state_view()),
                ("queue", view.queue_lines(self.cfg, self.queue)),
                ("visit", view.visit_view(self.cfg, self.visit)), ("pending", self.pending_view())]

    def take_config(self, cfg: HallConfig) -> None:
        """A new config revision: the window's own number and the names its pages show."""
        self.cfg = cfg
        for event, data in self.snapshot():
            self.push(event, data)

    def state_view(self, st: dict | None = None) -> dict | None:
        return view.state_view(self.cfg, self.state if st is None else st, self.waiting)

    def engine_view(self) -> dict:
        return {"engine": self.hub.engine, "bus": self.hub.connected}

    def pending_view(self) -> dict | None:
        u = self.unconfirmed
        return None if u is None else {"op": u["op"], "rid": u["rid"], "message": u["message"]}

    def push(self, event: str, data: Any) -> None:
        for page in list(self.pages):
            try:
                page.q.put_nowait((event, data))
            except asyncio.QueueFull:  # a page that stopped reading: it reconnects and gets a snapshot
                self.pages.discard(page)
                page.closed = True

    # --------------------------------------------------------- from bus --
    def on_state(self, st: dict | None) -> None:
        old = self.state
        self.state = st
        self.push("state", self.state_view())
        cur = (st or {}).get("ticket")
        if cur is None:
            if self.visit is not None:
                self.visit = None
                self.push("visit", None)
        elif self.visit is None or self.visit.get("ticket") != cur["ticket"] or \
                self.visit.get("state") != cur["state"]:
            self.refresh_visit()
        if old is None or st is None:
            self.refresh_queue()

    def on_waiting(self, n: int) -> None:
        """The window's count moved (its zone's waiting counts): the total and the lines."""
        if n != self.waiting:
            self.waiting = n
            self.push("state", self.state_view())
            self.refresh_queue()

    def on_engine(self) -> None:
        self.push("engine", self.engine_view())
        if self.hub.engine == "online":
            self.refresh_queue()
            if (self.state or {}).get("ticket"):
                self.refresh_visit()

    # ---------------------------------------------------------- refresh --
    def refresh_visit(self) -> None:
        if self._visit_task is None or self._visit_task.done():
            self._visit_task = asyncio.ensure_future(self._load_visit())

    async def _load_visit(self) -> None:
        try:
            v = await self.hub.request(self.window, "visit", {})
        except RequestError as e:
            if e.code in ("no_current_ticket", "not_logged_in"):
                v = None
            else:
                log.warning("window %s: visit not loaded: %s", self.window, e.code)
                return
        if v != self.visit:
            self.visit = v
            self.push("visit", view.visit_view(self.cfg, v))

    def refresh_queue(self) -> None:
        if self._queue_task is not None and not self._queue_task.done():
            self._queue_dirty = True
            return
        self._queue_task = asyncio.ensure_future(self._load_queue())

    async def _load_queue(self) -> None:
        while True:
            self._queue_dirty = False
            try:
                self.queue = await self.hub.request(self.window, "queue", {})
                self.push("queue", view.queue_lines(self.cfg, self.queue))
            except RequestError as e:
                log.info("window %s: queue not loaded: %s", self.window, e.code)
                return
            await asyncio.sleep(QUEUE_EVERY_S)
            if not self._queue_dirty:
                return

    # ---------------------------------------------------------- actions --
    async def act(self, op: str, body: dict[str, Any], rid: str) -> dict:
        """Carry out one action; returns ``{ok, state}`` or ``{ok: False, error}``."""
        cur = self.inflight
        if cur is not None and not cur.task.done():
            if cur.rid == rid:
                return await asyncio.shield(cur.task)  # the same click again: the same answer
            return _error("busy", f"{cur.op} is still on its way to the engine")
        task = asyncio.ensure_future(self._do(op, body, rid))
        self.inflight = Inflight(rid, op, task)
        return await asyncio.shield(task)

    async def _do(self, op: str, body: dict[str, Any], rid: str) -> dict:
        visit_before = self.visit
        try:
            data = await self.hub.request(self.window, op, body, rid=rid)
        except RequestError as e:
            if e.code == "timeout":
                self.unconfirmed = {"op": op, "body": body, "rid": rid, "message": e.message}
                self.push("pending", self.pending_view())
                log.warning("window %s: %s unconfirmed (%s)", self.window, op, rid)
            elif self.unconfirmed and self.unconfirmed["rid"] == rid and e.code not in (
                    "offline", "engine_offline"):
                self.unconfirmed = None  # the engine answered it at last (with a refusal)
                self.push("pending", None)
            return _error(e.code, e.message)
        if self.unconfirmed and self.unconfirmed["rid"] == rid:
            self.unconfirmed = None
            self.push("pending", None)
        if op == "finish" and body.get("outcome") and visit_before:
            self.settled = {**visit_before, "outcome": body["outcome"]}
        if isinstance(data, dict) and "status" in data:
            self.on_state(data)
            if data.get("ticket") and self._visit_task is not None:
                await self._visit_task  # the reply to `next` waits for the form
        return {"ok": True, "state": self.state_view(data) if isinstance(data, dict) else data}

    def discard_unconfirmed(self) -> None:
        self.unconfirmed = None
        self.push("pending", None)


def _error(code: str, message: str) -> dict:
    return {"ok": False, "error": {"code": code, "message": message}}


class Desks:
    """The desks of windows with someone logged in, fed from the bus hub."""

    def __init__(self, cfg: HallConfig, hub: Any):
        self.cfg = cfg
        self.hub = hub
        self.desks: dict[str, Desk] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.hub.listen(self._from_bus)

    def take_config(self, cfg: HallConfig) -> None:
        self.cfg = cfg
        for d in self.desks.values():
            d.take_config(cfg)

    def get(self, window: str) -> Desk:
        d = self.desks.get(window)
        if d is None:
            d = self.desks[window] = Desk(window, self.cfg, self.hub)
        return d

    def _from_bus(self, what: str, ident: str, data: Any) -> None:  # paho's thread
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._dispatch, what, ident, data)

    def drop(self, window: str) -> None:
        """The last clerk logged out: the window's pages close, its visit (the
        form) is forgotten — this process holds a form only while someone
        serving that window is logged in."""
        d = self.desks.pop(window, None)
        if d is not None:
            for page in list(d.pages):
                page.closed = True
                if not page.q.full():
                    page.q.put_nowait(("expired", None))

    def _dispatch(self, what: str, ident: str, data: Any) -> None:
        if what == "state" and ident in self.desks:
            self.desks[ident].on_state(data)
        elif what == "waiting" and data:
            for wid, n in data.get("windows", {}).items():
                if wid in self.desks:
                    self.desks[wid].on_waiting(n)
        elif what in ("engine", "bus"):
            for d in self.desks.values():
                d.on_engine()

"""The web process's one connection to the hall bus.

It is a bus client like any other (its own MQTT identity, ``onewindow-web``):
it keeps the retained window states, zone boards, zone waiting counts and
the engine's availability it is sent, acts on the engine only through the window request
topics, and hands every change to listeners (the live pages).

paho calls back in its network thread; requests are awaited in the asyncio
loop. A request is refused at once when the bus or the engine is offline
(nothing is queued to be delivered minutes later), and retried with the *same*
id when no reply comes, so the engine never does it twice.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
from typing import Any, Callable

import msgspec

from hall import messages as m
from hall.bus import Bus, BusSettings, RequestError
from hall.topics import REGISTRY, Parsed
from hall.errors import ErrorCode as E

log = logging.getLogger("web.bus")

# what the admin console reads: aggregates and alerts the engine keeps retained
CONSOLE_TOPICS = ("stats.summary", "stats.balance", "stats.satisfaction.window", "stats.satisfaction.day",
                  "alert.unattended", "alert.followup", "alert.supervision", "alert.case",
                  "stats.windows")

Listener = Callable[[str, str, Any], None]  # (what, window or zone id, decoded JSON)


class Hub:
    def __init__(self, hall_id: str, settings: BusSettings, client_id: str | None = None,
                 timeout_s: float = 3.0, retries: int = 1):
        self.hall_id = hall_id
        self.bus = Bus(hall_id, client_id or f"onewindow-web-{hall_id}", settings)
        self.timeout_s = timeout_s
        self.retries = retries
        self.states: dict[str, dict] = {}  # window id → last retained state
        self.boards: dict[str, dict] = {}
        self.waits: dict[str, dict] = {}  # zone id → its retained waiting counts
        self.window_waiting: dict[str, int] = {}  # window id → its count, from its zone's
        self.engine = "unknown"  # online | offline | stopped | unknown
        # the console's retained figures and alerts: topic name → id → decoded JSON
        self.retained: dict[str, dict[str, Any]] = {n: {} for n in CONSOLE_TOPICS}
        self._listeners: list[Listener] = []
        self._pending: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future]] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._prefix = f"web-{os.getpid()}-{os.urandom(3).hex()}"

    def listen(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def new_id(self) -> str:
        return f"{self._prefix}-{next(self._seq)}"

    # ------------------------------------------------------------ life --
    def start(self, timeout: float = 10.0) -> None:
        b = self.bus
        # typed by the bus; the pages get plain JSON values of the validated structs
        b.listen(REGISTRY["window.state"], self._on_state)
        b.listen(REGISTRY["zone.board"], self._on_board)
        b.listen(REGISTRY["zone.waiting"], self._on_waiting)
        b.listen(REGISTRY["engine.availability"], self._on_engine)
        for name in CONSOLE_TOPICS:
            b.listen(REGISTRY[name], lambda p, d, name=name: self._on_retained(name, p, d))
        for spec in REGISTRY.requests():
            if spec.kind == "window":
                b.listen(REGISTRY.response_for(spec), self._on_response)
        b.on_connect(lambda: self._emit("bus", "", {"connected": True}))
        b.start(timeout)

    def stop(self) -> None:
        self.bus.stop()

    @property
    def connected(self) -> bool:
        return self.bus.connected

    # -------------------------------------------------------- incoming --
    def _emit(self, what: str, ident: str, data: Any) -> None:
        for fn in list(self._listeners):
            try:
                fn(what, ident, data)
            except Exception:
                log.exception("listener failed on %s %s", what, ident)

    @staticmethod
    def _plain(msg: Any) -> Any:
        return msgspec.to_builtins(msg) if msg is not None else None

    def _on_state(self, p: Parsed, state: m.WindowState | None) -> None:
        # a field the type does not have (a form on a retained topic) is never decoded, so never kept
        data = self._plain(state)
        if data is None:
            self.states.pop(p.ident, None)
        else:
            self.states[p.ident] = data
        self._emit("state", p.ident, data)

    def _on_board(self, p: Parsed, board: m.ZoneBoard | None) -> None:
        data = self._plain(board)
        if data is not None:
            self.boards[p.ident] = data
        self._emit("board", p.ident, data)

    def _on_waiting(self, p: Parsed, counts: m.ZoneWaiting | None) -> None:
        data = self._plain(counts)
        if data is None:
            self.waits.pop(p.ident, None)
        else:
            self.waits[p.ident] = data
            self.window_waiting.update(counts.windows)
        self._emit("waiting", p.ident, data)

    def _on_retained(self, name: str, p: Parsed, msg: Any) -> None:
        data = self._plain(msg)
        if data is None:  # a cleared retained topic: the alert or figure is gone
            self.retained[name].pop(p.ident, None)
        else:
            self.retained[name][p.ident] = data
        self._emit(name, p.ident, data)

    def _on_engine(self, p: Parsed, avail: m.Availability | None) -> None:
        self.engine = avail.state if avail is not None else "offline"
        self._emit("engine", p.ident, self.engine)

    def _on_response(self, p: Parsed, resp: m.Response | None) -> None:
        if resp is None:
            return
        with self._lock:
            entry = self._pending.get(resp.id)
        if entry is not None:
            loop, fut = entry
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(resp))

    # -------------------------------------------------------- requests --
    @staticmethod
    def _reply(op: str, data: Any) -> Any:
        """The reply's data checked against its registered type, as plain JSON values for the pages."""
        try:
            return msgspec.to_builtins(m.reply_data(f"window.{op}", data))
        except msgspec.ValidationError as e:
            raise RequestError(E.INTERNAL, f"the reply to {op} does not fit its type: {e}") from None

    def check_online(self) -> None:
        if not self.bus.connected:
            raise RequestError(E.OFFLINE, "the terminal server has lost the hall bus; nothing was sent")
        if self.engine != "online":
            raise RequestError(E.ENGINE_OFFLINE, f"the queue engine is {self.engine}; nothing was sent")

    async def request(self, window: str, op: str, body: dict[str, Any], rid: str | None = None) -> Any:
        """Send ``window/<id>/request/<op>`` and return the reply's data.

        Raises :class:`RequestError`: ``offline``/``engine_offline`` when nothing
        was sent, ``timeout`` when it was sent and no reply came (the caller
        may retry with the same ``rid``), or the engine's own error code."""
        spec = REGISTRY[f"window.request.{op}"]
        rid = rid or self.new_id()
        try:  # typed both ways: the request as its registered type, the reply's data as its own
            data = m.request_payload(f"window.{op}", rid, body)
        except msgspec.ValidationError as e:
            raise RequestError(E.BAD_REQUEST, f"{op}: {e}") from None
        self.check_online()
        loop = asyncio.get_running_loop()
        try:
            for _ in range(self.retries + 1):
                fut = loop.create_future()
                with self._lock:
                    self._pending[rid] = (loop, fut)
                self.check_online()
                self.bus.publish(spec, window, data)
                try:
                    resp: m.Response = await asyncio.wait_for(fut, self.timeout_s)
                except asyncio.TimeoutError:
                    continue
                if resp.status == "ok":
                    return self._reply(op, resp.data)
                err = resp.error
                raise RequestError(err.code if err else E.INTERNAL, err.message if err else "")
            raise RequestError(E.TIMEOUT, f"no reply from the engine to {op} within "
                                          f"{self.timeout_s:g}s × {self.retries + 1}")
        finally:
            with self._lock:
                self._pending.pop(rid, None)

"""The engine's shell: one asyncio event loop for the network and the core,
one thread for the SQLite commit (caller/committer.py).

The loop thread runs the MQTT connection (gmqtt, hall/loopbus.py), the door,
the core and every publish.  A request goes:

1. gmqtt parses it and calls the door (:meth:`EngineShell._door`) in the loop:
   past its client's token bucket, or with the queue full, it is answered at
   once (``rate_limited``, ``busy``) and never queued; bounds on size and
   nesting are checked before any decode (caller/service.py).
2. It waits in the inbound queue, one FIFO per client taken round robin
   (caller/door.py), so a client's backlog never sits in front of another's.
3. The pump applies queued requests to the core, into the *accumulating*
   batch, up to ``max_batch`` of them.
4. Group commit: when no commit is in flight, the batch is sealed (the core's
   changes drained, views rendered, replies and events queued behind it) and
   handed to the committer thread — one transaction, one fsync.  While it
   commits, the loop goes on applying what arrives into the next batch; when
   the commit returns, the loop publishes that batch's replies, events and
   views and hands the next batch over at once.  Under load batches grow by
   themselves; one request alone is committed alone, at once.

Nothing leaves before the state it shows is on disk: whatever the core emits
goes out after the commit of the batch it was sealed with (a batch with
nothing to write, when no commit is in flight, has nothing ahead of it and is
published at once).  The only thread hand-offs are per batch (to the committer
and back), not per message.  A bus with a network thread of its own (paho's
:class:`hall.bus.Bus`, the tests' loopback bus) works too: each message it
delivers is handed to the loop with ``call_soon_threadsafe``.

:class:`EngineShell` is the base of :class:`caller.service.CallerService`,
which supplies the core's side through the hooks at the end of this class.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from hall import messages as m
from hall import sdnotify
from hall.errors import ErrorCode as E
from hall.topics import REGISTRY, Parsed

from .committer import Committer, Work
from .door import InboundQueue, TokenBuckets
from .engine import Emit

log = logging.getLogger("caller.shell")

POLL_S = 0.1  # the loop's timer: watchdog beat, ticks and flushes when due (on the injected clock)
SWITCH_INTERVAL_S = 0.001  # see start()
STOP_S = 10.0  # how long stop() waits for the batch in flight
WATCH_NAME = "caller-loop"
M_ARENA_MAX = -8  # glibc's malloc.h


def one_malloc_arena() -> None:
    """Every thread of ours allocates from glibc's main malloc arena.

    glibc gives each thread that allocates its own arena (up to 8 per core),
    and what one thread frees serves only its own arena: the loop's replies
    and the committer's SQLite pages each kept a heap of their own, 2.7 MB more
    RSS after a 20,000-ticket day (docs/benchmarks.md, "The engine's memory").
    The two seldom allocate at the same moment (the GIL), so one arena costs
    no measurable CPU.  Set before the threads start; a no-op on a libc
    without ``mallopt`` (musl)."""
    import ctypes  # only here: 0.3 MB, for one call

    try:
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, 1)
    except (OSError, AttributeError):
        pass


@dataclass
class Batch:
    """What the requests applied since the last seal will store and send."""

    replies: list[tuple[Any, str, bytes]] = field(default_factory=list)  # (spec, ident, data)
    to_store: list[tuple[str, str, bytes]] = field(default_factory=list)  # (key, day, data)
    events: list[Emit] = field(default_factory=list)
    in_batch: dict[str, bytes] = field(default_factory=dict)
    records: list[Any] = field(default_factory=list)  # the extensions' typed rows
    count: int = 0  # requests applied
    ticked: bool = False  # the core's clock ran: its changes are drained with the batch
    republish: bool = False  # every retained view again (a (re)connect, a new config, a new day)
    prune_before: str | None = None
    purge: tuple[str, float] | None = None

    def __bool__(self) -> bool:
        return bool(self.count or self.ticked or self.republish or self.records or self.events
                    or self.prune_before or self.purge)


class EngineShell:
    """Loop, door, group commit.  The subclass sets ``config``, ``clock``,
    ``store``, ``health`` and ``bus`` before calling :meth:`_init_shell`."""

    def _init_shell(self, max_batch: int) -> None:
        self.max_batch = max(1, max_batch)  # 1 = one commit per request (to measure what batching buys)
        self._buckets = TokenBuckets()
        self._inbound = InboundQueue()
        self.shed: dict[str, int] = {}  # requests answered at the door without queueing, by code
        self._b = Batch()
        self._out: list[tuple[Any, str, Any]] = []  # emitted since the last seal
        self._in_flight: Work | None = None
        self._committer = Committer(self.store, self.health, self._commit_returned)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._loop_tid: int | None = None
        self._pump_due = False
        self._backlog_due = False
        self._serving = False
        self._timer: asyncio.TimerHandle | None = None
        self._last_tick = self._last_flush = -1e9
        self.failed: BaseException | None = None
        self.batches = 0  # for the benchmark: how well group commit groups

    # ------------------------------------------------------------ life --
    def start(self, timeout: float = 10.0) -> None:
        # A finished commit needs the GIL back to hand its batch to the loop; with
        # CPython's default 5 ms switch interval a busy loop could hold it that long.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        one_malloc_arena()
        self._load()
        # what start-up built (config, indexes, today's tickets) lives as long as
        # the process: out of the cyclic collector's generations for good
        gc.freeze()
        self._subscribe()
        self.bus.on_connect(lambda: self._in_loop(self._mark_republish))
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._loop_thread = threading.Thread(target=self._run_loop, args=(ready,), name="caller-loop",
                                             daemon=True)
        self._loop_thread.start()
        ready.wait()
        if hasattr(self.bus, "bind"):  # hall.loopbus.LoopBus runs on this loop
            self.bus.bind(self._loop, self._loop_tid)
            # a request read while a commit is in flight is acknowledged with
            # that batch's replies: one write, not one more per request
            self.bus.hold_acks_while(lambda: self._in_flight is not None)
        self._committer.start()
        # connected before serving, so nothing is published on a bus not yet
        # started; what arrives meanwhile waits in the door's queue for _begin
        self.bus.start(timeout)
        self._serving = True
        self._loop.call_soon_threadsafe(self._begin)

    def _run_loop(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop_tid = threading.get_ident()
        self._loop.call_soon(ready.set)
        self._loop.run_forever()

    def _begin(self) -> None:
        sdnotify.watch(WATCH_NAME)
        self._poll()
        self._wake()  # what the door queued before the loop ran

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._finish(), loop).result(STOP_S + 5)
            except Exception:  # noqa: BLE001 — stopping anyway
                log.exception("engine did not stop cleanly")
        self._committer.stop()
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join(5)
            if not loop.is_running():
                loop.close()
        self._loop = None
        self.store.close()

    async def _finish(self) -> None:
        """What was applied is committed and answered; then 'stopped'."""
        self._serving = False
        if self._timer is not None:
            self._timer.cancel()
        end = time.monotonic() + STOP_S
        while self.failed is None and time.monotonic() < end and (self._in_flight is not None or self._b or self._out):
            if self._in_flight is None:
                self._seal_and_submit()
            await asyncio.sleep(0.005)
        sdnotify.unwatch(WATCH_NAME)
        if hasattr(self.bus, "disconnect"):
            await self.bus.disconnect("stopped")
        else:
            self.bus.stop()

    def _fail(self, e: BaseException) -> None:
        """Memory and disk may differ now: stop serving; systemd restarts us from the store."""
        if self.failed is None:
            log.critical("engine stopped: %s", e, exc_info=e)
            self.failed = e
        self._serving = False
        if self._timer is not None:
            self._timer.cancel()
        self.bus.stop(state="offline")

    def _in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` in the loop's thread (now, if this is it)."""
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_tid:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    # ------------------------------------------------------------ door --
    def _on_message(self, parsed: Parsed, payload: bytes) -> None:
        """The bus's handler: in the loop's thread (LoopBus), or handed to it."""
        if self._loop is not None and threading.get_ident() != self._loop_tid:
            self._loop.call_soon_threadsafe(self._door, parsed, payload)
        else:
            self._door(parsed, payload)

    def _door(self, parsed: Parsed, payload: bytes) -> None:
        """A request past its client's bucket, or arriving while the queue is
        full, is answered at once and never queued."""
        spec = parsed.spec
        if spec.is_request:
            door = self.config.door
            if not self._buckets.take(door, spec.kind, parsed.ident, self.clock.monotonic()):
                return self._shed(parsed, payload, E.RATE_LIMITED,
                                  f"more than {door.bucket(spec.kind).rate:g} requests/s; slow down")
            if len(self._inbound) >= door.max_queue:
                return self._shed(parsed, payload, E.BUSY, "the engine is busy; try again shortly")
        self._inbound.put((spec.kind, parsed.ident), (parsed, payload))
        self._wake()

    def _shed(self, parsed: Parsed, payload: bytes, code: str, message: str) -> None:
        n = self.shed.get(code, 0)
        self.shed[code] = n + 1
        if n % 1000 == 0:  # a flood must not become a flood of log lines
            log.warning("%s %s from %s (%d so far)", code, parsed.spec.name, parsed.ident, n + 1)
        self.bus.publish(REGISTRY.response_for(parsed.spec), parsed.ident, m.encode(m.Response(
            id=m.best_effort_id(payload), status="error", error=m.ErrorBody(code=code, message=message))))

    # ---------------------------------------------------- group commit --
    def _wake(self) -> None:
        """Pump once the loop has read what is ready (so a burst is one batch)."""
        if not self._pump_due and self._serving and self._loop is not None:
            self._pump_due = True
            self._loop.call_soon(self._pump)

    def _pump(self) -> None:
        self._pump_due = False
        if not self._serving:
            return
        try:
            b = self._b
            room = self.max_batch - b.count
            if room > 0 and self._inbound:
                items = self._inbound.take(room)
                now = self.clock.now()
                self.health.requests += len(items)
                for parsed, payload in items:
                    self._answer_once(parsed, payload, now, b)
                b.count += len(items)
            if self._in_flight is None:
                self._seal_and_submit()
            if self._inbound and self._b.count < self.max_batch:
                self._wake()  # more queued than one batch took: the next, after the loop's I/O
        except Exception as e:
            self._fail(e)

    def _seal_and_submit(self) -> None:
        """Called with no commit in flight: the accumulated batch goes to disk
        (or, with nothing to write, out at once)."""
        b, self._b = self._b, Batch()
        work = self._seal(b, self.clock.now()) if b else None
        if work is None or not work.writes():
            out = work.out if work is not None else self._out
            if work is None:
                self._out = []
            with self._corked():
                for spec, ident, payload in out:
                    self.bus.publish(spec, ident, payload)
            return
        work.made = time.perf_counter()
        self._in_flight = work
        self._committer.submit(work)

    def _commit_returned(self, work: Work, error: BaseException | None) -> None:
        """In the committer's thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._committed, work, error)

    def _committed(self, work: Work, error: BaseException | None) -> None:
        if error is not None:
            return self._fail(error)
        self._in_flight = None
        if work.changes is not None:
            self.batches += 1
        with self._corked():
            for spec, ident, payload in work.out:  # only now: what they show is on disk
                self.bus.publish(spec, ident, payload)
            self._pump()

    def _corked(self) -> Any:
        """Publishes inside leave in one socket write, where the bus can (LoopBus)."""
        corked = getattr(self.bus, "corked", None)
        return corked() if corked is not None else contextlib.nullcontext()

    def _emit(self, spec: Any, ident: str, payload: Any) -> None:
        self._out.append((spec, ident, payload))

    def _mark_republish(self) -> None:
        """After a (re)connect: the broker may have lost its retained state."""
        self._b.republish = True
        self._wake()

    # ----------------------------------------------------------- timers --
    def _poll(self) -> None:
        """Every POLL_S: the watchdog, and the core's tick and the views' flush
        when due on the injected clock (tests move it by hand)."""
        if not self._serving:
            return
        try:
            sdnotify.beat(WATCH_NAME)
            mono = self.clock.monotonic()
            if mono - self._last_tick >= self.TICK_S:
                self._last_tick = mono
                self._tick(self._b)
                self._b.ticked = True
                self._wake()
            if mono - self._last_flush >= self.FLUSH_S:
                self._last_flush = mono
                self._flush_waiting()
                if not self._backlog_due:
                    self._step_backlog()
        except Exception as e:
            return self._fail(e)
        self._timer = self._loop.call_later(POLL_S, self._poll)

    def _step_backlog(self) -> None:
        """Coalesced views go out a few per loop turn, so a burst of window
        states never holds up a call or a reply."""
        self._backlog_due = False
        if not self._serving:
            return
        try:
            if self._send_backlog():
                self._backlog_due = True
                self._loop.call_soon(self._step_backlog)
            if self._in_flight is None:
                self._seal_and_submit()
        except Exception as e:
            self._fail(e)

    def inbound(self) -> int:
        return len(self._inbound)

    # ------------------------------------------------ the core's side --
    TICK_S = 1.0
    FLUSH_S = 0.5

    def _load(self) -> None:
        """Open the store and restore the core (before anything is served)."""
        raise NotImplementedError

    def _subscribe(self) -> None:
        """Subscribe the bus to every request the engine answers, with ``_on_message``."""
        raise NotImplementedError

    def _answer_once(self, parsed: Parsed, payload: bytes, now: float, b: Batch) -> None:
        """Apply one request to the core; its reply into ``b``."""
        raise NotImplementedError

    def _seal(self, b: Batch, now: float) -> Work | None:
        """Drain the core's changes and make the batch's :class:`Work` (its
        ``out``: everything emitted so far)."""
        raise NotImplementedError

    def _tick(self, b: Batch) -> None:
        """The core's periodic duties, into ``b``."""
        raise NotImplementedError

    def _flush_waiting(self) -> None:
        raise NotImplementedError

    def _send_backlog(self) -> bool:
        """Emit the next few coalesced views; True while more are waiting."""
        raise NotImplementedError


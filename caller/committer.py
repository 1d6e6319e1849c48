"""The engine's one thread besides its event loop: it writes batches to SQLite.

A :class:`Work` is one batch: the core's changes, the idempotency records, the
extensions' rows — written in ONE transaction (``Store.commit`` returns after
its fsync) — and what to publish once that is on disk.  The thread hands each
finished batch back through ``done(work, error)``; the shell (caller/shell.py)
publishes from its loop.  Only one batch is in the thread at a time: what
arrives meanwhile is the next batch (group commit).

The thread beats the systemd watchdog (hall/sdnotify.py) while idle and after
every commit: a commit stuck in an fsync or a lock stops the pings.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

from hall import sdnotify

from .effects import Changes

log = logging.getLogger("caller.committer")

BEAT_S = 1.0  # how often an idle committer tells the watchdog it is alive
WATCH_NAME = "caller-commit"


@dataclass
class Work:
    """One batch for the committer: what to write, then what to publish."""

    changes: Changes | None
    to_store: list[tuple[str, str, bytes]]  # (key, day, reply): idempotency records
    records: list[Any]  # the extensions' typed rows
    out: list[tuple[Any, str, Any]]  # (spec, ident, payload), published after the commit
    prune_before: str | None = None  # a new day: yesterday's idempotency records can go
    purge: tuple[str, float] | None = None  # …and personal data past its retention
    made: float = 0.0  # perf_counter when it was sealed (commit latency for stats/hall/engine)

    def writes(self) -> bool:
        """Whether anything goes to disk (else it can be published at once)."""
        ch = self.changes
        return bool(self.to_store or self.records or self.prune_before or self.purge or (ch is not None and (
            ch.tickets or ch.windows or ch.counters or ch.ratings or ch.estimates or ch.appointments)))


class Committer:
    """``submit(work)``; ``done(work, error)`` is called from this thread after
    each commit (``error`` None, or what the store raised: memory and disk may
    differ then, and the shell stops serving)."""

    def __init__(self, store: Any, health: Any, done: Callable[[Work, BaseException | None], None]):
        self.store = store
        self.health = health
        self._done = done
        self._q: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="caller-commit", daemon=True)
        self._thread.start()

    def submit(self, work: Work) -> None:
        self._q.put(work)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._q.put(None)
            self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        sdnotify.watch(WATCH_NAME)
        while True:
            try:
                work = self._q.get(timeout=BEAT_S)
            except queue.Empty:
                sdnotify.beat(WATCH_NAME)
                continue
            if work is None:
                sdnotify.unwatch(WATCH_NAME)
                return
            error: BaseException | None = None
            try:
                self.write(work)
            except Exception as e:  # noqa: BLE001 — handed to the shell, which stops serving
                error = e
            sdnotify.beat(WATCH_NAME)
            self._done(work, error)

    def write(self, work: Work) -> None:
        """One batch in one transaction (plus the day's pruning and purge)."""
        if work.changes is not None:
            self.store.commit(work.changes, work.to_store, work.records)
            self.health.committed(work.made)
        if work.prune_before:
            self.store.prune_replies(work.prune_before)
        if work.purge:
            self.store.purge_personal(*work.purge)

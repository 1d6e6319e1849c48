"""The engine's door: token buckets per client, checked before a request is
queued, and the queue itself, fair between clients.

Pure: the caller passes the monotonic time.  A client is ``(kind, id)``; its
bucket holds ``burst`` tokens and refills at ``rate`` a second.  The map of
buckets is bounded: ids come from outside (the ACL confines each login to its
own id, but a mistaken ACL must not let the map grow without end), so past
``max_clients`` the buckets that are full again (idle clients) are dropped.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Hashable

from hall.config.door import DoorConfig


class TokenBuckets:
    def __init__(self, max_clients: int = 10_000):
        self.max_clients = max_clients
        self._b: dict[tuple[str, str], list[float]] = {}  # client -> [tokens, last refill]

    def take(self, door: DoorConfig, kind: str, ident: str, mono: float) -> bool:
        """One request from this client now: True if its bucket had a token
        (``door``: the config in force, so a pushed config applies at once)."""
        key = (kind, ident)
        b = self._b.get(key)
        cfg = door.bucket(kind)
        if b is None:
            if len(self._b) >= self.max_clients:
                self._forget_idle(door, mono)
            b = self._b[key] = [float(cfg.burst), mono]
        else:
            b[0] = min(float(cfg.burst), b[0] + (mono - b[1]) * cfg.rate)
            b[1] = mono
        if b[0] >= 1.0:
            b[0] -= 1.0
            return True
        return False

    def _forget_idle(self, door: DoorConfig, mono: float) -> None:
        for key, (tokens, last) in list(self._b.items()):
            cfg = door.bucket(key[0])
            if tokens + (mono - last) * cfg.rate >= cfg.burst:
                del self._b[key]
        if len(self._b) >= self.max_clients:  # all busy: the oldest half goes
            for key in sorted(self._b, key=lambda k: self._b[k][1])[: len(self._b) // 2]:
                del self._b[key]


class InboundQueue:
    """Requests waiting for the core: one FIFO per client, taken round robin.

    A client with a backlog (a burst within its bucket, a flood of retries)
    never sits in front of another client's one request: each turn takes one
    request of every client that has one.  Within a client the order is kept.
    ``len()`` is the total, which the door bounds (``max_queue``).
    """

    def __init__(self) -> None:
        self._q: dict[Hashable, deque[Any]] = {}
        self._turn: deque[Hashable] = deque()  # clients with requests, in turn order
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def put(self, client: Hashable, item: Any) -> None:
        q = self._q.get(client)
        if q is None:
            q = self._q[client] = deque()
            self._turn.append(client)
        q.append(item)
        self._n += 1

    def take(self, n: int) -> list[Any]:
        """Up to ``n`` requests, one per client per turn."""
        out: list[Any] = []
        turn, queues = self._turn, self._q
        while turn and len(out) < n:
            client = turn.popleft()
            q = queues[client]
            out.append(q.popleft())
            if q:
                turn.append(client)
            else:
                del queues[client]
        self._n -= len(out)
        return out

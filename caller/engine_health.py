"""The engine's own health for `onewindow metrics`: requests, batches, and how
long a batch takes from leaving the worker to its commit (the fsync included),
published as ``stats/hall/engine`` every few seconds.

The committer thread records; the worker thread renders.  A deque append and a
copy of it are atomic under the GIL, so they need no lock between them.
"""

from __future__ import annotations

import time
from collections import deque

from hall import messages as m

WINDOW = 1000  # the last batches the percentiles are taken over
EVERY_S = 5.0


class EngineHealth:
    def __init__(self, started_at: float):
        self.started_at = started_at
        self.requests = 0
        self.batches = 0
        self._lat: deque[float] = deque(maxlen=WINDOW)
        self._next = 0.0

    def committed(self, made: float) -> None:
        """In the committer, after a batch's commit returned."""
        self.batches += 1
        self._lat.append(time.perf_counter() - made)

    def due(self, mono: float) -> bool:
        if mono < self._next:
            return False
        self._next = mono + EVERY_S
        return True

    def render(self, now: float, inbound: int) -> m.EngineStats:
        lat = sorted(self._lat)

        def pct(q: float) -> float:
            return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 3) if lat else 0.0

        return m.EngineStats(requests=self.requests, batches=self.batches, batch_ms_p50=pct(0.5),
                             batch_ms_p99=pct(0.99), batch_ms_max=round(lat[-1] * 1000, 3) if lat else 0.0,
                             inbound=inbound, started_at=self.started_at, at=now)

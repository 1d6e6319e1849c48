"""The console's live pages: every change on the bus reaches every open
dashboard by SSE, coalesced (a busy hall changes window states many times a
second; a page needs the picture at most every ``PUSH_EVERY_S``)."""

from __future__ import annotations

import asyncio
from typing import Any

from hall.config import HallConfig

from ..terminal.desk import Page
from . import view
from .acks import AckStore

PUSH_EVERY_S = 0.3
WATCHED = {"state", "waiting", "engine", "bus", "stats.summary", "stats.balance", "stats.satisfaction.window",
           "stats.satisfaction.day", "alert.unattended", "alert.followup", "alert.supervision", "alert.case",
           "stats.windows"}


class Console:
    def __init__(self, cfg: HallConfig, hub: Any, acks: AckStore):
        self.cfg = cfg
        self.hub = hub
        self.acks = acks
        self.pages: set[Page] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.hub.listen(self._from_bus)

    def _from_bus(self, what: str, ident: str, data: Any) -> None:  # paho's thread
        if what in WATCHED and self.loop is not None:
            self.loop.call_soon_threadsafe(self.changed)

    def take_config(self, cfg: HallConfig) -> None:
        """A new config revision: windows, zones and names as it says, on every open page."""
        self.cfg = cfg
        self.changed()

    # ----------------------------------------------------------- views --
    def dashboard(self) -> dict:
        return view.dashboard(self.cfg, self.hub.states, self.hub.waits, self.hub.retained, self.hub.engine)

    def alerts(self) -> list[dict]:
        return view.alerts(self.cfg, self.hub.retained, self.acks.get)

    def snapshot(self) -> list[tuple[str, Any]]:
        return [("dashboard", self.dashboard()), ("alerts", self.alerts())]

    # ----------------------------------------------------------- pushes --
    def changed(self) -> None:
        if not self._scheduled and self.loop is not None:
            self._scheduled = True
            self.loop.call_later(PUSH_EVERY_S, self._push)

    def _push(self) -> None:
        self._scheduled = False
        if not self.pages:
            return
        for event, data in self.snapshot():
            for page in list(self.pages):
                try:
                    page.q.put_nowait((event, data))
                except asyncio.QueueFull:  # a page that stopped reading reconnects and gets a snapshot
                    self.pages.discard(page)
                    page.closed = True

"""The wall display's bus side: MQTT in, typed messages out to the UI thread.

Handlers run in paho's network thread and only decode and enqueue; the UI
thread calls :meth:`DisplayFeed.drain` each frame (and whenever ``wake`` fires)
to apply them to the :class:`~display.callboard.CallBoard`, so the view model
is only ever touched by one thread.

The display keeps running with no broker: it shows what it knew with the
offline mark and keeps trying to connect in the background.
"""

from __future__ import annotations

import logging
import queue
from typing import Any, Callable


from hall import messages as m
from hall.bus import Bus, BusSettings
from hall.clock import Clock, SystemClock
from hall.config import ConfigError, HallConfig, parse_config
from hall.config.screens import Screen
from hall.topics import REGISTRY, Parsed

from .callboard import BoardSettings, CallBoard

log = logging.getLogger("display.feed")

ENGINE_ID = "caller"  # the queue engine's availability id (caller/service.py)
HALL = "hall"


def board_settings(cfg: HallConfig, screen: Screen) -> BoardSettings:
    s = cfg.screens
    windows = tuple((w.id, w.number) for w in cfg.windows if not screen.zones or w.zone in screen.zones)
    return BoardSettings(zones=frozenset(screen.zones), recent=screen.recent, current=screen.current,
                         flash_seconds=s.flash_seconds, flash_min_seconds=s.flash_min_seconds,
                         stale_seconds=s.stale_seconds, idle_seconds=s.idle_seconds,
                         page_seconds=s.page_seconds, progress_rows=s.progress_rows,
                         progress_page=screen.progress_page, waiting_by=screen.waiting_by,
                         windows=windows if screen.style == "windows" else ())


def waiting_order(cfg: HallConfig, screen: Screen) -> tuple[str, ...]:
    if screen.waiting_by == "zone":
        return tuple(z.id for z in cfg.zones)
    return tuple(g.prefix for g in cfg.groups)



def published_config(cur: m.ConfigCurrent | None, current: HallConfig, what: str) -> HallConfig | None:
    """The hall config retained on ``config/hall/current`` when it differs from
    ``current``; None when it is the same, cleared or refused (then logged, and
    the running one stays)."""
    if cur is None or cur.digest == current.digest():
        return None
    try:
        return parse_config(cur.config, "config/hall/current")
    except ConfigError as e:
        log.warning("kept the running %s; the published config was refused: %s", what, e)
        return None

class DisplayFeed:
    def __init__(self, config: HallConfig, screen: Screen, settings: BusSettings,
                 clock: Clock | None = None, wake: Callable[[], None] | None = None,
                 client_id: str | None = None):
        self.config = config
        self.screen = screen
        self.clock = clock or SystemClock()
        self.wake = wake or (lambda: None)
        self.board = CallBoard(board_settings(config, screen), order=waiting_order(config, screen))
        self.bus = Bus(config.hall.id, client_id or f"onewindow-display-{screen.id}", settings,
                       availability=(REGISTRY["display.availability"], screen.id))
        self.config_listeners: list[Callable[[HallConfig, Screen], None]] = []
        self.call_listeners: list[Callable[[m.CalledEvent, bool], None]] = []
        self._inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._linked = False

    # ------------------------------------------------------------ life --
    def start(self, timeout: float = 5.0) -> None:
        zones = self.screen.zones or ["+"]
        for z in zones:
            self.bus.listen(REGISTRY["zone.board"], self._on_board, ident=z)
            self.bus.listen(REGISTRY["zone.waiting"], self._on_waiting, ident=z)
            self.bus.listen(REGISTRY["zone.called"], self._on_called, ident=z)
        self.bus.listen(REGISTRY["engine.availability"], self._on_engine, ident=ENGINE_ID)
        self.bus.listen(REGISTRY["config.current"], self._on_config, ident=HALL)
        if self.screen.progress_page:
            self.bus.listen(REGISTRY["stats.progress"], self._on_progress, ident=HALL)
        if self.screen.style == "windows":
            self.bus.listen(REGISTRY["window.state"], self._on_window)
        # Runs before the retained messages of the renewed subscriptions are handled.
        self.bus.on_connect(lambda: self._put("link", True))
        self.board.start(self.clock.now())
        try:
            # the connection under way is kept: paho goes on trying by itself
            self.bus.start(timeout, keep_trying=True)
        except TimeoutError as e:
            log.warning("%s; showing offline and still trying", e)

    def stop(self) -> None:
        self.bus.stop()

    # ------------------------------------------------- network thread --
    def _put(self, kind: str, item: Any) -> None:
        self._inbox.put((kind, item))
        self.wake()

    # typed by the bus (Bus.listen): a payload that does not decode never gets here

    def _on_board(self, p: Parsed, board: m.ZoneBoard | None) -> None:
        if board is None:
            self._put("board-cleared", p.ident)
        else:
            self._put("board", board)

    def _on_waiting(self, p: Parsed, waiting: m.ZoneWaiting | None) -> None:
        if waiting is None:
            self._put("waiting-cleared", p.ident)
        else:
            self._put("waiting", waiting)

    def _on_called(self, p: Parsed, ev: m.CalledEvent | None) -> None:
        if ev is not None:
            self._put("called", ev)

    def _on_engine(self, p: Parsed, avail: m.Availability | None) -> None:
        self._put("engine", avail)

    def _on_window(self, p: Parsed, state: m.WindowState | None) -> None:
        if state is not None:
            self._put("window", state)

    def _on_progress(self, p: Parsed, board: m.ProgressBoard | None) -> None:
        self._put("progress", board)

    def _on_config(self, p: Parsed, cur: m.ConfigCurrent | None) -> None:
        cfg = published_config(cur, self.config, "config")
        if cfg is not None:
            self._put("config", cfg)

    # ------------------------------------------------------ UI thread --
    def drain(self, now: float | None = None) -> bool:
        """Apply what arrived; True when anything did (the view may have changed)."""
        now = self.clock.now() if now is None else now
        changed = False
        while True:
            try:
                kind, item = self._inbox.get_nowait()
            except queue.Empty:
                break
            changed = True
            if kind == "board":
                self.board.on_board(item, now)
            elif kind == "called":
                fresh = self.board.on_called(item, now)
                for cb in self.call_listeners:
                    cb(item, fresh)
            elif kind == "board-cleared":
                self.board.clear_board(item)
            elif kind == "waiting":
                self.board.on_waiting(item)
            elif kind == "waiting-cleared":
                self.board.clear_waiting(item)
            elif kind == "engine":
                self.board.on_engine(item.state if item is not None else None)
            elif kind == "progress":
                self.board.on_progress(item)
            elif kind == "window":
                self.board.on_window(item)
            elif kind == "link":
                self._linked = True
                self.board.on_link(True, now)
            elif kind == "config":
                self._apply_config(item)
        if self._linked and not self.bus.connected:
            self._linked = False
            self.board.on_link(False, now)
            changed = True
        return changed

    def _apply_config(self, cfg: HallConfig) -> None:
        screen = cfg.screens.screen(self.screen.id) or self.screen
        if screen.zones != self.screen.zones:
            log.warning("display %s: a zone change needs a restart; keeping zones %s",
                        screen.id, self.screen.zones)
            screen = screen.model_copy(update={"zones": self.screen.zones})
        self.config, self.screen = cfg, screen
        self.board.settings = board_settings(cfg, screen)
        self.board.order = waiting_order(cfg, screen)
        for cb in self.config_listeners:
            cb(cfg, screen)

"""The wall display's view model: messages and the time in, what to show out.

No Kivy, no MQTT, no clock: every method takes ``now`` (epoch seconds), so the
rules below are tested directly (tests/test_display_callboard.py).

Rules
-----
* The retained zone boards are the truth.  They arrive at start and again
  after every reconnect and replace what was there, so the screen rebuilds
  from them alone.  A ``called`` event only fills the gap until the next board
  (it is dropped once a board at least as new has arrived).
* Only a live ``called`` event makes the newest call flash, and only once per
  event id (QoS 1 may deliver twice), only if it is not older than
  ``stale_seconds`` when it arrives, and only if it is not older than the call
  already shown.  A call seen only on a board (after a restart or a reconnect)
  is shown but never flashes: an old call is never presented as new.
* A recall is a new event with a new id: it flashes again.
* Every live call gets its own flash, in the order the calls came: flashes
  queue, each lasts at least ``flash_min_seconds`` (and ``flash_seconds``
  when nothing waits behind it), so three calls within a second flash three
  times, none skipped.  The flashing call is the big one; the others newer
  than it stay listed under it.
* A flash is never skipped for want of a frame: a display too busy to draw
  (a small Pi's shared core) holds a queued flash until a view has shown it
  once; one first shown after its time was up flashes ``flash_min_seconds``
  from then.  A flash held unshown ``stale_seconds`` past its time is
  dropped (the call stays listed), as a stale call is never flashed.
* Memory is bounded whatever the day brings: a few calls per zone, a fixed
  ring of seen event ids.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Iterable, Literal

from hall.messages import CalledEvent, CaseProgress, ProgressBoard, WindowState, ZoneBoard, ZoneWaiting

SEEN_EVENTS = 512   # event ids remembered for dedupe; far more than a flash's worth
LIVE_CALLS = 64     # events not yet on a board (a board normally follows in ms)
ENGINE_GRACE = 5.0  # seconds after connecting before a missing engine counts as offline


@dataclass(frozen=True)
class Call:
    ticket: str
    number: str
    window: str
    window_number: str
    zone: str
    at: float
    recall: int = 0
    event: str | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.ticket, self.window, self.recall)


@dataclass(frozen=True)
class BoardSettings:
    zones: frozenset[str] = frozenset()  # empty: every zone
    recent: int = 6
    current: int = 1          # calls shown large: the big one and the ones listed under it
    flash_seconds: float = 8.0
    flash_min_seconds: float = 2.0
    stale_seconds: float = 20.0
    idle_seconds: float = 60.0
    page_seconds: float = 15.0
    progress_rows: int = 8
    progress_page: bool = True
    waiting_by: Literal["group", "zone"] = "group"
    windows: tuple[tuple[str, str], ...] = ()  # window-grid style: (window id, its number) in config order


@dataclass(frozen=True)
class WindowCell:
    window: str
    number: str           # the number citizens see on the window (5 in 5号窗口)
    ticket: str | None    # the ticket number it serves or called, None when free
    status: Literal["open", "paused", "closed", "unknown"]


@dataclass(frozen=True)
class View:
    """Everything a renderer needs; equal views render identically."""

    page: Literal["calls", "progress"]
    hero: Call | None
    flashing: bool
    recent: tuple[Call, ...]
    waiting: tuple[tuple[str, int], ...]  # (group prefix or zone id, count), in config order
    waiting_total: int
    offline: str | None  # None, "broker" or "engine"
    progress: tuple[CaseProgress, ...] = ()
    progress_index: int = 0  # page i of n of the progress board
    progress_pages: int = 0
    current: tuple[Call, ...] = ()  # the calls listed under the big one, newest first
    windows: tuple[WindowCell, ...] = ()


@dataclass
class _LinkState:
    connected: bool = False
    since: float = 0.0
    engine: str | None = None


@dataclass
class CallBoard:
    settings: BoardSettings
    order: tuple[str, ...] = ()  # group prefixes or zone ids in config order, for waiting
    _boards: dict[str, ZoneBoard] = field(default_factory=dict)
    _waits: dict[str, ZoneWaiting] = field(default_factory=dict)  # zone -> its retained counts
    _live: deque = field(default_factory=lambda: deque(maxlen=LIVE_CALLS))
    _seen: OrderedDict = field(default_factory=OrderedDict)
    _flashes: deque = field(default_factory=lambda: deque(maxlen=LIVE_CALLS))  # (call, arrived)
    _flash_from: float = 0.0   # when the head of _flashes began to flash
    _flash_shown: bool = False  # the head of _flashes has been in a view (drawn) at least once
    _windows: dict[str, WindowState] = field(default_factory=dict)
    _last_call: float | None = None  # receipt time of the last live call (idle timer)
    _started: float | None = None
    _link: _LinkState = field(default_factory=_LinkState)
    _progress: tuple[CaseProgress, ...] = ()
    # cases the screen can show a page at the reading rule's size (0: settings.progress_rows)
    progress_capacity: int = 0

    # ------------------------------------------------------------ inputs --
    def wants(self, zone: str) -> bool:
        return not self.settings.zones or zone in self.settings.zones

    def on_board(self, board: ZoneBoard, now: float) -> None:
        if not self.wants(board.zone):
            return
        old = self._boards.get(board.zone)
        if old is not None and board.at < old.at:
            return  # an older board overtaken in flight
        self._boards[board.zone] = board
        self._prune_live()

    def clear_board(self, zone: str) -> None:
        """The retained board was deleted (empty payload)."""
        self._boards.pop(zone, None)

    def on_waiting(self, counts: ZoneWaiting) -> None:
        """A zone's retained waiting counts (``zone/<z>/waiting``)."""
        if not self.wants(counts.zone):
            return
        old = self._waits.get(counts.zone)
        if old is None or counts.at >= old.at:
            self._waits[counts.zone] = counts

    def clear_waiting(self, zone: str) -> None:
        self._waits.pop(zone, None)

    def on_called(self, ev: CalledEvent, now: float) -> bool:
        """Take a live call; True when it is shown as the new, flashing call."""
        if not self.wants(ev.zone):
            return False
        if ev.event in self._seen:
            return False
        self._seen[ev.event] = None
        while len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)
        call = Call(ticket=ev.ticket, number=ev.number, window=ev.window,
                    window_number=ev.window_number, zone=ev.zone, at=ev.at,
                    recall=ev.recall, event=ev.event)
        board = self._boards.get(ev.zone)
        if board is None or ev.at > board.at:
            self._live.append(call)
        if now - ev.at > self.settings.stale_seconds:
            return False  # late (replayed, or queued while we were away): list it, never flash it
        newest = self._hero()
        if newest is not None and newest.key != call.key and newest.at > call.at:
            return False  # an older call arriving after a newer one
        self._advance(now)
        if not self._flashes:
            self._flash_from, self._flash_shown = now, False
        self._flashes.append((call, now))
        self._last_call = now
        return True

    def on_window(self, state: WindowState) -> None:
        """A window's retained state (window-grid style)."""
        if any(state.window == wid for wid, _ in self.settings.windows):
            self._windows[state.window] = state

    def on_engine(self, state: str | None) -> None:
        self._link.engine = state

    def on_link(self, connected: bool, now: float) -> None:
        if connected and not self._link.connected:
            self._link.since = now
            # Anything that happened while away is on the retained boards about
            # to arrive; a half-remembered live call must not outlive them.
            self._live.clear()
        self._link.connected = connected

    def on_progress(self, board: ProgressBoard | None) -> None:
        self._progress = tuple(board.cases) if board is not None else ()

    def start(self, now: float) -> None:
        self._started = now

    # ------------------------------------------------------------ output --
    def view(self, now: float) -> View:
        self._advance(now)
        if self._flashes and not self._flash_shown:
            self._flash_shown = True
            end = self._flash_end()
            if now >= end:  # first drawn after its time was up: its shortest flash from now
                self._flash_from += now + self.settings.flash_min_seconds - end
        calls = self._calls()
        flash = self._flashes[0][0] if self._flashes else None
        flashing = flash is not None
        hero = flash if flash is not None else (calls[0] if calls else None)
        others = [c for c in calls if hero is None or c.ticket != hero.ticket]
        n_cur = max(0, self.settings.current - 1)
        current, recent = tuple(others[:n_cur]), tuple(others[n_cur:n_cur + self.settings.recent])
        waiting, total = self._waiting()
        offline = self._offline(now)
        page, idx, pages, rows = "calls", 0, 0, ()
        if self.settings.progress_page and self._progress and not flashing:
            page, idx, pages, rows = self._rotation(now)
        return View(page=page, hero=hero, flashing=flashing, recent=recent, waiting=waiting,
                    waiting_total=total, offline=offline, progress=rows, progress_index=idx,
                    progress_pages=pages, current=current, windows=self._window_cells(calls))

    def next_change(self, now: float) -> float | None:
        """When the view changes by time alone (a flash ends), for a renderer's timer."""
        self._advance(now)
        return self._flash_end() if self._flashes else None

    # ------------------------------------------------------------ flashes --
    def _flash_end(self) -> float:
        s = self.settings
        return self._flash_from + (s.flash_min_seconds if len(self._flashes) > 1 else s.flash_seconds)

    def _advance(self, now: float) -> None:
        """Retire the flashes that are over by ``now``; the next starts when the
        one before it ended, or when it arrived if that was later."""
        while self._flashes:
            end = self._flash_end()
            if now < end or (not self._flash_shown and now - end <= self.settings.stale_seconds):
                return  # still flashing, or not drawn yet: it waits for its frame
            self._flashes.popleft()
            self._flash_shown = False
            if self._flashes:
                self._flash_from = max(end, self._flashes[0][1])

    # ------------------------------------------------------------ internals --
    def _prune_live(self) -> None:
        keep = [c for c in self._live
                if (b := self._boards.get(c.zone)) is None or c.at > b.at]
        if len(keep) != len(self._live):
            self._live.clear()
            self._live.extend(keep)

    def _calls(self) -> list[Call]:
        """Every known call, newest first, one per ticket."""
        entries: list[Call] = []
        for zone, b in self._boards.items():
            for e in _chain(b.current, b.recent):
                entries.append(Call(ticket=e.ticket, number=e.number, window=e.window,
                                    window_number=e.window_number, zone=zone, at=e.at,
                                    recall=e.recall))
        entries.extend(self._live)
        entries.sort(key=lambda c: (c.at, c.recall), reverse=True)
        out: list[Call] = []
        seen: set[str] = set()
        for c in entries:
            if c.ticket in seen:
                continue
            seen.add(c.ticket)
            out.append(c)
            if len(out) > self.settings.recent + self.settings.current:
                break
        return out

    def _window_cells(self, calls: list[Call]) -> tuple[WindowCell, ...]:
        if not self.settings.windows:
            return ()
        called = {}
        for c in reversed(calls):  # newest last: it wins
            called[c.window] = c.number
        cells = []
        for wid, number in self.settings.windows:
            st = self._windows.get(wid)
            if st is None:  # no state yet: what the boards say it called
                cells.append(WindowCell(wid, number, called.get(wid), "unknown"))
                continue
            ticket = st.ticket.number if st.ticket is not None else None
            cells.append(WindowCell(wid, number, ticket if st.status == "open" else None, st.status))
        return tuple(cells)

    def _hero(self) -> Call | None:
        calls = self._calls()
        return calls[0] if calls else None

    def _waiting(self) -> tuple[tuple[tuple[str, int], ...], int]:
        counts: dict[str, int] = {}
        total = 0
        for zone, w in self._waits.items():
            total += w.total
            if self.settings.waiting_by == "zone":
                counts[zone] = counts.get(zone, 0) + w.total
            else:
                for prefix, n in w.groups.items():
                    counts[prefix] = counts.get(prefix, 0) + n
        rank = {k: i for i, k in enumerate(self.order)}
        ordered = sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
        return tuple(ordered), total

    def _offline(self, now: float) -> str | None:
        if not self._link.connected:
            return "broker"
        state = self._link.engine
        if state is None:
            return "engine" if now - self._link.since > ENGINE_GRACE else None
        return None if state == "online" else "engine"

    def _rotation(self, now: float):
        idle_from = self._last_call if self._last_call is not None else self._started
        if idle_from is None:
            idle_from = now
        idle = now - idle_from
        if idle < self.settings.idle_seconds:
            return "calls", 0, 0, ()
        rows = min(self.settings.progress_rows, self.progress_capacity or self.settings.progress_rows)
        pages = (len(self._progress) + rows - 1) // rows
        # progress page 1…n, then the calls page once, and round again
        slot = int((idle - self.settings.idle_seconds) // self.settings.page_seconds) % (pages + 1)
        if slot == pages:
            return "calls", 0, pages, ()
        return "progress", slot, pages, self._progress[slot * rows:(slot + 1) * rows]


def _chain(*lists: Iterable) -> Iterable:
    for lst in lists:
        yield from lst

"""`onewindow demo`: a whole simulated hall on embedded defaults.

Starts a broker (mosquitto if installed, else embedded), the real engine on a
SQLite file in a temporary folder with a simulated clock, the device bridge
with fake serial devices on ptys when available, simulated kiosks (seeded
arrivals with a morning peak) and simulated staff, and a live terminal board
that — like every screen of the hall — rebuilds itself from retained state.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import json
import logging
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import msgspec

from hall import messages as m
from hall.broker import start_local_broker
from hall.bus import Bus, RequestError, Requester
from hall.config import ConfigError, HallConfig, load_config
from hall.topics import REGISTRY

from .simulate import Day, SimClock, next_working_morning

log = logging.getLogger("sim.demo")
EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "hall.example.yaml"


class Staff:
    """Every window's clerk, as one scheduler of timed actions in simulated time.

    A window with a (fake) keypad is worked through it — key frames on a pty,
    the real driver, the bridge — and the clerk watches the window's retained
    state to see what the key did; other windows use a soft caller (requests).
    Citizens rate on the window's evaluator device when it has one (and walk
    off without a key for the device's own timeout), else through the soft caller.
    """

    def __init__(self, cfg: HallConfig, bus: Bus, clock: SimClock, day: Day, stop: threading.Event,
                 rig=None, states: dict[str, dict] | None = None):
        self.cfg, self.clock, self.day, self.stop = cfg, clock, day, stop
        self.rig = rig
        self.states = states if states is not None else {}
        self.req = {w.id: Requester(bus, "window", w.id) for w in cfg.windows}
        self.keypad = {w.id for w in cfg.windows if rig is not None and rig.by_window.get(w.id, {}).get("keypad")}
        self.evaluator = {w.id for w in cfg.windows
                          if rig is not None and rig.by_window.get(w.id, {}).get("evaluator")}
        self.heap: list[tuple[float, int, str, str]] = []
        self.seq = itertools.count()
        self.pressed: dict[str, tuple[float, str | None, int]] = {}  # wid -> (at, previous number, tries)
        self.errors = 0

    def at(self, when: float, wid: str, action: str) -> None:
        heapq.heappush(self.heap, (when, next(self.seq), wid, action))

    def run(self, start: float) -> None:
        for i, w in enumerate(self.cfg.windows):
            self.at(start + 30 * (i % 10), w.id, "login")
        while not self.stop.is_set() and self.heap:
            when, _, wid, action = self.heap[0]
            wait = self.clock.real_delay(when - self.clock.now())
            if wait > 0:
                self.stop.wait(min(wait, 0.2))
                continue
            heapq.heappop(self.heap)
            try:
                self.act(wid, action, when)
            except RequestError as e:
                if e.code == "timeout":
                    self.errors += 1
                self.at(when + 60, wid, "next")
            except Exception:  # a simulated clerk must not end the simulated day
                log.exception("clerk at %s failed on %s", wid, action)
                self.errors += 1
                self.at(when + 60, wid, "next")

    def _current(self, wid: str) -> dict | None:
        st = self.states.get(wid) or {}
        return st.get("ticket")

    def _called(self, wid: str, ticket: dict, now: float) -> None:
        """A ticket was called at ``wid``: does the citizen come, and for how long?"""
        if not self.day.shows_up():
            self.at(now + 60, wid, "recall")
            return
        service = ticket["matter"] or ticket["bundle"]
        self.at(now + 45, wid, "start")
        self.at(now + 45 + self.day.handle_seconds(service), wid, "finish")

    def act(self, wid: str, action: str, now: float) -> None:
        keys = wid in self.keypad
        r = self.req[wid]
        if action == "login":
            if not (keys and self._press_login(wid)):
                r.call("login", {"staff": f"S{wid[1:]}"})
            self.at(now + 10, wid, "next")
        elif action == "next" and keys:
            cur = self._current(wid)
            self.pressed[wid] = (now, cur["number"] if cur else None, 0)
            self.rig.press(wid, "next")
            self.at(now + 10, wid, "seen")
        elif action == "seen":
            pressed_at, before, tries = self.pressed[wid]
            cur = self._current(wid)
            if cur and cur["state"] == "called" and cur["number"] != before:
                self._called(wid, cur, now)
            elif tries < 3:
                self.pressed[wid] = (pressed_at, before, tries + 1)
                self.at(now + 10, wid, "seen")
            else:  # nobody waits (or the key was lost): try again in a minute
                self.at(now + 60, wid, "next")
        elif action == "next":
            try:
                st = r.call("next", {})
            except RequestError as e:
                if e.code != "queue_empty":
                    raise
                self.at(now + 60, wid, "next")
                return
            if st["ticket"] is None:
                self.at(now + 60, wid, "next")
            else:
                self._called(wid, st["ticket"], now)
        elif action in ("recall", "noshow", "start", "finish") and keys and self._press(wid, action):
            self._after(wid, action, now)
        elif action in ("recall", "noshow", "start", "finish"):
            try:
                r.call(action, {})
            except RequestError as e:
                if action != "recall" or e.code != "recall_limit":
                    raise
            self._after(wid, action, now)
        elif action == "rate":
            level = self.day.rating()
            if wid in self.evaluator:
                if level is not None:  # else: the device times out by itself
                    self.rig.rate(wid, level)
            else:
                r.call("rate", {"timeout": True} if level is None else {"level": level})

    def _press_login(self, wid: str) -> bool:
        try:
            return bool(self.rig.press(wid, "login", f"{int(wid[1:]):04d}"))
        except (KeyError, ValueError):
            return False

    def _press(self, wid: str, key: str) -> bool:
        """Press a key on the window's keypad; False if that keypad has no such key
        (the FF-68 keypads have no "start"): the clerk uses the soft caller then."""
        try:
            return bool(self.rig.press(wid, key))
        except KeyError:
            return False

    def _after(self, wid: str, action: str, now: float) -> None:
        if action == "recall":
            self.at(now + 60, wid, "noshow")
        elif action == "noshow":
            self.at(now + 10, wid, "next")
        elif action == "finish":
            self.at(now + 15, wid, "rate")
            self.at(now + 40, wid, "next")


def _pad(text: str, width: int) -> str:
    """Left-justify by terminal columns: a Han character takes two."""
    import unicodedata
    cols, out = 0, ""
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if cols + w > width - 1:
            break
        out += ch
        cols += w
    return out + " " * (width - cols)


class Board:
    """The terminal board: retained zone boards and counts and the hall summary, redrawn each second."""

    def __init__(self, cfg: HallConfig, bus: Bus):
        self.cfg = cfg
        self.zones: dict[str, dict] = {}
        self.waits: dict[str, dict] = {}  # zone -> its retained waiting counts
        self.summary: dict = {}
        self.windows: dict[str, dict] = {}  # the clerks look here to see what their keys did
        self.lock = threading.Lock()
        # typed by the bus; the board keeps plain values of the validated structs
        bus.listen(REGISTRY["zone.board"], self._zone)
        bus.listen(REGISTRY["zone.waiting"], self._waits)
        bus.listen(REGISTRY["window.state"], self._window)
        bus.listen(REGISTRY["stats.summary"], self._summary, ident="hall")

    def _zone(self, parsed, board: m.ZoneBoard | None) -> None:
        if board is not None:
            with self.lock:
                self.zones[parsed.ident] = msgspec.to_builtins(board)

    def _waits(self, parsed, counts: m.ZoneWaiting | None) -> None:
        if counts is not None:
            with self.lock:
                self.waits[parsed.ident] = msgspec.to_builtins(counts)

    def _window(self, parsed, state: m.WindowState | None) -> None:
        if state is not None:
            self.windows[parsed.ident] = msgspec.to_builtins(state)  # one dict store: atomic under the GIL

    def _summary(self, parsed, summary: m.HallSummary | None) -> None:
        if summary is not None:
            with self.lock:
                self.summary = msgspec.to_builtins(summary)

    def render(self, now: float, width: int = 100) -> str:
        tz = ZoneInfo(self.cfg.hall.timezone)
        clock = dt.datetime.fromtimestamp(now, tz).strftime("%Y-%m-%d %H:%M")
        with self.lock:
            s = dict(self.summary)
            zones = {k: dict(v) for k, v in self.zones.items()}
            waits = {k: dict(v) for k, v in self.waits.items()}
        lines = [f"{self.cfg.hall.name.zh}  {self.cfg.hall.name.en}   {clock}",
                 f"issued {s.get('issued', 0):>5}   served {s.get('served', 0):>5}   "
                 f"waiting {s.get('waiting', 0):>4}   no-show {s.get('noshow', 0):>3}   "
                 f"avg wait {s.get('avg_wait_s', 0) / 60:5.1f} min   "
                 f"avg handling {s.get('avg_handle_s', 0) / 60:5.1f} min   open windows {s.get('open_windows', 0)}",
                 "-" * width]
        for z in self.cfg.zones:
            b = zones.get(z.id, {})
            calls = "  ".join(f"{c['number']}→{c['window_number']}号" for c in b.get("recent", [])[:6])
            w = waits.get(z.id, {})
            waiting = " ".join(f"{g}:{n}" for g, n in w.get("groups", {}).items())
            lines.append(f"{_pad(z.name.zh, 14)}{_pad(z.name.en, 28)}waiting {w.get('total', 0):>3} "
                         f"[{waiting}]   at windows {len(b.get('current', [])):>2}")
            lines.append(f"{'':14}latest calls: {calls}")
        return "\n".join(lines)


def summarise(db_path: Path, cfg: HallConfig) -> str:
    import sqlite3
    import statistics
    con = sqlite3.connect(db_path)
    rows = [json.loads(r[0]) for r in con.execute("SELECT data FROM tickets")]
    waits = sorted(t["first_called_at"] - t["issued_at"] for t in rows if t.get("first_called_at"))
    handles = [t["finished_at"] - (t.get("served_at") or t["called_at"]) for t in rows
               if t["state"] == "done" and t.get("finished_at")]
    states = {}
    for t in rows:
        states[t["state"]] = states.get(t["state"], 0) + 1
    ratings = list(con.execute("SELECT level, COUNT(*) FROM ratings GROUP BY level ORDER BY level DESC"))
    out = ["", "=== demo summary ===",
           f"tickets issued: {len(rows)}   by state: {dict(sorted(states.items()))}"]
    if waits:
        p90 = waits[int(0.9 * (len(waits) - 1))]
        out.append(f"wait until called: median {statistics.median(waits) / 60:.1f} min, "
                   f"p90 {p90 / 60:.1f} min, max {waits[-1] / 60:.1f} min")
    if handles:
        out.append(f"handling: mean {statistics.mean(handles) / 60:.1f} min over {len(handles)} visits")
    names = {None: "not rated", 5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
    out.append("ratings: " + ", ".join(f"{names[lv]} {n}" for lv, n in ratings))
    numbers = [t["number"] for t in rows]
    out.append(f"numbers unique: {len(numbers) == len(set(numbers))}")
    return "\n".join(out)


def _start_rig(cfg: HallConfig, settings, workdir: Path):
    """The bridge with fake devices on ptys, so the demo runs the real drivers."""
    try:
        from firmware_bridge.demo_rig import start_demo_rig
    except ImportError:
        return None
    try:
        return start_demo_rig(cfg, settings, workdir)
    except Exception as e:  # the hall runs without its LED bars
        log.warning("device rig not started: %s", e)
        return None


@click.command(name="demo")
@click.option("--config", "config_path", type=click.Path(exists=True), default=str(EXAMPLE),
              show_default=True, help="Hall config.")
@click.option("--minutes", type=float, default=180, show_default=True, help="Simulated minutes from 08:30.")
@click.option("--speed", type=float, default=60, show_default=True, help="Simulated seconds per real second.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the simulated day.")
@click.option("--plain", is_flag=True, help="No live board: a status line every 30 simulated minutes.")
@click.option("--devices/--no-devices", default=True, show_default=True,
              help="Run the bridge with fake serial devices on ptys.")
@click.option("--keep", is_flag=True, help="Keep the temporary folder (SQLite file, logs).")
def cmd(config_path: str, minutes: float, speed: float, seed: int, plain: bool, devices: bool,
        keep: bool) -> None:
    """Run a whole simulated hall: broker, engine, devices, kiosks, staff and a live board."""
    from caller.service import CallerService
    from hall.crypto import DataCipher, write_key
    try:
        cfg = load_config(config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    work = Path(tempfile.mkdtemp(prefix="onewindow-demo-"))
    logging.getLogger().handlers[:] = [logging.FileHandler(work / "demo.log")]
    broker = start_local_broker(workdir=work)
    click.echo(f"broker: {broker.kind} on 127.0.0.1:{broker.port}   work folder: {work}")
    tz = ZoneInfo(cfg.hall.timezone)
    start = next_working_morning(cfg, dt.datetime.now(tz).date(), 8, 25)
    clock = SimClock(start, speed, time.monotonic)
    db = work / "engine.sqlite"
    # the demo's own data key, in its temp folder (a real hall's is a systemd credential)
    cipher = DataCipher.from_env(write_key(work / "data-key"))
    engine = CallerService(cfg, db, broker.settings, clock=clock, cipher=cipher)
    engine.start()
    rig = _start_rig(cfg, broker.settings, work) if devices else None
    if rig is not None:
        click.echo("devices: bridge running with fake LED bars, keypads and evaluators on ptys")
    bus = Bus(cfg.hall.id, "demo-sim", broker.settings)
    board = Board(cfg, bus)
    bus.start()
    stop = threading.Event()
    day = Day(cfg, seed)
    staff = Staff(cfg, bus, clock, day, stop, rig=rig, states=board.windows)
    end = start + 5 * 60 + minutes * 60
    arrivals = day.arrivals(start + 5 * 60, end)
    kiosks = [Requester(bus, "kiosk", f"K{i:02d}") for i in range(1, 5)]

    def kiosk_loop() -> None:
        for i, a in enumerate(arrivals):
            while not stop.is_set() and clock.now() < a.at:
                stop.wait(min(0.2, clock.real_delay(a.at - clock.now())))
            if stop.is_set():
                return
            body = {k: v for k, v in dict(matter=a.matter, bundle=a.bundle, priority=a.priority,
                                          priority_code=a.priority_code, phone=a.phone,
                                          lang=a.lang).items() if v is not None}
            try:
                kiosks[i % len(kiosks)].call("issue", body)
            except RequestError as e:
                log.warning("kiosk: %s", e)

    threads = [threading.Thread(target=kiosk_loop, daemon=True),
               threading.Thread(target=staff.run, args=(start + 5 * 60,), daemon=True)]
    for th in threads:
        th.start()
    tty = sys.stdout.isatty() and not plain
    last_plain = 0.0
    try:
        while clock.now() < end:
            time.sleep(1.0)
            now = clock.now()
            if tty:
                sys.stdout.write("\x1b[H\x1b[2J" + board.render(now, shutil.get_terminal_size().columns) + "\n")
                sys.stdout.flush()
            elif now - last_plain >= 1800:
                last_plain = now
                click.echo(board.render(now).splitlines()[1].replace("issued", f"{dt.datetime.fromtimestamp(now, tz):%H:%M} issued"))
    except KeyboardInterrupt:
        click.echo("interrupted")
    finally:
        stop.set()
        for th in threads:
            th.join(5)
        if not tty:
            click.echo(board.render(clock.now()))
        bus.stop()
        if rig is not None:
            rig.stop()
        engine.stop()
        broker.stop()
        click.echo(summarise(db, cfg))
        if staff.errors:
            click.echo(f"staff requests without reply: {staff.errors}")
        if not keep:
            shutil.rmtree(work, ignore_errors=True)

"""Wall display and announcer benchmark: `python bench/display.py --json`.

Measured through a real mosquitto, with the display app built headless
(SDL offscreen) in this process and driven by Kivy's own event loop:

- call_to_screen_p99_ms  the engine (`onewindow caller`, its own process) makes a call
                         (the event's `at`) → the display shows the number (as the big
                         call, or under it while an earlier call has its flash) and the
                         frame holding it has been drawn and flushed to GL (the first
                         such frame, whenever the benchmark learns the number from the
                         engine's reply); configured as the app (30 fps, interrupt clock,
                         paged notice).
- cpu_ms_per_call        (--cost N) what a call costs the display's process in CPU, free of the
                         machine's load: messages put straight into the display's inbox, each
                         call followed for flash_seconds + 0.5 s (its blink included); median of
                         the whole process (Kivy, the rasteriser's threads) and of the UI thread
                         alone; cpu_ms_to_screen up to the frame that shows it, rasterised;
                         frames_per_call, textures_per_call and texture_kpx_per_call (text
                         rendered); flash_cpu_ms_per_frame and flash_kpx_per_frame: each frame after
                         the one that shows the call (its blink), CPU and pixels drawn again;
                         idle_cpu_ms_per_s and idle_frames_per_s once nothing changes.
- burst_calls_all_flashed  10 calls within 1 s (events and boards as the engine sends them),
                         first, on a quiet screen: the share of them seen flashing as the
                         big call on the drawn screen, in call order (1.0: none skipped).
- rss_growth_mb          display RSS after 10,000 more calls (event + retained board each,
                         a recall every 10th, two zones, a progress board now and then),
                         each call waited for on screen (frames as fast as they come);
                         warmed up with 500 first.
- call_to_audio_ms       median `called` event `at` → the announcer's WAV on disk
                         (pyttsx3 + espeak-ng, chime, Mandarin; player none).
- display_reconnects     how often the display's MQTT connection had to be made again
                         while measured (0: it kept its connection).  The display is
                         stopped before the broker, so the end of the run is not counted.

--contended: a busy-loop hog on core 0 and this process (the display, and the
benchmark's own MQTT client with it) pinned to core 0 beside it.  --cpu-quota F:
this process held to 1/F of one core by a CPU cgroup (a core F× slower: 7.3 ≈ a
Pi 4; root; bench/contend.py), the engine at full speed as on the server.  --cpu-scale F:
adds est_<pi>_* = the screen latencies × F (0: F for a Pi 4 and a Pi 5 measured
here; method in bench/contend.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # leave sys.stderr alone: tracebacks stay visible
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-bench-"))
os.environ.setdefault("KIVY_CLOCK", "interrupt")  # as display/app.py: a message wakes the loop

import yaml  # noqa: E402

from hall import messages as m  # noqa: E402
from hall.broker import start_local_broker  # noqa: E402
from hall.bus import Bus, Requester  # noqa: E402
from hall.config import parse_config  # noqa: E402
from hall.topics import REGISTRY  # noqa: E402
from hall.crypto import use_fresh_key  # noqa: E402

from contend import Contention, add_options  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def bench_hall(hall_id: str) -> dict:
    raw = yaml.safe_load((ROOT / "config" / "hall.example.yaml").read_text(encoding="utf-8"))
    raw["hall"]["id"] = hall_id
    raw.setdefault("queue", {})["issue_only_in_service_hours"] = False
    raw["kiosks"]["devices"].append({"id": "KB", "printer": {"type": "none"}})  # the bench's kiosk
    raw["screens"] = {
        "flash_seconds": 2,
        "displays": [{"id": "D1", "zones": ["Z1", "Z4"], "layout": "landscape", "languages": ["zh-CN", "en"]}],
        "voice": {"synth": "pyttsx3", "player": "none", "max_age_seconds": 60,
                  "zones": {"Z4": {"volume": 0.9, "languages": ["zh-CN"]}}},
    }
    return raw


class Display:
    """The real app object, built headless at 1920×1080 and pumped by hand."""

    def __init__(self, cfg, settings):
        from kivy.config import Config
        Config.set("graphics", "width", "1920")
        Config.set("graphics", "height", "1080")
        from display.app import render_settings
        render_settings()  # frame rate and multisampling as the app
        from kivy.base import EventLoop
        EventLoop.ensure_window()
        from display.app import make_app
        from display.feed import DisplayFeed
        self.loop = EventLoop
        self.feed = DisplayFeed(cfg, cfg.screens.screen("D1"), settings, client_id=f"bench-disp-{cfg.hall.id}")
        self.app = make_app(self.feed)
        self.wall = self.app.build()
        EventLoop.window.add_widget(self.wall)

    def frame(self) -> None:
        self.loop.idle()

    def shown(self) -> set[str]:
        """The numbers on the screen: the big call and the calls listed under it."""
        return {self.wall.hero_number.text} | {lb.text.split("  ")[0] for lb in self.wall.current_rows}

    def wait_for(self, number: str, timeout: float = 5.0) -> float:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.frame()
            if number in self.shown():
                return time.time()
        raise TimeoutError(f"{number} never shown")

    def set_fps(self, fps: float) -> None:
        from kivy.clock import Clock
        Clock._max_fps = fps  # the bench's soak phase renders as fast as calls come


def start_engine(cfg_path: Path, db: Path, port: int, log: Path) -> subprocess.Popen:
    exe = ROOT / ".venv" / "bin" / "onewindow"
    cmd = [str(exe) if exe.exists() else "onewindow", "caller", "--config", str(cfg_path), "--db", str(db),
           "--port", str(port)]
    out = open(log, "ab")
    return subprocess.Popen(cmd, stdout=out, stderr=out)


def note(msg: str) -> None:
    print(f"bench/display: {msg}", file=sys.stderr, flush=True)


def screen_latency(disp: Display, client: Bus, calls: int) -> list[float]:
    """Closed loop: the next call is made only after the screen showed the last one
    (then a pause), so every call is measured, none is coalesced with the next."""
    kiosk = Requester(client, "kiosk", "KB")
    windows = [Requester(client, "window", w) for w in ("W01", "W02", "W03", "W21")]
    matters = {"W01": "M001", "W02": "M002", "W03": "M003", "W21": "M027"}
    for w in windows:
        w.call("login", {"staff": f"S{w.ident}"})
    lat: list[float] = []
    errors: list[BaseException] = []
    pending: list[str] = []
    shown_ev = threading.Event()
    done = threading.Event()

    def drive():
        try:
            for i in range(calls):
                w = windows[i % len(windows)]
                kiosk.call("issue", {"matter": matters[w.ident]})
                shown_ev.clear()
                st = w.call("next", {})
                pending.append(st["ticket"]["number"])
                if not shown_ev.wait(10):
                    raise RuntimeError(f"{pending[-1]} never shown")
                time.sleep(0.2)
        except BaseException as e:  # reported by the main thread
            errors.append(e)
        finally:
            done.set()

    th = threading.Thread(target=drive, daemon=True)
    th.start()
    # When each number was first on a drawn frame: the engine's reply to `next`
    # (which tells this benchmark the number) often comes after the display
    # showed it, and the loop below then learns of it a frame later (up to
    # 1/30 s at the app's rate) -- a time of this benchmark, not the display's.
    drawn: dict[str, float] = {}
    while not done.is_set():
        disp.frame()
        now = time.time()
        for number in disp.shown():
            drawn.setdefault(number, now)
        if pending and pending[-1] in drawn:
            number = pending.pop()
            view = disp.feed.board.view(now)  # board or event, whichever came first
            call = next(c for c in (view.hero, *view.current) if c is not None and c.number == number)
            lat.append((drawn[number] - call.at) * 1000)
            shown_ev.set()
    th.join()
    if errors:
        raise errors[0]
    return lat


def soak(disp: Display, client: Bus, n: int, start: int) -> None:
    """n synthetic calls through the broker, as the engine publishes them, each waited for."""
    recent: dict[str, list[m.CallEntry]] = {"Z1": [], "Z4": []}
    for i in range(start, start + n):
        zone = "Z1" if i % 3 else "Z4"
        prefix = "A" if zone == "Z1" else "D"
        number = f"{prefix}{i % 10000:04d}"
        recall = 1 if i % 10 == 0 else 0
        now = time.time()
        ev = m.CalledEvent(event=f"bench-{i}", ticket=f"20261123-{number}-{i}", number=number, window="W05",
                           window_number="5", zone=zone, matter="M001", recall=recall, lang="zh-CN", at=now)
        entry = m.CallEntry(ticket=ev.ticket, number=number, window="W05", window_number="5", matter="M001",
                            at=now, recall=recall)
        recent[zone] = ([entry] + recent[zone])[:8]
        client.publish(REGISTRY["zone.called"], zone, ev)
        client.publish(REGISTRY["zone.board"], zone, m.ZoneBoard(zone=zone, current=[entry], recent=recent[zone],
                                                                 at=now))
        client.publish(REGISTRY["zone.waiting"], zone, m.ZoneWaiting(
            zone=zone, groups={prefix: i % 40}, total=i % 40, windows={"W05": i % 40}, at=now))
        if i % 500 == 0:
            client.publish(REGISTRY["stats.progress"], "hall", m.ProgressBoard(cases=[
                m.CaseProgress(case=f"XH{i:08d}{k}", name="张*明", matter="M001", status="processing",
                               updated_at=now) for k in range(10)], at=now))
        disp.wait_for(number)


class RenderCounter:
    """Frames drawn and label textures rendered (count and pixels) while it is on."""

    def __init__(self, redraw=None):
        from kivy.base import EventLoop
        from kivy.core.text import Label as CoreLabel
        self.frames = 0
        self.textures = 0
        self.texture_px = 0
        self.drawn_px = 0  # pixels each frame drew again (the app's partial redraws; a whole frame: all)
        self.redraw = redraw
        self.window = EventLoop.window
        EventLoop.window.bind(on_flip=self._flip)
        cls, orig = CoreLabel, CoreLabel.refresh
        counter = self

        def refresh(label):
            orig(label)
            tex = label.texture
            if tex is not None and tex.width > 1:
                counter.textures += 1
                counter.texture_px += tex.width * tex.height
        cls.refresh = refresh

    def _flip(self, *_):
        self.frames += 1
        boxes = self.redraw.boxes if self.redraw is not None and self.redraw.enabled else None
        w, h = self.window.size
        self.drawn_px += int(w * h) if boxes is None else sum(bw * bh for _, _, bw, bh in boxes)

    def snapshot(self) -> tuple[int, int, int]:
        return self.frames, self.textures, self.texture_px


def render_cost(disp: Display, calls: int, hold: float, idle: float = 5.0) -> dict:
    """What a call costs the display in CPU, free of the machine's load: messages put
    straight into the feed's inbox (as its network thread does; no broker, no engine),
    the loop pumped as the app runs it, and for each call, from the message until
    ``hold`` seconds later (its flash and the frames after it), the CPU of the whole
    process (Kivy, the rasteriser's threads), of the UI thread, the frames drawn and
    the label textures rendered.  Calls go to two zones, each with its retained board
    and waiting counts, as the engine sends them.  Then ``idle`` seconds with nothing
    new: the CPU and frames a screen costs while nothing but time changes."""
    from kivy.graphics.opengl import glFinish
    counter = RenderCounter(getattr(disp.app, "redraw", None))
    feed = disp.feed
    recent: dict[str, list[m.CallEntry]] = {"Z1": [], "Z4": []}
    rows = []
    for i in range(calls):
        zone = "Z1" if i % 3 else "Z4"
        prefix = "A" if zone == "Z1" else "D"
        number = f"{prefix}{(i + 100) % 1000:03d}"
        glFinish()
        f0, t0, px0 = counter.snapshot()
        c0, u0, w0 = time.process_time(), time.thread_time(), time.monotonic()
        now = time.time()
        ev = m.CalledEvent(event=f"cost-{i}", ticket=f"20261123-{number}-{i}", number=number, window="W05",
                           window_number=str(5 + i % 7), zone=zone, matter="M001", recall=int(i % 10 == 9),
                           lang="zh-CN", at=now)
        entry = m.CallEntry(ticket=ev.ticket, number=number, window="W05", window_number=ev.window_number,
                            matter="M001", at=now, recall=ev.recall)
        recent[zone] = ([entry] + recent[zone])[:8]
        feed._put("called", ev)
        feed._put("board", m.ZoneBoard(zone=zone, current=[entry], recent=recent[zone], at=now))
        feed._put("waiting", m.ZoneWaiting(zone=zone, groups={prefix: 40 - i % 40}, total=40 - i % 40,
                                           windows={"W05": i % 40}, at=now))
        while number not in disp.shown():
            disp.frame()
        glFinish()  # the rasteriser's work for the frame that shows it is part of its cost
        shown_cpu, shown_frames = time.process_time() - c0, counter.frames - f0
        # after it is shown: its flash (the blink at 2 Hz) and the rows under it settling
        fa, da, ca = counter.frames, counter.drawn_px, time.process_time()
        while time.monotonic() - w0 < hold:
            disp.frame()
        glFinish()
        f1, t1, px1 = counter.snapshot()
        after_frames = max(1, counter.frames - fa)
        rows.append((shown_cpu, shown_frames, time.process_time() - c0, time.thread_time() - u0, f1 - f0,
                     t1 - t0, px1 - px0, (time.process_time() - ca) / after_frames,
                     (counter.drawn_px - da) / after_frames))
    rows = rows[1:] if len(rows) > 2 else rows  # the first call pays for fonts and first textures
    med = lambda k: statistics.median(r[k] for r in rows)  # noqa: E731
    f0, c0, w0 = counter.frames, time.process_time(), time.monotonic()
    while time.monotonic() - w0 < idle:  # the calls' flashes are over: nothing changes but time
        disp.frame()
    glFinish()
    span = time.monotonic() - w0
    return {"cost_calls": len(rows), "cost_hold_s": hold,
            "idle_cpu_ms_per_s": round((time.process_time() - c0) / span * 1000, 2),
            "idle_frames_per_s": round((counter.frames - f0) / span, 2),
            "cpu_ms_to_screen": round(med(0) * 1000, 2), "frames_to_screen": med(1),
            "cpu_ms_per_call": round(med(2) * 1000, 2), "ui_thread_cpu_ms_per_call": round(med(3) * 1000, 2),
            "frames_per_call": med(4), "textures_per_call": med(5),
            "texture_kpx_per_call": round(med(6) / 1000, 1),
            # the frames after the call is shown (mostly blink toggles): CPU and pixels drawn again
            "flash_cpu_ms_per_frame": round(med(7) * 1000, 2), "flash_kpx_per_frame": round(med(8) / 1000, 1)}


def burst(disp: Display, client: Bus, n: int = 10, within: float = 1.0) -> float:
    """n calls within ``within`` seconds; the share of them seen on the drawn screen as
    the big, flashing call, in call order (0 when the order is wrong).  The blink's
    colour phase is not sampled: frames on a loaded machine come at about its period."""
    numbers = [f"B{900 + i:03d}" for i in range(n)]
    seen: list[str] = []

    def look() -> None:
        disp.frame()
        v = disp.feed.board.view(time.time())
        shown = disp.wall.hero_number.text
        if v.flashing and v.hero is not None and v.hero.number == shown and shown in numbers \
                and (not seen or seen[-1] != shown):
            seen.append(shown)

    recent: list[m.CallEntry] = []
    for number in numbers:
        now = time.time()
        ev = m.CalledEvent(event=f"burst-{number}", ticket=f"20261123-{number}", number=number, window="W05",
                           window_number="5", zone="Z1", matter="M001", recall=0, lang="zh-CN", at=now)
        entry = m.CallEntry(ticket=ev.ticket, number=number, window="W05", window_number="5", matter="M001",
                            at=now)
        recent = ([entry] + recent)[:8]
        client.publish(REGISTRY["zone.called"], "Z1", ev)
        client.publish(REGISTRY["zone.board"], "Z1", m.ZoneBoard(zone="Z1", current=[entry], recent=recent,
                                                                 at=now))
        time.sleep(within / n)
        look()
    s = disp.feed.config.screens
    end = time.monotonic() + n * s.flash_min_seconds + s.flash_seconds + 10
    while time.monotonic() < end and len(seen) < n:
        look()
    if os.environ.get("BENCH_DEBUG"):
        note(f"burst seen {seen}")
    if seen != sorted(seen, key=numbers.index):
        return 0.0
    return round(len(set(seen)) / n, 3)


def audio_latency(cfg, settings, client: Bus, n: int, out: Path) -> tuple[list[float], str]:
    from display.announcer_service import AnnouncerService
    from display.synth import NullPlayer
    svc = AnnouncerService(cfg, settings, out, player=NullPlayer(), client_id=f"bench-ann-{cfg.hall.id}",
                           keep_files=20)
    done: list = []
    svc.announcer.listeners.append(done.append)
    svc.start()
    try:
        for i in range(n + 3):  # the first three warm up libespeak
            ev = m.CalledEvent(event=f"audio-{i}", ticket=f"t-{i}", number=f"D{i:03d}", window="W21",
                               window_number="21", zone="Z4", matter=None, recall=0, lang="zh-CN",
                               at=time.time())
            client.publish(REGISTRY["zone.called"], "Z4", ev)
            time.sleep(0.25)
        end = time.monotonic() + 30
        while len(done) < n + 3 and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        svc.stop()
    spoken = [o for o in done if o.status == "spoken"][3:]
    return [(o.ready_at - o.job.event.at) * 1000 for o in spoken], cfg.screens.voice.synth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="Print one JSON object.")
    ap.add_argument("--calls", type=int, default=300, help="Engine calls for the latency figure.")
    ap.add_argument("--cost", type=int, default=20,
                    help="Calls for the in-process CPU figures (cpu_ms_per_call, frames_per_call; 0: none).")
    ap.add_argument("--soak", type=int, default=10000, help="Calls for the RSS figure.")
    ap.add_argument("--audio", type=int, default=40, help="Calls for the audio figure.")
    ap.add_argument("--quick", action="store_true",
                    help="Seconds, not minutes: proves the benchmark runs (CI); its figures mean nothing.")
    add_options(ap, "this process (the display)")
    args = ap.parse_args()
    if args.quick:
        args.calls, args.soak, args.audio, args.cost = 5, 20, 1, 3
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: no stray brokers

    work = Path(tempfile.mkdtemp(prefix="onewindow-bench-display-"))
    use_fresh_key(work)  # the engine encrypts personal data with it
    broker = start_local_broker(workdir=work / "broker")
    hall_id = f"bd{os.getpid()}"
    raw = bench_hall(hall_id)
    cfg = parse_config(raw)
    cfg_path = work / "hall.yaml"
    cfg_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    try:
        engine = start_engine(cfg_path, work / "engine.sqlite", broker.port, work / "engine.log")
    except BaseException:  # an engine that never came up: no broker left behind
        broker.stop()
        raise
    client = Bus(hall_id, f"bench-client-{hall_id}", broker.settings)
    contend = Contention(args)
    result: dict = {**contend.settings(), "load_avg_1m": os.getloadavg()[0]}
    disp: Display | None = None
    connects = [0]
    try:
        client.start()
        disp = Display(cfg, broker.settings)
        disp.feed.bus.on_connect(lambda: connects.__setitem__(0, connects[0] + 1))
        # after the display's threads exist: every thread of this process, at a Pi
        # core's pace with --cpu-quota (the engine is another process)
        contend.apply(0)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and disp.feed.board.view(time.time()).offline:
            disp.frame()
        first_connects = connects[0]  # a slow first connect (start's retry) is not a reconnect
        if args.cost:
            note(f"CPU per call over {args.cost} calls put straight into the display's inbox")
            result.update(render_cost(disp, args.cost, cfg.screens.flash_seconds + 0.5))
        # first, on a quiet screen: the latency phase below calls faster than one per
        # flash_min_seconds, and the flashes it queues would still be running
        note("burst: 10 calls within 1 s, each must flash")
        result["burst_calls_all_flashed"] = burst(disp, client)
        if args.calls:
            note(f"screen latency over {args.calls} engine calls (offscreen, 30 fps as the app)")
            lat = screen_latency(disp, client, args.calls)
            lat.sort()
            result["call_to_screen_p50_ms"] = round(statistics.median(lat), 1)
            result["call_to_screen_p99_ms"] = round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1)
            result["call_to_screen_max_ms"] = round(lat[-1], 1)
            result["screen_calls"] = len(lat)

        if args.soak:
            note(f"memory over {args.soak} calls")
            disp.set_fps(0)
            warm = min(500, args.soak)
            soak(disp, client, warm, 0)  # warm up: fonts, textures, caches
            gc.collect()
            before = rss_mb()
            t0 = time.monotonic()
            soak(disp, client, args.soak, warm)
            gc.collect()
            result["rss_start_mb"] = round(before, 1)
            result["rss_growth_mb"] = round(rss_mb() - before, 2)
            result["soak_calls"] = args.soak
            result["soak_calls_per_s"] = round(args.soak / (time.monotonic() - t0), 1)

        if args.audio:
            note(f"audio latency over {args.audio} calls")
            audio, synth = audio_latency(cfg, broker.settings, client, args.audio, work / "wav")
            if not audio:  # none spoken in time (a loaded machine drops stale calls): say so
                note("no call was spoken within 30 s")
            result["call_to_audio_ms"] = round(statistics.median(audio), 1) if audio else None
            result["call_to_audio_max_ms"] = round(max(audio), 1) if audio else None
            result["audio_calls"] = len(audio)
            result["synth"] = synth
        result["display_reconnects"] = connects[0] - first_connects
        result["machine"] = (f"{platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
                             f"GL {gl_renderer()}")
        result.update(contend.estimates(result, ("call_to_screen_p50_ms", "call_to_screen_p99_ms")))
    finally:
        contend.stop_hog()
        if disp is not None:  # before the broker: its going away is not a lost connection
            disp.feed.stop()
        client.stop()
        engine.terminate()
        engine.wait(10)
        broker.stop()
        contend.close()
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:24s} {v}")


def gl_renderer() -> str:
    try:
        from kivy.graphics.opengl import GL_RENDERER, glGetString
        return glGetString(GL_RENDERER).decode()
    except Exception:
        return "?"


if __name__ == "__main__":
    main()

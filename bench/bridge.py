"""Device bridge benchmark: `python bench/bridge.py --json`.

key_to_led: 100 windows on one RS-485 line (100 LED bars + 100 keypads at
addresses 1..200, OWB/1 at 115200), fake devices on a pty in a process of their own,
the bridge (`onewindow bridge`) and the engine (`onewindow caller`) as their
own processes, mosquitto between them.  The clock starts when the keypad's
EVENT frame (a `next` key) is written on the pty and stops when the LED bar's
fake has read the LED_TEXT frame carrying the newly called number: the
software path key → bridge → engine → bridge → LED.  The pty has no baud
rate, so the wire time of those frames is computed and reported beside it.

  key_to_led_p50_ms / p99_ms         one key at a time, round robin over the windows
  key_to_led_burst_p99_ms            all 100 windows press `next` at once
  bridge_cpu_percent                 the bridge process, polling 100 keypads every 100 ms
                                     while the keys come one at a time
  bridge_cpu_idle_percent            the same process polling, with no key for 5 s; and
  bridge_cpu_us_per_transaction_idle that CPU per request the devices read
  bridge_cpu_ms_per_key              (CPU while keys came − the idle rate × that time) / keys:
                                     the request, its reply, the window state, the zone's
                                     counts, LED and keypad frames (CPU time: load-independent)

poll_cpu: the OWB driver alone in the benchmark process (fakes in their own process),
polling the 100 keypads every 100 ms with every view already shown: CPU time per
transaction and per sweep of 100 keypads (`--profile FILE`: under cProfile, CPU time).
`--profile-bridge FILE`: key_to_led's bridge process with a cProfile per thread.

poll period: the same 200 devices with the fake emulating wire time at 9600
and at 115200 baud (bridge driver in-process, no broker); the largest gap
between two polls of one keypad, against the computed worst case.

--contended: key_to_led with a busy-loop hog on core 0 and the bridge pinned to
core 0 beside it.  --cpu-scale F: adds est_<pi>_* = CPU-bound figures × F
(0: F for a Pi 4 and a Pi 5 measured here; method in bench/contend.py).
--cpu-quota F: key_to_led with the bridge held to 1/F of one core by a CPU
cgroup (a core F× slower: 7.3 ≈ a Pi 4), the engine at full speed as on the
server (root; bench/contend.py).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from firmware_bridge import frames as F  # noqa: E402
from firmware_bridge.driver import BusDriver  # noqa: E402
from firmware_bridge.fakes import FakeKeypad, FakeLedBar, FakeLine, Quirks  # noqa: E402
from firmware_bridge.owb_driver import OwbDriver  # noqa: E402
from hall.broker import start_local_broker  # noqa: E402
from hall.bus import Bus, Requester  # noqa: E402
from hall.config.devices import Line, SerialDevice  # noqa: E402
from hall.crypto import use_fresh_key  # noqa: E402
from hall.seriallink import SerialLink  # noqa: E402
from hall.topics import REGISTRY  # noqa: E402
from contend import Contention, add_options  # noqa: E402
from hallkit import one_matter_hall  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WINDOWS = 100
# `--profile-bridge FILE`: runs `onewindow bridge` with one cProfile per thread (CPU
# time of that thread: time.thread_time), merged into FILE when the process ends
THREAD_PROFILER = """
import atexit, cProfile, pstats, sys, threading, time
out, profs = sys.argv.pop(1), []
def start(*_):
    p = cProfile.Profile(time.thread_time)
    profs.append(p)
    p.enable()
threading.setprofile(start)
start()
def dump():
    for p in profs:
        p.disable()
    st = pstats.Stats(profs[0])
    for p in profs[1:]:
        try:
            st.add(p)
        except TypeError:
            pass  # a thread that never ran any Python under its profiler
    st.dump_stats(out)
atexit.register(dump)
from hall.cli import main
sys.argv[0] = "onewindow"
main()
"""


def hall(port: str, windows: int) -> dict:
    wins = [{"id": f"W{i:03d}", "number": str(i), "zone": "Z1", "serves": {"M1": 1}} for i in range(1, windows + 1)]
    return one_matter_hall("benchbridge", "基准大厅", ("事项", "Matter"), ("部门", "Dept"), wins) | {
        "devices": {
            "lines": [{"id": "bench", "port": port, "baud": 115200, "reply_timeout_ms": 100,
                       "poll_interval_ms": 100}],
            "serial": [d for i in range(1, windows + 1) for d in (
                {"id": f"led{i}", "line": "bench", "kind": "ledbar", "address": 2 * i - 1,
                 "window": f"W{i:03d}", "columns": 16},
                {"id": f"kp{i}", "line": "bench", "kind": "keypad", "address": 2 * i,
                 "window": f"W{i:03d}"})],
        },
    }


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def wait(pred, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.002)
    return pred()


class LedWatch:
    """Timestamps the first LED_TEXT that shows a new called number."""

    def __init__(self, led: FakeLedBar):
        self.led = led
        self.old = "\0"
        self.t: float | None = None
        led.listeners.append(self._seen)

    def arm(self) -> None:
        line = self.led.lines[0] if self.led.lines else ""
        self.old, self.t = (line.split(" ")[0] if "请到" in line else "\0"), None

    def _seen(self, dev, what, t) -> None:
        if self.t is None and dev.lines and "请到" in dev.lines[0] and not dev.lines[0].startswith(self.old):
            self.t = t


def devices_process(port: str, conn) -> None:
    """The 200 fake devices in a process of their own, as real devices are: the
    benchmark's MQTT client must not take the GIL from them.  Commands on ``conn``."""
    fake = FakeLine("onewindow", port).start()
    leds, kps = {}, {}
    for i in range(1, WINDOWS + 1):
        leds[f"W{i:03d}"] = fake.add(FakeLedBar(2 * i - 1))
        kps[f"W{i:03d}"] = fake.add(FakeKeypad(2 * i))
    watches = {wid: LedWatch(led) for wid, led in leds.items()}
    conn.send("ready")
    while True:
        cmd, arg = conn.recv()
        if cmd == "stop":
            break
        if cmd == "wait_all":  # every bar's first line contains arg
            conn.send(wait(lambda: all(led.lines and arg in led.lines[0] for led in leds.values()), 60))
        elif cmd == "rx":  # requests the devices have read so far
            conn.send(fake.rx_frames)
        elif cmd == "login_all":
            for i, kp in enumerate(kps.values()):
                kp.press("login", str(5000 + i))
            conn.send(True)
        elif cmd == "next":  # arg: windows pressing `next` at once → [(t0, t1, number)]
            for wid in arg:
                watches[wid].arm()
            eids = {wid: kps[wid].press("next") for wid in arg}
            ok = wait(lambda: all(watches[w].t is not None and eids[w] in kps[w].written_events
                                  for w in arg), 30)
            conn.send([(kps[w].written_events[eids[w]], watches[w].t, leds[w].lines[0].split(" ")[0])
                       for w in arg] if ok else None)
    fake.stop()


def start_devices(port: str):
    """The 200 fakes on ``port`` in a process of their own → (process, command pipe)."""
    ctx = mp.get_context("fork")
    conn, child_conn = ctx.Pipe()
    devices = ctx.Process(target=devices_process, args=(port, child_conn), daemon=True)
    devices.start()
    assert conn.recv() == "ready"
    return devices, conn


def key_to_led(trials: int, work: Path, log, contend: Contention, idle_s: float = 5.0,
               profile: Path | None = None) -> dict:
    port = str(work / "tty-bench")
    devices, conn = start_devices(port)
    cfg_path = work / "hall.yaml"
    cfg_path.write_text(yaml.safe_dump(hall(port, WINDOWS), allow_unicode=True), encoding="utf-8")
    broker = start_local_broker(workdir=work)
    env = dict(os.environ, ONEWINDOW_MQTT_PORT=str(broker.port), PYTHONPATH=str(ROOT))
    py = sys.executable
    procs = [
        subprocess.Popen([py, "-m", "hall.cli", "caller", "--config", str(cfg_path), "--db",
                          str(work / "engine.sqlite")], env=env, stdout=log, stderr=subprocess.STDOUT),
        subprocess.Popen([py, *(["-c", THREAD_PROFILER, str(profile)] if profile else ["-m", "hall.cli"]),
                          "bridge", "--config", str(cfg_path), "--no-inputs", "--id", "bench"],
                         env=env, stdout=log, stderr=subprocess.STDOUT),
    ]
    # --contended: the bridge shares its one core with a process that never sleeps;
    # --cpu-quota: the bridge at a Pi core's pace
    contend.apply(procs[1].pid)

    def ask(cmd, arg=None):
        conn.send((cmd, arg))
        return conn.recv()

    bus = None
    try:
        bus = Bus("benchbridge", "bench-client", broker.settings)
        kiosk = Requester(bus, "kiosk", "K1")
        kiosk.subscribe_all()
        # where the time goes: when this process sees the bridge's request and the
        # engine's new window state (through the same broker, so comparable;
        # CLOCK_MONOTONIC is one clock for all processes)
        seen_req: dict[str, list[float]] = {}
        raw_states: list[tuple[str, float, bytes]] = []
        bus.subscribe(REGISTRY["window.request.next"],
                      lambda p, d: seen_req.setdefault(p.ident, []).append(time.monotonic()))
        bus.subscribe(REGISTRY["window.state"],
                      lambda p, d: raw_states.append((p.ident, time.monotonic(), d)))
        bus.start(30)
        if not ask("wait_all", "号窗口"):
            raise SystemExit("LED bars never got a text: is the bridge running? see the log")
        ask("login_all")
        if not ask("wait_all", "欢迎您"):
            raise SystemExit("logins did not reach the LED bars")
        for _ in range(trials + 2 * WINDOWS + 10):
            kiosk.call("issue", {"matter": "M1"})
        wids = [f"W{i:03d}" for i in range(1, WINDOWS + 1)]
        # the bridge with nothing to do but poll: its CPU per second and per transaction
        time.sleep(1.0)  # the logins' views and waiting counts are sent by now
        cpu0, wall0, rx0 = _cpu_s(procs[1].pid), time.monotonic(), ask("rx")
        time.sleep(idle_s)
        idle_cpu, idle_wall, idle_rx = _cpu_s(procs[1].pid) - cpu0, time.monotonic() - wall0, ask("rx") - rx0
        cpu0, wall0 = _cpu_s(procs[1].pid), time.monotonic()
        seq: list[float] = []
        rows = []
        for k in range(trials):
            wid = wids[k % WINDOWS]
            got = ask("next", [wid])
            if got is None:
                raise SystemExit(f"no LED update at {wid}")
            t0, t1, number = got[0]
            seq.append((t1 - t0) * 1000)
            rows.append((wid, number, t0, t1))
            time.sleep(0.01)
        keys_cpu, keys_wall = _cpu_s(procs[1].pid) - cpu0, time.monotonic() - wall0
        bridge_cpu = 100 * keys_cpu / keys_wall
        time.sleep(0.5)
        got = ask("next", wids)
        if got is None:
            raise SystemExit("burst: not every LED was updated")
        burst = [(t1 - t0) * 1000 for t0, t1, _ in got]
        first_state: dict[tuple[str, str], float] = {}
        for ident, t, d in list(raw_states):
            num = (json.loads(d).get("ticket") or {}).get("number") if d else None
            if num:
                first_state.setdefault((ident, num), t)
        split: dict[str, list[float]] = {"bridge_in": [], "engine": [], "bridge_out": []}
        for wid, number, t0, t1 in rows:
            tr = next((t for t in seen_req.get(wid, []) if t >= t0), None)
            ts = first_state.get((wid, number))
            if tr and ts:
                split["bridge_in"].append((tr - t0) * 1000)
                split["engine"].append((ts - tr) * 1000)
                split["bridge_out"].append((t1 - ts) * 1000)
        led_frame = len(F.encode(1, F.LED_TEXT, F.led_payload(["A0123 请到100号窗口".encode("gb2312")])))
        event_frame = len(F.encode(2, F.EVENT, F.event_payload(1, "next"), reply=True))
        return {
            "key_to_led_p50_ms": round(statistics.median(seq), 2),
            "key_to_led_p99_ms": round(pct(seq, 99), 2),
            "key_to_led_max_ms": round(max(seq), 2),
            "key_to_led_burst_p50_ms": round(statistics.median(burst), 2),
            "key_to_led_burst_p99_ms": round(pct(burst, 99), 2),
            "key_to_led_trials": len(seq),
            "bridge_cpu_percent": round(bridge_cpu, 1),
            # CPU time, not latency: what a Pi's budget is made of (the clock ticks
            # of /proc are 10 ms, so a short idle phase is coarse)
            "bridge_cpu_idle_percent": round(100 * idle_cpu / idle_wall, 1),
            "bridge_cpu_us_per_transaction_idle": round(1e6 * idle_cpu / max(idle_rx, 1), 1),
            "bridge_cpu_ms_per_key": round(1000 * (keys_cpu - idle_cpu / idle_wall * keys_wall) / len(seq), 2),
            **{f"split_{k}_p50_ms": round(statistics.median(v), 2) for k, v in split.items() if v},
            **{f"split_{k}_p99_ms": round(pct(v, 99), 2) for k, v in split.items() if v},
            "wire_event_plus_led_ms_115200": round(F.wire_ms(event_frame + led_frame, 115200), 2),
            "wire_event_plus_led_ms_9600": round(F.wire_ms(event_frame + led_frame, 9600), 2),
        }
    finally:
        if bus is not None:
            bus.stop()
        contend.stop_hog()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        try:
            conn.send(("stop", None))
        except (BrokenPipeError, OSError):
            pass
        devices.join(5)
        broker.stop()
        contend.close()


def _cpu_s(pid: int) -> float:
    """user + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def poll_cpu(seconds: float, work: Path, profile: Path | None = None) -> dict:
    """The line loop's own CPU: the OWB driver of the 200 devices in this process
    (the fakes in a process of their own, so their CPU is not counted), polling
    100 keypads every 100 ms at 115200 with every device showing its view, and
    nothing else happening.  CPU time of this process per transaction and per
    sweep of the 100 keypads: load-independent, unlike a latency.  ``profile``:
    the loop run under cProfile, its stats written there (pstats file)."""
    port = str(work / "tty-pollcpu")
    devices, conn = start_devices(port)
    raw = hall(port, WINDOWS)["devices"]
    line = Line(**raw["lines"][0])
    devs = [SerialDevice(**d) for d in raw["serial"]]
    online: set[str] = set()
    drv: BusDriver = OwbDriver(line, devs, SerialLink(port, line.baud), on_event=lambda e: None,
                               on_availability=lambda d, ok, why: online.add(d.id) if ok else None)
    from firmware_bridge.keypad import KeypadView
    from firmware_bridge.ledbar import LedView
    for d in devs:  # what a running bridge's devices show: a view each, already sent
        drv.set_view(d.id, LedView((f"{d.window} 欢迎您",)) if d.kind == "ledbar"
                     else KeypadView("open", 3, "----"))
    stop_at = [0.0]
    measured: dict = {}

    def loop() -> None:
        # the driver's own loop, in this thread (cProfile sees one thread); a step
        # that finds the measured time over stops it
        inner = drv.step

        def step() -> float:
            now = time.monotonic()
            if not measured and len(online) == len(devs) and not drv._dirty:
                measured.update(cpu=time.process_time(), tx=drv.transactions, wall=now)
                stop_at[0] = now + seconds
            elif measured and now >= stop_at[0]:
                measured.update(cpu1=time.process_time(), tx1=drv.transactions, wall1=now)
                drv._stop.set()
            return inner()
        drv.step = step
        drv._run()

    try:
        drv.link.open()
        guard = time.monotonic() + 60 + seconds
        threading.Timer(guard - time.monotonic(), drv._stop.set).start()
        if profile is not None:
            import cProfile
            prof = cProfile.Profile(time.process_time)  # CPU, not waits
            prof.runcall(loop)
            prof.dump_stats(str(profile))
        else:
            loop()
    finally:
        drv.link.close()
        conn.send(("stop", None))
        devices.join(5)
    if "cpu1" not in measured:
        raise SystemExit("poll_cpu: the devices never all answered (see the fakes)")
    cpu = measured["cpu1"] - measured["cpu"]
    tx = measured["tx1"] - measured["tx"]
    wall = measured["wall1"] - measured["wall"]
    per_tx = cpu / tx
    polls_per_s = WINDOWS * 1000 / line.poll_interval_ms
    return {"poll_cpu_us_per_transaction": round(per_tx * 1e6, 1),
            "poll_cpu_ms_per_sweep_100_keypads": round(per_tx * WINDOWS * 1000, 2),
            "poll_transactions_per_s": round(tx / wall, 1),
            "poll_cpu_percent_of_core": round(100 * cpu / wall, 1),
            "poll_cpu_percent_at_100_keypads_per_100ms": round(100 * per_tx * polls_per_s, 1),
            **({"poll_profile": str(profile)} if profile is not None else {})}


def poll_period(baud: int, seconds: float) -> dict:
    """100 keypads + 100 LED bars, the fake emulating wire time at ``baud``; the largest
    gap between two polls of one keypad, and the computed bound: 100 × (POLL + ACK)
    plus, when every bar's keepalive falls due at once, 100 × (PING + INFO)."""
    fake = FakeLine("onewindow", quirks=Quirks(wire_baud=baud)).start()
    devs = []
    for i in range(1, WINDOWS + 1):
        fake.add(FakeLedBar(2 * i - 1))
        fake.add(FakeKeypad(2 * i))
        devs += [SerialDevice(id=f"led{i}", line="L", kind="ledbar", address=2 * i - 1, window=f"W{i}"),
                 SerialDevice(id=f"kp{i}", line="L", kind="keypad", address=2 * i, window=f"W{i}")]
    line = Line(id="L", port=fake.port, baud=baud)
    drv: BusDriver = OwbDriver(line, devs, SerialLink(fake.port, baud), on_event=lambda e: None,
                               on_availability=lambda *a: None)
    drv.start()
    try:
        # polls and LED keepalives only (views are urgent and go first, so a burst of
        # them — 200 at start-up take 6.9 s at 9600 — delays polls by its own length);
        # every bar is pinged at start, so the window sees the keepalives bunched
        time.sleep(0.5)
        since = time.monotonic()
        time.sleep(seconds)
    finally:
        drv.stop()
        fake.stop()
    gaps = []
    for d in fake.devices.values():
        if isinstance(d, FakeKeypad):
            ts = [t for t in d.poll_times if t >= since]
            gaps += [b - a for a, b in zip(ts, ts[1:])]
    poll = len(F.encode(2, F.POLL, b"\x00")) + len(F.encode(2, F.ACK, b"\x00", reply=True))
    ping = len(F.encode(1, F.PING)) + len(F.encode(1, F.INFO, bytes(4), reply=True))
    # worst case in steady state: every keypad polled once, and every LED bar's keepalive
    # ping (every 5 s) falling inside the same round
    computed = F.wire_ms(WINDOWS * poll + WINDOWS * ping, baud) + WINDOWS * 2 * 0.0  # device turnaround ≈ 0 here
    typical = F.wire_ms(WINDOWS * poll, baud)
    return {f"poll_period_max_ms_{baud}": round(max(gaps) * 1000, 1) if gaps else None,
            f"poll_period_median_ms_{baud}": round(statistics.median(gaps) * 1000, 1) if gaps else None,
            f"poll_period_computed_ms_{baud}": round(typical, 1),
            f"poll_period_computed_worst_ms_{baud}": round(computed, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="Print one JSON object.")
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--poll-seconds", type=float, default=8.0)
    ap.add_argument("--skip-poll", action="store_true", help="Skip the poll period (wire time emulated).")
    ap.add_argument("--skip-key", action="store_true", help="Skip key_to_led (no broker, no engine).")
    ap.add_argument("--poll-cpu-seconds", type=float, default=5.0,
                    help="How long poll_cpu measures the line loop's CPU (0: skip it).")
    ap.add_argument("--profile", type=Path, default=None, metavar="FILE",
                    help="Run poll_cpu's line loop under cProfile and write its stats to FILE (pstats).")
    ap.add_argument("--profile-bridge", type=Path, default=None, metavar="FILE",
                    help="Run key_to_led's bridge process with a cProfile per thread (CPU time), "
                         "merged into FILE (pstats) at its end.")
    ap.add_argument("--quick", action="store_true",
                    help="Seconds, not minutes: proves the benchmark runs (CI); its figures mean nothing.")
    add_options(ap, "the bridge (key_to_led)")
    a = ap.parse_args()
    if a.quick:
        a.trials, a.poll_seconds, a.poll_cpu_seconds = 10, 1.0, min(a.poll_cpu_seconds, 1.0)
    contend = Contention(a)
    work = Path(tempfile.mkdtemp(prefix="onewindow-bench-bridge-"))
    use_fresh_key(work)  # the engine subprocess encrypts personal data with it
    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine":
                 f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                 "windows": WINDOWS, **contend.settings(), "load_avg_1m": os.getloadavg()[0]}
    with open(work / "bench.log", "ab") as log:
        if not a.skip_key:
            out.update(key_to_led(a.trials, work, log, contend, 1.0 if a.quick else 5.0,
                                  a.profile_bridge and a.profile_bridge.resolve()))
    out.update(contend.estimates(out, ("bridge_cpu_percent", "key_to_led_p50_ms", "key_to_led_p99_ms",
                                       "split_bridge_in_p50_ms", "split_bridge_out_p50_ms")))
    if a.poll_cpu_seconds > 0:
        out.update(poll_cpu(a.poll_cpu_seconds, work, a.profile))
    if not a.skip_poll:
        out.update(poll_period(115200, a.poll_seconds))
        out.update(poll_period(9600, a.poll_seconds if a.quick else max(a.poll_seconds, 12.0)))
    if a.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        for k, v in out.items():
            print(f"{k:36} {v}")


if __name__ == "__main__":
    main()

"""Engine benchmark through a real mosquitto: `python bench/engine.py --json`.

Measures, with the engine as its own process (`onewindow caller`) on SQLite
(WAL, synchronous=FULL) and the clients in other processes:

- issue_per_s       durable issues per second, 16 concurrent kiosk clients, closed loop,
                    200 windows; clients from bench/mqtt_load.py (a lean load generator:
                    on this 2-core machine the clients' CPU is taken from the engine; real
                    kiosks bring their own); `issue_per_s_requester_clients` is the same
                    with our `hall.bus.Requester` clients, side by side
- issue_p99_ms      p99 request→reply with 500 issues/s offered (open loop), 1,000 windows
- cpu_us_per_issue  the engine process's CPU (user + system, all its threads) per issue
                    in that open-loop run
- call_p99_ms       p99 `next` request → a subscriber sees the new retained window
                    state, 1,000 windows calling at a combined 100 calls/s
- rss_mb            engine RSS with 1,000 windows and 20,000 tickets in one day
- shell_per_s, shell_cpu_us_per_request
                    the same closed loop with a request the core refuses at once (a
                    look-up of a ticket that does not exist; its reply is still recorded
                    and committed): the shell's own throughput and CPU, apart from the
                    core's (the waiting forecast costs most of an issue)

Side by side in one run (``--shells``): the engine's shell with gmqtt in its
event loop (the default) and with paho's network thread handing each message
to the loop (``onewindow caller --mqtt-client paho``); ``--baseline DIR`` adds
the engine of another checkout (e.g. ``git worktree add /tmp/old <commit>``)
as shell ``old``, run with its own code and defaults.  The top-level figures
are the first shell's.  Each figure is the median of ``--repeat`` runs, the
shells interleaved in every run; every run's value is kept under ``runs``.
``cpu_ref_ms`` (bench/provenance.py) is taken before each shell's run: the VM's
speed moves by up to ~2× between quarter-hours, so a run is read with it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hall.broker import start_local_broker  # noqa: E402
from hall.bus import Bus, BusSettings, Requester  # noqa: E402
from hall.crypto import use_fresh_key  # noqa: E402
from hall.topics import REGISTRY  # noqa: E402
from mqtt_load import call_latency  # noqa: E402
from mqtt_load import closed_loop_rate  # noqa: E402
from mqtt_load import issue_n  # noqa: E402
from provenance import cpu_ref_ms, machine, provenance  # noqa: E402,F401  (machine: other benches import it from here)


WIDE_OPEN = {"rate": 1e9, "burst": 10 ** 9}


def big_hall(hall_id: str, windows: int, matters: int = 100, zones: int = 10) -> dict:
    groups = [chr(ord("A") + i) for i in range(zones)]
    raw = {
        "version": 2,
        "hall": {"id": hall_id, "name": {"zh": "基准大厅", "en": "Bench hall"}, "timezone": "Asia/Shanghai"},
        "queue": {"issue_only_in_service_hours": False, "recall_limit": 2},
        "groups": [{"prefix": g, "name": {"zh": f"组{g}", "en": f"Group {g}"}, "digits": 5} for g in groups],
        "zones": [{"id": f"Z{i}", "name": {"zh": f"区{i}", "en": f"Zone {i}"}} for i in range(zones)],
        "matters": [{"id": f"M{i}", "name": {"zh": f"事项{i}", "en": f"Matter {i}"}, "group": groups[i % zones],
                     "department": {"zh": "部门", "en": "Dept"}, "zone": f"Z{i % zones}", "minutes": 10}
                    for i in range(matters)],
        "windows": [],
        # the bench measures the engine's capacity, not the door's limits (bench/flood.py does)
        "door": {"kiosk": WIDE_OPEN, "window": WIDE_OPEN, "other": WIDE_OPEN, "max_queue": 100000,
                 "daily_tickets_per_kiosk": None, "daily_tickets_per_phone": None},
        # the engine serves only kiosks the config lists (caller/identity.py)
        # K…: Requester kiosks, F…: the memory fill, L…, LC: bench/mqtt_load.py's lean clients,
        # KF, KV…: bench/flood.py's flooder and victims
        "kiosks": {"devices": [{"id": k, "printer": {"type": "none"}} for k in
                               [f"{p}{i}" for p in ("K", "F", "L", "KV") for i in range(64)] + ["LC", "KF"]]},
    }
    per_zone = matters // zones
    for w in range(windows):
        z = w % zones
        zone_matters = [f"M{z + zones * k}" for k in range(per_zone)]
        serves = {m: (3 if k == (w // zones) % per_zone else 1) for k, m in enumerate(zone_matters)}
        raw["windows"].append({"id": f"W{w}", "number": str(w + 1), "zone": f"Z{z}", "serves": serves,
                               "attended": False})
    return raw


ROOT = Path(__file__).resolve().parent.parent


class Engine:
    """The engine as a subprocess, like production; ``src``: the checkout whose
    code runs (another one for a baseline), ``args``: more options."""

    def __init__(self, broker, raw: dict, work: Path, max_batch: int = 500, src: Path = ROOT,
                 args: tuple[str, ...] = ()):
        self.cfg_path = work / f"{raw['hall']['id']}.yaml"
        self.cfg_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        self.db = work / f"{raw['hall']['id']}.sqlite"
        use_fresh_key(work)  # the engine encrypts personal data with it
        env = {**os.environ, "ONEWINDOW_MQTT_PORT": str(broker.port),
               "ONEWINDOW_MQTT_PROTOCOL": broker.settings.protocol, "PYTHONPATH": str(src)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hall.cli", "caller", "--config", str(self.cfg_path), "--db", str(self.db),
             "--max-batch", str(max_batch), *args],
            env=env, stdout=open(work / "engine.log", "ab"), stderr=subprocess.STDOUT, cwd=str(src))
        self.hall_id = raw["hall"]["id"]

    def wait_online(self, settings: BusSettings) -> None:
        ev = threading.Event()
        bus = Bus(self.hall_id, f"probe-{os.getpid()}-{time.monotonic_ns()}", settings)
        bus.subscribe(REGISTRY["engine.availability"],
                      lambda p, d: d and json.loads(d)["state"] == "online" and ev.set(), ident="caller")
        bus.start()
        end = time.monotonic() + 60
        while not ev.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"engine did not come online; see {self.db.parent / 'engine.log'}")
        bus.stop()

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_s(self) -> float:
        """User + system CPU of the process so far (all its threads)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


# ------------------------------------------------------------ closed loop --
def _kiosk_worker(settings: BusSettings, hall_id: str, kiosk_ids: list[str], matters: int,
                  start_at: float, duration: float, out: mp.Queue) -> None:
    buses, counts = [], []

    def loop(kid: str, n: int) -> None:
        bus = Bus(hall_id, f"bench-{kid}", settings)
        buses.append(bus)
        bus.start()
        req = Requester(bus, "kiosk", kid)
        req.subscribe_all()
        time.sleep(max(0.0, start_at - time.time()))
        end = start_at + duration
        done = 0
        i = n
        while time.time() < end:
            req.request("issue", {"matter": f"M{i % matters}"}, timeout=10, retries=0)
            done += 1
            i += 7
        counts.append(done)

    threads = [threading.Thread(target=loop, args=(k, n)) for n, k in enumerate(kiosk_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for b in buses:
        b.stop()
    out.put(sum(counts))


def issue_throughput(settings: BusSettings, hall_id: str, clients: int = 16, procs: int = 2,
                     duration: float = 5.0) -> float:
    q: mp.Queue = mp.Queue()
    start_at = time.time() + 2.0
    ids = [f"K{i}" for i in range(clients)]
    ps = [mp.Process(target=_kiosk_worker, args=(settings, hall_id, ids[p::procs], 100, start_at, duration, q))
          for p in range(procs)]
    for p in ps:
        p.start()
    total = sum(q.get(timeout=duration + 60) for _ in ps)
    for p in ps:
        p.join()
    return total / duration


# -------------------------------------------------------------- open loop --
def open_loop_latency(settings: BusSettings, hall_id: str, rate: float, duration: float,
                      kiosks: int = 16, cpu: Callable[[], float] | None = None) -> tuple[list[float], float]:
    """Latencies (ms) of ``rate`` issues/s for ``duration`` s, and the engine's CPU
    seconds (``cpu()``) from the first request to the last reply."""
    sent: dict[str, float] = {}
    lat: list[float] = []
    lock = threading.Lock()
    bus = Bus(hall_id, f"bench-open-{time.monotonic_ns()}", settings)

    def on_resp(parsed, data: bytes) -> None:
        t = time.perf_counter()
        rid = json.loads(data)["id"]
        with lock:
            t0 = sent.pop(rid, None)
        if t0 is not None:
            lat.append((t - t0) * 1000)

    bus.subscribe(REGISTRY["kiosk.response.issue"], on_resp)
    bus.start()
    spec = REGISTRY["kiosk.request.issue"]
    n = int(rate * duration)
    time.sleep(0.5)
    cpu0 = cpu() if cpu else 0.0
    t_start = time.perf_counter()
    for i in range(n):
        due = t_start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        rid = f"o{os.getpid()}-{time.monotonic_ns()}-{i}"
        payload = json.dumps({"id": rid, "matter": f"M{i % 100}"}).encode()
        with lock:
            sent[rid] = time.perf_counter()
        bus.publish(spec, f"K{i % kiosks}", payload)
    end = time.monotonic() + 5.0
    while len(lat) < n and time.monotonic() < end:  # every reply in (or 5 s)
        time.sleep(0.005)
    cpu1 = cpu() if cpu else 0.0
    bus.stop()
    return lat, cpu1 - cpu0


def fill(host: str, port: int, hall_id: str, n: int) -> None:
    """Issue ``n`` tickets (for the memory figure), 16 lean clients in closed loop."""
    issue_n(host, port, hall_id, n)


def p99(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.99 * len(xs)))] if xs else float("nan")


def measure_shell(broker, work: Path, name: str, src: Path, args: tuple[str, ...], r: int, a, out: dict,
                  side: bool) -> None:
    """One run of every figure for one shell; ``side``: also the side-by-side
    settings (one commit per request, Requester clients)."""
    s = broker.settings
    windows, tickets = (20, 500) if a.quick else (1000, a.tickets)
    eng = Engine(broker, big_hall(f"bt{name}{r}", 200), work, src=src, args=args)
    eng.wait_online(s)
    cpu0 = eng.cpu_s()
    rate = closed_loop_rate(s.host, s.port, eng.hall_id, duration=a.duration, op="ticket")
    out["shell_per_s"].append(rate)
    out["shell_cpu_us_per_request"].append((eng.cpu_s() - cpu0) / max(1.0, rate * a.duration) * 1e6)
    out["issue_per_s"].append(closed_loop_rate(s.host, s.port, eng.hall_id, duration=a.duration))
    if side:
        out["issue_per_s_requester_clients"].append(issue_throughput(s, eng.hall_id, duration=a.duration))
    eng.stop()
    if side:  # the same load with one commit per request
        one = Engine(broker, big_hall(f"b1{name}{r}", 200), work, max_batch=1, src=src, args=args)
        one.wait_online(s)
        out["issue_per_s_no_group_commit"].append(closed_loop_rate(s.host, s.port, one.hall_id,
                                                                   duration=a.duration))
        one.stop()
    big = Engine(broker, big_hall(f"bw{name}{r}", windows), work, src=src, args=args)
    big.wait_online(s)
    lat, cpu = open_loop_latency(s, big.hall_id, 500, a.duration, cpu=big.cpu_s)
    out["issue_p99_ms"].append(p99(lat))
    out["issue_p50_ms"].append(statistics.median(lat))
    out["cpu_us_per_issue"].append(cpu / max(1, len(lat)) * 1e6)
    clat = call_latency(s.host, s.port, big.hall_id, windows, 100, a.duration, tickets=2000)
    out["call_p99_ms"].append(p99(clat))
    out["call_p50_ms"].append(statistics.median(clat))
    fill(s.host, s.port, big.hall_id, tickets)
    time.sleep(1.0)
    out["rss_mb"].append(big.rss_mb())
    big.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--shells", default="gmqtt,paho",
                    help="Comma-separated: the engine's MQTT clients to run side by side (gmqtt, paho).")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="Another checkout whose engine also runs, as shell `old` (its own defaults).")
    ap.add_argument("--tickets", type=int, default=20000, help="Tickets in the day for the memory figure.")
    ap.add_argument("--quick", action="store_true",
                    help="Seconds, not minutes: proves the benchmark runs (CI); its figures mean nothing.")
    a = ap.parse_args()
    if a.quick:
        a.repeat, a.duration = 1, 0.5
    shells: dict[str, tuple[Path, tuple[str, ...]]] = {
        k: (ROOT, ("--mqtt-client", k)) for k in a.shells.split(",") if k}
    if a.baseline:
        shells["old"] = (a.baseline.resolve(), ())
    first = next(iter(shells))
    work = Path(tempfile.mkdtemp(prefix="onewindow-bench-"))
    broker = start_local_broker(workdir=work)
    figures = ("cpu_ref_ms", "shell_per_s", "shell_cpu_us_per_request", "issue_per_s", "issue_p99_ms", "issue_p50_ms", "cpu_us_per_issue", "call_p99_ms",
               "call_p50_ms", "rss_mb", "issue_per_s_no_group_commit", "issue_per_s_requester_clients")
    runs: dict[str, dict[str, list[float]]] = {k: {f: [] for f in figures} for k in shells}
    load_before = [round(x, 2) for x in os.getloadavg()]
    cpu_ref_before = cpu_ref_ms()
    try:
        for r in range(a.repeat):
            for name, (src, args) in shells.items():
                runs[name]["cpu_ref_ms"].append(cpu_ref_ms())  # how fast the VM ran this run
                measure_shell(broker, work, name, src, args, r, a, runs[name], side=name == first)
                print(f"run {r} {name}: " + json.dumps({f: round(v[-1], 2) for f, v in runs[name].items() if v}),
                      file=sys.stderr, flush=True)  # progress: a long run interrupted still tells
    finally:
        broker.stop()
    per_shell = {k: {f: round(statistics.median(v), 2) for f, v in rs.items() if v} for k, rs in runs.items()}
    result: dict = dict(per_shell[first])
    top = runs[first]
    result["group_commit_speedup"] = round(statistics.median(
        x / y for x, y in zip(top["issue_per_s"], top["issue_per_s_no_group_commit"])), 2)
    result["shell"] = first
    result["shells"] = per_shell
    result["runs"] = {k: {f: [round(x, 2) for x in v] for f, v in rs.items() if v} for k, rs in runs.items()}
    result["windows"] = {"issue_per_s": 200, "issue_p99_ms": 20 if a.quick else 1000,
                         "call_p99_ms": 20 if a.quick else 1000, "rss_mb": 20 if a.quick else 1000}
    result["broker"] = broker.kind
    result.update(provenance(load_before, cpu_ref_before))
    if a.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>14}: {v}")


if __name__ == "__main__":
    main()

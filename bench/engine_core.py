"""The engine's core without network: `python bench/engine_core.py --json`.

bench/engine.py measures the whole engine through mosquitto, where the
machine's load moves every wall-clock figure.  This one runs the same
1,000-window hall (``bench/engine.py``'s ``big_hall``) in one process and one
thread: a :class:`caller.service.CallerService` with a bus that is never
started, the store on a real SQLite file (WAL, synchronous=FULL), the door's
``_answer_once`` → ``_seal`` → the committer's ``write`` for each batch,
exactly the path of a request in the engine, minus the MQTT client and the
thread hand-offs.  Emitted payloads are encoded (``m.encode``), as the bus
would, but not sent.  Time is a manual clock: issues at ``--rate`` a second of
the hall's day (in service hours unless ``--evening``), the core's tick every
second and the waiting counts' flush every half second of it, as the shell
does.

It reports the CPU time of the process (``time.process_time``: what the
machine's load does not change, unlike latencies) per operation:

- ``issue_us``        one issue alone in its batch (what 500 issues/s offered
                      mostly is): door, core, extensions, views, commit
- ``issue_batch16_us``one issue in a batch of 16 (the closed loop's shape)
- ``call_us``         one `next` alone in its batch, all windows logged in
- ``tick_ms``         the periodic duties (core tick, extensions: supervision…)
- ``flush_ms``        the waiting counts of the zones that changed, rendered
- ``commit_us``       of ``issue_us``, the store's commit (SQLite, fsync), which
                      the engine runs in its committer thread, not its loop
- ``issue_forecast_us`` of ``issue_us``, the waiting forecast of the reply
                      (``caller/forecast.py``'s ``position``)
- ``issue_core_us``   of ``issue_us``, the engine core's command (``Engine.handle``:
                      checks, the ticket, its queue, the forecast, the change set)
- ``cpu_us_per_issue_at_rate``
                      (rate × issue + tick + 2 × flush) / rate: the CPU one
                      issue costs at ``--rate`` issues/s (bench/engine.py's
                      ``cpu_us_per_issue`` measures this through the network)

``--profile FILE`` writes a cProfile of the issue and call phases (read it
with ``python -m pstats FILE``); ``--top N`` prints the N costliest
functions by own time; ``--count`` adds ``*_py_calls``, the Python function
calls per operation (its share of ticks and flushes included): a figure the
machine's load does not move.  ``--quick`` proves it runs (CI); its figures mean
nothing.

Side by side (this VM's CPU speed moves by up to 2× between quarter-hours, so
a figure alone says little): ``--baseline DIR --repeat N`` runs this script on
the code of checkout DIR (``git worktree add DIR main``) and on this one, N
rounds, alternating which goes first, and prints both runs and, per figure,
the median over rounds of new ÷ old within a round; ``--src DIR`` runs on
DIR's code alone.  This VM also flips between two speeds within seconds, so
whole runs side by side still differ by up to 2× in one round:
``--lockstep DIR --rounds R`` runs both codes at once in two processes and
has them take turns chunk by chunk (``--chunk`` operations, the one to go
first alternating), each chunk timed apart, and reports per phase the
median CPU per operation of each and the median of new ÷ old over adjacent
chunks — chunks a few milliseconds apart ran at the same speed.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import json
import logging
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent


def _src_argument() -> Path:
    """The checkout whose code runs (``--src DIR``), read before anything is imported."""
    for i, arg in enumerate(sys.argv):
        if arg == "--src" and i + 1 < len(sys.argv):
            return Path(sys.argv[i + 1]).resolve()
        if arg.startswith("--src="):
            return Path(arg.split("=", 1)[1]).resolve()
    return ROOT


sys.path.insert(0, str(_src_argument()))
sys.path.insert(1, str(Path(__file__).resolve().parent))
import caller  # noqa: E402,F401  (the packages first, from --src: bench/engine.py puts this checkout first)
import hall  # noqa: E402,F401

from engine import big_hall  # noqa: E402  (bench/engine.py: the same hall)
from provenance import cpu_ref_ms, provenance  # noqa: E402

from caller import forecast  # noqa: E402
from caller.engine import Engine  # noqa: E402
from caller.service import CallerService  # noqa: E402
from hall import messages as m  # noqa: E402
from hall.bus import BusSettings  # noqa: E402
from hall.clock import ManualClock  # noqa: E402
from hall.config import parse_config  # noqa: E402
from hall.crypto import DataCipher, new_key, use_fresh_key  # noqa: E402
from hall.topics import REGISTRY, Parsed  # noqa: E402


class _Unstarted:
    """The bus of an engine that is never connected: subscriptions are noted, nothing is sent."""

    def subscribe(self, *a: Any, **k: Any) -> None:
        pass

    def publish(self, *a: Any, **k: Any) -> None:
        raise AssertionError("the core harness publishes nothing")


class Core:
    """One engine's core, store and extensions, driven by hand in this thread."""

    def __init__(self, windows: int, work: Path, start: float, rate: float):
        cfg = parse_config(big_hall("core", windows), "bench")
        self.clock = ManualClock(start)
        self.svc = CallerService(cfg, work / "core.sqlite", BusSettings(), clock=self.clock,
                                 bus=_Unstarted(), cipher=DataCipher(new_key()))  # type: ignore[arg-type]
        self.svc._load()
        self.sent = 0
        self.svc._emit = self._emit  # type: ignore[method-assign]
        self.step = 1.0 / rate
        self._next_tick = start + 1.0
        self._next_flush = start + 0.5
        self.tick_cpu: list[float] = []  # CPU seconds of each tick, of each flush
        self.flush_cpu: list[float] = []
        self.commit_s = 0.0
        self.n = 0
        self.spec_issue = REGISTRY["kiosk.request.issue"]
        self.spec_next = REGISTRY["window.request.next"]
        self.spec_login = REGISTRY["window.request.login"]
        self.windows = windows

    def _emit(self, spec: Any, ident: str, payload: Any) -> None:
        """What the bus would do with it: encode (bytes pass as they are)."""
        if not isinstance(payload, (bytes, bytearray)):
            m.encode(payload)
        self.sent += 1

    def _commit(self, b: Any) -> None:
        svc = self.svc
        t0 = time.process_time()
        work = svc._seal(b, self.clock.now())
        t1 = time.process_time()
        if work.writes():
            svc._committer.write(work)
        self.commit_s += time.process_time() - t1
        self._seal_s = t1 - t0

    def request(self, spec: Any, ident: str, body: dict, batch: list[tuple[Parsed, bytes]]) -> None:
        self.n += 1
        body = {"id": f"r{self.n}", **body}
        batch.append((Parsed(spec, "core", ident), json.dumps(body).encode()))

    def run(self, batch: list[tuple[Parsed, bytes]]) -> None:
        """One batch through door → core → seal → commit; then whatever the
        clock made due (tick, flush), as the shell's timer would."""
        from caller.shell import Batch
        svc = self.svc
        b = Batch()
        now = self.clock.now()
        for parsed, payload in batch:
            svc._answer_once(parsed, payload, now, b)
        b.count = len(batch)
        self._commit(b)
        self.clock._t += self.step * len(batch)
        self.due()

    def due(self) -> None:
        from caller.shell import Batch
        svc, now = self.svc, self.clock.now()
        if now >= self._next_tick:
            self._next_tick += 1.0
            t0 = time.process_time()
            b = Batch()
            svc._tick(b)
            b.ticked = True
            self._commit(b)
            self.tick_cpu.append(time.process_time() - t0)
        if now >= self._next_flush:
            self._next_flush += 0.5
            t0 = time.process_time()
            svc._flush_waiting()
            while svc._send_backlog():
                pass
            self.flush_cpu.append(time.process_time() - t0)

    def issues(self, n: int, batch: int, first: int = 0) -> None:
        for i in range(first, first + n, batch):
            reqs: list[tuple[Parsed, bytes]] = []
            for j in range(i, min(first + n, i + batch)):
                self.request(self.spec_issue, f"L{j % 16}", {"matter": f"M{j % 100}"}, reqs)
            self.run(reqs)

    def login_all(self) -> None:
        for w in range(self.windows):
            reqs: list[tuple[Parsed, bytes]] = []
            self.request(self.spec_login, f"W{w}", {"staff": f"S{w}"}, reqs)
            self.run(reqs)

    def calls(self, n: int, first: int = 0) -> None:
        for i in range(first, first + n):
            reqs: list[tuple[Parsed, bytes]] = []
            self.request(self.spec_next, f"W{i % self.windows}", {}, reqs)
            self.run(reqs)


class Timed:
    """CPU spent inside one function of the core (patched on its module while measured)."""

    def __init__(self, module: Any, name: str):
        self.module, self.name, self.real = module, name, getattr(module, name)
        self.cpu, self.calls = 0.0, 0

        def wrapper(*a: Any, **k: Any) -> Any:
            t0 = time.process_time()
            try:
                return self.real(*a, **k)
            finally:
                self.cpu += time.process_time() - t0
                self.calls += 1
        setattr(module, name, wrapper)

    def stop(self) -> None:
        setattr(self.module, self.name, self.real)


class GcPauses:
    """The cyclic collector's pauses while it runs (a long one stalls every request behind it)."""

    def __init__(self) -> None:
        self.n = self.full = 0
        self.longest = self.longest_full = 0.0
        self._t0 = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        d = time.perf_counter() - self._t0
        self.n += 1
        self.longest = max(self.longest, d)
        if info["generation"] == 2:
            self.full += 1
            self.longest_full = max(self.longest_full, d)

    def stop(self) -> None:
        gc.callbacks.remove(self._cb)


def timed(fn: Callable[[], None]) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def in_hours_start(evening: bool) -> float:
    """A Wednesday of the hall's (Asia/Shanghai) week, 09:00 — or 21:00 with ``evening``."""
    tz = dt.timezone(dt.timedelta(hours=8))
    return dt.datetime(2026, 11, 25, 21 if evening else 9, 0, tzinfo=tz).timestamp()


def measure(a: argparse.Namespace, work: Path, prof: cProfile.Profile | None) -> dict[str, Any]:
    core = Core(a.windows, work, in_hours_start(a.evening), a.rate)
    svc = core.svc
    gc.collect()
    gc.freeze()  # as the engine does after start-up
    pauses = GcPauses()
    # warm up: the first tickets of the day, every code path once
    core.issues(a.warm, 1)
    out: dict[str, Any] = {}

    def phase(name: str, n: int, fn: Callable[[int, int], None]) -> None:
        """``n`` operations in chunks of ``a.chunk``: the CPU per operation is the
        median chunk's (a chunk the machine's load slowed weighs no more than
        one); ticks and flushes are timed apart, as what they each cost."""
        per_op, commit = [], []
        t0, f0 = len(core.tick_cpu), len(core.flush_cpu)
        counter = cProfile.Profile() if a.count else None  # one profiler at a time: --count or --profile
        for first in range(0, n, a.chunk):
            k = min(a.chunk, n - first)
            s = (sum(core.tick_cpu), sum(core.flush_cpu), core.commit_s)
            p = prof or counter
            if p is not None:
                p.enable()
            cpu = timed(lambda: fn(first, k))
            if p is not None:
                p.disable()
            side = sum(core.tick_cpu) - s[0] + sum(core.flush_cpu) - s[1]
            per_op.append((cpu - side) / k)
            commit.append((core.commit_s - s[2]) / k)
        if counter is not None:  # the operations' share of ticks and flushes included
            out[f"{name}_py_calls"] = round(pstats.Stats(counter).total_calls / n)
        out[f"{name}_us"] = round(statistics.median(per_op) * 1e6, 1)
        out[f"{name}_us_min"] = round(min(per_op) * 1e6, 1)
        out[f"{name}_commit_us"] = round(statistics.median(commit) * 1e6, 1)
        ticks, flushes = core.tick_cpu[t0:], core.flush_cpu[f0:]
        if ticks:
            out[f"{name}_tick_ms"] = round(statistics.median(ticks) * 1e3, 2)
            out[f"{name}_tick_ms_max"] = round(max(ticks) * 1e3, 2)
        if flushes:
            out[f"{name}_flush_ms"] = round(statistics.median(flushes) * 1e3, 2)
            out[f"{name}_flush_ms_max"] = round(max(flushes) * 1e3, 2)

    fc = Timed(forecast, "position")  # the waiting forecast of each issue's reply (caller/forecast.py)
    cc = Timed(Engine, "handle")  # the core's command, forecast included
    phase("issue", a.n, lambda first, k: core.issues(k, 1, a.warm + first))
    fc.stop()
    cc.stop()
    out["issue_forecast_us"] = round(fc.cpu / max(1, fc.calls) * 1e6, 1)
    out["issue_core_us"] = round(cc.cpu / max(1, cc.calls) * 1e6, 1)
    phase("issue_batch16", a.n, lambda first, k: core.issues(k, 16, a.warm + a.n + first))
    core.login_all()
    phase("call", a.calls, lambda first, k: core.calls(k, first))
    out["tick_ms"] = out.get("issue_tick_ms", 0.0)
    out["flush_ms"] = out.get("issue_flush_ms", 0.0)
    out["cpu_us_per_issue_at_rate"] = round(out["issue_us"] + (out["tick_ms"] + 2 * out["flush_ms"])
                                            * 1e3 / a.rate, 1)
    pauses.stop()
    out["gc_pauses"], out["gc_max_ms"] = pauses.n, round(pauses.longest * 1e3, 2)
    out["gc_full"], out["gc_full_max_ms"] = pauses.full, round(pauses.longest_full * 1e3, 2)
    out["waiting_at_end"] = sum(svc.engine.routing.waiting_by_line.values())
    out["messages_per_issue"] = round(core.sent / max(1, core.n), 2)
    return out


def serve(a: argparse.Namespace, work: Path) -> None:
    """One core driven by commands on stdin (``--lockstep``'s child): ``issue K B``
    (K issues in batches of B), ``login``, ``call K``; each answers the CPU per
    operation (ticks and flushes apart, as ``measure``'s phases count them) and,
    of it, the core's command's (``Engine.handle``)."""
    core = Core(a.windows, work, in_hours_start(a.evening), a.rate)
    cc = Timed(Engine, "handle")
    gc.collect()
    gc.freeze()
    core.issues(a.warm, 1)
    issued = a.warm
    print("ready", flush=True)
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "login":
            core.login_all()
            print(0.0, 0.0, flush=True)
            continue
        k = int(args[0])
        s0 = sum(core.tick_cpu) + sum(core.flush_cpu)
        c0 = cc.cpu
        t0 = time.process_time()
        if cmd == "issue":
            core.issues(k, int(args[1]), issued)
            issued += k
        else:
            core.calls(k, core.n)
        cpu = time.process_time() - t0 - (sum(core.tick_cpu) + sum(core.flush_cpu) - s0)
        print(cpu / k, (cc.cpu - c0) / k, flush=True)


def lockstep(a: argparse.Namespace) -> dict[str, Any]:
    """The baseline's core and this one's in two processes taking turns, chunk by chunk."""
    args = ["--windows", str(a.windows), "--warm", str(a.warm), "--rate", str(a.rate)]
    args += ["--evening"] * a.evening
    kids = {name: subprocess.Popen([sys.executable, __file__, "--serve", *args, "--src", str(src)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for name, src in (("old", a.lockstep.resolve()), ("new", ROOT))}
    for kid in kids.values():
        assert kid.stdout is not None and kid.stdout.readline().strip() == "ready"

    def ask(name: str, cmd: str) -> tuple[float, float]:
        kid = kids[name]
        assert kid.stdin is not None and kid.stdout is not None
        kid.stdin.write(cmd + "\n")
        kid.stdin.flush()
        total, core = kid.stdout.readline().split()
        return float(total), float(core)

    out: dict[str, Any] = {}
    try:
        for phase, cmd in (("issue", f"issue {a.chunk} 1"), ("issue_batch16", f"issue {a.chunk} 16"),
                           ("login", "login"), ("call", f"call {a.chunk}")):
            if phase == "login":
                ask("old", cmd), ask("new", cmd)
                continue
            old, new = [], []
            for r in range(a.rounds):
                got = {name: ask(name, cmd) for name in (("old", "new") if r % 2 == 0 else ("new", "old"))}
                old.append(got["old"])
                new.append(got["new"])
            for i, what in ((0, ""), (1, "_core")):  # the whole operation, the core's command
                out[f"{phase}{what}_us_old"] = round(statistics.median(x[i] for x in old) * 1e6, 1)
                out[f"{phase}{what}_us_new"] = round(statistics.median(x[i] for x in new) * 1e6, 1)
                out[f"{phase}{what}_ratio_new_old"] = round(
                    statistics.median(n[i] / o[i] for n, o in zip(new, old) if o[i]), 3)
    finally:
        for kid in kids.values():
            assert kid.stdin is not None
            kid.stdin.close()
            kid.wait()
    return {"baseline": str(a.lockstep.resolve()), "windows": a.windows, "rounds": a.rounds, "chunk": a.chunk,
            **out}


def side_by_side(a: argparse.Namespace) -> dict[str, Any]:
    """This script on the baseline's code and on this checkout's, round after round
    (the first to run alternates), each in its own process."""
    args = ["--json", "--windows", str(a.windows), "--n", str(a.n), "--calls", str(a.calls),
            "--chunk", str(a.chunk), "--warm", str(a.warm), "--rate", str(a.rate)]
    args += ["--evening"] * a.evening + ["--count"] * a.count + ["--quick"] * a.quick
    runs: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
    srcs = {"old": a.baseline.resolve(), "new": ROOT}
    for r in range(a.repeat):
        for name in (("old", "new") if r % 2 == 0 else ("new", "old")):
            done = subprocess.run([sys.executable, __file__, *args, "--src", str(srcs[name])],
                                  check=True, capture_output=True, text=True)
            runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    ratio = {}  # the median over rounds of new ÷ old in the same round (the VM's speed drifts)
    for k, v in runs["new"][0].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and k in runs["old"][0]:
            pairs = [n[k] / o[k] for n, o in zip(runs["new"], runs["old"]) if o.get(k)]
            if pairs:
                ratio[k] = round(statistics.median(pairs), 3)
    return {"baseline": str(srcs["old"]), "rounds": a.repeat, "old": runs["old"], "new": runs["new"],
            "ratio_new_old": ratio}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--windows", type=int, default=1000)
    ap.add_argument("--n", type=int, default=3000, help="issues per phase")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--chunk", type=int, default=250, help="operations per timed chunk")
    ap.add_argument("--warm", type=int, default=500, help="issues before measuring")
    ap.add_argument("--rate", type=float, default=500.0, help="issues per second of the hall's clock")
    ap.add_argument("--evening", action="store_true",
                    help="run at 21:00 hall time (outside service hours) instead of 09:00")
    ap.add_argument("--profile", type=Path, default=None, help="write a cProfile of the measured phases")
    ap.add_argument("--top", type=int, default=0, help="print the N costliest functions (own time)")
    ap.add_argument("--count", action="store_true",
                    help="also Python function calls per operation (load-independent; the CPU "
                         "figures of such a run include the profiler's)")
    ap.add_argument("--quick", action="store_true", help="a few seconds: proves it runs")
    ap.add_argument("--src", type=Path, default=None,
                    help="run the core of another checkout (read before the imports)")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="a checkout of the code before (e.g. main): run it and this one "
                         "interleaved, --repeat rounds, and print both with the ratios new/old")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of --baseline")
    ap.add_argument("--lockstep", type=Path, default=None,
                    help="a checkout of the code before: both cores at once, taking turns chunk by chunk")
    ap.add_argument("--rounds", type=int, default=20, help="chunks of each phase in --lockstep")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # --lockstep's child
    a = ap.parse_args()
    if a.baseline is not None:
        print(json.dumps(side_by_side(a)))
        return 0
    if a.quick:
        a.windows, a.n, a.calls, a.warm, a.rate, a.chunk = 50, 100, 50, 20, 100.0, 50
    logging.basicConfig(level=logging.ERROR)
    if a.serve:
        with tempfile.TemporaryDirectory(prefix="onewindow-core-") as tmp:
            use_fresh_key(tmp)  # the forms extension reads the hall key as the engine would
            serve(a, Path(tmp))
        return 0
    if a.lockstep is not None:
        if a.quick:
            a.rounds, a.chunk = 2, 20
        load = [round(x, 2) for x in os.getloadavg()]
        ref = None if a.quick else cpu_ref_ms()
        result = lockstep(a)
        result.update(**provenance(load, ref))
        print(json.dumps(result))
        return 0
    if a.count and (a.profile or a.top):
        ap.error("--count runs its own profiler: not with --profile or --top")
    prof = cProfile.Profile(time.process_time) if (a.profile or a.top) else None  # CPU, not fsync waits
    with tempfile.TemporaryDirectory(prefix="onewindow-core-") as tmp:
        use_fresh_key(tmp)  # the forms extension reads the hall key as the engine would
        load = [round(x, 2) for x in os.getloadavg()]
        ref = None if a.quick else cpu_ref_ms()  # how fast this VM ran meanwhile (bench/provenance.py)
        result = measure(a, Path(tmp), prof)
    result.update(src=str(Path(forecast.__file__).resolve().parent.parent), windows=a.windows, rate=a.rate,
                  in_service_hours=not a.evening, **provenance(load, ref))
    if prof is not None:
        if a.profile:
            prof.dump_stats(a.profile)
        if a.top:
            pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(a.top)
    print(json.dumps(result) if a.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the engine's memory goes: `python bench/memory.py --json`.

`bench/engine.py` gives one figure, `rss_mb` (the engine after a day of
20,000 tickets with 1,000 windows, target ≤ 80).  This one says where it
comes from, so that a change to the imports, the config or the per-ticket
records can be weighed on its own:

- ``stages``: the RSS (VmRSS, MB) of one engine process after each step of its
  start and day, the steps `onewindow caller` takes: ``python`` (the bare
  interpreter), ``imports`` (the command's modules, before it reads anything),
  ``config`` (the 1,000-window hall file loaded and validated), ``started``
  (store opened, state restored, connected, its retained state published),
  ``tickets`` (after ``--tickets`` issued through the broker by 16 lean clients);
  ``*_delta`` figures are the steps' own growth.
- ``imports``: the RSS each library the engine imports adds in a fresh
  interpreter, in the order the engine meets them (what is shared with an
  earlier one is counted there), and the engine's own packages.

- ``processes``: the RSS (and its peak, VmHWM) of the other long-running
  processes once started and settled, each against the example hall
  (`config/hall.example.yaml`, with fake devices: the bridge's ``--fake``
  ptys, the SMS sender's ``fake`` type, the screens headless) and a running
  engine: ``display``, ``kiosk``, ``bridge``, ``sms``, ``web`` (``--quick``:
  the bridge only).  They run on Pi-class boards.

``--baseline DIR`` runs the same stages with the code of another checkout
(e.g. ``git worktree add /tmp/old main``) side by side, interleaved when
``--repeat`` > 1.  RSS counts what is resident, so the figures depend little on
the machine's load; a busy machine changes the fill's speed, not its memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import big_hall, provenance  # noqa: E402
from hall.broker import start_local_broker  # noqa: E402
from hall.crypto import use_fresh_key  # noqa: E402
from mqtt_load import issue_n  # noqa: E402

STAGES = ("python", "imports", "config", "started", "tickets")

# The engine's steps, in a child process with the checkout's code: the same
# calls `onewindow caller` makes (hall/cli.py → caller/cli.py), RSS after each.
# the children's own RSS (MB), read from /proc
_RSS = r"""
def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
"""

_CHILD = _RSS + r"""
import os, sys
def say(stage):
    print(f"STAGE {stage} {rss():.3f}", flush=True)
say("python")
import hall.cli
hall.cli.LazyGroup().get_command(None, "caller")
from hall.bus import BusSettings
from hall.config import load_config
from hall.crypto import DataCipher
from caller.service import CallerService
say("imports")
cfg_path, db_path = sys.argv[1], sys.argv[2]
cfg = load_config(cfg_path)
say("config")
svc = CallerService(cfg, db_path, BusSettings.from_env(), config_path=cfg_path,
                    cipher=DataCipher.from_env(None))
svc.start(timeout=60)
say("started")
sys.stdin.readline()  # the bench has issued the day's tickets
say("tickets")
svc.stop()
"""

# What each library adds, imported one after another in a fresh interpreter
# (the order the engine meets them: a shared dependency counts for the first),
# with pydantic's plugin loader replaced first as `onewindow caller` does
# (caller/pydantic_plugins.py: else importlib.metadata, 2.3 MB, when the first model is built)
IMPORTS = ("asyncio", "sqlite3", "msgspec", "click", "yaml", "pydantic",
           "cryptography.fernet", "gmqtt", "chinese_calendar", "hall.messages", "hall.config", "hall.bus",
           "caller.service", "hall.loopbus")

_IMPORT_CHILD = _RSS + r"""
import importlib, json, os, sys
import caller
# only the checkout's own (a baseline from before it has none; the venv's
# editable install would find the current checkout's instead)
if any(os.path.exists(os.path.join(p, "pydantic_plugins.py")) for p in caller.__path__):
    from caller.pydantic_plugins import without_pydantic_plugins
    without_pydantic_plugins()
out = {"python": rss()}
for name in sys.argv[1:]:
    before = rss()
    importlib.import_module(name)
    out[name] = rss() - before
print(json.dumps(out))
"""


def engine_stages(broker, work: Path, src: Path, name: str, windows: int, tickets: int) -> dict[str, float]:
    raw = big_hall(f"mem{name}{time.monotonic_ns() % 10**8}", windows)
    cfg = work / f"{raw['hall']['id']}.yaml"
    cfg.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "ONEWINDOW_MQTT_PORT": str(broker.port),
           "ONEWINDOW_MQTT_PROTOCOL": broker.settings.protocol, "PYTHONPATH": str(src)}
    log = open(work / f"engine-{name}.log", "ab")
    p = subprocess.Popen([sys.executable, "-c", _CHILD, str(cfg), str(work / f"{raw['hall']['id']}.sqlite")],
                         env=env, cwd=str(src), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                         text=True)
    out: dict[str, float] = {}
    try:
        for line in p.stdout:
            if line.startswith("STAGE "):
                _, stage, mb = line.split()
                out[stage] = float(mb)
                if stage == "started":
                    issue_n(broker.settings.host, broker.port, raw["hall"]["id"], tickets)
                    time.sleep(1.0)  # the last batch committed and published
                    p.stdin.write("\n")
                    p.stdin.flush()
                if stage == "tickets":
                    break
        p.wait(60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    missing = [s for s in STAGES if s not in out]
    if missing:
        raise RuntimeError(f"engine ({src}) did not reach {missing}; see {work / f'engine-{name}.log'}")
    for a, b in zip(STAGES, STAGES[1:]):
        out[f"{b}_delta"] = out[b] - out[a]
    return out


def import_costs(src: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    r = subprocess.run([sys.executable, "-c", _IMPORT_CHILD, *IMPORTS], env=env, cwd=str(src),
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout)


def _mem(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM (MB) of ``pid``."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line[:5]] = int(line.split()[1]) / 1024
    return out["VmRSS"], out["VmHWM"]


SETTLE_S = 3.0  # a process has started when its RSS grew < 0.25 MB in this long


def settled_rss(proc: subprocess.Popen, least_s: float = 5.0, most_s: float = 90.0) -> tuple[float, float]:
    """Wait until the process's RSS stops growing (at least ``least_s``), then
    its (RSS, peak); raises if it exits first."""
    start = time.monotonic()
    seen: list[tuple[float, float]] = []
    while True:
        time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[3:5]} exited with {proc.returncode}")
        now = time.monotonic()
        rss, hwm = _mem(proc.pid)
        seen.append((now, rss))
        window = [r for t, r in seen if t >= now - SETTLE_S]
        if now - start >= max(least_s, SETTLE_S) and max(window) - min(window) < 0.25:
            return rss, hwm
        if now - start > most_s:
            return rss, hwm


def process_rss(broker, work: Path, quick: bool) -> dict[str, dict[str, float]]:
    """Each long-running process of the example hall, started alone beside an engine."""
    from web.console.accounts import save_accounts

    raw = yaml.safe_load((ROOT / "config" / "hall.example.yaml").read_text(encoding="utf-8"))
    raw["notify"]["sms"]["sender"] = {"type": "fake"}  # no modem here
    cfg = work / "example.yaml"
    cfg.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    save_accounts(work / "accounts.json", [])
    env = {**os.environ, "ONEWINDOW_MQTT_PORT": str(broker.port),
           "ONEWINDOW_MQTT_PROTOCOL": broker.settings.protocol, "PYTHONPATH": str(ROOT),
           "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1",
           "KIVY_HOME": str(work / "kivy")}
    exe = [sys.executable, "-m", "hall.cli"]
    commands = {
        "display": ["display", "--config", str(cfg)],
        "kiosk": ["kiosk", "--config", str(cfg), "--id", "K01"],
        "bridge": ["bridge", "--config", str(cfg), "--fake"],
        "sms": ["sms", "--config", str(cfg), "--journal", str(work / "sms.sqlite")],
        "web": ["web", "serve", "--config", str(cfg), "--http-port", "0", "--accounts", str(work / "accounts.json"),
                "--acks-db", str(work / "acks.sqlite")],
    }
    if quick:
        commands = {"bridge": commands["bridge"]}
    engine = subprocess.Popen(exe + ["caller", "--config", str(cfg), "--db", str(work / "example.sqlite")],
                              env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, dict[str, float]] = {}
    try:
        for name, args in commands.items():
            log = open(work / f"{name}.log", "ab")
            p = subprocess.Popen(exe + args, env=env, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT)
            try:
                rss, hwm = settled_rss(p)
                out[name] = {"rss_mb": round(rss, 2), "peak_mb": round(hwm, 2)}
            except RuntimeError as e:
                raise RuntimeError(f"{e}; see {work / f'{name}.log'}") from None
            finally:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            print(f"{name}: {out[name]}", file=sys.stderr, flush=True)
    finally:
        engine.terminate()
        engine.wait(20)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--windows", type=int, default=1000)
    ap.add_argument("--tickets", type=int, default=20000, help="Tickets in the day.")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="Another checkout whose engine runs the same stages, as `old`.")
    ap.add_argument("--no-processes", dest="processes", action="store_false",
                    help="The engine only, not the other processes' RSS.")
    ap.add_argument("--quick", action="store_true",
                    help="Seconds, not minutes: proves the benchmark runs (CI); its figures mean nothing.")
    a = ap.parse_args()
    if a.quick:
        a.repeat, a.windows, a.tickets = 1, 20, 200
    srcs = {"new": ROOT}
    if a.baseline:
        srcs["old"] = a.baseline.resolve()
    work = Path(tempfile.mkdtemp(prefix="onewindow-bench-memory-"))
    use_fresh_key(work)
    broker = start_local_broker(workdir=work)
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in srcs}
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        for r in range(a.repeat):
            for name, src in srcs.items():
                runs[name].append(engine_stages(broker, work, src, f"{name}{r}", a.windows, a.tickets))
                print(f"run {r} {name}: " + json.dumps({k: round(v, 2) for k, v in runs[name][-1].items()}),
                      file=sys.stderr, flush=True)
        processes = process_rss(broker, work, a.quick) if a.processes else {}
    finally:
        broker.stop()
    result: dict = {"processes": processes}
    for name, rs in runs.items():
        med = {k: round(statistics.median(x[k] for x in rs), 2) for k in rs[0]}
        result[name] = {"stages": med, "runs": [{k: round(v, 2) for k, v in x.items()} for x in rs],
                        "imports": {k: round(v, 2) for k, v in import_costs(srcs[name]).items()}}
    result["rss_mb"] = result["new"]["stages"]["tickets"]
    result["windows"], result["tickets"] = a.windows, a.tickets
    result.update(provenance(load_before))
    if a.json:
        print(json.dumps(result))
    else:
        for name in srcs:
            print(name, json.dumps(result[name]["stages"]))
            print(" " * len(name), json.dumps(result[name]["imports"]))
        for name, mem in processes.items():
            print(f"{name}: {mem}")


if __name__ == "__main__":
    main()

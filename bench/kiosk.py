"""Kiosk benchmarks: touch → number on screen, and cold start → home screen.

    python bench/kiosk.py --json [--n 200]

* ``touch_to_number_*_ms``: a press on "take a number" (the button's
  on_release, as a finger would) → the issue request through mosquitto →
  the real engine (SQLite group commit) → the reply → the ticket screen
  built and one frame drawn (Kivy headless, SDL offscreen).  The fake printer
  on a pty prints each ticket too, after the number is shown, as on a kiosk.
* ``cold_start_s``: ``onewindow kiosk --ready-exit`` from process start to the
  first frame of the home screen (Python start-up, Kivy, config, font, bus).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-bench-"))


def bench_config(hall_id: str):
    import yaml

    from hall.config import parse_config
    raw = yaml.safe_load((ROOT / "config" / "hall.example.yaml").read_text(encoding="utf-8"))
    raw["hall"]["id"] = hall_id
    raw.setdefault("queue", {})["issue_only_in_service_hours"] = False  # benchmarks run at any hour
    return raw, parse_config(raw)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


def touch_to_number(n: int, broker) -> dict:
    from kivy.base import EventLoop

    from caller.service import CallerService
    from hall.crypto import use_fresh_key
    from kiosk.app import Harness, configure_kivy
    from kiosk.flow import S
    from kiosk.service import KioskService, make_printer

    _, cfg = bench_config("benchkiosk")
    configure_kivy(cfg.kiosks.screen)
    db = Path(tempfile.mkdtemp(prefix="kiosk-bench-")) / "engine.sqlite"
    use_fresh_key(db.parent)  # the engine encrypts personal data with it
    eng = CallerService(cfg, db, broker.settings, client_id="bench-engine")
    eng.start()
    printer, fake = make_printer(cfg, "DEMO")
    svc = KioskService(cfg, "DEMO", broker.settings, printer=printer)
    svc.start(connect_timeout=10)
    h = Harness(svc)
    # matters without an application form: this measures touch → number, not typing
    targets = ["M019", "M030", "M044", "M024", "M003", "M066"]
    samples: list[float] = []
    replies: list[float] = []
    try:
        for i in range(n + 10):
            h.press("done") if svc.flow.screen == S.TICKET else None
            svc.press(f"target:{targets[i % len(targets)]}")
            svc.press("next")
            svc.press("next")
            h.step(1)
            assert svc.flow.screen == S.CONFIRM, svc.flow.screen
            btn = h.view.buttons["take"]
            t0 = time.perf_counter()
            btn.dispatch("on_release")
            while svc.flow.screen != S.TICKET:
                if svc.flow.screen == S.ERROR:
                    raise RuntimeError(f"engine refused: {svc.flow.s.error}")
                svc.pump(0.05)
            tr = time.perf_counter()
            h.renderer.refresh()
            EventLoop.idle()                  # the frame with the number is drawn
            t1 = time.perf_counter()
            if i >= 10:                       # warm-up: first font rasterisation, SQLite page cache
                samples.append((t1 - t0) * 1000)
                replies.append((tr - t0) * 1000)
            fake.take() if fake else None
    finally:
        h.detach()
        svc.stop()
        eng.stop()
        if fake:
            fake.stop()
    return {
        "touch_to_number_p50_ms": round(statistics.median(samples), 2),
        "touch_to_number_p99_ms": round(pct(samples, 99), 2),
        "touch_to_number_max_ms": round(max(samples), 2),
        "touch_to_number_n": len(samples),
        # the same interval without building and drawing the ticket screen
        "touch_to_reply_p50_ms": round(statistics.median(replies), 2),
        "touch_to_reply_p99_ms": round(pct(replies, 99), 2),
    }


def cold_start(runs: int, broker) -> dict:
    import yaml
    raw, _ = bench_config("benchcold")
    path = Path(tempfile.mkdtemp(prefix="kiosk-cold-")) / "hall.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    env = dict(os.environ, ONEWINDOW_MQTT_PORT=str(broker.port), ONEWINDOW_MQTT_PROTOCOL=broker.settings.protocol,
               KIVY_HOME=tempfile.mkdtemp(prefix="kivy-cold-"))
    exe = ROOT / ".venv" / "bin" / "onewindow"
    cmd = [str(exe) if exe.exists() else "onewindow", "kiosk", "--config", str(path), "--id", "DEMO",
           "--ready-exit"]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
        line = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            if "home screen shown" in line:
                break
        times.append(time.perf_counter() - t0)
        proc.wait(30)
        if "home screen shown" not in line:
            raise RuntimeError("the kiosk never showed its home screen")
    return {"cold_start_s": round(statistics.median(times), 3), "cold_start_max_s": round(max(times), 3),
            "cold_start_runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--n", type=int, default=200, help="tickets to time")
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="Seconds, not minutes: proves the benchmark runs (CI); its figures mean nothing.")
    args = ap.parse_args()
    if args.quick:
        args.n, args.cold_runs = 10, 1
    import logging
    logging.basicConfig(level=logging.WARNING)
    from hall.broker import start_local_broker
    with start_local_broker() as broker:
        out = {"broker": broker.kind}
        out.update(cold_start(args.cold_runs, broker))
        out.update(touch_to_number(args.n, broker))
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:28s} {v}")


if __name__ == "__main__":
    main()

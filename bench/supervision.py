"""The floor's alerts and the console's config operations on the example hall: `python bench/supervision.py --json`.

* ``supervision_tick_ms`` — one tick of the supervision extension (caller/supervision.py),
  which the engine's worker runs every second: every line's oldest wait and count, every
  window's pause and idleness, the imbalance index; measured on the example hall
  (69 matters, 52 windows) with ``--waiting`` tickets waiting and half the windows open.
  Target: p99 ≤ 5 ms (half a percent of the worker's second).
* ``config_preview_ms`` — the pure part of a console operation (web/console/config_ops.py
  + web/console/config_desk.py): the operation applied to the whole config, the result
  validated by `parse_config` like a pushed file, and the YAML diff. Target ≤ 1,500 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec  # noqa: E402

from caller.config_admin import config_diff  # noqa: E402
from caller.engine import Engine  # noqa: E402
from caller.supervision import Supervision  # noqa: E402
from hall import messages as m  # noqa: E402
from hall.config import load_config, parse_config  # noqa: E402
from web.console import config_ops  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "hall.example.yaml"


def _pct(vals: list[float], q: float) -> float:
    v = sorted(vals)
    return round(v[min(len(v) - 1, int(q * len(v)))], 3)


def tick_ms(waiting: int, ticks: int) -> dict:
    cfg = load_config(EXAMPLE)
    t0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo(cfg.hall.timezone)).timestamp()  # a Monday
    e = Engine(cfg)
    e.restore([], [], [], {}, [], now=t0)
    n = 0

    def do(op, ident, now, **body):
        nonlocal n
        n += 1
        out = e.handle(op, ident, msgspec.convert({"id": f"b{n}", **body}, m.REQUEST_TYPES[op]), now)
        assert out.error is None, out.error

    for w in cfg.windows[::2]:
        do("window.login", w.id, t0, staff=f"S{w.id}")
    matters = [x.id for x in cfg.matters]
    for i in range(waiting):
        do("kiosk.issue", "K01", t0 + i * 0.5, matter=matters[i % len(matters)])
    e.drain()
    s = Supervision(cfg)
    now = t0 + waiting * 0.5
    s.tick(e, now)  # the first raises the alerts: measured apart
    times = []
    for i in range(ticks):
        a = time.perf_counter()
        s.tick(e, now + 1 + i)
        times.append((time.perf_counter() - a) * 1000)
    return {"waiting": waiting, "windows": len(cfg.windows), "open": len(cfg.windows[::2]),
            "raised": len(s.raised), "supervision_tick_ms_p50": _pct(times, 0.5),
            "supervision_tick_ms_p99": _pct(times, 0.99)}


def preview_ms(runs: int) -> dict:
    raw = load_config(EXAMPLE).to_json_dict()
    op = config_ops.operations(lambda pin: "unused")["window_matters"]
    w = raw["windows"][0]
    params = {"serves": {**w["serves"], raw["matters"][-1]["id"]: 1}, "authorised": w.get("authorised", [])}
    times = []
    for _ in range(runs):
        a = time.perf_counter()
        new, _ = config_ops.apply(op, raw, w["id"], params)
        new = parse_config(new, "bench").to_json_dict()
        diff = config_diff(raw, new, "before", "after", secrets=False)
        times.append((time.perf_counter() - a) * 1000)
    return {"config_lines": len(EXAMPLE.read_text(encoding="utf-8").splitlines()), "diff_lines": len(diff.splitlines()),
            "config_preview_ms_p50": _pct(times, 0.5), "config_preview_ms_max": round(max(times), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="Seconds: figures mean nothing.")
    ap.add_argument("--waiting", type=int, default=3000)
    a = ap.parse_args()
    out = {**tick_ms(300 if a.quick else a.waiting, 20 if a.quick else 300), **preview_ms(1 if a.quick else 5)}
    out["targets_met"] = out["supervision_tick_ms_p99"] <= 5 and out["config_preview_ms_p50"] <= 1500
    print(json.dumps(out, ensure_ascii=False, indent=None if a.json else 2))


if __name__ == "__main__":
    main()

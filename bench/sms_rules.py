"""Cost of the SMS rules on the engine's hot path: `python bench/sms_rules.py --json`.

In process, no broker, no disk: the core applies batches the way the shell
does (300 issues per batch = 100 ms at 3,000 issues/s, half of them with a
phone number, 100 windows calling 30 tickets per batch), and the SMS outbox
extension judges each batch.  Reports the extension's time per issued ticket
next to the core's, and how many messages the rules produced.
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


from bench.engine import big_hall  # noqa: E402
from caller.engine import Engine  # noqa: E402
from caller.sms_outbox import SmsOutbox  # noqa: E402
from hall import messages as m  # noqa: E402
from hall.config import parse_config  # noqa: E402


def run(tickets: int, batch: int, calls: int, windows: int) -> dict:
    raw = big_hall("bench", windows)
    raw["notify"] = {"sms": {"enabled": True, "near_ahead": 3, "near_minutes": 10, "per_phone_max": 100}}
    cfg = parse_config(raw)
    e = Engine(cfg)
    now = dt.datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    e.restore([], [], [], {}, [], now)
    ob = SmsOutbox(cfg)
    for w in cfg.windows:
        e.handle("window.login", w.id, m.LoginRequest(id="l", staff=f"S{w.id}"), now)
    ob.on_events(e.drain().domain, e, now)
    core_s = ext_s = 0.0
    msgs = 0
    n = 0
    wi = 0
    while n < tickets:
        t0 = time.perf_counter()
        for i in range(batch):
            n += 1
            req = m.IssueRequest(id=f"i{n}", matter=f"M{n % 100}",
                                 phone=f"138{n:08d}" if n % 2 else None)
            e.handle("kiosk.issue", "K1", req, now)
            now += 1.0 / 3000
        for _ in range(calls):
            wid = cfg.windows[wi % len(cfg.windows)].id
            wi += 1
            e.handle("window.next", wid, m.Plain(id="n"), now)
        ch = e.drain()
        t1 = time.perf_counter()
        out = ob.on_events(ch.domain, e, now)
        t2 = time.perf_counter()
        core_s += t1 - t0
        ext_s += t2 - t1
        msgs += sum(1 for r in out.records if r.state == "pending")
    return {"tickets": n, "batch": batch, "calls_per_batch": calls, "windows": windows,
            "core_us_per_issue": round(core_s / n * 1e6, 2),
            "sms_rules_us_per_issue": round(ext_s / n * 1e6, 2),
            "sms_share_of_core": round(ext_s / core_s, 3),
            "watched_at_end": ob.rules.watching(), "messages": msgs}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=300)
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--windows", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="Seconds, not minutes: proves the benchmark runs (CI); its figures mean nothing.")
    a = ap.parse_args()
    if a.quick:
        a.tickets, a.batch = 600, 100
    res = run(a.tickets, a.batch, a.calls, a.windows)
    print(json.dumps(res, indent=None if a.json else 2))


if __name__ == "__main__":
    main()

"""Cases at scale: `python bench/cases.py --json`.

50,000 open cases in the engine's store (written in batches as the engine
would), then the case desk restored from it and driven in process: a
timeline step on a random open case (the desk's work plus the store's
transaction with fsync, as one engine batch), the public board rendered, the
supervision watch over every open case. Targets: transition_p99_ms ≤ 20,
board_publish_ms ≤ 100, engine RSS growth ≤ 30 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec  # noqa: E402

from caller import cases as C  # noqa: E402
from caller.case_desk import CaseDesk  # noqa: E402
from caller.effects import Changes  # noqa: E402
from caller.engine import Engine  # noqa: E402
from caller.store import Store  # noqa: E402
from hall import messages as m  # noqa: E402
from hall.config import load_config  # noqa: E402
from hall.crypto import DataCipher, new_key  # noqa: E402
from tests.test_ratings_core import at  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "hall.example.yaml"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n_cases: int, steps: int) -> dict:
    cfg = load_config(EXAMPLE)
    cipher = DataCipher(new_key())
    now = at("2026-11-16", "10:00")
    day = dt.date(2026, 11, 16)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as d:
        store = Store(Path(d) / "cases.sqlite")
        store.open()
        matters = [mt.id for mt in cfg.matters]
        batch = []
        for i in range(1, n_cases + 1):
            c = C.open_case(cfg, C.case_number(2026, i), rng.choice(matters), "W01", None, "S1",
                            day - dt.timedelta(days=rng.randrange(0, 20)), now)
            c = msgspec.structs.replace(c, applicant=cipher.encrypt_json({"name": "张三"}), name_masked="张*")
            batch.append(c)
            if len(batch) == 1000:
                store.commit(Changes(), [], batch)
                batch = []
        if batch:
            store.commit(Changes(), [], batch)
        e = Engine(cfg)
        e.restore([], [], [], {}, [], now=now)
        rss0 = _rss_mb()
        desk = CaseDesk(cfg, cipher)
        t0 = time.perf_counter()
        desk.restore(store, e, now)
        restore_s = time.perf_counter() - t0
        e.windows["W01"].staff = "S1"
        e.windows["W01"].status = "open"
        lat, work = [], []  # the whole batch; the desk's part (without the store's commit)
        numbers = list(desk.open)
        for k in range(steps):
            number = rng.choice(numbers)
            if number not in desk.open:
                continue
            nxt = next(iter(C.allowed(desk._case(number))), None)
            t1 = time.perf_counter()
            req = m.CaseStepRequest(id=f"s{k}", case=number, stage=nxt, opinion="同意")
            try:  # one engine batch: the step, the batch's end (the board), the commit
                _, out = desk.handle("window.case_step", "W01", req, e, now + k)
                end = desk.on_events([], e, now + k)
                work.append((time.perf_counter() - t1) * 1000)
                store.commit(Changes(), [], out.records + end.records)
            except Exception:  # a stage that needs an opinion it has: skip
                pass
            lat.append((time.perf_counter() - t1) * 1000)
        t2 = time.perf_counter()
        board = desk._board(e, now)
        board_ms = (time.perf_counter() - t2) * 1000
        t3 = time.perf_counter()
        desk._watched = None
        raised, ticks, worst = 0, 0, 0.0
        while True:  # the day's pass, a tick a second in the engine: each tick's batch committed
            t4 = time.perf_counter()
            watched = desk.tick(e, now + 86400 * 3)
            store.commit(Changes(), [], watched.records)
            worst = max(worst, time.perf_counter() - t4)
            raised += sum(1 for ev in watched.events if ev.spec == "alert.case")
            ticks += 1
            if not desk._to_watch:
                break
        watch_s = time.perf_counter() - t3
        store.close()
    lat.sort()
    work.sort()
    return {"open_cases": n_cases, "steps": len(lat),
            "transition_p50_ms": round(lat[len(lat) // 2], 2),
            "transition_p99_ms": round(lat[int(0.99 * len(lat))], 2),
            "transition_desk_p99_ms": round(work[int(0.99 * len(work))], 2),
            "board_publish_ms": round(board_ms, 2), "board_rows": len(board.payload.cases),
            "watch_all_open_s": round(watch_s, 2), "watch_ticks": ticks,
            "watch_worst_tick_ms": round(worst * 1000, 1), "warnings_raised": raised,
            "restore_s": round(restore_s, 2), "rss_growth_mb": round(_rss_mb() - rss0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="Seconds: 2,000 cases (CI); figures mean nothing.")
    ap.add_argument("--cases", type=int, default=50_000)
    ap.add_argument("--steps", type=int, default=2_000)
    a = ap.parse_args()
    if a.quick:
        a.cases, a.steps = 2_000, 200
    print(json.dumps(run(a.cases, a.steps), indent=None if a.json else 2))


if __name__ == "__main__":
    main()

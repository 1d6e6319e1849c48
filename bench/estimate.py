"""How well the printed waiting estimate holds: `python bench/estimate.py --json`.

Each load (sim/scenarios/light, normal, peak) is one simulated day of the
example hall per seed, driven through the real engine core (sim/hallday.py).
Every ticket's printed estimate (caller/forecast.py: a forward simulation of
the calling policy) and the formula used before it (``naive``: tickets of the
same matter ahead × learned minutes ÷ open windows), both taken at issue on
the same trace, are compared with the wait it then had until its first call.

Targets (normal load): estimate_mae_min ≤ 3 and ≤ ¼ of naive_mae_min;
estimate_p90_abs_err_min ≤ 8; interval_coverage ≥ 0.8; estimate_cpu_us (the
median forecast CPU per issued ticket) ≤ 500 (issue #14's figure: it runs on
every issue) — on the example hall's day and
on bench/engine.py's big hall (200 windows, 100 matters) in an issue burst of
6,000 tickets with nobody calling, its windows closed (as bench/engine.py
runs it) or half of them open.

``--decompose`` runs the normal day again with one source of error removed at
a time (visit lengths told to the forecast, no priority citizens, no pauses,
no no-shows, staff on time, no lunch break) and all of them: what the error
is made of (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics as st
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from caller import forecast  # noqa: E402
from caller.engine import Engine  # noqa: E402
from caller.estimate import Estimator  # noqa: E402
from engine import big_hall  # noqa: E402  (bench/engine.py: the hall its issue figures use)
from hall import messages as m  # noqa: E402
from hall.config import load_config, parse_config  # noqa: E402
from sim.hallday import HallDay, load_scenario  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "hall.example.yaml"
TARGETS = {"estimate_mae_min": 3.0, "mae_ratio_to_naive": 0.25, "estimate_p90_abs_err_min": 8.0,
           "interval_coverage": 0.8, "estimate_cpu_us": 500.0}
T0 = 1795237200.0  # a Monday, 09:00 in Shanghai


def _q(vals: list[float], q: float) -> float:
    v = sorted(vals)
    return v[min(len(v) - 1, int(q * len(v)))] if v else 0.0


@contextmanager
def oracle(day: HallDay):
    """The forecast told the true cost of every call it replays and the true end of
    every visit in hand — the simulator's future, which no engine can know: what is
    left of the error then is what the visits' lengths alone cannot explain."""
    cost, free_at = forecast.call_cost, forecast._free_at

    def true_cost(e, ticket, service, window):
        got = day.true_call_s(ticket, window) if e is day.e else None
        return cost(e, ticket, service, window) if got is None else got

    def true_free_at(e, wid, now, nobody):
        w = e.windows[wid]
        cur = e.tickets.get(w.current or "") if e is day.e and w.status == "open" else None
        if cur is not None and cur.state in ("called", "serving") and cur.called_at is not None:
            got = day.true_call_s(cur.id, wid, in_hand=True)
            if got is not None:
                return max(now, cur.called_at + got)
        return free_at(e, wid, now, nobody)

    forecast.call_cost, forecast._free_at = true_cost, true_free_at
    try:
        yield
    finally:
        forecast.call_cost, forecast._free_at = cost, free_at


@contextmanager
def one_pace():
    """The forecast without each window's learned pace (every clerk as the hall's mean)."""
    speed = Estimator.speed
    Estimator.speed = lambda self, window: 1.0
    try:
        yield
    finally:
        Estimator.speed = speed


# One source of the error removed at a time from the normal day (--decompose): the
# simulated hall without it, or (visit lengths) the forecast told them.
SOURCES = {
    "visit lengths (the forecast told each visit's true length)": ({}, True),
    "priority citizens (none come)": ({"priority_share": 0.0}, False),
    "pauses (none)": ({"pauses_per_window": 0.0}, False),
    "no-shows (those citizens never take a number)": ({"noshows_take_numbers": False}, False),
    "late logins (staff on time)": ({"late_login_minutes": 0.0}, False),
    "lunch (the hall open 08:30-17:30 straight)": ({"lunch": False}, False),
}


def decompose(seeds: list[int]) -> list[dict]:
    """The normal day as it is, with each source of uncertainty removed in turn, and
    with all of them removed."""
    rows = [{"removed": "nothing", **measure("normal", seeds)}]
    for name, (update, with_oracle) in SOURCES.items():
        rows.append({"removed": name, **measure("normal", seeds, with_oracle=with_oracle, update=update)})
    everything = {k: v for update, _ in SOURCES.values() for k, v in update.items()}
    rows.append({"removed": "all of them", **measure("normal", seeds, with_oracle=True, update=everything)})
    rows.append({"removed": "all but visit lengths", **measure("normal", seeds, update=everything)})
    return rows


def measure(load: str, seeds: list[int], with_oracle: bool = False, pace: float | None = None,
            window_pace: bool = True, update: dict | None = None) -> dict:
    cfg = load_config(EXAMPLE)
    scenario = load_scenario(load)
    if pace is not None:
        scenario = scenario.model_copy(update={"staff_pace": pace})
    if update:
        scenario = scenario.model_copy(update=update)
    done, cpu, walls = [], [], []
    for seed in seeds:
        day = HallDay(cfg, scenario, seed=seed, balance="off")
        with oracle(day) if with_oracle else nullcontext(), nullcontext() if window_pace else one_pace():
            r = day.run()
        done += [t for t in r.tickets if t.wait_min is not None]
        cpu += r.estimate_cpu_us
        walls.append(r.wall_s)
    err = [abs(t.wait_min - t.est_min) for t in done]
    naive = [abs(t.wait_min - t.naive_min) for t in done]
    lunch = [t for t in done if t.est_hi - t.est_lo > 60]  # ranges that span the lunch break
    mae, nmae = st.mean(err), st.mean(naive)
    return {
        "load": load, "seeds": seeds, "tickets": len(done), "oracle": with_oracle,
        "staff_pace": scenario.staff_pace, "window_pace_learned": window_pace,
        "estimate_mae_min": round(mae, 2), "naive_mae_min": round(nmae, 2),
        "mae_ratio_to_naive": round(mae / nmae, 3) if nmae else None,
        "estimate_median_abs_err_min": round(_q(err, 0.5), 2),
        "estimate_p90_abs_err_min": round(_q(err, 0.9), 2),
        "naive_p90_abs_err_min": round(_q(naive, 0.9), 2),
        "estimate_bias_min": round(st.mean(t.wait_min - t.est_min for t in done), 2),
        "interval_coverage": round(sum(t.est_lo <= t.wait_min <= t.est_hi for t in done) / len(done), 3),
        "wait_p90_min": round(_q([t.wait_min for t in done], 0.9), 1),
        "across_lunch_share": round(len(lunch) / len(done), 3),
        "estimate_mae_min_without_lunch_ranges": round(st.mean(
            abs(t.wait_min - t.est_min) for t in done if t not in lunch), 2) if len(lunch) < len(done) else None,
        "estimate_cpu_us": round(st.median(cpu), 1), "estimate_cpu_us_mean": round(st.mean(cpu), 1),
        "estimate_cpu_us_p99": round(_q(cpu, 0.99), 1),
        "sim_day_s": round(st.mean(walls), 2),
    }


def measure_big_hall(tickets: int, open_share: float) -> dict:
    """The forecast's CPU per issue in bench/engine.py's hall during a burst (the
    engine core alone: the forecast's thread time around ``Engine.info``)."""
    cfg = parse_config(big_hall("bench", 200))
    e = Engine(cfg)
    e.restore([], [], [], {}, [], now=T0)
    for i, w in enumerate(cfg.windows[:round(len(cfg.windows) * open_share)]):
        req = msgspec.convert({"id": f"l{i}", "staff": f"S{i}"}, m.REQUEST_TYPES["window.login"])
        e.handle("window.login", w.id, req, T0)
    rng = random.Random(1)
    issue = m.REQUEST_TYPES["kiosk.issue"]
    cpu = []
    for i in range(tickets):
        now = T0 + i * 0.0003  # 3,000 issues a second, as bench/engine.py offers
        out = e.handle("kiosk.issue", "K0", msgspec.convert({"id": f"r{i}", "matter": f"M{rng.randrange(100)}"},
                                                            issue), now)
        t = e.tickets[out.data.ticket]
        c = time.thread_time()
        e.info(t, now)
        cpu.append((time.thread_time() - c) * 1e6)
        e.drain()
    return {"hall": "bench/engine.py big_hall(200)", "tickets": tickets, "open_windows_share": open_share,
            "estimate_cpu_us": round(st.median(cpu), 1), "estimate_cpu_us_mean": round(st.mean(cpu), 1),
            "estimate_cpu_us_p99": round(_q(cpu, 0.99), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="Seconds: one light day, one seed (CI); its figures mean nothing.")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--oracle", action="store_true",
                    help="Also the normal day with the forecast told every visit's true length "
                         "(the simulator's future): the error no forecast can remove.")
    ap.add_argument("--pace", type=float, default=None,
                    help="Also the normal day with clerks' paces this far apart (σ), the forecast with "
                         "and without each window's learned pace.")
    ap.add_argument("--decompose", action="store_true",
                    help="Also the normal day with each source of uncertainty removed in turn (the simulator "
                         "without it, or the forecast told the visits' true lengths), and all of them.")
    a = ap.parse_args()
    loads, seeds = (["light"], [1]) if a.quick else (["light", "normal", "peak"], list(range(1, a.seeds + 1)))
    res = {"results": [measure(x, seeds) for x in loads],
           "big_hall": [measure_big_hall(600 if a.quick else 6000, share) for share in (0.0, 0.5)]}
    if a.oracle:
        res["oracle_normal"] = measure("normal", seeds, with_oracle=True)
    if a.decompose:
        res["decomposition_normal"] = decompose(seeds)
    if a.pace is not None:
        res["staff_pace_normal"] = [measure("normal", seeds, pace=a.pace, window_pace=learn)
                                    for learn in (True, False)]
    if not a.quick:
        normal = next(r for r in res["results"] if r["load"] == "normal")
        res["targets_normal"] = {k: {"value": normal[k], "target": v,
                                     "met": (normal[k] >= v) if k == "interval_coverage" else (normal[k] <= v)}
                                 for k, v in TARGETS.items()}
    print(json.dumps(res, ensure_ascii=False, indent=None if a.json else 2))


if __name__ == "__main__":
    main()

"""Static windows against the balancer on the same day: `python bench/balance.py --json`.

The same seeded arrivals and visits (sim/hallday.py: a visit's handling time
and whether the citizen comes are drawn with the arrival, so both policies
see the same citizens) are run twice through the real engine core: windows
as configured (``off``), then with the balancer lending comprehensive
windows to long queues (``auto``, caller/balance.py).  Reported per load and
seed, and pooled: the hall-wide p90 wait, each zone's p90 in both runs.

Targets: p90_wait_balanced_min ≥ 30 % below p90_wait_static_min hall-wide,
and no zone's p90 more than 10 % worse than static (relative to at least one
minute, so a zone at 0 is not "infinitely" worse at 0.5).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hall.config import load_config  # noqa: E402
from sim.hallday import HallDay, load_scenario  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "hall.example.yaml"


def _p90(vals: list[float]) -> float:
    v = sorted(vals)
    return v[min(len(v) - 1, int(0.9 * len(v)))] if v else 0.0


def _waits(cfg, load: str, seed: int, mode: str) -> tuple[list[float], dict[str, list[float]], int]:
    r = HallDay(cfg, load_scenario(load), seed=seed, balance=mode).run()
    hall, zones = [], defaultdict(list)
    for t in r.tickets:
        if t.wait_min is not None:
            hall.append(t.wait_min)
            zones[t.zone].append(t.wait_min)
    return hall, zones, r.balance_moves


def measure(load: str, seeds: list[int]) -> dict:
    cfg = load_config(EXAMPLE)
    runs = []
    pooled = {"off": ([], defaultdict(list)), "auto": ([], defaultdict(list))}
    for seed in seeds:
        row: dict = {"seed": seed}
        for mode in ("off", "auto"):
            hall, zones, moves = _waits(cfg, load, seed, mode)
            pooled[mode][0].extend(hall)
            for z, v in zones.items():
                pooled[mode][1][z].extend(v)
            row[mode] = {"p90": round(_p90(hall), 1), "zones": {z: round(_p90(v), 1) for z, v in sorted(zones.items())},
                         "moves": moves}
        row["reduction"] = round(1 - row["auto"]["p90"] / row["off"]["p90"], 3) if row["off"]["p90"] else 0.0
        runs.append(row)
    s_hall, s_zones = pooled["off"]
    b_hall, b_zones = pooled["auto"]
    zone_rows = {z: {"static": round(_p90(s_zones[z]), 1), "balanced": round(_p90(b_zones[z]), 1)} for z in sorted(s_zones)}
    # relative to at least one minute: a zone whose p90 was 0 is not "infinitely" worse at 0.5
    worst = max((r["balanced"] - r["static"]) / max(1.0, r["static"]) for r in zone_rows.values())
    worst_abs = max(r["balanced"] - r["static"] for r in zone_rows.values())
    p_s, p_b = _p90(s_hall), _p90(b_hall)
    return {"load": load, "seeds": seeds, "p90_wait_static_min": round(p_s, 1),
            "p90_wait_balanced_min": round(p_b, 1), "reduction": round(1 - p_b / p_s, 3) if p_s else 0.0,
            "worst_zone_change": round(worst, 3), "worst_zone_change_min": round(worst_abs, 1),
            "zones": zone_rows, "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="Seconds: one light day (CI); figures mean nothing.")
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()
    loads, seeds = (["light"], [1]) if a.quick else (["normal", "peak"], list(range(1, a.seeds + 1)))
    res = {"results": [measure(x, seeds) for x in loads]}
    if not a.quick:
        normal = res["results"][0]
        res["targets_normal"] = {"reduction_ge_0.30": normal["reduction"] >= 0.30,
                                 "no_zone_worse_than_10pct": normal["worst_zone_change"] <= 0.10}
    print(json.dumps(res, ensure_ascii=False, indent=None if a.json else 2))


if __name__ == "__main__":
    main()

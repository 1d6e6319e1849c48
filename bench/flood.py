"""One kiosk floods, fifteen issue normally: `python bench/flood.py --json [--quick]`.

The engine runs as its own process (`onewindow caller`) behind a real
mosquitto.  Kiosk buckets are ``--rate``/s with a burst of ``--burst``; the
flooding kiosk offers ``--factor`` (20) times its rate, open loop, never
waiting for a reply; fifteen victim kiosks each issue ``--victim-rate`` per
second meanwhile.  Reports:

- victim_p99_ms / victim_p50_ms  request → reply of the victims' issues (target p99 ≤ 50)
- victim_errors                  victims' requests not answered ok (target 0)
- engine_rss_growth_mb           engine RSS after the flood minus before (target ≤ 10)
- flood_offered / flood_ok / flood_rate_limited / flood_busy / flood_unanswered

Side by side (``--shells``, ``--baseline DIR`` as in bench/engine.py): the
top-level figures are the first shell's, median over ``--repeat`` runs; each
shell's medians are under ``shells`` and every run under ``runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import ROOT, Engine, big_hall, p99  # noqa: E402
from provenance import cpu_ref_ms, provenance  # noqa: E402
from mqtt_load import LeanClient  # noqa: E402

from hall.broker import start_local_broker  # noqa: E402


class Counting(LeanClient):
    """The flooder: counts its replies by code instead of awaiting them."""

    codes: dict[str, int]

    async def _read_loop(self) -> None:  # replies only: it subscribes to nothing else
        from mqtt_load import _read_packet
        import struct
        try:
            while True:
                first, body = await _read_packet(self.r)
                if first >> 4 != 3:
                    continue
                tlen = struct.unpack("!H", body[:2])[0]
                pos = 2 + tlen + (2 if (first >> 1) & 3 else 0)
                msg = json.loads(body[pos:])
                code = msg["error"]["code"] if msg.get("error") else "ok"
                self.codes[code] = self.codes.get(code, 0) + 1
        except (asyncio.IncompleteReadError, ConnectionError):
            return


async def run(host: str, port: int, hall: str, a: argparse.Namespace) -> dict:
    def topics(k: str) -> tuple[str, str]:
        return f"onewindow/{hall}/kiosk/{k}/request/issue", f"onewindow/{hall}/kiosk/{k}/response/issue"

    flooder = Counting(host, port, f"flood-{hall}", *topics("KF"))
    flooder.codes = {}
    victims = [LeanClient(host, port, f"victim-{hall}-{i}", *topics(f"KV{i}")) for i in range(15)]
    for c in [flooder, *victims]:
        await c.connect()
    lat: list[float] = []
    errors = 0
    end = time.monotonic() + a.duration

    async def victim(i: int, c: LeanClient) -> None:
        nonlocal errors
        n = 0
        await asyncio.sleep(i / (15 * a.victim_rate))  # spread them out
        while time.monotonic() < end:
            t0 = time.perf_counter()
            try:
                r = await c.call(f"v{i}-{n}", {"matter": f"M{(i + n) % 100}"})
                if r.get("status") == "ok":
                    lat.append((time.perf_counter() - t0) * 1000)
                else:
                    errors += 1
            except asyncio.TimeoutError:
                errors += 1
            n += 1
            await asyncio.sleep(max(0.0, 1 / a.victim_rate - (time.perf_counter() - t0)))

    offered = 0

    async def flood() -> None:
        nonlocal offered
        rate = a.rate * a.factor
        t_start = time.perf_counter()
        while time.monotonic() < end:
            due = int((time.perf_counter() - t_start) * rate)
            while offered < due:
                flooder.send(flooder.req_topic, {"id": f"f{offered}", "matter": f"M{offered % 100}"})
                offered += 1
            await flooder.w.drain()
            await asyncio.sleep(0.002)

    await asyncio.gather(flood(), *(victim(i, c) for i, c in enumerate(victims)))
    await asyncio.sleep(2.0)  # the flooder's last replies
    for c in [flooder, *victims]:
        await c.close()
    answered = sum(flooder.codes.values())
    return {"victim_p99_ms": round(p99(lat), 2), "victim_p50_ms": round(statistics.median(lat), 2),
            "victim_requests": len(lat) + errors, "victim_errors": errors,
            "flood_offered": offered, "flood_ok": flooder.codes.get("ok", 0),
            "flood_rate_limited": flooder.codes.get("rate_limited", 0), "flood_busy": flooder.codes.get("busy", 0),
            "flood_other": {k: v for k, v in flooder.codes.items() if k not in ("ok", "rate_limited", "busy")},
            "flood_unanswered": offered - answered}


def one_run(broker, work: Path, name: str, src: Path, args: tuple[str, ...], r: int, a) -> dict:
    raw = big_hall(f"flood{name}{r}", 100)
    raw["door"] = {"kiosk": {"rate": a.rate, "burst": a.burst}, "daily_tickets_per_kiosk": None}
    eng = Engine(broker, raw, work, src=src, args=args)
    try:
        eng.wait_online(broker.settings)
        time.sleep(1.0)
        rss0 = eng.rss_mb()
        res = asyncio.run(run(broker.settings.host, broker.port, eng.hall_id, a))
        time.sleep(1.0)
        res["engine_rss_growth_mb"] = round(eng.rss_mb() - rss0, 2)
        res["engine_rss_mb"] = round(eng.rss_mb(), 1)
    finally:
        eng.stop()
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true", help="5 s instead of --duration")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=50.0, help="each kiosk's bucket rate (/s)")
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--factor", type=float, default=20.0, help="the flooder offers factor × rate")
    ap.add_argument("--victim-rate", type=float, default=2.0, help="issues/s of each of the 15 victims")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--shells", default="gmqtt", help="Comma-separated: gmqtt, paho (the engine's MQTT client).")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="Another checkout whose engine also runs, as shell `old` (its own defaults).")
    a = ap.parse_args()
    if a.quick:
        a.duration, a.repeat = 5.0, 1
    shells: dict[str, tuple[Path, tuple[str, ...]]] = {
        k: (ROOT, ("--mqtt-client", k)) for k in a.shells.split(",") if k}
    if a.baseline:
        shells["old"] = (a.baseline.resolve(), ())
    work = Path(tempfile.mkdtemp(prefix="onewindow-flood-"))
    broker = start_local_broker(workdir=work)
    load_before = [round(x, 2) for x in os.getloadavg()]
    cpu_ref_before = cpu_ref_ms()
    runs: dict[str, list[dict]] = {k: [] for k in shells}
    try:
        for r in range(a.repeat):
            for name, (src, args) in shells.items():
                runs[name].append(one_run(broker, work, name, src, args, r, a))
    finally:
        broker.stop()
    numeric = ("victim_p99_ms", "victim_p50_ms", "victim_errors", "engine_rss_growth_mb", "engine_rss_mb",
               "flood_offered", "flood_ok", "flood_rate_limited", "flood_busy", "flood_unanswered")
    per_shell = {k: {f: statistics.median(x[f] for x in rs) for f in numeric} for k, rs in runs.items()}
    first = next(iter(shells))
    res: dict = dict(per_shell[first])
    res.update({"shell": first, "shells": per_shell,
                "runs": {k: [{f: x[f] for f in ("victim_p99_ms", "victim_p50_ms", "engine_rss_growth_mb")}
                             for x in rs] for k, rs in runs.items()},
                "flood_other": runs[first][-1]["flood_other"],
                "duration_s": a.duration, "bucket": {"rate": a.rate, "burst": a.burst}, "factor": a.factor,
                "broker": broker.kind})
    res.update(provenance(load_before, cpu_ref_before))
    print(json.dumps(res) if a.json else "\n".join(f"{k}: {v}" for k, v in res.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

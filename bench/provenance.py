"""Where, when and at what speed a benchmark ran: every benchmark's JSON carries these.

This machine is a VM whose CPU speed moves by up to ~2× from one quarter-hour
to the next with nothing else running (the same in-process engine figure
measured 297 µs at one time and 548 µs forty minutes later).  Load averages do
not show that, so each result also carries ``cpu_ref_ms``: the CPU time of a
fixed pure-Python workload shaped like the engine's (dict look-ups, string
formatting, JSON), the median of several tries.  It does not correct any
figure; it says how fast the machine was while the figure was measured, so
two results can be compared honestly (docs/benchmarks.md quotes it).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def _reference_work() -> int:
    counts: dict[str, int] = {}
    for i in range(20_000):
        key = f"T{i % 997:05d}"
        counts[key] = counts.get(key, 0) + i
    text = json.dumps(counts)
    return len(json.loads(text)) + len(sorted(counts.values()))


def cpu_ref_ms(tries: int = 9) -> float:
    """CPU milliseconds of the reference workload (median of ``tries``): lower is a
    faster machine.  Thread CPU time, so other processes' work is not counted,
    only how fast this core ran it."""
    times = []
    for _ in range(tries):
        t0 = time.thread_time()
        _reference_work()
        times.append((time.thread_time() - t0) * 1000)
    return round(statistics.median(times), 2)


def provenance(load_before: list[float], cpu_ref_before: float | None = None) -> dict:
    """The machine, the load before and after, the CPU reference before (if taken)
    and after, and the date."""
    out = {"machine": machine(), "load_avg_before": load_before,
           "load_avg_after": [round(x, 2) for x in os.getloadavg()]}
    if cpu_ref_before is not None:
        out["cpu_ref_ms_before"] = cpu_ref_before
    out["cpu_ref_ms_after"] = cpu_ref_ms()
    out["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return out

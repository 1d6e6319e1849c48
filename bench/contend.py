"""Contention and Pi-budget helpers the device benchmarks share (not product code).

``--contended``: a busy-loop hog pinned to one core, and the device process
pinned to that same core, so the device gets about half a core with a
neighbour that never sleeps: the worst a small Pi's shared core does to it.

``--cpu-scale F``: Pi estimates = this machine's CPU-bound figures × F.
``--cpu-scale 0`` measures F here from two published single-core figures:

- Pi 4 (Cortex-A72, 1.5 GHz), Python: the n-body benchmark (5 bodies,
  ``advance(0.01)``), 5,000,000 steps in 158.3 s with the performance governor
  (https://chaitanyamehta.github.io/projects/performance-analysis-of-programming-languages).
  The same algorithm runs here (``NBODY``, 200,000 steps) in a process of its
  own, timed by its own CPU time, so the other work on this shared machine does
  not make this machine look slower.  Their program and Python version are not
  stated: ours may differ from theirs by tens of per cent.
- Pi 5 vs Pi 4: sysbench 1.0.20 ``cpu --threads=1`` 2737.49 vs 1477.83 events/s
  (https://leoncode.co.uk/articles/raspberry-pi-benchmarks), ×1.85, ARM against ARM.
  (sysbench's primes are no guide from x86 to ARM: run here it puts a Pi 4 at
  only 1.6× slower than this machine, against ~7× for Python.)

CPU shares scale by F; latency figures scaled by F are an upper bound (the
broker and the engine in the path run on the server, not on the Pi, and part
of the latency is waiting, not CPU).

``--cpu-quota F``: runs the device process itself at a Pi's pace instead of
scaling its figures: a CPU cgroup (v1 ``cpu.cfs_quota_us`` or v2 ``cpu.max``,
as root) lets it use 1/F of one core, i.e. the throughput of a core F× slower,
with F as above (7.3 for a Pi 4, 4 for a Pi 5).  The broker and the engine stay
at full speed, as they would on the server, so the figures are end to end.
The quota is granted per 10 ms period: the process runs at this machine's
speed for 10/F ms, then waits, so a Pi's steady slowness becomes stalls of up
to ~9 ms; tails are pessimistic by about that much, medians are fair.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

PI4_NBODY_S_PER_STEP = 158.263 / 5_000_000  # source above, performance governor
PI5_OVER_PI4 = 2737.49 / 1477.83  # sysbench single thread, source above
NBODY_STEPS = 200_000
NBODY = """
import sys, time
def main(n):
    pi, days = 3.141592653589793, 365.24
    sm = 4 * pi * pi
    b = [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], sm],
         [[4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01],
          [1.66007664274403694e-03 * days, 7.69901118419740425e-03 * days, -6.90460016972063023e-05 * days],
          9.54791938424326609e-04 * sm],
         [[8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01],
          [-2.76742510726862411e-03 * days, 4.99852801234917238e-03 * days, 2.30417297573763929e-05 * days],
          2.85885980666130812e-04 * sm],
         [[1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01],
          [2.96460137564761618e-03 * days, 2.37847173959480950e-03 * days, -2.96589568540237556e-05 * days],
          4.36624404335156298e-05 * sm],
         [[1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01],
          [2.68067772490389322e-03 * days, 1.62824170038242295e-03 * days, -9.51592254519715870e-05 * days],
          5.15138902046611451e-05 * sm]]
    pairs = [(b[i], b[j]) for i in range(5) for j in range(i + 1, 5)]
    t0 = time.process_time()
    for _ in range(n):
        for ([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2) in pairs:
            dx, dy, dz = x1 - x2, y1 - y2, z1 - z2
            mag = 0.01 * ((dx * dx + dy * dy + dz * dz) ** -1.5)
            b1, b2 = m1 * mag, m2 * mag
            v1[0] -= dx * b2; v1[1] -= dy * b2; v1[2] -= dz * b2
            v2[0] += dx * b1; v2[1] += dy * b1; v2[2] += dz * b1
        for r, [vx, vy, vz], m in b:
            r[0] += 0.01 * vx; r[1] += 0.01 * vy; r[2] += 0.01 * vz
    print(time.process_time() - t0)
main(int(sys.argv[1]))
"""
HOG_CORE = 0


def start_hog(core: int = HOG_CORE) -> subprocess.Popen:
    """A Python busy loop pinned to ``core``; stop it with ``stop_hog``."""
    return subprocess.Popen(
        [sys.executable, "-c", f"import os\nos.sched_setaffinity(0, {{{core}}})\nwhile True: pass\n"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_hog(hog: subprocess.Popen | None) -> None:
    if hog is not None and hog.poll() is None:
        hog.kill()
        hog.wait()


def pin(pid: int, core: int = HOG_CORE) -> None:
    """Pin ``pid`` (0: this process) and, on Linux, all its threads to one core."""
    tids = [int(t) for t in os.listdir(f"/proc/{pid or os.getpid()}/task")] if sys.platform == "linux" else [pid]
    for tid in tids:
        os.sched_setaffinity(tid, {core})


def host_nbody_s_per_step(steps: int = NBODY_STEPS) -> float:
    """CPU seconds per n-body step on this machine (its own process, its own CPU time)."""
    out = subprocess.run([sys.executable, "-c", NBODY, str(steps)], capture_output=True, text=True,
                         check=True).stdout
    return float(out) / steps


def pi_scale(explicit: float | None) -> dict:
    """The factors (Pi time = this machine's × F) and where they come from."""
    if explicit:
        return {"cpu_scale_source": "given", "cpu_scale_pi": explicit}
    pi4 = PI4_NBODY_S_PER_STEP / host_nbody_s_per_step()
    return {"cpu_scale_source": "n-body CPU time here vs published Pi 4; Pi 5 = Pi 4 / 1.85 (bench/contend.py)",
            "cpu_scale_pi4": round(pi4, 2), "cpu_scale_pi5": round(pi4 / PI5_OVER_PI4, 2)}


def scaled(figures: dict, scale: dict, keys: tuple[str, ...]) -> dict:
    """``est_<pi>_<key>`` for every factor in ``scale`` and every key present in ``figures``."""
    out = {}
    for name, f in scale.items():
        if not name.startswith("cpu_scale_") or not isinstance(f, (int, float)) or name == "cpu_scale_source":
            continue
        pi = name.removeprefix("cpu_scale_")
        out.update({f"est_{pi}_{k}": round(figures[k] * f, 2) for k in keys if figures.get(k) is not None})
    return out


CGROUP_V1_CPU = Path("/sys/fs/cgroup/cpu")
CGROUP_V2 = Path("/sys/fs/cgroup")
QUOTA_PERIOD_US = 10_000


class CpuQuota:
    """A CPU cgroup that holds the processes put in it to 1/``slower`` of one core."""

    def __init__(self, slower: float, name: str | None = None):
        if slower < 1:
            raise ValueError("--cpu-quota F: F is how many times slower the emulated core is (≥ 1)")
        self.slower = slower
        quota = max(1000, int(QUOTA_PERIOD_US / slower))  # the kernel's least quota is 1 ms
        name = name or f"onewindow-bench-{os.getpid()}"
        if (CGROUP_V1_CPU / "cpu.cfs_quota_us").exists():
            self.path, self.parent = CGROUP_V1_CPU / name, CGROUP_V1_CPU
            writes = {"cpu.cfs_period_us": str(QUOTA_PERIOD_US), "cpu.cfs_quota_us": str(quota)}
        elif "cpu" in (CGROUP_V2 / "cgroup.controllers").read_text(encoding="ascii").split() \
                if (CGROUP_V2 / "cgroup.controllers").exists() else False:
            self.path, self.parent = CGROUP_V2 / name, CGROUP_V2
            writes = {"cpu.max": f"{quota} {QUOTA_PERIOD_US}"}
        else:
            raise RuntimeError("--cpu-quota needs a CPU cgroup (v1 /sys/fs/cgroup/cpu or v2 with the cpu "
                               "controller), as root; use --cpu-scale instead")
        try:
            self.path.mkdir()
            for f, v in writes.items():
                (self.path / f).write_text(v, encoding="ascii")
        except OSError as e:
            raise RuntimeError(f"--cpu-quota: cannot make the cgroup {self.path}: {e} (root needed; "
                               "use --cpu-scale instead)") from e
        self.share = quota / QUOTA_PERIOD_US

    def add(self, pid: int) -> None:
        """Put process ``pid`` (0: this one), all its threads and its later children in the group."""
        (self.path / "cgroup.procs").write_text(str(pid or os.getpid()), encoding="ascii")

    def close(self) -> None:
        """Move whatever is left back out, then remove the group."""
        try:
            for pid in (self.path / "cgroup.procs").read_text(encoding="ascii").split():
                try:
                    (self.parent / "cgroup.procs").write_text(pid, encoding="ascii")
                except OSError:
                    pass  # gone meanwhile
            self.path.rmdir()
        except OSError:
            pass


def add_options(ap: argparse.ArgumentParser, device: str) -> None:
    """``--contended``, ``--cpu-quota F`` and ``--cpu-scale F``, worded for ``device``
    (the process that is pinned or held: "the bridge", "this process (the display)")."""
    ap.add_argument("--contended", action="store_true",
                    help=f"A CPU hog on core {HOG_CORE} and {device} pinned to core {HOG_CORE} beside it.")
    ap.add_argument("--cpu-quota", type=float, default=None, metavar="F",
                    help=f"Hold {device} to 1/F of one core (CPU cgroup, root): a core F× slower, "
                         "e.g. 7.3 for a Pi 4; see bench/contend.py.")
    ap.add_argument("--cpu-scale", type=float, default=None, metavar="F",
                    help="Add Pi estimates: CPU-bound figures × F (0: F for Pi 4 and Pi 5 measured here; "
                         "see bench/contend.py).")


class Contention:
    """What ``--contended`` / ``--cpu-quota`` do to one device process, and the
    ``--cpu-scale`` estimates: ``apply(pid)`` once the process and its threads
    exist, ``close()`` in a ``finally`` (stops the hog, removes the cgroup)."""

    def __init__(self, args: argparse.Namespace):
        self.contended = bool(args.contended)
        self.quota = args.cpu_quota
        self.scale_arg = args.cpu_scale
        self._hog: subprocess.Popen | None = None
        self._cg: CpuQuota | None = None

    def settings(self) -> dict:
        """The switches, for the benchmark's JSON."""
        return {"contended": self.contended, "cpu_quota_slower": self.quota}

    def apply(self, pid: int) -> None:
        """Pin ``pid`` (0: this process) beside a hog, and/or hold it to its quota."""
        if self.contended:
            self._hog = start_hog()
            pin(pid)
        if self.quota:
            self._cg = CpuQuota(self.quota)
            self._cg.add(pid)

    def stop_hog(self) -> None:
        stop_hog(self._hog)
        self._hog = None

    def close(self) -> None:
        self.stop_hog()
        if self._cg is not None:
            self._cg.close()
            self._cg = None

    def estimates(self, figures: dict, keys: tuple[str, ...]) -> dict:
        """With ``--cpu-scale``: the factors and ``est_<pi>_<key>`` (else nothing)."""
        if self.scale_arg is None:
            return {}
        scale = pi_scale(self.scale_arg)
        return {**scale, **scaled(figures, scale, keys)}

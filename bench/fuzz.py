"""Long fuzz of the engine's door: `python bench/fuzz.py --json [--quick] [--n N]`.

Drives the whole engine (worker, committer, SQLite on disk) in-process behind
the loopback bus of tests/fuzzkit.py with random topics (every request topic
of the registry, unknown ops, wrong kinds, odd ids, other halls) and payloads
(nested brackets, oversized, random bytes, mutated valid requests).  Fails
(exit 1) on any ``internal`` reply, a missing or extra reply, a stall, or the
engine stopping.  Default 100,000 payloads; ``--quick`` 5,000 (for CI).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from caller.service import CallerService  # noqa: E402
from hall.crypto import use_fresh_key  # noqa: E402
from tests.fuzzkit import LoopbackBus, fuzz_config, run_fuzz  # noqa: E402

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true", help="5,000 payloads")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()
    n = 5_000 if a.quick else a.n
    logging.basicConfig(level=logging.CRITICAL)  # a refusal per payload would flood the terminal
    cfg = fuzz_config("fuzz")
    with tempfile.TemporaryDirectory() as tmp:
        use_fresh_key(tmp)  # the engine encrypts personal data with it
        bus = LoopbackBus(cfg.hall.id)
        svc = CallerService(cfg, Path(tmp) / "fuzz.sqlite", None, bus=bus)
        svc.start()
        t0 = time.perf_counter()
        ok, error = True, ""
        try:
            codes = run_fuzz(svc, bus, seed=a.seed, n=n, chunk=2000, timeout=120)
        except AssertionError as e:
            ok, error, codes = False, str(e), {}
        finally:
            svc.stop()
        secs = time.perf_counter() - t0
    result = {"payloads": n, "seed": a.seed, "ok": ok, "error": error, "seconds": round(secs, 1),
              "payloads_per_s": round(n / secs), "replies_by_code": dict(sorted(codes.items()))}
    print(json.dumps(result) if a.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

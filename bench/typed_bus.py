"""What typing every process costs: `python bench/typed_bus.py --json`.

In process, no broker: per message, the work a subscriber does in
``Bus.listen`` (decode a retained window state and a zone board as their
types) against a plain untyped JSON decode (what the web pages did), and the
work a requester does in ``Requester.request`` (build an issue request as its
type and encode it; check a reply's ``TicketInfo``) against encoding a dict
and taking the reply's data as it comes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec  # noqa: E402

from hall import messages as m  # noqa: E402

STATE = m.WindowState(window="W01", number="1", zone="Z1", status="open", staff="S001", at=1.0,
                      ticket=m.TicketBrief(ticket="20261123-A001", number="A001", matter="M1", bundle=None,
                                           state="called", called_at=1.0, recalls=0, priority="normal"))
ENTRY = m.CallEntry(ticket="20261123-A001", number="A001", window="W01", window_number="1", matter="M1", at=1.0)
BOARD = m.ZoneBoard(zone="Z1", current=[ENTRY] * 8, recent=[ENTRY] * 10, at=1.0)
INFO = msgspec.to_builtins(m.TicketInfo(
    ticket="20261123-A001", number="A001", day="2026-11-23", state="waiting", matter="M1", bundle=None, zone="Z1",
    windows=["1", "2", "3"], ahead=4, estimate_min=12, priority="normal", issued_at=1.0, secret="00ff00ff00ff00ff"))
BODY = {"matter": "M1", "phone": "13812345678", "lang": "zh-CN"}


def per_us(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return round((time.perf_counter() - t0) / n * 1e6, 2)


def run(n: int) -> dict:
    state, board = m.encode(STATE), m.encode(BOARD)
    return {
        "n": n,
        "window_state_bytes": len(state), "zone_board_bytes": len(board),
        "subscriber_typed_state_us": per_us(lambda: m.decode(state, m.WindowState), n),
        "subscriber_untyped_state_us": per_us(lambda: msgspec.json.decode(state), n),
        "subscriber_typed_board_us": per_us(lambda: m.decode(board, m.ZoneBoard), n),
        "subscriber_untyped_board_us": per_us(lambda: msgspec.json.decode(board), n),
        "request_typed_us": per_us(lambda: m.request_payload("kiosk.issue", "K1-1", BODY), n),
        "request_untyped_us": per_us(lambda: m.encode({"id": "K1-1", **BODY}), n),
        "reply_typed_us": per_us(lambda: m.reply_data("kiosk.issue", INFO), n),
        "reply_typed_plain_us": per_us(lambda: msgspec.to_builtins(m.reply_data("kiosk.issue", INFO)), n),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="Seconds, not minutes: proves the benchmark runs (CI); its figures mean nothing.")
    a = ap.parse_args()
    res = run(2_000 if a.quick else a.n)
    print(json.dumps(res, indent=None if a.json else 2))


if __name__ == "__main__":
    main()

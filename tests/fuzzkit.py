"""Fuzzing the engine's door in-process: random topics and payloads in, every
reply checked.  Used by tests/test_engine_fuzz.py (short) and bench/fuzz.py
(≥ 100k payloads).

The engine runs whole (worker, committer, SQLite) behind a :class:`LoopbackBus`:
the real :class:`hall.bus.Bus` dispatch (``deliver``) without a broker, so the
fuzz is fast and counts every reply exactly.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

import msgspec

from hall import messages as m
from hall.bus import Bus, BusSettings
from hall.topics import ID_RE, REGISTRY, ROOT

# a body that passes validation, per op (mutated from there)
VALID: dict[str, dict[str, Any]] = {
    "kiosk.issue": {"matter": "M1"}, "kiosk.checkin": {"code": "AP1"},
    "kiosk.ticket": {"ticket": "A001"}, "kiosk.requeue": {"ticket": "A001", "secret": "0123456789abcdef"},
    "kiosk.cancel": {"ticket": "A002", "secret": "0123456789abcdef"},
    "kiosk.printed": {"ticket": "A001", "ok": True},
    "kiosk.rate": {"ticket": "A001", "level": 5, "secret": "0123456789abcdef"}, "kiosk.progress": {"case": "C1"},
    "kiosk.case": {"case": "2026000001", "code": "002X"},
    "window.case_step": {"case": "2026000001", "stage": "review", "opinion": "ok"},
    "window.case_extend": {"case": "2026000001", "days": 2, "reason": "核查"},
    "alert.case_ack": {"case": "2026000001"},
    "device.case_open": {"ref": "SP-1", "matter": "M1", "handler": "李科员"},
    "device.case_step": {"ref": "SP-1", "stage": "review", "handler": "王审查"},
    "device.case_extend": {"ref": "SP-1", "days": 2, "reason": "核查", "handler": "王审查"},
    "window.login": {"staff": "S1"}, "window.transfer": {"matter": "M4"},
    "window.rate": {"level": 4}, "config.set": {"config": {}, "base": 0},
    "config.rollback": {"revision": 0, "base": 0},
    "window.pause": {"reason": "午休"},
    "window.finish": {"outcome": {"kind": "correction", "missing": ["id_card"], "notify": "print"}},
    "config.appointments": {"appointments": []},
    "device.sms_status": {"sms": "x", "state": "sent"},
    "alert.followup_close": {"followup": "FU-x", "note": "done"},
    "window.pause": {"reason": "午休"}, "window.finish": {"outcome": {"kind": "done"}},
    "kiosk.profile_get": {"id_number": "11010519491231002X"},
    "kiosk.profile_put": {"id_number": "11010519491231002X", "values": {"phone": "13812345678"}},
    "kiosk.profile_erase": {"id_number": "11010519491231002X"},
}
IDENTS = {"kiosk": ["K1", "K2", "K3"], "window": ["W1", "W2", "W5", "W6", "W8", "W99"],
          "config": ["hall", "admin"], "device": ["sms1", "D1"], "alert": ["admin"]}
ODD_IDS = ["K 1", "中文", "K\x00", "x" * 65, "", "..", "K\u202e1", "K%2F", "'; DROP TABLE tickets; --"]
VALUES: list[Any] = [None, 0, -1, 1.5, 1e308, 2 ** 70, True, "", "M1", "B1", "W1", "A001", "x" * 70,
                     [], {}, {"a": 1}, [[[]]], "13812345678", "zh-CN", 5, 99, "\u0000", "\ud800",
                     "A" * 600, ["attitude"], {"k" * 70: "v"}]


def fuzz_config(hall_id: str | None = None) -> Any:
    """The small test hall with a door wide open: the fuzz is about what gets
    through, not about the rate limits (tests/test_engine_door.py has those)."""
    from hall.config import parse_config
    from tests.conftest import small_raw, unique_hall_id
    raw = small_raw()
    raw["hall"]["id"] = hall_id or unique_hall_id()
    wide = {"rate": 1e9, "burst": 10 ** 9}
    raw["door"] = {"kiosk": wide, "window": wide, "other": wide, "max_queue": 10 ** 6,
                   "daily_tickets_per_kiosk": None, "daily_tickets_per_phone": None}
    return parse_config(raw)


def request_specs() -> list:
    return list(REGISTRY.requests())


def gen_topic(rng: random.Random, hall: str) -> tuple[str, bool]:
    """(topic, whether the engine must answer it)."""
    r = rng.random()
    spec = rng.choice(request_specs())
    ident = rng.choice(IDENTS.get(spec.kind, ["X1"]))
    if r < 0.80:
        return spec.topic(hall, ident), True
    if r < 0.85:  # odd characters in the id: outside the grammar, never handled
        odd = rng.choice(ODD_IDS)
        return f"{ROOT}/{hall}/{spec.kind}/{odd}/{spec.attr}", bool(ID_RE.match(odd))  # ".." is an id
    if r < 0.90:  # an op nobody has
        return f"{ROOT}/{hall}/{spec.kind}/{ident}/request/{rng.choice(['explode', 'issue2', '', 'issue/x'])}", False
    if r < 0.95:  # a request under a kind that has no such op
        kind = rng.choice(["display", "zone", "stats", "engine", "window", "kiosk"])
        op = rng.choice(["issue", "next", "set", "login"])
        exists = (kind, op) in {(s.kind.value, s.op) for s in request_specs()}
        return f"{ROOT}/{hall}/{kind}/{ident}/request/{op}", exists
    return f"{ROOT}/other{hall}/{spec.kind}/{ident}/{spec.attr}", False  # another hall's


def _mutate(rng: random.Random, body: dict[str, Any]) -> Any:
    body = dict(body)
    for _ in range(rng.randrange(0, 3)):
        k = rng.random()
        if k < 0.3 and body:
            body.pop(rng.choice(list(body)))
        elif k < 0.6:
            body[rng.choice(["matter", "ticket", "level", "staff", "colour", "phone", "form", "id",
                             "priority", "lang", "window", "timeout", "ok", "reasons", "config"])] = \
                rng.choice(VALUES)
        elif k < 0.8 and body:
            f = rng.choice(list(body))
            body[f] = rng.choice(VALUES)
        else:
            return rng.choice([[body], {"id": body.get("id"), "nest": body}, body.get("id")])
    return body


def gen_payload(rng: random.Random, op: str, i: int) -> bytes:
    r = rng.random()
    if r < 0.04:
        return b"[" * rng.randrange(33, 4000)  # the RecursionError of old
    if r < 0.06:
        d = rng.randrange(20, 40)
        return json.dumps({"id": f"d{i}", "x": json.loads("[" * d + "]" * d)}).encode()
    if r < 0.08:
        return b'{"id":"big%d","pad":"' % i + b"x" * rng.randrange(16000, 40000) + b'"}'
    if r < 0.14:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
    if r < 0.17:
        return rng.choice([b"", b"null", b"1e999", b'"x"', b"{", b'{"id":', b'{"id":"a","id":"b"}',
                           b"\xff\xfe{}", b'{"id":"\\ud800"}', b"[]" * 3000])
    body: dict[str, Any] = {"id": f"f{i}" if rng.random() < 0.9 else rng.choice(["", "x" * 65, "same"])}
    body.update(VALID.get(op, {}))
    if rng.random() < 0.6:
        body = _mutate(rng, body)
    try:
        return json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        return b"{}"


class LoopbackBus(Bus):
    """The engine's bus without a broker: ``deliver()`` in, publishes recorded."""

    def __init__(self, hall_id: str):
        super().__init__(hall_id, "loopback", BusSettings())
        self.sent: list[tuple[str, bytes]] = []
        self._cv = threading.Condition()

    def start(self, timeout: float = 10.0) -> None:
        self._connected.set()
        for hook in self._connect_hooks:
            hook()

    def stop(self, state: str = "stopped") -> None:
        self._connected.clear()

    def publish_raw(self, topic: str, payload: Any, *, retain: bool, qos: int = 1) -> None:
        data = payload if isinstance(payload, (bytes, bytearray)) else m.encode(payload)
        with self._cv:
            self.sent.append((topic, bytes(data)))
            self._cv.notify_all()

    def wait_for_reply(self, rid: str, timeout: float) -> bool:
        needle = b'"id":"%s"' % rid.encode()
        deadline = time.monotonic() + timeout
        with self._cv:
            seen = 0
            while True:
                for topic, data in self.sent[seen:]:
                    if "/response/" in topic and needle in data:
                        return True
                seen = len(self.sent)
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)

    def replies(self) -> list[tuple[str, bytes]]:
        with self._cv:
            return [(t, d) for t, d in self.sent if "/response/" in t]


_dec_resp = msgspec.json.Decoder(m.Response)


# per kind, a request op with a required field: a marker that carries only its
# id is refused as `bad_request` with that id, whatever the client
MARKER_OPS = {"kiosk": "issue", "window": "login", "config": "set", "alert": "followup_close",
              "device": "sms_status"}


def run_fuzz(svc: Any, bus: LoopbackBus, seed: int, n: int, chunk: int = 2000,
             timeout: float = 60.0) -> dict[str, int]:
    """Send ``n`` fuzzed requests in chunks; after each chunk a marker request
    on every client that was sent an answerable request shows that everything
    before it was answered (the engine's door keeps each client's order, not
    the order between clients).  Asserts: exactly one reply per request the
    engine must answer, none for the rest, every reply a well-formed Response,
    never ``internal``, and the engine still running."""
    rng = random.Random(seed)
    hall = svc.hall_id
    expected = 0
    codes: dict[str, int] = {}
    start = len(bus.replies())
    for c0 in range(0, n, chunk):
        clients: set[tuple[str, str]] = {("kiosk", "K1")}
        for i in range(c0, min(n, c0 + chunk)):
            topic, answered = gen_topic(rng, hall)
            op = topic.split("/")
            payload = gen_payload(rng, f"{op[2]}.{op[-1]}", i)
            bus.deliver(topic, payload)
            expected += answered
            if answered:
                clients.add((op[2], op[3]))
        markers = []
        for kind, ident in sorted(clients):
            marker = f"marker-{seed}-{c0}-{len(markers)}"
            bus.deliver(REGISTRY[f"{kind}.request.{MARKER_OPS[kind]}"].topic(hall, ident),
                        m.encode({"id": marker}))
            markers.append(marker)
        expected += len(markers)
        for marker in markers:
            assert bus.wait_for_reply(marker, timeout), f"no reply to {marker}: the engine stalled"
        assert svc.failed is None, f"the engine stopped: {svc.failed!r}"
    got = bus.replies()[start:]
    for topic, data in got:
        resp = _dec_resp.decode(data)
        code = resp.error.code if resp.error else "ok"
        codes[code] = codes.get(code, 0) + 1
        assert code != "internal", f"internal error replied on {topic}: {resp.error}"
    assert len(got) == expected, f"{len(got)} replies to {expected} answerable requests"
    return codes

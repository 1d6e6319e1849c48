"""A lean MQTT 3.1.1 load generator for the benchmarks (not product code).

Real kiosks each run on their own Pi; here all 16 share the engine's 2 cores,
so the load generator's own CPU is taken from the engine under test. This
client speaks just enough MQTT (CONNECT, SUBSCRIBE, PUBLISH QoS 1, PUBACK) on
asyncio streams to cost a fraction of paho's per message, the way wrk stands
in for browsers. bench/engine.py reports the figure with it and with our own
`hall.bus.Requester` clients side by side.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + _varint(len(body)) + body


async def _read_packet(r: asyncio.StreamReader) -> tuple[int, bytes]:
    first = (await r.readexactly(1))[0]
    mult, length = 1, 0
    while True:
        b = (await r.readexactly(1))[0]
        length += (b & 0x7F) * mult
        if not b & 0x80:
            break
        mult *= 128
    return first, await r.readexactly(length)


class LeanClient:
    """One kiosk: closed loop of requests on its own request topic.

    ``on_publish(topic, payload)``, if given, sees every other message it
    receives (subscriptions added with ``subscribe``)."""

    def __init__(self, host: str, port: int, client_id: str, req_topic: str, resp_topic: str,
                 on_publish=None):
        self.host, self.port, self.client_id = host, port, client_id
        self.req_topic, self.resp_topic = req_topic, resp_topic
        self.on_publish = on_publish
        self._pid = 0
        self._waiting: dict[str, asyncio.Future] = {}

    async def connect(self) -> None:
        self.r, self.w = await asyncio.open_connection(self.host, self.port)
        sock = self.w.get_extra_info("socket")
        import socket
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _str("MQTT") + bytes((4, 0x02)) + struct.pack("!H", 60) + _str(self.client_id)
        self.w.write(_packet(0x10, body))
        first, _ = await _read_packet(self.r)
        assert first == 0x20
        self.w.write(_packet(0x82, struct.pack("!H", self._next_pid()) + _str(self.resp_topic) + b"\x01"))
        first, _ = await _read_packet(self.r)
        assert first == 0x90
        self._reader = asyncio.create_task(self._read_loop())

    async def subscribe(self, topic: str, qos: int = 0) -> None:
        self.w.write(_packet(0x82, struct.pack("!H", self._next_pid()) + _str(topic) + bytes((qos,))))
        await asyncio.sleep(0.2)  # the SUBACK is read (and ignored) by the read loop

    def send(self, topic: str, body: dict) -> None:
        """Publish a QoS 1 request without waiting for its reply."""
        payload = json.dumps(body).encode()
        self.w.write(_packet(0x32, _str(topic) + struct.pack("!H", self._next_pid()) + payload))

    async def call_on(self, req_topic: str, rid: str, body: dict) -> dict:
        fut = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        self.send(req_topic, {"id": rid, **body})
        return await asyncio.wait_for(fut, 10)

    def _next_pid(self) -> int:
        self._pid = self._pid % 65535 + 1
        return self._pid

    async def _read_loop(self) -> None:
        try:
            while True:
                first, body = await _read_packet(self.r)
                kind = first >> 4
                if kind == 3:  # PUBLISH
                    qos = (first >> 1) & 3
                    tlen = struct.unpack("!H", body[:2])[0]
                    pos = 2 + tlen
                    if qos:
                        pid = body[pos:pos + 2]
                        pos += 2
                        self.w.write(b"\x40\x02" + pid)
                    topic = body[2:2 + tlen].decode()
                    if self.on_publish is not None and "/response/" not in topic:
                        self.on_publish(topic, body[pos:])
                        continue
                    msg = json.loads(body[pos:])
                    fut = self._waiting.pop(msg.get("id"), None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    async def call(self, rid: str, body: dict) -> dict:
        fut = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        payload = json.dumps({"id": rid, **body}).encode()
        self.w.write(_packet(0x32, _str(self.req_topic) + struct.pack("!H", self._next_pid()) + payload))
        return await asyncio.wait_for(fut, 10)

    async def close(self) -> None:
        self.w.write(b"\xe0\x00")
        self._reader.cancel()
        self.w.close()


async def _closed_loop(host: str, port: int, hall: str, clients: int, duration: float, matters: int,
                       op: str = "issue") -> int:
    cs = [LeanClient(host, port, f"lean-{hall}-{i}", f"onewindow/{hall}/kiosk/L{i}/request/{op}",
                     f"onewindow/{hall}/kiosk/L{i}/response/{op}") for i in range(clients)]
    for c in cs:
        await c.connect()
    end = time.monotonic() + duration
    counts = [0] * clients
    body = (lambda i, n: {"matter": f"M{(i + 7 * n) % matters}"}) if op == "issue" else \
        (lambda i, n: {"ticket": f"Z{n % 1000:03d}"})  # a ticket that does not exist: refused at once

    async def run(i: int, c: LeanClient) -> None:
        n = 0
        while time.monotonic() < end:
            reply = await c.call(f"L{i}-{n}-{time.monotonic_ns()}", body(i, n))
            assert reply["status"] == "ok" or op != "issue", reply
            n += 1
        counts[i] = n

    await asyncio.gather(*(run(i, c) for i, c in enumerate(cs)))
    for c in cs:
        await c.close()
    return sum(counts)


def closed_loop_rate(host: str, port: int, hall: str, clients: int = 16, duration: float = 5.0,
                     matters: int = 100, op: str = "issue") -> float:
    """Requests answered per second; ``op`` "issue" (tickets) or "ticket" (a
    look-up of a ticket that does not exist: the core refuses it at once, the
    reply is recorded and committed like any other — the shell's own cost)."""
    done = asyncio.run(_closed_loop(host, port, hall, clients, duration, matters, op))
    return done / duration


def issue_n(host: str, port: int, hall: str, n: int, clients: int = 16, matters: int = 100) -> None:
    """Issue ``n`` tickets from ``clients`` lean kiosks in closed loop (filling a day)."""
    asyncio.run(_issue_n(host, port, hall, n, clients, matters))


async def _issue_n(host: str, port: int, hall: str, n: int, clients: int, matters: int) -> None:
    cs = [LeanClient(host, port, f"fill-{hall}-{i}", f"onewindow/{hall}/kiosk/L{i}/request/issue",
                     f"onewindow/{hall}/kiosk/L{i}/response/issue") for i in range(clients)]
    for c in cs:
        await c.connect()
    left = n

    async def run(i: int, c: LeanClient) -> None:
        nonlocal left
        k = 0
        while left > 0:
            left -= 1
            reply = await c.call(f"F{i}-{k}-{time.monotonic_ns()}", {"matter": f"M{(i + 7 * k) % matters}"})
            assert reply["status"] == "ok", reply
            k += 1

    await asyncio.gather(*(run(i, c) for i, c in enumerate(cs)))
    for c in cs:
        await c.close()


async def _call_latency(host: str, port: int, hall: str, windows: int, rate: float, duration: float,
                        tickets: int) -> list[float]:
    root = f"onewindow/{hall}"
    pending: dict[str, tuple[float, str | None]] = {}
    last: dict[str, str | None] = {}
    lat: list[float] = []

    def on_state(topic: str, payload: bytes) -> None:
        t = time.perf_counter()
        wid = topic.split("/")[3]
        st = json.loads(payload)
        num = st["ticket"]["number"] if st.get("ticket") else None
        p = pending.get(wid)
        if p is not None and num is not None and num != p[1]:
            lat.append((t - p[0]) * 1000)
            del pending[wid]
        last[wid] = num

    c = LeanClient(host, port, f"lean-call-{hall}", f"{root}/kiosk/LC/request/issue",
                   f"{root}/+/+/response/+", on_publish=on_state)
    await c.connect()
    for i in range(tickets):
        await c.call(f"t{i}", {"matter": f"M{i % 100}"})
    for w in range(windows):
        await c.call_on(f"{root}/window/W{w}/request/login", f"l{w}", {"staff": f"S{w}"})
    await c.subscribe(f"{root}/window/+/state")
    await asyncio.sleep(1.0)
    n = int(rate * duration)
    start = time.perf_counter() + 0.2
    for i in range(n):
        wid = f"W{i % windows}"
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pending[wid] = (time.perf_counter(), last.get(wid))
        c.send(f"{root}/window/{wid}/request/next", {"id": f"n{i}"})
    await asyncio.sleep(1.5)
    await c.close()
    return lat


def call_latency(host: str, port: int, hall: str, windows: int = 200, rate: float = 100,
                 duration: float = 5.0, tickets: int = 2000) -> list[float]:
    """`next` at ``rate``/s over ``windows`` windows → the new retained state seen."""
    return asyncio.run(_call_latency(host, port, hall, windows, rate, duration, tickets))

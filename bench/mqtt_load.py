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
    """One kiosk: closed loop of requests on its own request topic."""

    def __init__(self, host: str, port: int, client_id: str, req_topic: str, resp_topic: str):
        self.host, self.port, self.client_id = host, port, client_id
        self.req_topic, self.resp_topic = req_topic, resp_topic
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


async def _closed_loop(host: str, port: int, hall: str, clients: int, duration: float, matters: int) -> int:
    cs = [LeanClient(host, port, f"lean-{hall}-{i}", f"onewindow/{hall}/kiosk/L{i}/request/issue",
                     f"onewindow/{hall}/kiosk/L{i}/response/issue") for i in range(clients)]
    for c in cs:
        await c.connect()
    end = time.monotonic() + duration
    counts = [0] * clients

    async def run(i: int, c: LeanClient) -> None:
        n = 0
        while time.monotonic() < end:
            reply = await c.call(f"L{i}-{n}-{time.monotonic_ns()}", {"matter": f"M{(i + 7 * n) % matters}"})
            assert reply["status"] == "ok", reply
            n += 1
        counts[i] = n

    await asyncio.gather(*(run(i, c) for i, c in enumerate(cs)))
    for c in cs:
        await c.close()
    return sum(counts)


def closed_loop_rate(host: str, port: int, hall: str, clients: int = 16, duration: float = 5.0,
                     matters: int = 100) -> float:
    done = asyncio.run(_closed_loop(host, port, hall, clients, duration, matters))
    return done / duration

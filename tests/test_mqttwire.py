"""The engine's hot-path MQTT bytes (hall/mqttwire.py) and LoopBus using them:
the same bytes as gmqtt's own builder, packets split right whatever the
chunks, anything unusual left to gmqtt, and over a real mosquitto the
requests delivered, acknowledged and answered with the same QoS and retain
flags."""

from __future__ import annotations

import asyncio
import queue
import threading

import pytest
from gmqtt import Message
from gmqtt.mqtt.constants import MQTTv50, MQTTv311
from gmqtt.mqtt.package import CommandWithMidPacket, PublishPacket
from gmqtt.mqtt.utils import IdGenerator

from hall import mqttwire
from hall.bus import Bus
from hall.loopbus import LoopBus
from hall.topics import REGISTRY
from tests.conftest import unique_hall_id

SIZES = (0, 1, 100, 127 - 20, 200, 16_383, 20_000, 2_097_152)  # payloads across every varint length


class _Proto:
    """What gmqtt's builder reads of its protocol object."""

    def __init__(self, ver: int):
        self.proto_ver = ver
        self.id_generator = IdGenerator()


@pytest.mark.parametrize("ver", [MQTTv311, MQTTv50])
@pytest.mark.parametrize("qos", [0, 1])
@pytest.mark.parametrize("retain", [False, True])
def test_a_publish_is_byte_for_byte_what_gmqtt_builds(ver, qos, retain):
    proto, ids = _Proto(ver), IdGenerator()
    for size in SIZES:
        for topic in ("onewindow/h1/kiosk/K1/response/issue", "onewindow/大厅/zone/Z1/waiting"):
            payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
            mid, want = PublishPacket.build_package(Message(topic, payload, qos=qos, retain=retain), proto)
            ours = ids.next_id() if qos else None
            assert ours == mid
            got = mqttwire.publish(topic.encode(), payload, qos, retain, ours, ver == MQTTv50)
            assert bytes(got) == bytes(want), (size, topic)
            assert isinstance(got, bytearray)  # gmqtt keeps and resends what it stored


@pytest.mark.parametrize("ver", [MQTTv311, MQTTv50])
def test_a_puback_is_what_gmqtt_sends(ver):
    for mid in (1, 255, 256, 65535):
        want = CommandWithMidPacket.build_package(0x40, mid, False, proto_ver=ver)
        assert mqttwire.puback(mid.to_bytes(2, "big"), ver == MQTTv50) == want


def _stream(ver: int) -> tuple[bytes, list[tuple[int, bytes]]]:
    proto = _Proto(ver)
    pkts = []
    for i, size in enumerate(SIZES[:-1]):
        _mid, p = PublishPacket.build_package(Message(f"t/{i}", b"p" * size, qos=i % 2), proto)
        pkts.append(bytes(p))
    pkts.insert(2, b"\xd0\x00")  # PINGRESP: a packet with an empty body
    pkts.insert(4, CommandWithMidPacket.build_package(0x40, 7, False, proto_ver=ver))
    want = []
    for p in pkts:
        n = mqttwire.split(p, out := [])
        assert n == len(p) and len(out) == 1
        want.append(out[0])
    return b"".join(pkts), want


@pytest.mark.parametrize("ver", [MQTTv311, MQTTv50])
def test_packets_split_the_same_whole_or_byte_at_a_time(ver):
    data, want = _stream(ver)
    got: list = []
    assert mqttwire.split(data, got) == len(data)
    assert got == want
    got, pending = [], b""
    for i in range(len(data)):  # the way a slow link delivers it
        pending += data[i:i + 1]
        used = mqttwire.split(pending, got)
        pending = pending[used:]
    assert got == want and pending == b""


def test_a_length_longer_than_mqtt_allows_is_refused_and_a_partial_one_waits():
    assert mqttwire.split(b"\x30\xff\xff\xff\xff\x01", []) == -1
    out: list = []
    assert mqttwire.split(b"\xd0\x00\x30\xff\xff", out) == 2  # the PINGRESP, then a length still arriving
    assert out == [(0xD0, b"")]


@pytest.mark.parametrize("ver", [MQTTv311, MQTTv50])
def test_a_plain_publish_is_read_and_anything_else_is_left_to_gmqtt(ver):
    v5 = ver == MQTTv50
    proto = _Proto(ver)
    for qos in (0, 1):
        mid, p = PublishPacket.build_package(Message("onewindow/h/kiosk/K1/request/issue", b'{"id":"1"}',
                                                     qos=qos), proto)
        out: list = []
        mqttwire.split(bytes(p), out)
        first, body = out[0]
        topic, payload, got_mid = mqttwire.read_publish(first, body, v5)
        assert (topic, payload) == ("onewindow/h/kiosk/K1/request/issue", b'{"id":"1"}')
        assert got_mid == (mid.to_bytes(2, "big") if qos else None)
    _mid, q2 = PublishPacket.build_package(Message("t", b"x", qos=2), proto)
    assert mqttwire.read_publish(q2[0], bytes(q2[2:]), v5) is None  # QoS 2: gmqtt's handshake
    assert mqttwire.read_publish(0x32, b"\x00\x05ab", v5) is None  # a topic longer than the packet
    assert mqttwire.read_publish(0x30, b"\x00\x02\xff\xfe", v5) is None  # not UTF-8
    if v5:  # a topic alias, or any other property: gmqtt's own parser
        _mid, wp = PublishPacket.build_package(Message("t/a", b"x", qos=1, content_type="json"), proto)
        out = []
        mqttwire.split(bytes(wp), out)
        assert mqttwire.read_publish(*out[0], True) is None


# ------------------------------------------------------- over mosquitto --
class _LoopThread:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.tid = threading.get_ident()
            self.loop.call_soon(ready.set)
            self.loop.run_forever()
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait()

    def call(self, fn, *args):
        fut: queue.Queue = queue.Queue()
        self.loop.call_soon_threadsafe(lambda: fut.put(fn(*args)))
        return fut.get(timeout=10)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.mark.broker
@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_loopbus_reads_acknowledges_and_publishes_with_the_bytes_gmqtt_would(broker, protocol):
    from dataclasses import replace
    settings = replace(broker.settings, protocol=protocol)
    hall = unique_hall_id()
    lt = _LoopThread()
    lb = LoopBus(hall, f"lb-{hall}", settings)
    got: queue.Queue = queue.Queue()
    req, resp, state = (REGISTRY["kiosk.request.issue"], REGISTRY["kiosk.response.issue"],
                        REGISTRY["window.state"])
    lb.subscribe(req, lambda parsed, payload: got.put((parsed.ident, payload, threading.get_ident())))
    lb.bind(lt.loop, lt.tid)
    cli = Bus(hall, f"cli-{hall}", settings)
    seen: queue.Queue = queue.Queue()
    cli.subscribe(resp, lambda p, d: seen.put(("resp", p.ident, d)))
    cli.subscribe(state, lambda p, d: seen.put(("state", p.ident, d)))
    try:
        lb.start()
        cli.start()
        written: list[bytes] = []
        proto = lb._proto
        real_write = proto._transport.write
        proto._transport.write = lambda data: (written.append(bytes(data)), real_write(data))[1]
        # requests: every one delivered once, in order, in the loop's thread, acknowledged
        bodies = [b'{"id":"r%d","matter":"M1"}' % i + b" " * (i * 40) for i in range(12)]
        for i, body in enumerate(bodies):
            cli.publish(req, "K1" if i % 2 else "K2", body)
        for i, body in enumerate(bodies):
            ident, payload, tid = got.get(timeout=10)
            assert (ident, payload, tid) == ("K1" if i % 2 else "K2", body, lt.tid)
        # the reply (QoS 0, not retained) and a view (QoS 1, retained), as gmqtt would write them
        lt.call(lambda: (lb.publish(resp, "K1", b'{"id":"r1","status":"ok"}'),
                         lb.publish(state, "W1", b'{"w":1}')))
        kinds = {seen.get(timeout=10)[:2] for _ in range(2)}
        assert kinds == {("resp", "K1"), ("state", "W1")}
        v = MQTTv50 if protocol == "5" else MQTTv311
        mirror = _Proto(v)
        mirror.id_generator._last_used_id = lb._client._connection._protocol.id_generator._last_used_id - 1
        _m, want_state = PublishPacket.build_package(Message(state.topic(hall, "W1"), b'{"w":1}', qos=1,
                                                             retain=True), mirror)
        _m, want_resp = PublishPacket.build_package(Message(resp.topic(hall, "K1"),
                                                            b'{"id":"r1","status":"ok"}', qos=0), mirror)
        assert bytes(want_resp) + bytes(want_state) in b"".join(written)
        # the broker's PUBACK of the view freed its packet id: nothing left in flight
        for _ in range(100):
            if lt.call(lambda: lb._client._persistent_storage.is_empty):
                break
            threading.Event().wait(0.05)
        assert lt.call(lambda: lb._client._persistent_storage.is_empty)
        pubacks = [p for chunk in written for p in _packets(chunk) if p[0] == 0x40]
        assert len(pubacks) == len(bodies)  # one PUBACK per request, as gmqtt's optimistic ack
        retained: queue.Queue = queue.Queue()
        late = Bus(hall, f"late-{hall}", settings)
        late.subscribe(state, lambda p, d: retained.put(d))
        late.start()
        try:
            assert retained.get(timeout=10) == b'{"w":1}'  # retained, as its registry entry says
        finally:
            late.stop()
    finally:
        cli.stop()
        lb.stop()
        lt.stop()


def _packets(chunk: bytes) -> list[tuple[int, bytes]]:
    out: list = []
    assert mqttwire.split(chunk, out) == len(chunk)
    return out

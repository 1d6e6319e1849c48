"""The MQTT bytes on the engine's hot path: PUBLISH out, PUBLISH in, PUBACK.

gmqtt (hall/loopbus.py) stays the client: it connects, subscribes, pings,
reconnects and keeps the QoS 1 messages in flight.  But for the two packets
the engine sends and receives thousands of times a second it builds a
``Message`` with a properties dict, runs a ``Package`` through a dispatch
table, a ``StreamReader`` and a read-loop task, and formats a debug line per
packet: about half of the loop thread's CPU per request.  These pure
functions do the same packets with a few slices, and are checked byte for
byte against gmqtt's own builder (tests/test_mqttwire.py).

MQTT 3.1.1 (OASIS, section 3.3) and 5.0 (section 3.3): a PUBLISH is the
fixed header (0x30 | dup << 3 | qos << 1 | retain, remaining length as a
variable byte integer), the topic as a 2-byte-length string, the packet id
when QoS > 0, in 5.0 a properties block (its length first, 0 when empty),
then the payload.  A PUBACK is 0x40, the packet id, and in 5.0 gmqtt adds a
reason code and an empty properties block.
"""

from __future__ import annotations

from struct import Struct

PUBLISH = 0x30
PUBACK = 0x40
MAX_REMAINING = 268_435_455  # the largest remaining length four varint bytes carry

_H = Struct("!H")


def varint(n: int) -> bytes:
    """MQTT's variable byte integer (1–4 bytes, 7 bits each, low first)."""
    if n < 128:
        return bytes((n,))
    out = bytearray()
    while True:
        n, b = divmod(n, 128)
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def publish(topic: bytes, payload: bytes, qos: int, retain: bool, mid: int | None, v5: bool) -> bytearray:
    """One PUBLISH (never a dup: a resend is gmqtt's, from what it stored).
    ``mid``: the packet id when ``qos`` > 0."""
    n = 2 + len(topic) + len(payload) + (2 if qos else 0) + (1 if v5 else 0)
    if n > MAX_REMAINING:
        raise ValueError("Payload too large.")
    pkt = bytearray((PUBLISH | (qos << 1) | (1 if retain else 0),))
    pkt += varint(n)
    pkt += _H.pack(len(topic))
    pkt += topic
    if qos:
        pkt += _H.pack(mid)
    if v5:
        pkt.append(0)  # no properties
    pkt += payload
    return pkt


def puback(mid: bytes, v5: bool) -> bytes:
    """The acknowledgement of an inbound QoS 1 PUBLISH whose 2-byte id is ``mid``
    (5.0: reason "success" and no properties, as gmqtt sends it)."""
    return b"\x40\x04" + mid + b"\x00\x00" if v5 else b"\x40\x02" + mid


def split(data: bytes, packets: list[tuple[int, bytes]]) -> int:
    """Append each whole packet at the start of ``data`` to ``packets`` as
    (first byte, body); return how many bytes they took (the rest is a packet
    still arriving), or -1 if a remaining length is longer than MQTT allows."""
    pos, end = 0, len(data)
    while end - pos >= 2:
        i, mult, n = pos + 1, 1, 0
        while True:
            if i >= end:
                return pos  # the length itself is not all here yet
            b = data[i]
            n += (b & 0x7F) * mult
            i += 1
            if not b & 0x80:
                break
            mult *= 128
            if mult > 2_097_152:  # a fifth length byte
                return -1
        if i + n > end:
            return pos
        packets.append((data[pos], data[i:i + n]))
        pos = i + n
    return pos


def read_publish(first: int, body: bytes, v5: bool) -> tuple[str, bytes, bytes | None] | None:
    """(topic, payload, packet id or None) of a QoS 0 or 1 PUBLISH with no
    properties; None for anything else (QoS 2, a topic alias or any other
    property, a topic that is not UTF-8, a short body), which gmqtt's own
    handler then takes, as before."""
    qos = (first >> 1) & 3
    if qos > 1 or len(body) < 2:
        return None
    pos = 2 + ((body[0] << 8) | body[1])
    if not 2 < pos <= len(body):
        return None
    try:
        topic = body[2:pos].decode()
    except UnicodeDecodeError:
        return None
    mid = None
    if qos:
        mid = body[pos:pos + 2]
        if len(mid) < 2:
            return None
        pos += 2
    if v5:
        if pos >= len(body) or body[pos]:  # properties present (or none at all): gmqtt's path
            return None
        pos += 1
    return topic, body[pos:], mid

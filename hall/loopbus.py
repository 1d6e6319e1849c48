"""The MQTT connection of a process that runs one asyncio event loop (gmqtt).

:class:`LoopBus` is a :class:`hall.bus.Bus` — the same topics from the
registry, the same dispatch (``deliver``), availability with its Last-Will,
subscriptions renewed and ``on_connect`` hooks run on every (re)connect, the
same TLS settings — whose network runs on an asyncio loop instead of paho's
thread.  Handlers and hooks run in the loop's thread, so a process can keep
its state there without a lock or a hand-off per message (the engine's shell,
caller/shell.py).  Why gmqtt: bench/mqtt_clients.py measured it at about half
of paho's CPU per request in the engine's shape (docs/benchmarks.md).

The loop is the caller's: :meth:`bind` it before :meth:`start`.  ``start`` and
``stop`` are called from another thread and wait for the loop; ``publish`` may
be called from any thread (from another one it is handed to the loop).  QoS 1
messages published while the connection is down wait (bounded) and go out
after the reconnect, as paho's queue did; QoS 0 ones (replies) are dropped —
the requester retries with the same id and gets the first answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from typing import Any, Callable

from . import messages, mqttwire
from .bus import Bus, BusSettings
from .topics import TopicError, TopicSpec

log = logging.getLogger("hall.loopbus")
# gmqtt logs every packet it receives, payload and all, at DEBUG: payloads carry
# phone and ID numbers, which never go in a log line (docs/security.md). Its
# own logger is held at INFO whatever the root level (a test's caplog included).
_gmqtt_log = logging.getLogger("hall.loopbus.gmqtt")
_gmqtt_log.setLevel(logging.INFO)

OFFLINE_QUEUE = 10_000  # QoS 1 messages kept while disconnected; beyond, the oldest go
RECONNECT_DELAY_S = 1
STOP_ACK_S = 2.0  # how long stop() waits for the broker to acknowledge the last state


class LoopBus(Bus):
    """One MQTT connection over gmqtt, on the loop given to :meth:`bind`."""

    def __init__(self, hall_id: str, client_id: str, settings: BusSettings,
                 availability: tuple[TopicSpec, str] | None = None):
        super().__init__(hall_id, client_id, settings, availability)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._offline: deque[tuple[str, bytes, int, bool]] = deque(maxlen=OFFLINE_QUEUE)
        self._corked = False
        self._acks: list[bytes] = []  # PUBACKs not written yet (hold_acks_while)
        self._hold: Callable[[], bool] | None = None
        # the connection's gmqtt protocol while connected and ours to read and write (_take_reads)
        self._proto: Any = None
        self._v5 = False

    def hold_acks_while(self, busy: Callable[[], bool]) -> None:
        """While ``busy()``, the PUBACKs of what was read wait for the next write
        instead of a ``send()`` of their own.

        The engine says "a commit is in flight": the replies of that batch are
        written when it returns, at most one commit later, and the PUBACKs
        leave in front of them.  Every request is answered, so whatever was
        acknowledged is written with, or before, its own reply; the broker
        keeps any number of messages unacknowledged (``max_inflight_messages
        0``, and no receive maximum is announced)."""
        self._hold = busy

    def bind(self, loop: asyncio.AbstractEventLoop, thread_id: int) -> None:
        """The loop this connection runs on and the id of the thread running it."""
        self.loop = loop
        self._loop_thread = thread_id

    # ------------------------------------------------------------ lifecycle --
    def start(self, timeout: float = 10.0) -> None:
        """Connect (retrying until ``timeout``); raises TimeoutError if no broker."""
        if self.loop is None:
            raise RuntimeError("LoopBus.start() before bind(loop)")
        fut = asyncio.run_coroutine_threadsafe(self.connect(timeout), self.loop)
        fut.result(timeout + 5)

    async def connect(self, timeout: float) -> None:
        import gmqtt
        from gmqtt.mqtt.constants import MQTTv50, MQTTv311
        s = self.settings
        will = None
        if self._availability:
            spec, ident = self._availability
            will = gmqtt.Message(spec.topic(self.hall_id, ident),
                                 messages.encode(messages.Availability(state="offline")), qos=1, retain=True)
        c = gmqtt.Client(self.client_id, clean_session=True, will_message=will,
                         logger=_gmqtt_log)
        c.set_config({"reconnect_retries": -1, "reconnect_delay": RECONNECT_DELAY_S})  # -1: forever
        if s.username:
            c.set_auth_credentials(s.username, s.password)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        self._client = c
        self._stopping = False
        deadline = self.loop.time() + timeout
        while True:
            try:
                await c.connect(s.host, s.port, ssl=s.tls_context() if s.tls else False,
                                keepalive=s.keepalive, version=MQTTv50 if s.protocol == "5" else MQTTv311)
                if self._connected.is_set():
                    return
            except OSError:
                pass  # no broker yet: retried below, like paho's connect_async
            if self.loop.time() >= deadline:
                self._client = None
                raise TimeoutError(f"no MQTT broker answered at {s.host}:{s.port}{' (TLS)' if s.tls else ''} "
                                   f"within {timeout:.0f}s")
            await asyncio.sleep(0.2)

    def stop(self, state: str = "stopped") -> None:
        if self._client is None or self.loop is None:
            return
        if self._on_loop():
            self.loop.create_task(self.disconnect(state))  # from a handler: cannot wait here
            return
        try:
            asyncio.run_coroutine_threadsafe(self.disconnect(state), self.loop).result(STOP_ACK_S + 5)
        except (TimeoutError, asyncio.TimeoutError, RuntimeError):
            log.warning("%s: no clean disconnect", self.client_id)

    async def disconnect(self, state: str = "stopped") -> None:
        c = self._client
        if c is None:
            return
        self._client = None
        self._proto = None
        self._stopping = True
        if self._availability and self._connected.is_set():
            spec, ident = self._availability
            c.publish(spec.topic(self.hall_id, ident), messages.encode(messages.Availability(state=state)),
                      qos=1, retain=True)
            try:  # the broker has it once every QoS 1 message is acknowledged
                await asyncio.wait_for(c._persistent_storage.wait_empty(), STOP_ACK_S)
            except asyncio.TimeoutError:
                pass
        self._connected.clear()
        try:
            await c.disconnect()
        except Exception:  # the connection may already be gone
            log.debug("disconnect of %s failed", self.client_id, exc_info=True)

    # ------------------------------------------------------------- publish --
    def publish_raw(self, topic: str, payload: Any, *, retain: bool, qos: int = 1) -> None:
        if "+" in topic or "#" in topic:
            raise TopicError(f"refusing to publish to a wildcard topic {topic!r}")
        data = payload if isinstance(payload, (bytes, bytearray)) else messages.encode(payload)
        if self.loop is None:
            raise RuntimeError("bus not started")
        if not self._on_loop():
            self.loop.call_soon_threadsafe(self._send, topic, bytes(data), qos, retain)
            return None
        self._send(topic, data, qos, retain)
        return None

    def publish(self, spec: TopicSpec, ident: str, payload: Any, *, retain: bool | None = None,
                qos: int | None = None, hall_id: str | None = None) -> None:
        """:meth:`Bus.publish`; in the loop's thread while connected, written as
        bytes without gmqtt's Message (``spec.topic`` checks an id once: a set look-up
        after; no topic is cached per (entry, id), which would hold one per window)."""
        proto = self._proto
        if (proto is None or retain is not None or qos is not None or hall_id is not None
                or threading.get_ident() != self._loop_thread):
            return super().publish(spec, ident, payload, retain=retain, qos=qos, hall_id=hall_id)
        data = payload if isinstance(payload, (bytes, bytearray)) else messages.encode(payload)
        self._write(proto, spec.topic(self.hall_id, ident).encode(), data,
                    spec.qos, spec.retained)
        return None

    def _send(self, topic: str, data: bytes, qos: int, retain: bool) -> None:
        c = self._client
        if c is None or not self._connected.is_set():
            if qos and not self._stopping:
                self._offline.append((topic, data, qos, retain))
            return
        proto = self._proto
        if proto is None:
            c.publish(topic, data, qos=qos, retain=retain)
            return
        self._write(proto, topic.encode(), data, qos, retain)

    def _write(self, proto: Any, topic: bytes, data: bytes, qos: int, retain: bool) -> None:
        """gmqtt's Client.publish without its Message and properties: the same
        bytes (tests/test_mqttwire.py), the same packet ids, and a QoS 1
        message kept the same way until its PUBACK (resent after a reconnect)."""
        mid = proto.id_generator.next_id() if qos else None
        pkt = mqttwire.publish(topic, data, qos, retain, mid, self._v5)
        proto.write_data(pkt)
        if qos:
            self._client._persistent_storage.push_message(mid, pkt)

    def corked(self) -> Any:
        """What is written inside goes to the socket in ONE write at the end.

        gmqtt writes each packet to the transport at once, which is one
        ``send()`` syscall per reply, PUBACK or view; a batch of 300 replies
        becomes one.  Used around a batch's publishes and around the parsing
        of each chunk read (the PUBACKs and door replies it causes).  It
        shadows the protocol object's ``write_data`` for the duration."""
        proto = self._proto
        if proto is None or self._corked or not self._on_loop():
            return _UNCORKED
        return _Cork(self, proto)

    def _take_reads(self) -> None:
        """This connection's bytes are read here instead of by gmqtt's read loop.

        Each chunk is split into packets inside :meth:`corked` (its PUBACKs
        and the door's immediate replies leave in one write).  A QoS 0 or 1
        PUBLISH without properties (every request) is acknowledged and
        delivered at once, as gmqtt does with its optimistic acknowledgement;
        a PUBACK frees its packet id and stored message, as gmqtt's handler
        does; every other packet (CONNACK, SUBACK, PINGRESP, a PUBLISH with
        a topic alias…) goes to gmqtt's own handler, in order.  The end of
        the stream still reaches gmqtt's reader, which closes the connection
        and reconnects as before."""
        c = self._client
        conn = getattr(c, "_connection", None)
        proto = getattr(conn, "_protocol", None)
        if proto is None or "data_received" in vars(proto):
            return
        from gmqtt.mqtt.package import Package
        handler = conn._handler
        v5 = proto.proto_ver >= 5
        pending = b""
        acks = self._acks
        acks.clear()  # a new connection: the old one's are moot
        ids, storage = proto.id_generator, c._persistent_storage
        deliver = self.deliver
        split, read_publish, puback = mqttwire.split, mqttwire.read_publish, mqttwire.puback

        def data_received(data: bytes) -> None:
            nonlocal pending
            if pending:
                data = pending + data
            if handler.current_connection is not conn:
                return  # a superseded connection: gmqtt drops its packets too
            conn._last_data_in = time.monotonic()  # gmqtt's keep-alive watches it
            packets: list[tuple[int, bytes]] = []
            used = split(data, packets)
            if used < 0:  # a length MQTT does not allow: the stream cannot be trusted
                log.error("%s: malformed packet from the broker; reconnecting", self.client_id)
                pending = b""
                proto._transport.close()
                return
            pending = data[used:]
            with self.corked():  # its PUBACKs and the door's immediate replies: one write
                for first, body in packets:
                    if first == 0x40 and len(body) >= 2:  # the broker has one of our QoS 1 messages
                        mid = (body[0] << 8) | body[1]
                        ids.free_id(mid)  # what gmqtt's PUBACK handler does, without its dispatch
                        storage.remove_message_by_mid(mid)
                        continue
                    pub = read_publish(first, body, v5) if first & 0xF0 == 0x30 else None
                    if pub is None:
                        handler(Package(first, body))
                        continue
                    topic, payload, mid = pub
                    if mid is not None:
                        acks.append(puback(mid, v5))
                    try:
                        deliver(topic, payload)
                    except Exception:  # as gmqtt's handler: logged, the connection goes on
                        log.exception("delivering %s failed", topic[:200])

        proto.data_received = data_received
        self._proto, self._v5 = proto, v5

    def _on_loop(self) -> bool:
        return threading.get_ident() == self._loop_thread

    # ------------------------------------------------------------ callbacks --
    def _on_connect(self, client, flags, rc, properties) -> None:
        import gmqtt
        self._take_reads()
        with self._lock:
            subs = list(self._subs)
        if subs:  # one SUBSCRIBE; gmqtt's own list is rebuilt, not grown, on each reconnect
            client.subscriptions = []
            client.subscribe([gmqtt.Subscription(s.pattern, qos=s.qos) for s in subs])
        if self._availability:
            spec, ident = self._availability
            client.publish(spec.topic(self.hall_id, ident),
                           messages.encode(messages.Availability(state="online")), qos=1, retain=True)
        self._connected.set()
        while self._offline:  # what was published while the connection was down
            topic, data, qos, retain = self._offline.popleft()
            client.publish(topic, data, qos=qos, retain=retain)
        for hook in self._connect_hooks:
            try:
                hook()
            except Exception:  # a hook must not break the connection
                log.exception("on_connect hook failed")
        log.info("%s connected to %s:%s", self.client_id, self.settings.host, self.settings.port)

    def _on_disconnect(self, client, packet, exc=None) -> None:
        self._proto = None
        if self._connected.is_set() and not self._stopping:
            log.warning("%s disconnected; reconnecting", self.client_id)
        self._connected.clear()

    def _on_message(self, client, topic, payload, qos, properties) -> int:
        self.deliver(topic, payload)
        return 0  # PUBACK "success" (already sent: optimistic acknowledgement)


class _Cork:
    """:meth:`LoopBus.corked` while connected: the protocol's writes are
    collected, then written at once."""

    __slots__ = ("_bus", "_proto", "_buf")

    def __init__(self, bus: LoopBus, proto: Any):
        self._bus, self._proto = bus, proto

    def __enter__(self) -> None:
        self._buf: list[bytes] = []
        self._proto.write_data = self._buf.append
        self._bus._corked = True

    def __exit__(self, *exc: Any) -> None:
        proto, bus, buf = self._proto, self._bus, self._buf
        del proto.write_data  # the class's method again
        bus._corked = False
        acks = bus._acks
        if acks and (buf or bus._hold is None or not bus._hold()):
            buf[:0] = acks  # acknowledgements first, in the order they were read
            acks.clear()
        if buf:
            proto.write_data(b"".join(buf))


_UNCORKED = contextlib.nullcontext()

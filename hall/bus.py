"""The MQTT client wrapper every process uses (the only module that imports paho).

* Topics come from :mod:`hall.topics` specs; this module never builds a topic
  string itself, and refuses to publish to one holding ``+`` or ``#``.
* Availability is retained JSON with a Last-Will ``{"state":"offline"}``,
  republished ``online`` on every (re)connect; ``stop()`` leaves ``stopped``.
* Subscriptions are remembered and renewed on reconnect; ``on_connect`` hooks
  let a process republish its retained state after the broker restarts.
* MQTT 5 where the broker speaks it, 3.1.1 otherwise (amqtt): nothing in the
  protocol depends on MQTT 5 properties, request ids live in the payload.
* Typed for every process: :meth:`Bus.listen` hands a subscriber the struct
  its registry entry names (hall/messages.py), and drops a payload that does
  not decode with a log line naming the field; :class:`Requester` sends each
  op's request type and returns its reply type.  Only the engine's door
  subscribes raw (:meth:`Bus.subscribe`): it answers a bad request itself.
"""

from __future__ import annotations

import itertools
import logging
import os
import ssl
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import msgspec

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

from . import messages
from .errors import ErrorCode as E
from .pii import scrub
from .topics import REGISTRY, Parsed, TopicError, TopicSpec

log = logging.getLogger("hall.bus")

Handler = Callable[[Parsed, bytes], None]
TypedHandler = Callable[[Parsed, Any], None]  # (parsed, the payload's struct or None)



TLS_PORT = 8883
PLAIN_PORT = 1883
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class BusSettings:
    """Where and as whom one process connects.

    ``tls``: TLS to the broker's hall-LAN listener (8883), checking the broker's
    certificate against ``cafile`` (the hall CA made by ``onewindow certs``);
    ``certfile``/``keyfile`` present this device's own certificate. Plaintext is
    meant for loopback only (the hall server's own processes).
    """

    host: str = "127.0.0.1"
    port: int = PLAIN_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    protocol: str = "5"  # "5" or "3.1.1"
    keepalive: int = 30
    tls: bool = False
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None

    @classmethod
    def from_env(cls, **over: Any) -> "BusSettings":
        """Options given in ``over`` (not None) win over the environment:
        ONEWINDOW_MQTT_HOST/PORT/USER/PROTOCOL/TLS/CAFILE/CERTFILE/KEYFILE and
        ONEWINDOW_MQTT_PASSWORD_FILE. The password comes from a file, by default
        the systemd credential ``$CREDENTIALS_DIRECTORY/mqtt-password``, so it is
        never in the unit file or the process list; systemd credentials
        ``mqtt-ca``, ``mqtt-cert``, ``mqtt-key`` are the TLS defaults.

        ``password_file`` in ``over`` names the password file; ``port`` defaults
        to 8883 with TLS, 1883 without.
        """
        env = os.environ
        cred = env.get("CREDENTIALS_DIRECTORY")

        def credential(name: str) -> str | None:
            path = os.path.join(cred, name) if cred else None
            return path if path and os.path.exists(path) else None

        over = {k: v for k, v in over.items() if v is not None}
        pw_file = over.pop("password_file", None) or env.get("ONEWINDOW_MQTT_PASSWORD_FILE") \
            or credential("mqtt-password")
        pw = None
        if pw_file:
            with open(pw_file, encoding="utf-8") as f:
                pw = f.read().strip()
        vals: dict[str, Any] = dict(
            host=env.get("ONEWINDOW_MQTT_HOST", "127.0.0.1"),
            username=env.get("ONEWINDOW_MQTT_USER") or None,
            password=pw or env.get("ONEWINDOW_MQTT_PASSWORD") or None,
            protocol=env.get("ONEWINDOW_MQTT_PROTOCOL", "5"),
            cafile=env.get("ONEWINDOW_MQTT_CAFILE") or credential("mqtt-ca"),
            certfile=env.get("ONEWINDOW_MQTT_CERTFILE") or credential("mqtt-cert"),
            keyfile=env.get("ONEWINDOW_MQTT_KEYFILE") or credential("mqtt-key"),
        )
        vals.update(over)
        if "tls" not in vals:
            vals["tls"] = env.get("ONEWINDOW_MQTT_TLS", "").lower() in _TRUE
        if "port" not in vals:
            vals["port"] = int(env.get("ONEWINDOW_MQTT_PORT") or (TLS_PORT if vals["tls"] else PLAIN_PORT))
        return cls(**vals)

    def tls_context(self) -> ssl.SSLContext:
        """A client context that checks the broker's certificate and host name
        against the hall CA (``cafile``; the system CAs if none) and presents
        this device's certificate when one is configured."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.cafile)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.certfile:
            ctx.load_cert_chain(self.certfile, self.keyfile)
        return ctx


@dataclass
class _Sub:
    pattern: str
    qos: int
    handler: Handler
    spec: str
    hall_id: str  # "+" for any
    ident: str  # "+" for any

    def matches(self, parsed: Parsed) -> bool:
        return (self.ident == "+" or self.ident == parsed.ident) and \
            (self.hall_id == "+" or self.hall_id == parsed.hall_id)


class Bus:
    """One MQTT connection of one process.

    ``availability`` is the spec and id under which this client announces
    itself (e.g. ``REGISTRY["kiosk.availability"], "K01"``).
    """

    def __init__(self, hall_id: str, client_id: str, settings: BusSettings,
                 availability: tuple[TopicSpec, str] | None = None):
        self.hall_id = hall_id
        self.client_id = client_id
        self.settings = settings
        self._availability = availability
        self._subs: list[_Sub] = []
        # dispatch by registry entry: the topic is parsed once, then only the
        # few subscriptions of that entry are checked (not every pattern)
        self._by_spec: dict[str, list[_Sub]] = {}
        self._connect_hooks: list[Callable[[], None]] = []
        self.dropped: dict[str, int] = {}  # registry name → payloads that did not decode as its type
        self._connected = threading.Event()
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()
        self._stopping = False

    # ------------------------------------------------------------ lifecycle --
    def on_connect(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` (in the network thread) after every successful connect."""
        self._connect_hooks.append(hook)

    def start(self, timeout: float = 10.0, keep_trying: bool = False) -> None:
        """Connect and start the network thread; raises TimeoutError if no broker.

        ``keep_trying``: on the timeout, the connection under way is kept and paho
        goes on (re)trying in the background (a screen that shows "offline" until
        then); otherwise it is stopped.  Stopping and starting again would never
        connect over a link, or on a CPU, where a connect takes longer than the
        timeout."""
        # paho only here: the engine's default shell (hall/loopbus.py) subclasses
        # this Bus but connects with gmqtt, and paho's import costs it 2 MB of RSS
        import paho.mqtt.client as mqtt

        s = self.settings
        v5 = s.protocol == "5"
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
                        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                        clean_session=None if v5 else True)
        if s.username:
            c.username_pw_set(s.username, s.password)
        if s.tls:
            c.tls_set_context(s.tls_context())
        # 0 = no client-side inflight window. With a window, paho walks every
        # outstanding message on each PUBACK (O(n) per ack: 125 µs of CPU per
        # QoS 1 message measured under load, against ~25 µs without).
        c.max_inflight_messages_set(0)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(min_delay=1, max_delay=30)
        if self._availability:
            spec, ident = self._availability
            c.will_set(spec.topic(self.hall_id, ident),
                       messages.encode(messages.Availability(state="offline")), qos=1, retain=True)
        c.on_socket_open = _nodelay
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        self._client = c
        if v5:
            c.connect_async(s.host, s.port, keepalive=s.keepalive, clean_start=True)
        else:
            c.connect_async(s.host, s.port, keepalive=s.keepalive)
        c.loop_start()
        if not self._connected.wait(timeout):
            if not keep_trying:
                c.loop_stop()
            raise TimeoutError(f"no MQTT broker answered at {s.host}:{s.port}{' (TLS)' if s.tls else ''} "
                               f"within {timeout:.0f}s")

    def stop(self, state: str = "stopped") -> None:
        c = self._client
        if c is None:
            return
        if self._availability and self._connected.is_set():
            spec, ident = self._availability
            info = c.publish(spec.topic(self.hall_id, ident),
                             messages.encode(messages.Availability(state=state)), qos=1, retain=True)
            try:
                info.wait_for_publish(2)
            except (RuntimeError, ValueError):
                pass
        self._stopping = True
        c.disconnect()
        c.loop_stop()
        self._client = None
        self._connected.clear()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # ------------------------------------------------------------- publish --
    def publish(self, spec: TopicSpec, ident: str, payload: Any, *, retain: bool | None = None,
                qos: int | None = None, hall_id: str | None = None) -> mqtt.MQTTMessageInfo:
        topic = spec.topic(hall_id or self.hall_id, ident)
        return self.publish_raw(topic, payload, retain=spec.retained if retain is None else retain,
                                qos=spec.qos if qos is None else qos)

    def publish_raw(self, topic: str, payload: Any, *, retain: bool, qos: int = 1) -> mqtt.MQTTMessageInfo:
        if "+" in topic or "#" in topic:
            raise TopicError(f"refusing to publish to a wildcard topic {topic!r}")
        data = payload if isinstance(payload, (bytes, bytearray)) else messages.encode(payload)
        if self._client is None:
            raise RuntimeError("bus not started")
        return self._client.publish(topic, data, qos=qos, retain=retain)

    def clear_retained(self, spec: TopicSpec, ident: str) -> None:
        self.publish(spec, ident, b"", retain=True)

    # ----------------------------------------------------------- subscribe --
    def subscribe(self, spec: TopicSpec, handler: Handler, *, ident: str = "+",
                  hall_id: str | None = None) -> None:
        """Subscribe to one registry entry, raw: ``handler(parsed, payload)`` gets
        the bytes; it runs in the network thread and must not block.

        Only the engine's door uses this (it bounds and decodes each request
        itself, to answer a bad one with its own error reply); every other
        client uses :meth:`listen`, which hands over the decoded struct."""
        hid = hall_id or self.hall_id
        pattern = spec.pattern(hid, ident)
        sub = _Sub(pattern, spec.qos, handler, spec.name, hid, ident)
        with self._lock:
            self._subs.append(sub)
            self._by_spec[spec.name] = self._by_spec.get(spec.name, []) + [sub]
        if self._client is not None and self._connected.is_set():
            self._client.subscribe(pattern, qos=sub.qos)

    def listen(self, spec: TopicSpec, handler: TypedHandler, *, ident: str = "+",
               hall_id: str | None = None) -> None:
        """Subscribe to one registry entry, typed: ``handler(parsed, msg)`` gets the
        payload decoded as the entry's type (``spec.payload`` in hall/messages.py),
        or None for an empty payload (a retained topic cleared).

        A payload that does not decode (bad JSON, nested too deep, a field of the
        wrong type) never reaches the handler: it is dropped with a log line naming
        the topic, the sender's id and the field (never the payload: it may hold
        personal data), counted in :attr:`dropped`, and the process goes on."""
        typ = messages.PAYLOAD_TYPES[spec.payload]

        def typed(parsed: Parsed, payload: bytes) -> None:
            if not payload:
                handler(parsed, None)
                return
            try:
                msg = messages.decode(payload, typ)
            except msgspec.DecodeError as e:  # Unreadable and ValidationError are DecodeErrors
                self._drop(parsed, e)
                return
            handler(parsed, msg)
        self.subscribe(spec, typed, ident=ident, hall_id=hall_id)

    def _drop(self, parsed: Parsed, e: Exception) -> None:
        name = parsed.spec.name
        n = self.dropped.get(name, 0) + 1
        self.dropped[name] = n
        if n <= 10 or n % 1000 == 0:  # a sender gone wrong must not become a flood of log lines
            log.warning("dropped %s from %s: %s (%d so far)", name, parsed.ident, scrub(str(e)), n)

    def _on_connect(self, client, userdata, flags, reason_code, properties=None):
        if reason_code.is_failure:
            log.error("broker refused connection of %s: %s", self.client_id, reason_code)
            return
        with self._lock:
            subs = list(self._subs)
        if subs:
            client.subscribe([(s.pattern, s.qos) for s in subs])
        if self._availability:
            spec, ident = self._availability
            client.publish(spec.topic(self.hall_id, ident),
                           messages.encode(messages.Availability(state="online")), qos=1, retain=True)
        for hook in self._connect_hooks:
            try:
                hook()
            except Exception:  # a hook must not kill the network thread
                log.exception("on_connect hook failed")
        self._connected.set()
        log.info("%s connected to %s:%s", self.client_id, self.settings.host, self.settings.port)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None):
        if self._connected.is_set() and not self._stopping:
            log.warning("%s disconnected (%s); reconnecting", self.client_id, reason_code)
        self._connected.clear()

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage):
        self.deliver(msg.topic, msg.payload)

    def deliver(self, topic: str, payload: bytes) -> None:
        """Hand one received message to the subscriptions it matches.

        A topic outside the grammar (an unknown kind or attribute, an id with
        characters ids may not have) is dropped here with a log line: no
        handler ever sees it, and no reply could name it."""
        try:
            parsed = REGISTRY.parse(topic)
        except TopicError as e:
            log.warning("dropped message on %r: %s", topic[:200], e)
            return
        for sub in self._by_spec.get(parsed.spec.name, ()):  # replaced, never mutated: no lock
            if sub.matches(parsed):
                try:
                    sub.handler(parsed, payload)
                except Exception:
                    log.exception("handler for %s failed", topic)


def _nodelay(client, userdata, sock) -> None:
    """Small request/reply packets must not wait for Nagle's algorithm (~40 ms each way)."""
    import socket
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass  # not a TCP socket (websocket/unix): nothing to tune


class RequestError(Exception):
    """An error reply (``code``, ``message``) or no reply at all (code ``timeout``)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class _Pending:
    event: threading.Event = field(default_factory=threading.Event)
    response: messages.Response | None = None


class Requester:
    """Client side of request/response for one kind and id (a kiosk, a window).

    A retry re-sends the *same* request id, so the engine answers it from its
    idempotency record instead of doing the work twice.
    """

    def __init__(self, bus: Bus, kind: str, ident: str, prefix: str | None = None):
        self.bus = bus
        self.kind = kind
        self.ident = ident
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._prefix = prefix or f"{ident}-{os.getpid()}-{os.urandom(3).hex()}"
        self._subscribed: set[str] = set()

    def new_id(self) -> str:
        return f"{self._prefix}-{next(self._seq)}"

    def _ensure_sub(self, op: str) -> None:
        if op in self._subscribed:
            return
        self._subscribed.add(op)
        resp_spec = REGISTRY[f"{self.kind}.response.{op}"]
        self.bus.listen(resp_spec, self._on_response, ident=self.ident)

    def subscribe_all(self) -> None:
        """Subscribe to every response of this kind up front (before connecting)."""
        for spec in REGISTRY.requests():
            if spec.kind == self.kind:
                self._ensure_sub(spec.op or "")

    def _on_response(self, parsed: Parsed, resp: messages.Response | None) -> None:
        if resp is None:
            return
        with self._lock:
            p = self._pending.get(resp.id)
        if p is not None:
            p.response = resp
            p.event.set()

    def request(self, op: str, body: Any, *, timeout: float = 3.0, retries: int = 2,
                req_id: str | None = None) -> Any:
        """Send ``body`` (a dict of fields without ``id``, or the request struct)
        as the op's registered request type; return the reply's ``data`` as its
        registered type (``messages.RESPONSE_DATA``).

        Raises :class:`RequestError`: ``bad_request`` naming the field when the
        body is not a valid request (nothing is sent), the engine's code on an
        error reply, ``internal`` when an ok reply does not fit its type,
        ``offline`` or ``timeout``.
        """
        name = f"{self.kind}.{op}"
        data = self._exchange(op, name, body, timeout, retries, req_id)
        try:
            return messages.reply_data(name, data)
        except msgspec.ValidationError as e:
            raise RequestError(E.INTERNAL, f"the reply to {op} is not a {messages.RESPONSE_DATA[name].__name__}: "
                                           f"{e}") from None

    def call(self, op: str, body: Any, *, timeout: float = 3.0, retries: int = 2,
             req_id: str | None = None) -> Any:
        """:meth:`request`, with the typed reply turned into plain JSON values
        (dicts and lists): for command-line tools that print it, and scripts."""
        return msgspec.to_builtins(self.request(op, body, timeout=timeout, retries=retries, req_id=req_id))

    def _exchange(self, op: str, name: str, body: Any, timeout: float, retries: int,
                  req_id: str | None) -> Any:
        spec = REGISTRY[f"{self.kind}.request.{op}"]
        rid = req_id or self.new_id()
        try:
            data = messages.request_payload(name, rid, body)
        except msgspec.ValidationError as e:
            raise RequestError(E.BAD_REQUEST, f"{op}: {e}") from None
        if not self.bus.connected:
            # Not queued for later: a kiosk whose citizen has walked away must not
            # have its request delivered minutes afterwards (a ghost ticket).
            raise RequestError(E.OFFLINE, "not connected to the hall bus")
        self._ensure_sub(op)
        pending = _Pending()
        with self._lock:
            self._pending[rid] = pending
        try:
            for _attempt in range(retries + 1):
                if not self.bus.connected:
                    raise RequestError(E.OFFLINE, "lost the connection to the hall bus")
                self.bus.publish(spec, self.ident, data)
                if pending.event.wait(timeout):
                    resp = pending.response
                    assert resp is not None
                    if resp.status == "ok":
                        return resp.data
                    err = resp.error
                    raise RequestError(err.code if err else E.INTERNAL, err.message if err else "")
            raise RequestError(E.TIMEOUT, f"no reply to {op} within {timeout}s × {retries + 1}")
        finally:
            with self._lock:
                self._pending.pop(rid, None)

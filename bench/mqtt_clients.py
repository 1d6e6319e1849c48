"""The maintained Python MQTT clients side by side in the engine's shape:
`python bench/mqtt_clients.py --json`.

The server under test is a request/reply echo process, one per client library:
it subscribes to ``bench/request/+`` (QoS 1, so it sends a PUBACK for each
request, as the engine does) and answers every request with a small JSON reply
at QoS 0 on ``bench/response/<n>``. 16 closed-loop clients (bench/mqtt_load.py's
lean asyncio client, other connections in this process) drive it through a real
mosquitto started by hall/broker.py, MQTT 5 as the engine speaks it.

Servers:
  paho-thread   paho-mqtt with ``loop_start()`` (its network thread), as hall/bus.py
                runs it; the reply is published from the message callback
  paho-asyncio  paho-mqtt driven from one asyncio event loop through its socket
                callbacks (``loop_read``/``loop_write``/``loop_misc``), no thread
  gmqtt         gmqtt (asyncio-native)
  aiomqtt       aiomqtt (asyncio wrapper over paho: ``async for`` over messages)

Figures per server (median over ``--repeat`` runs, the servers interleaved so
the machine's other load falls on all of them alike):
  cpu_us_per_req  the server process's own CPU (``time.process_time()`` read inside
                  the server at the start and end of the window) per request: the
                  figure that does not depend on what else the machine runs
  req_per_s       requests answered per second of wall time (contended machine)
  p50_ms, p99_ms  request → reply at the client, wall time (contended machine)
A library that is not installed is reported as such, not skipped silently.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mqtt_load import LeanClient  # noqa: E402

KINDS = ("paho-thread", "paho-asyncio", "gmqtt", "aiomqtt")
MODULE = {"paho-thread": "paho", "paho-asyncio": "paho", "gmqtt": "gmqtt", "aiomqtt": "aiomqtt"}
CLIENTS = 16
REQ, CTL = "bench/request/+", "bench/ctl"


class Echo:
    """What every server does with a message, whatever library brought it: the same
    work for all, so the difference is the library's."""

    def __init__(self):
        self.n = 0

    def reply(self, topic: str, payload: bytes) -> tuple[str, bytes]:
        msg = json.loads(payload)
        if topic == CTL:  # the driver's mark: this process's CPU and count right now
            return "bench/response/ctl", json.dumps(
                {"id": msg["id"], "cpu_s": time.process_time(), "n": self.n}).encode()
        self.n += 1
        return (topic.replace("/request/", "/response/", 1),
                json.dumps({"id": msg["id"], "ok": True, "number": f"A{self.n % 10000:04d}"}).encode())


def _nodelay(client, userdata, sock) -> None:
    import socket
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _paho_client(echo: Echo, client_id: str):
    import paho.mqtt.client as mqtt
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(0)  # as hall/bus.py (its comment says why)
    c.max_queued_messages_set(0)

    def on_message(cl, userdata, msg):
        cl.publish(*echo.reply(msg.topic, msg.payload), qos=0)

    def on_connect(cl, userdata, flags, rc, props=None):
        cl.subscribe([(REQ, 1), (CTL, 1)])

    c.on_message, c.on_connect = on_message, on_connect
    return c


def serve_paho_thread(port: int, ready) -> None:
    c = _paho_client(Echo(), "srv-paho-thread")
    c.on_socket_open = _nodelay
    c.on_subscribe = lambda *a: ready()
    c.connect("127.0.0.1", port, clean_start=True)
    c.loop_forever()


async def serve_paho_asyncio(port: int, ready) -> None:
    import paho.mqtt.client as mqtt
    loop = asyncio.get_running_loop()
    c = _paho_client(Echo(), "srv-paho-asyncio")
    c.on_subscribe = lambda *a: ready()

    def opened(cl, userdata, sock):
        _nodelay(cl, userdata, sock)
        loop.add_reader(sock, cl.loop_read)

    c.on_socket_open = opened
    c.on_socket_close = lambda cl, u, sock: loop.remove_reader(sock)
    c.on_socket_register_write = lambda cl, u, sock: loop.add_writer(sock, cl.loop_write)
    c.on_socket_unregister_write = lambda cl, u, sock: loop.remove_writer(sock)
    c.connect("127.0.0.1", port, clean_start=True)
    while c.loop_misc() == mqtt.MQTT_ERR_SUCCESS:  # keepalive pings, once a second
        await asyncio.sleep(1)


async def serve_gmqtt(port: int, ready) -> None:
    import gmqtt
    echo = Echo()
    c = gmqtt.Client("srv-gmqtt")

    def on_message(cl, topic, payload, qos, properties):
        cl.publish(*echo.reply(topic, payload), qos=0)
        return 0  # PUBACK: success

    c.on_message = on_message
    c.on_subscribe = lambda *a: ready()
    await c.connect("127.0.0.1", port, version=gmqtt.constants.MQTTv50)
    c.subscribe([gmqtt.Subscription(REQ, qos=1), gmqtt.Subscription(CTL, qos=1)])
    await asyncio.Event().wait()


async def serve_aiomqtt(port: int, ready) -> None:
    import aiomqtt
    echo = Echo()
    c = aiomqtt.Client("127.0.0.1", port, identifier="srv-aiomqtt", protocol=aiomqtt.ProtocolVersion.V5,
                       max_inflight_messages=0)
    # aiomqtt owns paho's on_socket_open; Nagle off before its own hook runs
    own = c._client.on_socket_open

    def opened(cl, userdata, sock):
        _nodelay(cl, userdata, sock)
        own(cl, userdata, sock)

    c._client.on_socket_open = opened
    async with c:
        await c.subscribe([(REQ, 1), (CTL, 1)])
        ready()
        async for msg in c.messages:
            await c.publish(*echo.reply(str(msg.topic), msg.payload), qos=0)


def serve(kind: str, port: int) -> None:
    def ready():
        print("ready", flush=True)

    if kind == "paho-thread":
        serve_paho_thread(port, ready)
    else:
        asyncio.run({"paho-asyncio": serve_paho_asyncio, "gmqtt": serve_gmqtt,
                     "aiomqtt": serve_aiomqtt}[kind](port, ready))


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def drive(port: int, duration: float, warmup: float) -> dict:
    ctl = LeanClient("127.0.0.1", port, "drv-ctl", CTL, "bench/response/ctl")
    await ctl.connect()
    clients = [LeanClient("127.0.0.1", port, f"drv-{i}", f"bench/request/{i}", f"bench/response/{i}")
               for i in range(CLIENTS)]
    for c in clients:
        await c.connect()
    lat: list[float] = []
    measuring = False
    stop = False

    async def loop(i: int, c: LeanClient) -> None:
        k = 0
        while not stop:
            k += 1
            t0 = time.perf_counter()
            await c.call_on(c.req_topic, f"{i}-{k}", {"matter": "M1"})
            if measuring:
                lat.append((time.perf_counter() - t0) * 1000)

    tasks = [asyncio.create_task(loop(i, c)) for i, c in enumerate(clients)]
    await asyncio.sleep(warmup)
    m0 = await ctl.call_on(CTL, "m0", {})
    t0 = time.monotonic()
    measuring = True
    await asyncio.sleep(duration)
    measuring = False
    m1 = await ctl.call_on(CTL, "m1", {})
    wall = time.monotonic() - t0
    stop = True
    await asyncio.gather(*tasks, return_exceptions=True)
    for c in [ctl, *clients]:
        c.w.close()
    n = m1["n"] - m0["n"]
    return {"cpu_us_per_req": round((m1["cpu_s"] - m0["cpu_s"]) / n * 1e6, 1) if n else None,
            "req_per_s": round(n / wall), "p50_ms": round(statistics.median(lat), 2),
            "p99_ms": round(pct(lat, 99), 2), "requests": n}


def run_one(kind: str, port: int, duration: float, warmup: float) -> dict:
    srv = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port)],
                           stdout=subprocess.PIPE, text=True)
    try:
        if srv.stdout.readline().strip() != "ready":
            raise SystemExit(f"{kind} server did not start (exit {srv.wait()})")
        return asyncio.run(drive(port, duration, warmup))
    finally:
        srv.kill()
        srv.wait()


def installed(kind: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(MODULE[kind]) is not None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="Print one JSON object.")
    ap.add_argument("--duration", type=float, default=5.0, help="Seconds measured per run.")
    ap.add_argument("--repeat", type=int, default=3, help="Runs per server (median reported).")
    ap.add_argument("--only", action="append", choices=KINDS, help="Measure only this server (repeatable).")
    ap.add_argument("--quick", action="store_true",
                    help="Seconds, not minutes: proves the benchmark runs (CI); its figures mean nothing.")
    ap.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        serve(a.serve, a.port)
        return
    from hall.broker import start_local_broker
    if a.quick:
        a.duration, a.repeat = 0.5, 1
    warmup = 0.2 if a.quick else 1.0
    kinds = a.only or list(KINDS)
    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                            f"Python {platform.python_version()}",
                 "load_avg_before": [round(x, 2) for x in os.getloadavg()], "clients": CLIENTS}
    runs: dict[str, list[dict]] = {k: [] for k in kinds if installed(k)}
    broker = start_local_broker(workdir=Path(tempfile.mkdtemp(prefix="onewindow-bench-mqtt-")))
    try:
        for _ in range(a.repeat):
            for kind in runs:
                runs[kind].append(run_one(kind, broker.port, a.duration, warmup))
    finally:
        broker.stop()
    out["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    out["versions"] = {k: _version(k) for k in kinds}
    for kind in kinds:
        if kind not in runs:
            out[kind] = "not installed"
            continue
        rs = runs[kind]
        out[kind] = {f: statistics.median(r[f] for r in rs) for f in ("cpu_us_per_req", "req_per_s", "p50_ms", "p99_ms")}
        out[kind]["runs_cpu_us_per_req"] = [r["cpu_us_per_req"] for r in rs]
    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:16} {v}")


def _version(kind: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version({"paho": "paho-mqtt"}.get(MODULE[kind], MODULE[kind]))
    except PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    main()

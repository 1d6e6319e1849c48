"""Window terminal benchmark: `python bench/web.py --json` (`--quick` for a short run).

Through a real mosquitto, the engine (`onewindow caller`) and `onewindow web serve`
each in its own process, with 50 clerks logged in at 50 windows, each with its
page's live event stream open (SSE):

- next_to_form_p99_ms  a clerk's `next` (the POST leaving the browser) → the called
                       citizen's filled form arriving in that page's data (the `visit`
                       event on its stream); p50 too. Calls go round the 50 windows,
                       one at a time, while every page also receives its window's
                       state and queue updates.
- web_rss_mb           the web process's resident memory after the run (VmRSS), and
                       its peak (VmHWM) as web_rss_peak_mb.
- dashboard_load_ms    the admin console's dashboard opened by a logged-in auditor, on
                       the same 50-window hall while it serves: the page (rendered on the
                       server with every window) plus the first `dashboard` event of its
                       live stream; the 95th percentile of 20 loads (p50 too).
- month_report_s       a month's report opened in the console of the example hall
                       (52 windows, 69 matters, 8 zones) with 90 open days of history
                       (~150k tickets, bench/reportkit.py): the page with the
                       month's figures, rankings and tables, then its four charts
                       fetched at once as a browser does; the slowest of three months,
                       each the first time it is asked (no cache). month_xlsx_s: that
                       month's XLSX export after the page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import yaml  # noqa: E402

from hall.broker import start_local_broker  # noqa: E402
from hall.bus import Bus, Requester  # noqa: E402
from hall.crypto import use_fresh_key  # noqa: E402
from hallkit import one_matter_hall  # noqa: E402
from web.auth import hash_pin  # noqa: E402
from web.console.accounts import Account, hash_password, save_accounts  # noqa: E402

CONSOLE_PASSWORD = "bench-audit-pass"

PIN = "246810"
FORM = {"company_name": "杭州西湖味道餐饮有限公司", "legal_person": "张三", "id_number": "11010519491231002X",
        "phone": "13812345678", "address": "杭州市西湖区文三路 90 号", "capital": "500",
        "business_scope": "餐饮服务；食品销售", "email": "zhang@example.com"}
FIELDS = [("company_name", "企业名称", "company"), ("legal_person", "法定代表人", "name"),
          ("id_number", "公民身份号码", "id_number"), ("phone", "联系电话", "phone"), ("address", "住所", "address"),
          ("capital", "注册资本（万元）", "number"), ("business_scope", "经营范围", "text"), ("email", "电子邮箱", "text")]


def bench_hall(terminals: int) -> dict:
    pin = hash_pin(PIN)
    wins = [f"W{i:02d}" for i in range(1, terminals + 1)]
    return one_matter_hall(f"bench{os.getpid()}", "基准测试中心", ("有限责任公司设立登记", "Company"),
                           ("市场监督管理局", "Market"),
                           [{"id": w, "number": str(i + 1), "zone": "Z1", "serves": {"M1": 1}}
                            for i, w in enumerate(wins)]) | {
        "forms": {"fields": [{"id": f, "label": {"zh": zh, "en": f}, "type": t} for f, zh, t in FIELDS],
                  "forms": [{"matter": "M1", "fields": [f for f, _, _ in FIELDS]}]},
        "staff": [{"id": f"S{i:03d}", "name": f"职员{i}", "pin_hash": pin, "windows": [w]}
                  for i, w in enumerate(wins, 1)],
    }


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_mem(pid: int) -> tuple[float, float]:
    rss = hwm = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm


class Terminal:
    def __init__(self, base: str, window: str, staff: str):
        self.window, self.staff = window, staff
        self.http = httpx.AsyncClient(base_url=base, timeout=30)
        self.cookie = self.csrf = ""
        self.visits: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def login(self) -> None:
        r = await self.http.post("/terminal/login", data={"window": self.window, "staff": self.staff, "pin": PIN})
        m = re.search(r"ow_session=([^;]+)", r.headers.get("set-cookie", ""))
        if r.status_code != 303 or not m:
            raise RuntimeError(f"login {self.staff}@{self.window}: HTTP {r.status_code}")
        self.cookie = m.group(1)
        page = await self.http.get("/terminal/", headers=self.h)
        self.csrf = re.search(r'name="csrf" content="([^"]+)"', page.text).group(1)

    @property
    def h(self) -> dict:
        return {"Cookie": f"ow_session={self.cookie}"}

    async def listen(self, ready: asyncio.Event) -> None:
        while True:  # as a browser's EventSource: a dropped stream is opened again
            try:
                await self._stream(ready)
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)

    async def _stream(self, ready: asyncio.Event) -> None:
        async with self.http.stream("GET", "/terminal/events", headers=self.h, timeout=None) as r:
            event = None
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                    if event == "pending":
                        ready.set()  # the last event of the snapshot
                elif line.startswith("data: ") and event == "visit":
                    data = json.loads(line[6:])
                    if data is not None:
                        self.visits.put_nowait((time.perf_counter(), data))

    async def next(self, n: int) -> float:
        """`next`, then wait for the form in this page's data; returns ms."""
        while not self.visits.empty():
            self.visits.get_nowait()
        t0 = time.perf_counter()
        r = await self.http.post("/terminal/act/next", json={"rid": f"bench{n:06d}"},
                                 headers={**self.h, "X-CSRF-Token": self.csrf})
        if r.status_code != 200:
            raise RuntimeError(f"next at {self.window}: {r.status_code} {r.text}")
        number = r.json()["state"]["ticket"]["number"]
        while True:
            t1, v = await asyncio.wait_for(self.visits.get(), 10)
            if v["number"] == number and v["form"]:
                return (t1 - t0) * 1000


async def run(base: str, terminals: int, calls: int) -> dict:
    ts = [Terminal(base, f"W{i:02d}", f"S{i:03d}") for i in range(1, terminals + 1)]
    for t in ts:  # one by one: argon2 is meant to be slow
        await t.login()
    readies = []
    for t in ts:
        ev = asyncio.Event()
        readies.append(ev)
        t.task = asyncio.ensure_future(t.listen(ev))
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies)), 120)
    lat = []
    for n in range(calls):
        lat.append(await ts[n % terminals].next(n))
    for t in ts:
        t.task.cancel()
        await t.http.aclose()
    lat.sort()
    return {"next_to_form_p50_ms": round(statistics.median(lat), 1),
            "next_to_form_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
            "next_to_form_max_ms": round(lat[-1], 1), "calls": calls}


async def console_login(base: str) -> tuple[httpx.AsyncClient, dict]:
    http = httpx.AsyncClient(base_url=base, timeout=60)
    r = await http.post("/admin/login", data={"user": "bench-aud", "password": CONSOLE_PASSWORD})
    m = re.search(r"ow_admin=([^;]+)", r.headers.get("set-cookie", ""))
    if r.status_code != 303 or not m:
        raise RuntimeError(f"console login: HTTP {r.status_code}")
    return http, {"Cookie": f"ow_admin={m.group(1)}"}


async def dashboard_loads(base: str, n: int) -> dict:
    """The dashboard page, then the first `dashboard` event of its stream; ms per load."""
    http, h = await console_login(base)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        page = await http.get("/admin/", headers=h)
        if page.status_code != 200 or "大厅看板" not in page.text:
            raise RuntimeError(f"dashboard: HTTP {page.status_code}")
        async with http.stream("GET", "/admin/events", headers=h, timeout=30) as r:
            event = None
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "dashboard":
                    break
        times.append((time.perf_counter() - t0) * 1000)
    await http.aclose()
    times.sort()
    return {"dashboard_load_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
            "dashboard_load_p50_ms": round(statistics.median(times), 1), "dashboard_loads": n}


async def month_reports(base: str, months: list[str]) -> dict:
    http, h = await console_login(base)
    took = []
    for month in months:
        t0 = time.perf_counter()
        page = await http.get(f"/admin/reports?month={month}", headers=h)
        if page.status_code != 200 or 'id="eff-staff"' not in page.text:
            raise RuntimeError(f"report {month}: HTTP {page.status_code}")
        pngs = await asyncio.gather(*(http.get(f"/admin/reports/chart/{c}.png?month={month}", headers=h)
                                      for c in ("arrivals", "waits", "satisfaction", "utilisation")))
        if any(p.status_code != 200 or p.content[:4] != b"\x89PNG" for p in pngs):
            raise RuntimeError(f"charts of {month}")
        took.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    x = await http.get(f"/admin/reports/export.xlsx?month={months[-1]}", headers=h)
    if x.status_code != 200 or x.content[:2] != b"PK":
        raise RuntimeError("xlsx export")
    xlsx_s = time.perf_counter() - t0
    await http.aclose()
    return {"month_report_s": round(max(took), 2), "month_report_each_s": [round(t, 2) for t in took],
            "month_xlsx_s": round(xlsx_s, 2)}


def console_bench(work: Path, env: dict, exe: list[str], quick: bool) -> dict:
    """month_report_s: a second web process on the example hall, with its history."""
    import datetime as dt

    from hall.config import load_config
    from reportkit import synth_history
    example = ROOT / "config" / "hall.example.yaml"
    days = 10 if quick else 90
    t0 = time.perf_counter()
    tickets = synth_history(load_config(example), work / "history.sqlite", dt.date(2026, 11, 30), days, 1700)
    made_s = time.perf_counter() - t0
    months = ["2026-11"] if quick else ["2026-09", "2026-10", "2026-11"]
    port = free_port()
    web = subprocess.Popen(exe + ["web", "serve", "--config", str(example), "--http-port", str(port),
                                  "--accounts", str(work / "accounts.json"), "--acks-db", str(work / "acks2.sqlite"),
                                  "--engine-db", str(work / "history.sqlite")],
                           env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/admin/login", 30)
        time.sleep(3)  # the process warms its chart library at start (web/app.py): a report comes later
        out = asyncio.run(month_reports(base, months))
        rss, hwm = proc_mem(web.pid)
        out.update({"reports_web_rss_mb": round(rss, 1), "reports_web_rss_peak_mb": round(hwm, 1)})
    finally:
        web.terminate()
        try:
            web.wait(10)
        except subprocess.TimeoutExpired:
            web.kill()
    return {**out, "history_days": days, "history_tickets": tickets, "history_made_s": round(made_s, 1)}


def wait_http(url: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="Print one JSON object.")
    ap.add_argument("--quick", action="store_true", help="A short run (100 calls) to prove it works.")
    ap.add_argument("--terminals", type=int, default=50, help="Clerks logged in, each with its page open.")
    ap.add_argument("--calls", type=int, default=1000, help="`next` calls measured.")
    args = ap.parse_args()
    calls = 100 if args.quick else args.calls
    work = Path(tempfile.mkdtemp(prefix="onewindow-bench-web-"))
    use_fresh_key(work)  # the engine encrypts personal data with it
    raw = bench_hall(args.terminals)
    (work / "hall.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    save_accounts(work / "accounts.json", [Account("bench-aud", "审计", "auditor", hash_password(CONSOLE_PASSWORD))])
    broker = start_local_broker(workdir=work / "broker")
    env = {**os.environ, "ONEWINDOW_MQTT_HOST": "127.0.0.1", "ONEWINDOW_MQTT_PORT": str(broker.settings.port)}
    exe = [sys.executable, "-m", "hall.cli"]
    procs = []
    try:
        procs.append(subprocess.Popen(exe + ["caller", "--config", str(work / "hall.yaml"),
                                             "--db", str(work / "caller.sqlite")], env=env, cwd=ROOT,
                                      stderr=subprocess.DEVNULL))
        port = free_port()
        web = subprocess.Popen(exe + ["web", "serve", "--config", str(work / "hall.yaml"), "--http-port", str(port),
                                      "--accounts", str(work / "accounts.json"),
                                      "--acks-db", str(work / "acks.sqlite")],
                               env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        procs.append(web)
        bus = Bus(raw["hall"]["id"], "bench-kiosk", broker.settings)
        bus.start()
        kiosk = Requester(bus, "kiosk", "K1")
        end = time.monotonic() + 20
        while True:  # the engine is up when it answers
            try:
                kiosk.call("issue", {"matter": "M1", "form": FORM}, timeout=1, retries=0)
                break
            except Exception:
                if time.monotonic() > end:
                    raise
        for _ in range(calls):
            kiosk.call("issue", {"matter": "M1", "form": FORM})
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                httpx.get(base + "/terminal/login", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)
        result = asyncio.run(run(base, args.terminals, calls))
        result.update(asyncio.run(dashboard_loads(base, 5 if args.quick else 20)))
        rss, hwm = proc_mem(web.pid)
        result.update({"web_rss_mb": round(rss, 1), "web_rss_peak_mb": round(hwm, 1), "terminals": args.terminals,
                       "machine": platform.machine(), "cpus": os.cpu_count(),
                       "load": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d")})
        bus.stop()
        result.update(console_bench(work, env, exe, args.quick))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)  # 90 days of history are ~190 MB
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:24} {v}")


if __name__ == "__main__":
    main()

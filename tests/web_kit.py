"""The window terminal under test: a hall config with a roster and guides, the
`onewindow web` app served by uvicorn on a free port, and an HTTP clerk with
its live event stream."""

from __future__ import annotations

import json
import queue
import re
import socket
import threading
import time
from typing import Any

import httpx

from hall.config import HallConfig, parse_config
from tests.conftest import small_raw, unique_hall_id

PIN = "246810"
OTHER_PIN = "135790"
_hashes: dict[str, str] = {}


def pin_hash(pin: str) -> str:
    if pin not in _hashes:  # argon2 takes ~0.1 s: once per PIN per test run
        from web.auth import hash_pin
        _hashes[pin] = hash_pin(pin)
    return _hashes[pin]


GUIDE_M1 = {
    "target": "M1",
    "questions": [{"id": "agent", "text": {"zh": "是否委托他人办理？", "en": "Agent?"},
                   "options": [{"id": "self", "text": {"zh": "本人办理", "en": "Myself"}},
                               {"id": "agent", "text": {"zh": "委托代理人", "en": "An agent"}}]}],
    "materials": [
        {"id": "id_card", "name": {"zh": "身份证原件", "en": "ID card"}},
        {"id": "articles", "name": {"zh": "公司章程", "en": "Articles of association"},
         "note": {"zh": "全体股东签字", "en": "signed by all shareholders"}},
        {"id": "lease", "name": {"zh": "住所使用证明", "en": "Proof of premises"}},
        {"id": "proxy", "name": {"zh": "授权委托书", "en": "Power of attorney"}, "when": {"agent": ["agent"]}},
    ]}


FORM_FIELDS = [
    {"id": "company_name", "label": {"zh": "企业名称", "en": "Company name"}, "type": "company"},
    {"id": "legal_person", "label": {"zh": "法定代表人", "en": "Legal representative"}, "type": "name",
     "profile": "name"},
    {"id": "id_number", "label": {"zh": "公民身份号码", "en": "ID number"}, "type": "id_number",
     "profile": "id_number"},
    {"id": "phone", "label": {"zh": "联系电话", "en": "Phone"}, "type": "phone", "profile": "phone"},
    {"id": "address", "label": {"zh": "住所", "en": "Address"}, "type": "address", "profile": "address"},
]
FORMS = {"fields": FORM_FIELDS, "forms": [
    {"matter": mid, "fields": [f["id"] for f in FORM_FIELDS],
     "optional": [f["id"] for f in FORM_FIELDS]} for mid in ("M1", "M2", "M3")]}  # a test may send a few


def terminal_raw() -> dict:
    raw = small_raw()
    raw["hall"]["id"] = unique_hall_id()
    raw["kiosks"] = {"devices": raw["kiosks"]["devices"], "guides": [GUIDE_M1]}
    raw["forms"] = FORMS
    raw["staff"] = [
        {"id": "S001", "name": "王芳", "pin_hash": pin_hash(PIN), "windows": ["W1", "W2"]},
        {"id": "S002", "name": "李明", "pin_hash": pin_hash(OTHER_PIN), "windows": ["W2"]},
    ]
    return raw


def terminal_config(**over: Any) -> HallConfig:
    raw = terminal_raw()
    raw.update(over)
    return parse_config(raw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebServer:
    """`onewindow web` in this process: the real app, hub and uvicorn on a free port."""

    def __init__(self, cfg: HallConfig, bus_settings, clock=None, timeout_s: float = 2.0, retries: int = 1,
                 accounts=None, acks_path: str = ":memory:", admin_id: str | None = None, admin_bus=None,
                 **auth_kw):
        import uvicorn

        from web.app import WebContext, create_app
        from web.auth import Auth
        from web.busclient import Hub
        self.hub = Hub(cfg.hall.id, bus_settings, client_id=f"web-{cfg.hall.id}-{free_port()}",
                       timeout_s=timeout_s, retries=retries)
        self.auth = Auth(cfg.staff, **auth_kw)
        from web.console.accounts import ConsoleAuth
        from web.console.acks import AckStore
        kw = {"clock": clock} if clock else {}
        self.ctx = WebContext(cfg=cfg, hub=self.hub, auth=self.auth, accounts=ConsoleAuth(accounts or [], **auth_kw),
                              acks=AckStore(acks_path), admin_id=admin_id,
                              admin_bus=(admin_bus or bus_settings) if admin_id else None, **kw)
        self.app = create_app(self.ctx)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def start(self) -> "WebServer":
        self.thread.start()
        end = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > end or not self.thread.is_alive():
                raise RuntimeError("web server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class Events:
    """A page's event stream, read in a thread: ``get(name, where)`` waits for one."""

    def __init__(self, client: httpx.Client, headers: dict, path: str = "/terminal/events"):
        self.q: queue.Queue = queue.Queue()
        self.all: list[tuple[str, Any, float]] = []
        self._stop = False
        self._resp = None
        self.thread = threading.Thread(target=self._run, args=(client, headers, path), daemon=True)
        self.thread.start()

    def _run(self, client: httpx.Client, headers: dict, path: str) -> None:
        try:
            self._read(client, headers, path)
        except (httpx.HTTPError, ValueError):
            if not self._stop:  # closing the client under the stream ends it this way
                raise

    def _read(self, client: httpx.Client, headers: dict, path: str) -> None:
        with client.stream("GET", path, headers=headers, timeout=None) as r:
            self._resp = r
            event = None
            for line in r.iter_lines():
                if self._stop:
                    return
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event:
                    item = (event, json.loads(line[6:]), time.monotonic())
                    self.all.append(item)
                    self.q.put(item)
                    event = None

    def get(self, name: str, where=lambda d: True, timeout: float = 10.0) -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                ev, data, _ = self.q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if ev == name and where(data):
                return data
        raise AssertionError(f"no {name} event matching within {timeout}s; saw {[e[0] for e in self.all][-20:]}")

    def close(self) -> None:
        self._stop = True
        if self._resp is not None:
            try:
                self._resp.close()
            except Exception:
                pass


class Clerk:
    """A clerk's browser, spoken to in HTTP: login, page, actions, event stream."""

    def __init__(self, web: WebServer):
        self.web = web
        self.http = httpx.Client(base_url=web.url, timeout=15, follow_redirects=False)
        self.cookie = ""
        self.csrf = ""
        self.events: Events | None = None
        self._n = 0

    def login(self, window: str, staff: str, pin: str) -> httpx.Response:
        r = self.http.post("/terminal/login", data={"window": window, "staff": staff, "pin": pin})
        m = re.search(r"ow_session=([^;]+)", r.headers.get("set-cookie", ""))
        if r.status_code == 303 and m:
            # the cookie is Secure (as in production); httpx keeps those for https only
            self.cookie = m.group(1)
            page = self.get("/terminal/")
            self.csrf = re.search(r'name="csrf" content="([^"]+)"', page.text).group(1)
        return r

    @property
    def headers(self) -> dict:
        return {"Cookie": f"ow_session={self.cookie}"}

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path, headers=self.headers)

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        return self.http.post(path, json=body or {}, headers={**self.headers, "X-CSRF-Token": self.csrf})

    def act(self, op: str, rid: str | None = None, **body) -> httpx.Response:
        self._n += 1
        return self.post(f"/terminal/act/{op}", {"rid": rid or f"click{self._n:04d}x", **body})

    def listen(self) -> Events:
        self.events = Events(self.http, self.headers)
        return self.events

    def close(self) -> None:
        if self.events:
            self.events.close()
        self.http.close()

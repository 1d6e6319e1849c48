"""The admin and supervisor console (`onewindow web`, /admin): accounts and roles
(pure, clock given), the accounts file and its CLI, and — through a real mosquitto
and the real engine — the live dashboard, the engine's alerts, a supervisor's
acknowledgement, an auditor refused on every mutating route, and no phone or ID
number on any console page."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from click.testing import CliRunner

from hall.bus import Requester
from hall.config import parse_config
from tests.test_engine_bus import Collector
from tests.web_kit import Events, WebServer, terminal_raw
from web.auth import LoginError
from web.console.accounts import (PERMISSIONS, Account, AccountError, ConsoleAuth, hash_password,
                                  load_accounts, save_accounts)
from web.console.acks import AckStore
from web.console.routes import MUTATING

T = 1_800_000_000.0
PASSWORDS = {"admin1": "admin-pass-0001", "sup1": "super-pass-0002", "aud1": "audit-pass-0003"}
ROLES = {"admin1": "admin", "sup1": "supervisor", "aud1": "auditor"}
PHONE, ID_NUMBER = "13812345678", "11010519491231002X"
_accounts: list[Account] = []


def accounts() -> list[Account]:
    if not _accounts:  # argon2 takes ~0.1 s a hash: once per test run
        _accounts.extend(Account(i, {"admin1": "赵敏", "sup1": "钱进", "aud1": "孙立"}[i], ROLES[i],
                                 hash_password(p)) for i, p in PASSWORDS.items())
    return _accounts


# ------------------------------------------------------------------ pure --

def test_each_role_logs_in_with_its_password_and_gets_its_permissions():
    a = ConsoleAuth(accounts())
    for user, pw in PASSWORDS.items():
        s = a.login_account(user, pw, T)
        assert (s.staff, s.roles, s.window) == (user, (ROLES[user],), "")
    for user, pw in (("sup1", "admin-pass-0001"), ("nobody", "admin-pass-0001"), ("aud1", "")):
        with pytest.raises(LoginError) as e:
            a.login_account(user, pw, T)
        assert e.value.code == "bad_password"  # the same answer for an unknown id
    assert PERMISSIONS["auditor"] == {"view"} and "ack" in PERMISSIONS["supervisor"] & PERMISSIONS["admin"]


def test_console_sessions_expire_and_wrong_passwords_lock_out():
    a = ConsoleAuth(accounts(), idle_s=60, max_age_s=600, max_failures=3, lockout_s=300)
    s = a.login_account("sup1", PASSWORDS["sup1"], T)
    assert a.session(s.token, T + 59) is s
    assert a.session(s.token, T + 120) is None  # idle 61 s
    for i in range(3):
        with pytest.raises(LoginError):
            a.login_account("admin1", "wrong-password", T + i)
    with pytest.raises(LoginError) as e:
        a.login_account("admin1", PASSWORDS["admin1"], T + 10)
    assert e.value.code == "locked"
    assert a.login_account("admin1", PASSWORDS["admin1"], T + 400).staff == "admin1"


def test_accounts_file_holds_hashes_only_and_refuses_a_plain_password(tmp_path):
    path = tmp_path / "acc.json"
    r = CliRunner().invoke(_web_cli(), ["account-add", "sup9", "--role", "supervisor", "--name", "周", "--file",
                                        str(path)], input="long-enough-pw\n")
    assert r.exit_code == 0, r.output
    text = path.read_text()
    assert "long-enough-pw" not in text and "$argon2id$" in text and (path.stat().st_mode & 0o007) == 0  # not world-readable
    [acc] = load_accounts(path)
    assert ConsoleAuth([acc]).login_account("sup9", "long-enough-pw", T).roles == ("supervisor",)
    r = CliRunner().invoke(_web_cli(), ["account-add", "x", "--role", "admin", "--name", "x", "--file",
                                        str(path)], input="short\n")
    assert r.exit_code != 0 and "at least 10" in r.output
    path.write_text(json.dumps({"accounts": [{"id": "a", "name": "a", "role": "admin",
                                              "password_hash": "plain-password"}]}))
    with pytest.raises(AccountError, match=r"accounts\[0\]\.password_hash"):
        load_accounts(path)
    save_accounts(path, [Account("a", "a", "root", acc.password_hash)])
    with pytest.raises(AccountError, match=r"accounts\[0\]\.role"):
        load_accounts(path)


def _web_cli():
    from web.cli import cmd
    return cmd


def test_the_first_acknowledgement_counts_and_survives_a_restart(tmp_path):
    st = AckStore(tmp_path / "acks.sqlite").open()
    a = st.ack("unattended:W2:100", "unattended", "sup1", "supervisor", T)
    b = st.ack("unattended:W2:100", "unattended", "admin1", "admin", T + 5)
    assert a == b and (b.by, b.at) == ("sup1", T)
    st.close()
    st = AckStore(tmp_path / "acks.sqlite").open()
    assert st.get(["unattended:W2:100", "x"])["unattended:W2:100"].by == "sup1"
    assert list(st.get(["unattended:W2:100", "x"])) == ["unattended:W2:100"]
    st.close()


# --------------------------------------------------- through the engine --

def console_raw() -> dict:
    raw = terminal_raw()
    # open round the clock: windows nobody logged in at raise 空岗 whenever the test runs
    raw["service_hours"] = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                            "periods": [{"start": "00:00", "end": "23:59"}]}
    return raw


class ConsoleUser:
    """A console browser spoken to in HTTP."""

    def __init__(self, web: WebServer):
        self.http = httpx.Client(base_url=web.url, timeout=15, follow_redirects=False)
        self.cookie = self.csrf = ""
        self.events: Events | None = None

    def login(self, user: str, password: str) -> httpx.Response:
        r = self.http.post("/admin/login", data={"user": user, "password": password})
        m = re.search(r"ow_admin=([^;]+)", r.headers.get("set-cookie", ""))
        if r.status_code == 303 and m:
            self.cookie = m.group(1)
            self.csrf = re.search(r'name="csrf" content="([^"]+)"', self.get("/admin/").text).group(1)
        return r

    @property
    def headers(self) -> dict:
        return {"Cookie": f"ow_admin={self.cookie}"}

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path, headers=self.headers)

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        return self.http.post(path, json=body or {}, headers={**self.headers, "X-CSRF-Token": self.csrf})

    def listen(self) -> Events:
        self.events = Events(self.http, self.headers, path="/admin/events")
        return self.events

    def close(self) -> None:
        if self.events:
            self.events.close()
        self.http.close()


@pytest.fixture
def console_hall(running_engine, broker, bus_client):
    cfg = parse_config(console_raw())
    eng = running_engine(config=cfg)
    # "admin" of access.admins: the console's config operations speak as it
    web = WebServer(cfg, broker.settings, accounts=accounts(), admin_id="admin").start()
    bus = bus_client(cfg.hall.id, "probe")
    users = logins(web)
    user = users.login
    yield cfg, eng, web, bus, user
    users.close()
    web.stop()


def serve_one_with_a_bad_review(bus, form_phone: bool = True) -> dict:
    """W1: log in at the keypad, serve a citizen who gave a phone and an ID number, rate it 2 (不满意)."""
    followups = Collector(bus, "alert.followup", "+")
    kiosk, keypad = Requester(bus, "kiosk", "K1"), Requester(bus, "window", "W1")
    t = kiosk.call("issue", {"matter": "M1", "phone": PHONE,
                             "form": {"legal_person": "张三", "id_number": ID_NUMBER, "phone": PHONE}})
    keypad.call("login", {"staff": "S001"})
    keypad.call("next", {})
    keypad.call("finish", {})
    keypad.call("rate", {"level": 2})
    _, f = followups.get()
    assert f["phone"] == "138****5678"  # the engine masks it; the console does not show it at all
    kiosk.call("issue", {"matter": "M1", "phone": PHONE, "form": {"id_number": ID_NUMBER}})
    keypad.call("next", {})  # W1 now calls a second citizen who gave the same data
    return t


def test_dashboard_shows_windows_and_hall_figures_live_and_no_phone_or_id_number(console_hall):
    cfg, eng, web, bus, user = console_hall
    admin = user("admin1")
    ev = admin.listen()
    first = ev.get("dashboard")
    assert first["engine"] == "online" and [z["id"] for z in first["zones"]] == ["Z1", "Z2"]
    t = serve_one_with_a_bad_review(bus)
    # the summary is flushed apart from the window states: wait for the picture with both
    d = ev.get("dashboard", lambda d: d["zones"][0]["windows"][0]["current"] not in ("", t["number"])
               and (d["hall"]["issued"], d["hall"]["served"], d["hall"]["rated"]) == (2, 1, 1))
    w1 = d["zones"][0]["windows"][0]
    assert (w1["id"], w1["status"], w1["staff"], w1["staff_name"]) == ("W1", "open", "S001", "王芳")
    assert w1["rated"] == 1 and w1["satisfaction"] == 0 and d["hall"]["satisfaction"] == 0
    # the window's own figures of today (stats/hall/windows, from the engine's daystats)
    served = lambda d: d["zones"][0]["windows"][0]["served"] == 1  # noqa: E731
    d = next((e[1] for e in reversed(ev.all) if e[0] == "dashboard" and served(e[1])), None) \
        or ev.get("dashboard", served)
    w1, w2 = d["zones"][0]["windows"][:2]
    assert w1["avg_handle_min"] is not None and w1["avg_handle_min"] >= 0 and w1["paused_min"] == 0
    assert 0 <= w1["utilisation"] <= 100 and w1["idle_min"] >= 0
    assert (w2["served"], w2["utilisation"]) == (0, None)  # nobody logged in at W2: no time to use
    alerts = ev.get("alerts", lambda a: any(x["kind"] == "followup" for x in a))
    fu = next(a for a in alerts if a["kind"] == "followup")
    assert fu["key"] == f"followup:FU-{t['ticket']}" and t["number"] in fu["text"] and "2星" in fu["text"]
    # every console page and event, rendered after both citizens went through the engine
    page = admin.get("/admin/").text
    assert w1["current"] in page and t["number"] in page  # the positive marker: the data is there
    seen = page + json.dumps([e[1] for e in ev.all], ensure_ascii=False)
    for secret in (PHONE, ID_NUMBER, "张三"):
        assert secret not in seen, secret
    # not even masked: the phone's last four never stand alone (a time stamp's
    # digits such as 1764505678.2 are no phone)
    assert not re.search(r"(?<![0-9])5678(?![0-9])", seen)


def test_supervisor_acknowledges_an_unattended_alert_and_the_auditor_changes_nothing(console_hall):
    cfg, eng, web, bus, user = console_hall
    sup, aud = user("sup1"), user("aud1")
    ev = sup.listen()
    alerts = ev.get("alerts", lambda a: any(x["key"].startswith("unattended:W2:") for x in a))
    w2 = next(a for a in alerts if a["key"].startswith("unattended:W2:"))
    assert w2["kind_zh"] == "空岗" and w2["ack"] is None and "2号窗口" in w2["text"]
    assert not any(a["subject"] == "W8" for a in alerts)  # W8 is not attended: no 空岗
    # the auditor: every mutating route is refused before it runs
    refused = [p for p, perm in MUTATING.items() if perm not in PERMISSIONS["auditor"]]
    assert refused[0] == "/alerts/ack" and len(refused) > 1  # and the config operations
    for path in refused:
        r = aud.post(f"/admin{path}", {"key": w2["key"]})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", path
    assert web.ctx.acks.get([w2["key"]]) == {}
    assert 'class="admin readonly"' in aud.get("/admin/").text
    # without the CSRF token even the supervisor is refused
    r = sup.http.post("/admin/alerts/ack", json={"key": w2["key"]}, headers=sup.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
    assert sup.post("/admin/alerts/ack", {"key": "unattended:W2:1"}).status_code == 404  # not a live alert
    r = sup.post("/admin/alerts/ack", {"key": w2["key"]})
    assert r.status_code == 200 and r.json()["ack"]["by"] == "sup1"
    a = web.ctx.acks.get([w2["key"]])[w2["key"]]
    assert (a.by, a.role, a.kind) == ("sup1", "supervisor", "unattended") and a.at > 0
    pushed = ev.get("alerts", lambda al: any(x["key"] == w2["key"] and x["ack"] for x in al))
    assert next(x for x in pushed if x["key"] == w2["key"])["ack"]["by"] == "sup1"
    # the alert clears when someone logs in at W2: it leaves the list
    Requester(bus, "window", "W2").call("login", {"staff": "S002"})
    ev.get("alerts", lambda al: not any(x["key"] == w2["key"] for x in al))


def test_login_refused_for_a_wrong_password_and_pages_need_a_session(console_hall):
    cfg, eng, web, bus, user = console_hall
    u = ConsoleUser(web)
    try:
        r = u.login("sup1", "wrong-password")
        assert r.status_code == 401 and "账号或密码错误" in r.text and "ow_admin" not in r.headers.get("set-cookie", "")
        assert u.get("/admin/").status_code == 303
        assert u.get("/admin/events").status_code == 401
        assert u.http.post("/admin/alerts/ack", json={"key": "x"}).status_code == 401
        # a clerk's terminal session is no console session
        assert u.http.get("/admin/", headers={"Cookie": "ow_session=whatever"}).status_code == 303
    finally:
        u.close()


def test_dashboard_counts_come_from_the_zones_waiting_counts(small_config):
    from web.console import view as console_view
    waits = {"Z1": {"zone": "Z1", "groups": {"A": 3}, "total": 3, "windows": {"W1": 3, "W2": 2, "W3": 0, "W4": 1},
                    "at": 1.0}}
    states = {"W1": {"window": "W1", "status": "open", "staff": "S001", "ticket": None, "at": 1.0}}
    d = console_view.dashboard(small_config, states, waits, {}, "online")
    z1, z2 = d["zones"]
    assert (z1["waiting"], z2["waiting"]) == (3, 0)  # Z2's counts not arrived yet: 0, not an error
    assert [(w["id"], w["status"], w["waiting"]) for w in z1["windows"]] == [
        ("W1", "open", 3), ("W2", "closed", 2), ("W3", "closed", 0), ("W4", "closed", 1)]


class logins:
    """Console users logged in for one test, each by its password, closed at the end."""

    def __init__(self, web):
        self.web, self.users = web, []

    def login(self, name: str) -> "ConsoleUser":
        u = ConsoleUser(self.web)
        self.users.append(u)
        assert u.login(name, PASSWORDS[name]).status_code == 303
        return u

    def close(self) -> None:
        for u in self.users:
            u.close()

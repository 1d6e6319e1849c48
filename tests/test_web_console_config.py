"""Config as operations in the console (/admin/config): each form builds the new whole
config from the one in force, the diff is shown before anything changes, the result is
validated like a file, and the push carries the revision it was made from — through a
real mosquitto and engine: applied with an audit record naming the account, a stale
preview refused, history with rollback, export and import, an auditor changing nothing."""

from __future__ import annotations

import copy
import time

import pytest

from hall.config import parse_config
from tests.test_web_console import ConsoleUser, console_hall, console_raw  # noqa: F401  (the fixture)
from tests.web_kit import OTHER_PIN, Clerk
from web.console import config_ops
from web.console.accounts import PERMISSIONS
from web.console.routes import MUTATING

ADMIN_ID = "admin"  # console_hall's: the console's own bus identity


def _hash(pin: str) -> str:
    from tests.web_kit import pin_hash
    return pin_hash(pin)


OPS = config_ops.operations(_hash)


def raw_with_devices() -> dict:
    raw = console_raw()
    raw["screens"] = {"displays": [{"id": "D1", "zones": ["Z1"]}]}
    raw["devices"] = {"lines": [{"id": "L1", "port": "/dev/ttyUSB0"}],
                      "serial": [{"id": "LED1", "line": "L1", "address": 1, "kind": "ledbar", "window": "W1"}]}
    return raw


def applied(op: str, subject: str, params: dict, raw: dict | None = None) -> dict:
    raw = raw or raw_with_devices()
    new, _ = config_ops.apply(OPS[op], raw, subject, params)
    return parse_config(new).to_json_dict()


# ------------------------------------------------------------------ pure --

def test_each_operation_changes_only_its_part_and_the_result_validates():
    raw = raw_with_devices()
    before = parse_config(raw).to_json_dict()
    cases = [
        ("notice", "", {"zh": "今日系统升级", "en": "Upgrade today"}, lambda c: c["screens"]["notice"]["zh"] == "今日系统升级"),
        ("notice", "D1", {"zh": "二楼", "en": "2F"}, lambda c: c["screens"]["displays"][0]["notice"]["en"] == "2F"),
        ("window_open", "W3", {"attended": False}, lambda c: c["windows"][2]["attended"] is False),
        ("window_matters", "W4", {"serves": {"M3": 9, "M2": "4", "M1": 0}, "authorised": ["Z2"]},
         lambda c: c["windows"][3]["serves"] == {"M3": 9, "M2": 4} and c["windows"][3]["authorised"] == ["Z2"]),
        ("matter", "M2", {"zh": "食品经营许可（新办）", "en": "Food licence", "group": "A", "minutes": "12",
                          "promise_days": "3"},
         lambda c: (c["matters"][1]["name"]["zh"], c["matters"][1]["minutes"], c["matters"][1]["promise_days"])
         == ("食品经营许可（新办）", 12.0, 3)),
        ("priority", "green", {"requires_code": True, "codes": "LS2026\nLS2027", "boost_minutes": 60},
         lambda c: c["priority"]["classes"][3]["codes"] == ["LS2026", "LS2027"]),
        ("hours", "", {"days": ["mon", "tue"], "periods": "9:00-12:00\n13:30-17:00",
                       "closed_dates": "2026-10-01", "extra_open_dates": ""},
         lambda c: c["service_hours"] == {"days": ["mon", "tue"], "periods": [
             {"start": "09:00:00", "end": "12:00:00"}, {"start": "13:30:00", "end": "17:00:00"}],
             "closed_dates": ["2026-10-01"], "extra_open_dates": []}),
        ("device", "LED1", {"window": "W2"}, lambda c: c["devices"]["serial"][0]["window"] == "W2"),
        ("screen", "D1", {"zones": ["Z2"], "style": "windows", "layout": "portrait"},
         lambda c: (c["screens"]["displays"][0]["zones"], c["screens"]["displays"][0]["style"]) == (["Z2"], "windows")),
        ("staff", "S002", {"name": "李明", "windows": ["W2", "W3"], "pin": ""},
         lambda c: c["staff"][1]["windows"] == ["W2", "W3"] and c["staff"][1]["pin_hash"] == before["staff"][1]["pin_hash"]),
        ("staff", config_ops.NEW, {"id": "S003", "name": "赵六", "windows": ["W5"], "pin": OTHER_PIN},
         lambda c: c["staff"][2]["id"] == "S003" and c["staff"][2]["pin_hash"] == _hash(OTHER_PIN)),
        ("staff", "S002", {"remove": True}, lambda c: [s["id"] for s in c["staff"]] == ["S001"]),
    ]
    for op, subject, params, check in cases:
        after = applied(op, subject, params, raw)
        assert check(after), (op, subject)
        changed = {k for k in before if before[k] != after[k]}
        assert len(changed) == 1, (op, changed)  # one section of the config, nothing else


def test_a_form_shows_the_current_values_and_hides_codes_from_who_may_not_change_them():
    raw = raw_with_devices()
    w = {i["name"]: i for i in config_ops.form(OPS["window_matters"], raw, "W1")}
    assert w["serves"]["value"] == {"M1": 3, "M2": 1, "M3": 1} and ("B1", "B1 开办餐饮店一件事") in w["serves"]["options"]
    codes = lambda secrets: next(i for i in config_ops.form(OPS["priority"], raw, "green", secrets)  # noqa: E731
                                 if i["name"] == "codes")["value"]
    assert codes(True) == "LS2026" and codes(False) == ""
    staff = config_ops.form(OPS["staff"], raw, "S001")
    assert all("argon2" not in str(i["value"]) for i in staff)  # never a PIN hash in a form


def test_a_form_value_that_cannot_be_read_is_refused_naming_the_input():
    raw = raw_with_devices()
    kept = copy.deepcopy(raw)
    for op, subject, params, name in [
        ("hours", "", {"periods": "nine to five"}, "periods"),
        ("hours", "", {"closed_dates": "1 Oct"}, "closed_dates"),
        ("matter", "M1", {"zh": "x", "en": "x", "group": "A", "minutes": "twenty", "promise_days": 1}, "minutes"),
        ("staff", config_ops.NEW, {"id": "S9", "name": "x", "windows": ["W1"], "pin": ""}, "pin"),
        ("staff", config_ops.NEW, {"id": "S9", "name": "x", "windows": ["W1"], "pin": "12ab"}, "pin"),
        ("notice", "", {"zh": "只有中文", "en": ""}, "en"),
        ("window_open", "W99", {"attended": True}, "subject"),
    ]:
        with pytest.raises(config_ops.OpError) as e:
            config_ops.apply(OPS[op], raw, subject, params)
        assert e.value.field == name, (op, params)
    assert raw == kept  # the config in force is never touched


# --------------------------------------------------- through the engine --

def preview(u: ConsoleUser, op: str, subject: str, params: dict):
    return u.post("/admin/config/preview", {"op": op, "subject": subject, "params": params})


def test_an_operation_shows_its_diff_then_applies_with_the_account_in_the_audit(console_hall):
    cfg, eng, web, _, user = console_hall
    admin = user("admin1")
    page = admin.get("/admin/config")
    assert page.status_code == 200 and "窗口可办事项与权重" in page.text and 'data-revision="0"' in page.text
    r = preview(admin, "window_matters", "W4", {"serves": {"M3": 9, "M2": 2}, "authorised": []})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["base"] == 0 and "+    M2: 2" in p["diff"] and p["diff"].startswith("--- revision 0")
    assert eng.config.window("W4").serves == {"M3": 9}  # nothing changed yet
    r = admin.post("/admin/config/apply", {"token": p["token"]})
    assert r.status_code == 200 and r.json()["revision"] == 1, r.text
    assert eng.config.window("W4").serves == {"M3": 9, "M2": 2}
    audit = eng.config_admin.revisions[1].audit
    assert (audit.who, audit.by, audit.action, audit.base) == (ADMIN_ID, "admin1", "push", 0)
    # a preview is used once
    r = admin.post("/admin/config/apply", {"token": p["token"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_preview"


def test_a_stale_preview_is_refused_and_the_other_change_stays(console_hall):
    cfg, eng, web, _, user = console_hall
    a1, a2 = user("admin1"), user("admin1")  # two browsers of admins
    mine = preview(a1, "matter", "M1", {"zh": "公司设立登记", "en": "Company registration", "group": "A",
                                        "minutes": 25, "promise_days": 5}).json()
    theirs = preview(a2, "window_open", "W3", {"attended": False}).json()
    assert mine["base"] == theirs["base"] == 0
    assert a2.post("/admin/config/apply", {"token": theirs["token"]}).json()["revision"] == 1
    r = a1.post("/admin/config/apply", {"token": mine["token"]})
    err = r.json()["error"]
    assert r.status_code == 409 and err["code"] == "stale_config" and "配置已被他人修改" in err["zh"]
    assert "based on revision 0, but revision 1 is in force" in err["message"] and "admin1" in err["message"]
    assert eng.config_admin.revision == 1 and eng.config.window("W3").attended is False
    assert eng.config.matter("M1").minutes == 20  # the stale change did not reach the engine


def test_a_change_the_schema_refuses_names_every_problem_and_changes_nothing(console_hall):
    cfg, eng, web, _, user = console_hall
    admin = user("admin1")
    r = preview(admin, "window_matters", "W4", {"serves": {"M3": 12}, "authorised": []})
    err = r.json()["error"]
    assert r.status_code == 422 and err["code"] == "bad_config"
    assert any(p[0] == "windows[3].serves" and "weight of M3 must be 1–9, got 12" in p[1]
               for p in err["problems"]), err
    # a cross-check, as a pushed file gets it
    r = preview(admin, "matter", "M1", {"zh": "x", "en": "x", "group": "Q", "minutes": 20, "promise_days": 5})
    assert r.status_code == 422 and ["matters[0].group", "unknown group 'Q'"] in r.json()["error"]["problems"]
    r = preview(admin, "staff", "S001", {"name": "王芳", "windows": ["W1", "W2"], "pin": ""})
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_change"
    assert eng.config_admin.revision == 0


def test_history_rollback_export_and_import(console_hall):
    cfg, eng, web, _, user = console_hall
    admin = user("admin1")
    p = preview(admin, "notice", "", {"zh": "午间不停办", "en": "Open at noon"}).json()
    assert admin.post("/admin/config/apply", {"token": p["token"]}).json()["revision"] == 1
    h = admin.get("/admin/config/history").json()["revisions"]
    assert [(r["revision"], r["action"], r["by"]) for r in h] == [(1, "push", "admin1"), (0, "start", None)]
    assert "午间不停办" in h[0]["diff"]
    r = admin.post("/admin/config/rollback", {"revision": 0, "base": 1})
    assert r.status_code == 200 and r.json()["revision"] == 2
    assert eng.config.screens.notice is None and eng.config_admin.revisions[2].audit.by == "admin1"
    r = admin.post("/admin/config/rollback", {"revision": 1, "base": 1})  # made before the rollback
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_config"
    # export: the whole config with its revision line, as `onewindow config get --out` writes it
    text = admin.get("/admin/config/export").text
    assert text.startswith("# onewindow config revision: 2 ") and "pin_hash: $argon2id$" in text
    edited = text.replace("recall_limit: 2", "recall_limit: 3")
    p = admin.post("/admin/config/import", {"text": edited}).json()
    assert p["base"] == 2 and "-  recall_limit: 2" in p["diff"] and "+  recall_limit: 3" in p["diff"]
    assert "$argon2id$" not in p["diff"]
    assert admin.post("/admin/config/apply", {"token": p["token"]}).json()["revision"] == 3
    assert eng.config.queue.recall_limit == 3
    # the same file again: it names revision 2, and 3 is in force
    again = admin.post("/admin/config/import", {"text": edited.replace("recall_limit: 3", "recall_limit: 4")})
    r = admin.post("/admin/config/apply", {"token": again.json()["token"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_config" and eng.config.queue.recall_limit == 3


def test_a_new_pin_set_in_the_console_is_a_hash_in_the_config_and_never_in_the_diff(console_hall):
    cfg, eng, web, _, user = console_hall
    admin = user("admin1")
    p = preview(admin, "staff", "S002", {"name": "李明", "windows": ["W2"], "pin": "987654"}).json()
    assert "987654" not in p["diff"] and "$argon2id$" not in p["diff"]
    assert "-  pin_hash: <pin " in p["diff"] and "+  pin_hash: <pin " in p["diff"]
    assert admin.post("/admin/config/apply", {"token": p["token"]}).json()["revision"] == 1
    assert eng.config.staff_member("S002").pin_hash.startswith("$argon2id$")
    # the web process takes the new roster up from the engine (config/hall/audit, then get)
    deadline = time.monotonic() + 10
    while web.ctx.config_desk.followed != 1:
        assert time.monotonic() < deadline, "revision 1 not taken up"
        time.sleep(0.05)
    clerk = Clerk(web)
    try:
        assert clerk.login("W2", "S002", OTHER_PIN).status_code == 401  # the old PIN no longer opens it
        assert clerk.login("W2", "S002", "987654").status_code == 303
    finally:
        clerk.close()


def test_the_auditor_sees_the_config_and_changes_nothing(console_hall):
    cfg, eng, web, _, user = console_hall
    aud, admin = user("aud1"), user("sup1")
    assert 'class="admin config readonly"' in aud.get("/admin/config").text
    f = aud.get("/admin/config/form?op=priority&subject=green").json()
    assert next(i for i in f["inputs"] if i["name"] == "codes")["value"] == ""  # no code for a viewer
    assert aud.get("/admin/config/history").status_code == 200
    assert aud.get("/admin/config/export").status_code == 403
    config_routes = [p for p in MUTATING if p.startswith("/config/")]
    assert sorted(config_routes) == ["/config/apply", "/config/import", "/config/preview", "/config/rollback"]
    for who in (aud, admin):  # the supervisor acknowledges alerts but does not change the config
        for path in config_routes:
            r = who.post(f"/admin{path}", {"op": "notice", "params": {"zh": "x", "en": "x"}, "token": "x",
                                           "revision": 0, "base": 0, "text": "version: 1"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (path, r.text)
    assert "config" not in PERMISSIONS["auditor"] | PERMISSIONS["supervisor"]
    assert eng.config_admin.revision == 0 and len(eng.config_admin.revisions) == 1


def test_without_an_admin_identity_the_page_says_so_and_nothing_is_sent(running_engine, broker):
    from tests.test_web_console import PASSWORDS, accounts
    from tests.web_kit import WebServer
    cfg = parse_config(console_raw())
    eng = running_engine(config=cfg)
    web = WebServer(cfg, broker.settings, accounts=accounts()).start()  # no admin_id
    admin = ConsoleUser(web)
    try:
        assert admin.login("admin1", PASSWORDS["admin1"]).status_code == 303
        page = admin.get("/admin/config")
        assert page.status_code == 200 and "未配置管理员总线身份" in page.text and "no_admin_identity" in page.text
        r = preview(admin, "notice", "", {"zh": "x", "en": "x"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "no_admin_identity"
        assert eng.config_admin.revision == 0
    finally:
        admin.close()
        web.stop()


def test_terminal_and_dashboard_follow_a_revision_s_window_numbers_and_matter_names(console_hall):
    """The web process takes each config revision up whole (config/hall/audit, then get), not
    only its roster: a window renumbered by an imported file and a matter renamed by its form
    show on the clerk's open page, on a page loaded afterwards and on the dashboard."""
    import yaml

    from hall.bus import Requester
    from tests.web_kit import PIN
    cfg, eng, web, bus, user = console_hall
    admin = user("admin1")
    dash = admin.listen()
    Requester(bus, "kiosk", "K1").call("issue", {"matter": "M1"})  # waiting for M1: W1's queue names it
    clerk = Clerk(web)
    try:
        assert clerk.login("W1", "S001", PIN).status_code == 303
        ev = clerk.listen()
        ev.get("queue", lambda q: any(r["name"] == "有限责任公司设立登记" for r in q))
        assert "1号窗口" in clerk.get("/terminal/").text
        text = admin.get("/admin/config/export").text
        first, _, body = text.partition("\n")
        raw = yaml.safe_load(body)
        raw["windows"][0]["number"] = "1A"
        raw["windows"][1]["number"] = "2B"
        p = admin.post("/admin/config/import", {"text": first + "\n" + yaml.safe_dump(raw, allow_unicode=True)})
        assert admin.post("/admin/config/apply", {"token": p.json()["token"]}).json()["revision"] == 1
        p = preview(admin, "matter", "M1", {"zh": "公司设立登记", "en": "Company registration", "group": "A",
                                            "minutes": 20, "promise_days": 5}).json()
        assert admin.post("/admin/config/apply", {"token": p["token"]}).json()["revision"] == 2
        # the clerk's open page: its header, its transfer list, its queue's names
        w = ev.get("window", lambda w: w and w["number"] == "1A")
        assert ("W2", "2B") in [(t["id"], t["number"]) for t in w["transfer"]]
        ev.get("queue", lambda q: any(r["name"] == "公司设立登记" for r in q))
        page = clerk.get("/terminal/").text
        assert "1A号窗口" in page and "2B号窗口" in page and "1号窗口" not in page
        d = dash.get("dashboard", lambda d: d["zones"][0]["windows"][0]["number"] == "1A")
        assert [x["number"] for x in d["zones"][0]["windows"][:2]] == ["1A", "2B"]
        assert web.ctx.cfg.matter("M1").name.zh == "公司设立登记" and web.ctx.config_desk.followed == 2
    finally:
        clerk.close()

"""Personal data (个人信息保护法): never on a retained topic, in the broker's
persistence file, in a log line or in clear in the engine's database; only the
window serving the citizen reads the form; purged when the day closes."""

from __future__ import annotations

import json
import logging
import os
import queue
import sqlite3
import stat
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from caller.service import CallerService
from caller.store import Store
from hall.broker import find_mosquitto, start_local_broker
from hall.bus import Bus, BusSettings, Requester, RequestError
from hall.clock import ManualClock, day_span
from hall.config import parse_config
from hall.crypto import DataCipher, KeyError_, new_key
from hall.topics import REGISTRY
from tests.conftest import small_raw, unique_hall_id

pytestmark = [pytest.mark.broker,
              pytest.mark.skipif(not find_mosquitto(), reason="needs mosquitto (Debian package)")]

PHONE = "13900001111"
ID_NUMBER = "33010619900101123X"
NAME = "张三丰"
FORM = {"id_number": ID_NUMBER, "legal_person": NAME}
# M1's application form: the fields a citizen fills once at the kiosk
FORMS = {
    "fields": [{"id": "legal_person", "label": {"zh": "法定代表人", "en": "Legal representative"}, "type": "name"},
               {"id": "id_number", "label": {"zh": "公民身份号码", "en": "ID number"}, "type": "id_number"}],
    "forms": [{"matter": "M1", "fields": ["legal_person", "id_number"], "optional": ["legal_person"]}],
}
RAW_VALUES = [PHONE.encode(), ID_NUMBER.encode(), NAME.encode("utf-8")]


def sms_config(hall_id: str | None = None, **privacy):
    raw = small_raw()
    raw["hall"]["id"] = hall_id or unique_hall_id()
    raw["notify"] = {"sms": {"enabled": True, "on_issue": True}}
    raw["forms"] = FORMS
    if privacy:
        raw["privacy"] = privacy
    return parse_config(raw)


class Inbox:
    """One raw MQTT subscriber (for what a given account may read)."""

    def __init__(self, port: int, topic: str, user: str | None = None, password: str | None = None):
        self.got: queue.Queue = queue.Queue()
        self.all: list[tuple[str, bytes]] = []
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"inbox-{os.urandom(3).hex()}")
        if user:
            self.c.username_pw_set(user, password)
        ready = threading.Event()
        self.c.on_connect = lambda c, *_a: (c.subscribe(topic, qos=1), ready.set())
        self.c.on_message = lambda c, u, msg: (self.all.append((msg.topic, msg.payload)),
                                               self.got.put((msg.topic, msg.payload)))
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        assert ready.wait(5)
        time.sleep(0.2)  # the SUBACK

    def wait_for(self, pred, timeout: float = 5.0) -> tuple[str, bytes]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                t, p = self.got.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if pred(t, p):
                return t, p
        raise AssertionError("expected message never arrived")

    def stop(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


def visit_flow(settings: BusSettings, hall_id: str, kiosk: str = "K1", window: str = "W1",
               win_settings: BusSettings | None = None) -> tuple[dict, dict]:
    """A citizen leaves a phone and an ID number; the window calls and reads the form."""
    kb = Bus(hall_id, f"kiosk-{kiosk}", settings)
    wb = Bus(hall_id, f"win-{window}", win_settings or settings)
    kb.start()
    wb.start()
    try:
        t = Requester(kb, "kiosk", kiosk).call("issue", {"matter": "M1", "phone": PHONE, "form": FORM})
        w = Requester(wb, "window", window)
        w.call("login", {"staff": "S1"})
        st = w.call("next", {})
        visit = w.call("visit", {})
        return t, {"state": st, "visit": visit}
    finally:
        kb.stop()
        wb.stop()


def test_window_state_has_no_form_and_only_the_visit_reply_carries_it(running_engine, bus_client):
    eng = running_engine(config=sms_config())
    c = bus_client(eng.hall_id, "terminal")
    k, w = Requester(c, "kiosk", "K1"), Requester(c, "window", "W1")
    t = k.call("issue", {"matter": "M1", "phone": PHONE, "form": FORM})
    w.call("login", {"staff": "S1"})
    st = w.call("next", {})
    assert st["ticket"]["number"] == t["number"]
    assert "form" not in st["ticket"] and ID_NUMBER not in json.dumps(st)
    retained = queue.Queue()
    late = bus_client(eng.hall_id, "late")
    late.subscribe(REGISTRY["window.state"], lambda p, d: retained.put(d), ident="W1")
    state = retained.get(timeout=5)
    assert t["number"].encode() in state
    assert not any(v in state for v in RAW_VALUES)
    visit = w.call("visit", {})
    assert {k: visit[k] for k in ("ticket", "number", "state", "form", "phone")} == {
        "ticket": t["ticket"], "number": t["number"], "state": "called", "form": FORM, "phone": "139****1111"}
    # a read: asked again with the same id it is answered afresh, and never kept on disk
    assert w.call("visit", {}, req_id="v-same")["form"] == w.call("visit", {}, req_id="v-same")["form"] == FORM
    rows = sqlite3.connect(eng.store.path).execute("SELECT key FROM replies").fetchall()
    assert rows and not [k for (k,) in rows if "/visit/" in k]
    # a window with nobody called has nothing to show
    with pytest.raises(Exception) as e:
        Requester(c, "window", "W2").call("visit", {})
    assert getattr(e.value, "code", None) == "not_logged_in"


def test_a_visit_leaves_no_personal_data_in_broker_persistence_logs_or_database(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    # mosquitto drops root for its own user before it writes its persistence file
    wd = Path(tempfile.mkdtemp(prefix="onewindow-persist-", dir="/tmp"))
    os.chmod(wd, 0o777)
    broker = start_local_broker(workdir=wd, extra_conf=(
        f"persistence true\npersistence_location {wd}/\nautosave_interval 1\n"
        "log_type all\n"))
    cfg = sms_config()
    # SMS go out in service hours only: a Friday morning of the hall's
    clock = ManualClock(day_span("2026-11-20", cfg.hall.timezone)[0] + 10 * 3600)
    eng = CallerService(cfg, tmp_path / "engine.sqlite", broker.settings, client_id="persist-engine", clock=clock)
    sender = Inbox(broker.port, REGISTRY["device.sms"].pattern(cfg.hall.id))
    eng.start()
    try:
        t, seen = visit_flow(broker.settings, cfg.hall.id)
        # the personal data did cross the broker, to whom it belongs…
        assert seen["visit"]["form"] == FORM
        _, sms = sender.wait_for(lambda _t, p: PHONE.encode() in p, timeout=30)
        assert json.loads(sms)["ticket"] == t["ticket"]
        # …and the ticket it belongs to is in the retained state the broker keeps
        assert seen["state"]["ticket"]["number"] == t["number"]
    finally:
        sender.stop()
        eng.stop()
        broker.stop()  # SIGTERM: mosquitto writes its persistence file
    db = (wd / "mosquitto.db").read_bytes()
    assert f"onewindow/{cfg.hall.id}/window/W1/state".encode() in db and t["number"].encode() in db
    for v in RAW_VALUES:
        assert v not in db, f"{v!r} in mosquitto's persistence file"
    logs = caplog.text.encode("utf-8") + (wd / "mosquitto.log").read_bytes()
    assert b"139****1111" in logs  # the SMS log lines were captured, masked
    for v in RAW_VALUES:
        assert v not in logs, f"{v!r} in a log line"
    files = b"".join(p.read_bytes() for p in tmp_path.glob("engine.sqlite*"))
    assert t["number"].encode() in files  # the ticket is there…
    for v in RAW_VALUES:
        assert v not in files, f"{v!r} in clear in the engine's database"  # …its personal data is not
    for p in tmp_path.glob("engine.sqlite*"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_plaintext_rows_are_encrypted_by_the_schema_migration(tmp_path):
    from tests.test_store_schema import DAY, unversioned_db
    path = tmp_path / "engine.sqlite"
    unversioned_db(path)  # a ticket and an SMS row with 13812345678 in their JSON
    assert b"13812345678" in path.read_bytes()
    with pytest.raises(Exception, match="no data key"):
        Store(path).open()  # without the key nothing is migrated…
    key = DataCipher(new_key())
    s = Store(path, key)
    s.open()
    try:
        (t,), *_ = s.load(DAY)
        assert t.phone == "13812345678" and s.sms_unfinished()[0].phone == "13812345678"
        enc = s.db.execute("SELECT pii FROM tickets").fetchone()[0]
        assert key.decrypt_json(enc) == {"phone": "13812345678"}
        s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        s.db.execute("VACUUM")
    finally:
        s.close()
    assert b"13812345678" not in b"".join(p.read_bytes() for p in tmp_path.glob("engine.sqlite*"))
    other = Store(path, DataCipher(new_key()))  # another hall's key reads nothing
    other.open()
    try:
        with pytest.raises(KeyError_, match="does not decrypt"):
            other.load(DAY)
    finally:
        other.close()


def pii_rows(db) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT (SELECT count(*) FROM tickets WHERE pii IS NOT NULL) + "
                           "(SELECT count(*) FROM sms WHERE pii IS NOT NULL)").fetchone()[0]
    finally:
        con.close()


def test_personal_data_is_purged_when_the_day_closes(tmp_path, broker):
    cfg = sms_config()
    tz = cfg.hall.timezone
    day1, day2 = "2026-11-20", "2026-11-21"
    clock = ManualClock(day_span(day1, tz)[0] + 10 * 3600)
    db = tmp_path / "engine.sqlite"
    eng = CallerService(cfg, db, broker.settings, clock=clock, client_id=f"purge-{cfg.hall.id}")
    eng.start()
    try:
        visit_flow(broker.settings, cfg.hall.id)
        k2 = Bus(cfg.hall.id, "purge-k2", broker.settings)
        k2.start()
        Requester(k2, "kiosk", "K2").call("issue", {"matter": "M4", "phone": "13700002222"})
        k2.stop()
        con = sqlite3.connect(db)
        before = con.execute("SELECT pii FROM tickets WHERE pii IS NOT NULL").fetchall() + \
            con.execute("SELECT pii FROM sms WHERE pii IS NOT NULL").fetchall()
        assert len(before) >= 3  # two tickets and at least one SMS row carry encrypted personal data
        con.close()
        purges = eng.store.purges
        clock.set(day_span(day2, tz)[0] + 60)  # the hall's midnight: the day closes
        end = time.monotonic() + 20
        while eng.store.purges == purges and time.monotonic() < end:  # the purge, its WAL truncation too
            time.sleep(0.1)
        con = sqlite3.connect(db)
        assert con.execute("SELECT count(*) FROM tickets WHERE pii IS NOT NULL").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM sms WHERE pii IS NOT NULL").fetchone()[0] == 0
        # the tickets stay for the statistics, without their personal data
        rows = con.execute("SELECT day, number, state FROM tickets ORDER BY number").fetchall()
        assert [(d, n) for d, n, _ in rows] == [(day1, "A001"), (day1, "G001")]
        assert all(s == "cancelled" or s in ("done", "called") for *_, s in rows)
        con.close()
        files = b"".join(p.read_bytes() for p in tmp_path.glob("engine.sqlite*"))
        for (token,) in before:  # neither the ciphertexts…
            assert token not in files
        for v in [*RAW_VALUES, b"13700002222"]:  # …nor anything in clear
            assert v not in files
        assert eng.store.ticket(f"{day1.replace('-', '')}-A001").phone is None
    finally:
        eng.stop()


def test_a_retention_keeps_personal_data_for_the_days_configured(tmp_path, broker):
    cfg = sms_config(retention_days=1)
    tz = cfg.hall.timezone
    clock = ManualClock(day_span("2026-11-20", tz)[0] + 10 * 3600)
    db = tmp_path / "engine.sqlite"
    eng = CallerService(cfg, db, broker.settings, clock=clock, client_id=f"keep-{cfg.hall.id}")
    eng.start()
    try:
        visit_flow(broker.settings, cfg.hall.id)
    finally:
        eng.stop()
    clock.set(day_span("2026-11-21", tz)[0] + 60)  # restarted the next day: still kept
    eng = CallerService(cfg, db, broker.settings, clock=clock, client_id=f"keep2-{cfg.hall.id}")
    eng.start()
    eng.stop()
    assert pii_rows(db) >= 1
    clock.set(day_span("2026-11-22", tz)[0] + 60)  # two days on: gone, at start
    eng = CallerService(cfg, db, broker.settings, clock=clock, client_id=f"keep3-{cfg.hall.id}")
    eng.start()
    eng.stop()
    assert pii_rows(db) == 0


def test_a_refusal_quoting_what_the_client_sent_logs_the_field_not_the_value(
        running_engine, bus_client, small_config, caplog, monkeypatch):
    """A refusal's message may quote the client's value back to it (the reply is
    the client's own); the engine's log line of that refusal never holds it."""
    caplog.set_level(logging.WARNING, logger="caller.service")
    running_engine()
    kiosk = Requester(bus_client(small_config.hall.id, "k"), "kiosk", "K1")
    with pytest.raises(RequestError) as e:  # an ID number typed where the matter goes
        kiosk.call("issue", {"matter": "11010519491231002X"})
    assert e.value.code == "unknown_matter" and "11010519491231002X" in e.value.message
    # a phone in an enum field, which msgspec's error quotes; sent raw, as a
    # client that does not use our Requester would (ours refuses it before sending)
    from hall import messages
    monkeypatch.setattr(messages, "request_payload", lambda _n, rid, body: json.dumps({"id": rid, **body}).encode())
    with pytest.raises(RequestError) as e:
        kiosk.call("issue", {"matter": "M1", "lang": "13900001111"})
    assert e.value.code == "bad_request"
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused kiosk.issue")]
    assert refused == ["refused kiosk.issue from K1: bad_request: Invalid enum value … - at `$.lang`"]
    for line in (r.getMessage() for r in caplog.records):
        assert "11010519491231002X" not in line and "13900001111" not in line, line


def test_scrub_masks_bare_numbers_and_blanks_quoted_values():
    from hall.pii import scrub
    assert scrub("Invalid enum value '13900001111' - at `$.lang`") == "Invalid enum value … - at `$.lang`"
    assert scrub("phone 13900001111 id 11010519491231002X") == "phone 139****1111 id 1101**********002X"
    # a case number, a time stamp and a ticket number are not personal data
    assert scrub("case 2026000123 at 1764505678.25 ticket A012") == "case 2026000123 at 1764505678.25 ticket A012"

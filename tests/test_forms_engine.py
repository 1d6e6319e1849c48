"""Forms and profiles through a real mosquitto and the real engine (caller/forms.py)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
import yaml

from hall.bus import RequestError, Requester
from hall.clock import ManualClock
from hall.config import parse_config
from hall.crypto import DataCipher, new_key
from hall.topics import REGISTRY

from .test_engine_bus import Collector

pytestmark = pytest.mark.broker

HERE = Path(__file__).parent
ID_NO = "11010519491231002X"            # the GB 11643 example number
PERSON = {"name": "张三丰", "id_number": ID_NO, "phone": "13812345678"}
B1_FORM = {**PERSON, "company_name": "杭州西湖面馆有限公司", "registered_capital": "50",
           "food_category": "catering", "address": "杭州市西湖区文三路 90 号"}


def forms_raw() -> dict:
    return yaml.safe_load((HERE / "halls" / "forms.yaml").read_text(encoding="utf-8"))


def with_forms(cfg):
    raw = cfg.to_json_dict()
    raw["forms"] = forms_raw()
    raw["privacy"] = {**raw["privacy"], "profile_retention_days": 30, "form_retention_days": 7}
    return parse_config(raw)


@pytest.fixture
def data_key(tmp_path, monkeypatch):
    path = tmp_path / "data-key"
    path.write_bytes(new_key())
    monkeypatch.setenv("ONEWINDOW_DATA_KEY_FILE", str(path))
    return DataCipher(path.read_bytes())


def db_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_a_bundle_form_is_issued_sealed_and_shown_to_the_window_that_calls_it(
        small_config, running_engine, bus_client, data_key, tmp_path):
    cfg = with_forms(small_config)
    db = tmp_path / "forms.sqlite"
    eng = running_engine(cfg, db=db)
    client = bus_client(cfg.hall.id, "t")
    states = Collector(client, "window.state", "W1")
    kiosk = Requester(client, "kiosk", "K1")
    info = kiosk.call("issue", {"bundle": "B1", "form": B1_FORM})
    assert info["number"] == "Y001"
    w1 = Requester(client, "window", "W1")
    w1.call("login", {"staff": "S01"})
    with pytest.raises(RequestError) as e:
        w1.call("form", {})
    assert e.value.code == "no_ticket"
    w1.call("next", {})
    form = w1.call("form", {})
    assert form == {"ticket": info["ticket"], "number": "Y001", "target": "B1", "values": B1_FORM,
                    "filled": 7, "total": 8}
    # another window cannot read it: it serves nothing
    with pytest.raises(RequestError) as e:
        Requester(client, "window", "W2").call("form", {})
    assert e.value.code == "no_ticket"
    # the retained window state and the database hold none of it in clear
    _, st = states.get(where=lambda i, msg: msg["ticket"] is not None)
    assert "张三丰" not in json.dumps(st, ensure_ascii=False) and ID_NO not in json.dumps(st)
    eng.stop()
    raw = db_bytes(db)
    for secret in ("张三丰", ID_NO, "13812345678", "文三路"):
        assert secret.encode() not in raw, secret
    rows = sqlite3.connect(db).execute("SELECT ticket, target, data FROM ticket_forms").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(info["ticket"], "B1")]
    assert data_key.decrypt_json(rows[0][2]) == B1_FORM


def test_a_form_that_fails_validation_is_refused_with_the_field_named(small_config, running_engine, bus_client,
                                                                       data_key):
    cfg = with_forms(small_config)
    running_engine(cfg)
    kiosk = Requester(bus_client(cfg.hall.id, "t"), "kiosk", "K1")
    cases = [
        ({**B1_FORM, "id_number": "110105194912310021"}, "field id_number: the ID number's check digit is wrong"),
        ({**B1_FORM, "phone": "1381234567"}, "field phone: a mobile number is 11 digits"),
        ({**B1_FORM, "company_uscc": "91330100799655058C"}, "field company_uscc: the unified social credit code's"),
        ({k: v for k, v in B1_FORM.items() if k != "food_category"}, "field food_category: required"),
        ({**B1_FORM, "shoe_size": "42"}, "field shoe_size: not a field of this form"),
    ]
    for form, msg in cases:
        with pytest.raises(RequestError) as e:
            kiosk.call("issue", {"bundle": "B1", "form": form})
        assert e.value.code == "bad_form" and msg in e.value.message, e.value.message
        assert "110105194912310021" not in e.value.message        # the reason, never the value
    with pytest.raises(RequestError) as e:
        kiosk.call("issue", {"matter": "M3", "form": {"name": "张三"}})   # M3 has no form
    assert e.value.code == "bad_form"
    # nothing was numbered by the refusals
    assert kiosk.call("issue", {"bundle": "B1", "form": B1_FORM})["number"] == "Y001"


def test_profile_kept_only_when_put_reused_and_erased(small_config, running_engine, bus_client, data_key, tmp_path):
    cfg = with_forms(small_config)
    db = tmp_path / "p.sqlite"
    clock = ManualClock(time.time())
    eng = running_engine(cfg, db=db, clock=clock)
    client = bus_client(cfg.hall.id, "t")
    kiosk = Requester(client, "kiosk", "K1")
    assert kiosk.call("profile_get", {"id_number": ID_NO}) == {"found": False, "values": {}, "expires_at": None}
    put = kiosk.call("profile_put", {"id_number": ID_NO, "values": {"name": "张三丰", "phone": "13812345678"}})
    assert put["found"] is True and put["values"] == {}          # the reply does not echo the data
    assert put["expires_at"] == pytest.approx(clock.now() + 30 * 86400)
    got = kiosk.call("profile_get", {"id_number": ID_NO.lower()})
    assert got["values"] == {"name": "张三丰", "phone": "13812345678", "id_number": ID_NO}
    # an update merges; a bad value is refused with the field named and changes nothing
    kiosk.call("profile_put", {"id_number": ID_NO, "values": {"address": "杭州市西湖区文三路 90 号"}})
    with pytest.raises(RequestError) as e:
        kiosk.call("profile_put", {"id_number": ID_NO, "values": {"phone": "110"}})
    assert e.value.code == "bad_profile" and e.value.message.startswith("field phone:")
    with pytest.raises(RequestError) as e:
        kiosk.call("profile_put", {"id_number": ID_NO, "values": {"shoe_size": "42"}})
    assert e.value.code == "bad_profile"
    assert kiosk.call("profile_get", {"id_number": ID_NO})["values"]["phone"] == "13812345678"
    # the next visit: an engine restarted on the same file and key finds it
    eng.stop()
    raw = db_bytes(db)
    assert "张三丰".encode() not in raw and ID_NO.encode() not in raw
    assert b"profile_get" not in raw        # read replies are not kept as idempotency records
    eng = running_engine(cfg, db=db, clock=clock)
    assert kiosk.call("profile_get", {"id_number": ID_NO})["values"]["address"] == "杭州市西湖区文三路 90 号"
    # erased at the citizen's request
    assert kiosk.call("profile_erase", {"id_number": ID_NO}) == {"erased": True}
    assert kiosk.call("profile_get", {"id_number": ID_NO})["found"] is False
    assert kiosk.call("profile_erase", {"id_number": ID_NO}) == {"erased": False}


def test_a_profile_expires_after_the_retention(small_config, running_engine, bus_client, data_key, tmp_path):
    cfg = with_forms(small_config)
    clock = ManualClock(time.time())
    db = tmp_path / "x.sqlite"
    running_engine(cfg, db=db, clock=clock)
    kiosk = Requester(bus_client(cfg.hall.id, "t"), "kiosk", "K1")
    kiosk.call("profile_put", {"id_number": ID_NO, "values": {"name": "张三丰"}})
    clock.advance(29 * 86400)
    assert kiosk.call("profile_get", {"id_number": ID_NO})["found"] is True
    clock.advance(2 * 86400)
    assert kiosk.call("profile_get", {"id_number": ID_NO})["found"] is False
    # and the purge removes the row itself (the tick after the expiry)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if not sqlite3.connect(db).execute("SELECT count(*) FROM profiles").fetchone()[0]:
            break
        time.sleep(0.1)
    assert sqlite3.connect(db).execute("SELECT count(*) FROM profiles").fetchone()[0] == 0


def test_profile_and_form_replies_are_never_retained(small_config, running_engine, bus_client, data_key):
    cfg = with_forms(small_config)
    running_engine(cfg)
    client = bus_client(cfg.hall.id, "t")
    kiosk = Requester(client, "kiosk", "K1")
    kiosk.call("profile_put", {"id_number": ID_NO, "values": {"name": "张三丰"}})
    kiosk.call("profile_get", {"id_number": ID_NO})
    late = bus_client(cfg.hall.id, "late")
    got = Collector(late, "kiosk.response.profile_get", "K1")
    marker = Collector(late, "engine.availability", "+")
    marker.get()          # retained: arrives on subscribe; a retained reply would have come with it
    assert got.q.empty()
    assert REGISTRY["kiosk.response.profile_get"].retained is False

"""Config governance through a real mosquitto: revisions, stale pushes refused,
an audit record per change, rollback, atomic writes, local-only SMS settings,
every problem named at once, a 900-matter hall, no green-channel code published."""

from __future__ import annotations

import json
import os
import queue
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from caller.config_admin import write_atomic
from hall.bus import RequestError, Requester
from hall.config import ConfigError, parse_config
from hall.config_cli import cmd as config_cmd
from hall.topics import REGISTRY
from tests.conftest import small_raw

pytestmark = pytest.mark.broker


def raw_for(hall_id: str) -> dict:
    raw = small_raw()
    raw["hall"]["id"] = hall_id
    return raw


@pytest.fixture
def hall(running_engine, bus_client, tmp_path):
    """An engine whose config file lives in tmp_path, and an admin requester."""
    path = tmp_path / "cfg" / "hall.yaml"
    path.parent.mkdir()
    eng = running_engine(config_path=path)
    path.write_text(yaml.safe_dump(raw_for(eng.hall_id), allow_unicode=True), encoding="utf-8")
    adm = Requester(bus_client(eng.hall_id, "admin"), "config", "admin")  # the hall's configured admin
    return eng, adm, path


def test_a_push_based_on_an_old_revision_is_refused_and_nothing_reverts(hall):
    eng, adm, path = hall
    raw = raw_for(eng.hall_id)
    mine = json.loads(json.dumps(raw))
    mine["windows"][0]["number"] = "101"
    assert adm.call("set", {"config": mine, "base": 0}) == {"revision": 1, "digest": eng.config_admin.current().digest}
    theirs = json.loads(json.dumps(raw))
    theirs["queue"]["recall_limit"] = 3  # made from revision 0 too, without my change
    with pytest.raises(RequestError) as e:
        adm.call("set", {"config": theirs, "base": 0})
    assert e.value.code == "stale_config"
    assert "based on revision 0, but revision 1 is in force" in e.value.message
    assert eng.engine.window_state("W1", 0).number == "101" and eng.config.queue.recall_limit == 2
    assert yaml.safe_load(path.read_text())["windows"][0]["number"] == "101"
    with pytest.raises(RequestError) as e:
        adm.call("set", {"config": theirs})  # no base at all
    assert e.value.code == "bad_request"


def test_every_change_is_audited_published_to_admins_and_can_be_rolled_back(hall, bus_client):
    eng, adm, path = hall
    audits: queue.Queue = queue.Queue()
    bus_client(eng.hall_id, "auditor").subscribe(REGISTRY["config.audit"], lambda p, d: audits.put(json.loads(d)),
                                                 ident="hall")
    first = audits.get(timeout=5)  # the retained record of the config the engine started with
    assert (first["revision"], first["action"], first["who"]) == (0, "start", "local file")
    raw = raw_for(eng.hall_id)
    raw["windows"][0]["number"] = "101"
    adm.call("set", {"config": raw, "base": 0, "by": "Wang Li"})
    rec = audits.get(timeout=5)
    assert {k: rec[k] for k in ("revision", "who", "by", "action", "base", "rollback_of")} == {
        "revision": 1, "who": "admin", "by": "Wang Li", "action": "push", "base": 0, "rollback_of": None}
    assert '-   "number": "1",\n+   "number": "101",' in rec["diff"] and rec["diff"].startswith("--- revision 0")
    assert "LS2026" not in rec["diff"]
    back = adm.call("rollback", {"revision": 0, "base": 1, "by": "Wang Li"})
    assert back["revision"] == 2 and eng.engine.window_state("W1", 0).number == "1"
    rec = audits.get(timeout=5)
    assert (rec["action"], rec["rollback_of"], rec["base"]) == ("rollback", 0, 1)
    assert '-   "number": "101",\n+   "number": "1",' in rec["diff"]
    hist = adm.call("history", {"limit": 10})["revisions"]
    assert [(r["revision"], r["action"]) for r in hist] == [(2, "rollback"), (1, "push"), (0, "start")]
    with pytest.raises(RequestError) as e:
        adm.call("rollback", {"revision": 9, "base": 2})
    assert e.value.code == "unknown_revision"
    # the history survives a restart, and an edit of the file on the server is a revision of its own
    eng.stop()
    edited = yaml.safe_load(path.read_text())
    edited["windows"][1]["number"] = "202"
    path.write_text(yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8")
    from caller.service import CallerService
    again = CallerService(parse_config(edited), eng.store.path, eng.bus.settings, client_id="again",
                          config_path=path)
    again.start()
    try:
        assert again.config_admin.revision == 3
        latest = again.config_admin.revisions[3].audit
        assert (latest.action, latest.who) == ("start", "local file")
        assert '+   "number": "202",' in latest.diff
    finally:
        again.stop()


def test_a_failed_write_changes_nothing(hall):
    eng, adm, path = hall
    before = path.read_bytes()
    raw = raw_for(eng.hall_id)
    raw["windows"][0]["number"] = "101"
    lock = (["chattr", "+i"], ["chattr", "-i"]) if os.geteuid() == 0 else None  # root ignores modes
    if lock:
        subprocess.run([*lock[0], str(path.parent)], check=True)
    else:
        path.parent.chmod(0o555)
    try:
        with pytest.raises(RequestError) as e:
            adm.call("set", {"config": raw, "base": 0})
    finally:
        if lock:
            subprocess.run([*lock[1], str(path.parent)], check=True)
        else:
            path.parent.chmod(0o755)
    assert e.value.code == "config_write_failed" and "nothing changed" in e.value.message
    assert eng.engine.window_state("W1", 0).number == "1" and eng.config.window("W1").number == "1"
    assert eng.config_admin.revision == 0 and path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["hall.yaml"]  # no temp file left
    assert adm.call("set", {"config": raw, "base": 0})["revision"] == 1  # the same push, once writable


def test_write_atomic_replaces_whole_and_keeps_the_mode(tmp_path):
    p = tmp_path / "hall.yaml"
    p.write_text("old")
    p.chmod(0o640)
    write_atomic(p, "new: 1\n")
    assert p.read_text() == "new: 1\n" and (p.stat().st_mode & 0o777) == 0o640
    assert [x.name for x in tmp_path.iterdir()] == ["hall.yaml"]


def test_bad_config_names_every_problem_at_once(hall):
    eng, adm, _ = hall
    raw = raw_for(eng.hall_id)
    raw["zones"][0]["flavour"] = "red"  # schema: unknown field
    raw["queue"]["recall_limit"] = 99  # schema: out of range
    raw["matters"][0]["group"] = "Q"  # cross-check: no such group
    with pytest.raises(RequestError) as e:
        adm.call("set", {"config": raw, "base": 0})
    assert e.value.code == "bad_config"
    for problem in ("zones[0].flavour: Extra inputs are not permitted",
                    "queue.recall_limit: Input should be less than or equal to 10",
                    "matters[0].group: unknown group 'Q'"):
        assert problem in e.value.message
    assert eng.config_admin.revision == 0


def test_sms_gateway_settings_cannot_be_pushed_and_must_be_https(hall):
    eng, adm, _ = hall
    raw = raw_for(eng.hall_id)
    raw["notify"] = {"sms": {"sender": {"type": "http", "url": "https://sms.evil.example/send"}}}
    with pytest.raises(RequestError) as e:
        adm.call("set", {"config": raw, "base": 0})
    assert e.value.code == "local_only"
    assert "notify.sms.sender.type" in e.value.message and "notify.sms.sender.url" in e.value.message
    assert eng.config.notify.sms.sender.type == "fake"
    raw["notify"]["sms"]["sender"]["url"] = "http://sms.example.gov.cn/send"
    with pytest.raises(ConfigError) as ce:
        parse_config(raw)
    assert [r for p, r in ce.value.problems if p == "notify.sms.sender.http.url"] == [
        "the SMS gateway must be https:// (phone numbers cross the network to it); "
        "plain http:// only to 127.0.0.1, localhost or [::1]"]
    for ok in ("https://sms.example.gov.cn/api/send", "http://127.0.0.1:8080/relay"):
        raw["notify"]["sms"]["sender"]["url"] = ok
        assert parse_config(raw).notify.sms.sender.url == ok
    for bad in ("http://127.0.0.1.evil.example/x", "ftp://sms.example.gov.cn", "http://10.0.0.5/send"):
        raw["notify"]["sms"]["sender"]["url"] = bad
        with pytest.raises(ConfigError):
            parse_config(raw)


def big_hall(hall_id: str, matters: int = 900, windows: int = 120) -> dict:
    raw = raw_for(hall_id)
    raw["bundles"] = []
    raw["matters"] = [{"id": f"M{i:04d}", "name": {"zh": f"第{i}号政务服务事项（企业与个人）申请办理",
                                                     "en": f"Government service matter number {i}"},
                       "group": "A", "department": {"zh": "市场监督管理局", "en": "Market Regulation"},
                       "zone": "Z1", "minutes": 12} for i in range(matters)]
    raw["windows"] = [{"id": f"W{w}", "number": str(w), "zone": "Z1",
                       "serves": {f"M{i:04d}": 1 + (i + w) % 3 for i in range(w % 8, matters, 8)}}
                      for w in range(1, windows + 1)]
    return raw


def test_a_900_matter_hall_fits_through_the_admin_topic(hall):
    eng, adm, path = hall
    raw = big_hall(eng.hall_id)
    assert len(json.dumps(raw, ensure_ascii=False).encode()) > 300_000  # far over the 16 KB of requests
    assert adm.call("set", {"config": raw, "base": 0}, timeout=30)["revision"] == 1
    assert len(eng.config.matters) == 900 and eng.config.window("W120") is not None
    assert len(yaml.safe_load(path.read_text())["matters"]) == 900


def test_green_channel_codes_are_not_published(hall, bus_client):
    eng, adm, _ = hall
    cur: queue.Queue = queue.Queue()
    bus_client(eng.hall_id, "kiosk-like").subscribe(REGISTRY["config.current"], lambda p, d: cur.put(d),
                                                    ident="hall")
    payload = cur.get(timeout=5)
    green = [c for c in json.loads(payload)["config"]["priority"]["classes"] if c["id"] == "green"]
    assert green[0]["requires_code"] is True and green[0]["codes"] == []
    assert b"LS2026" not in payload
    full = adm.call("get", {})  # the admin's own copy keeps them
    assert "LS2026" in json.dumps(full["config"]) and full["revision"] == 0


def test_the_cli_gets_diffs_pushes_and_rolls_back(hall, broker, tmp_path, monkeypatch):
    eng, _, _ = hall
    monkeypatch.setenv("ONEWINDOW_MQTT_PORT", str(broker.port))
    monkeypatch.setenv("ONEWINDOW_HALL", eng.hall_id)
    run = CliRunner().invoke
    mine = tmp_path / "mine.yaml"
    r = run(config_cmd, ["get", "--client", "admin", "--out", str(mine)])
    assert r.exit_code == 0, r.output
    assert mine.read_text().startswith("# onewindow config revision: 0 ")
    text = mine.read_text().replace("recall_limit: 2", "recall_limit: 3")
    mine.write_text(text)
    r = run(config_cmd, ["diff", str(mine)])
    assert r.exit_code == 0 and "-  recall_limit: 2\n+  recall_limit: 3" in r.output, r.output
    r = run(config_cmd, ["push", str(mine), "--client", "admin", "--by", "Li Lei"])
    assert r.exit_code == 0 and "revision 1 in force" in r.output, r.output
    assert eng.config.queue.recall_limit == 3
    r = run(config_cmd, ["push", str(mine)])  # the same file again: made from revision 0
    assert r.exit_code != 0 and "stale_config" in r.output
    r = run(config_cmd, ["history", "--diff"])
    assert r.exit_code == 0 and "revision 1" in r.output and "push by admin (Li Lei)" in r.output, r.output
    r = run(config_cmd, ["rollback", "0"])
    assert r.exit_code == 0 and "revision 2 in force" in r.output, r.output
    assert eng.config.queue.recall_limit == 2
    r = run(config_cmd, ["check", str(Path(__file__).parent / "halls" / "small.yaml")])
    assert r.exit_code == 0


def test_revisions_are_held_compressed_and_read_back_whole():
    """Every revision (the whole config as YAML, and a diff) stays in the engine
    for history and rollback: held compressed, it reads back unchanged."""
    import time

    from caller.config_admin import ConfigAdmin
    cfg = parse_config(raw_for("packed"))
    admin = ConfigAdmin(cfg, None)
    rec = admin.restore([], time.time())[0]
    back = admin.revisions[0]
    assert back == rec and back.yaml and back.audit.diff
    assert parse_config(yaml.safe_load(back.yaml)) == cfg
    held = len(admin.revisions._packed[0])
    assert held * 4 < len(rec.yaml) + len(rec.audit.diff)
    assert list(admin.revisions) == [0] and len(admin.revisions) == 1
    # the revision in force is read back from the packed history, not held as well
    assert admin.latest == rec.audit
    assert "latest" not in vars(admin)


def test_yaml_made_piecewise_is_the_text_yaml_dump_gives():
    """to_yaml dumps long lists a slice at a time (PyYAML's node graph of a whole
    big hall is 15 MB): the joined text is byte for byte what one dump gives, and
    reads back as the same config."""
    import copy

    from caller import config_admin as ca
    example = yaml.safe_load((Path(__file__).parent.parent / "config" / "hall.example.yaml").read_text("utf-8"))
    raw = raw_for("chunks")  # windows in 3 slices and a bit
    ws = raw["windows"]
    raw["windows"] = [{**copy.deepcopy(ws[i % len(ws)]), "id": f"W{i + 1}", "number": str(i + 1)}
                      for i in range(3 * ca.YAML_CHUNK + 5)]
    big = parse_config(raw)
    for cfg in (parse_config(example), big):
        d = cfg.to_json_dict()
        whole = yaml.dump(d, Dumper=ca._Dumper, allow_unicode=True, sort_keys=False, width=120)
        assert ca.to_yaml(d) == whole
        assert parse_config(yaml.safe_load(ca.to_yaml(d))) == cfg
    assert len(big.windows) > 3 * ca.YAML_CHUNK
    assert ca.to_yaml({}) == "{}\n"
    assert ca.to_yaml({"a": [], "b": list(range(ca.YAML_CHUNK + 1))}) == yaml.dump(
        {"a": [], "b": list(range(ca.YAML_CHUNK + 1))}, sort_keys=False)

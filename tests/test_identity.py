"""Identities: ids unique across kinds in the config, every topic covered by an
ACL rule, and the engine's own check that a requester is configured for the
kind it speaks as (behind the broker's ACL)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hall.acl import UncoveredTopic, render_acl, rule
from hall.bus import RequestError, Requester
from hall.cli import main
from hall.config import ConfigError, parse_config
from hall.config.access import identities
from hall.topics import REGISTRY, Kind, TopicSpec

from .conftest import small_raw


def test_a_kiosk_and_a_sender_with_one_id_are_refused():
    raw = small_raw()
    raw["notify"] = {"sms": {"sender_id": "K1"}}
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert ("access", "id 'K1' is both a kiosk and a sender: every MQTT username must be unique across kinds") \
        in e.value.problems


def test_ids_across_every_kind_are_checked_and_named():
    raw = small_raw()
    raw["screens"] = {"displays": [{"id": "admin"}]}
    raw["access"] = {"engine": "K2", "announcers": ["sup1"], "admins": ["admin", "sup1"],
                     "terminals": [{"id": "web", "windows": ["W1", "W99"]}]}
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    reasons = [r for _, r in e.value.problems]
    assert "id 'K2' is both a engine and a kiosk: every MQTT username must be unique across kinds" in reasons
    assert "id 'admin' is both a display and a admin: every MQTT username must be unique across kinds" in reasons
    assert "id 'sup1' is both a announcer and a admin: every MQTT username must be unique across kinds" in reasons
    assert ("access.terminals[0].windows", "unknown window 'W99'") in e.value.problems


def test_a_line_driven_by_two_bridges_and_a_printer_id_claimed_twice_are_refused():
    raw = small_raw()
    raw["devices"] = {"lines": [{"id": "l1", "port": "/dev/x"}],
                      "serial": [{"id": "K2", "line": "l1", "kind": "ledbar", "address": 1, "window": "W1"}]}
    raw["access"] = {"bridges": [{"id": "b1", "lines": ["l1"]}, {"id": "b2", "lines": ["l1", "l9"]}]}
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    assert ("access.bridges[1].lines", "line 'l1' is already driven by 'b1'") in e.value.problems
    assert ("access.bridges[1].lines", "unknown line 'l9'") in e.value.problems
    # an LED bar named like a kiosk: the bridge could forge that kiosk's printer status
    assert ("access", "device id 'K2' would be published by both 'K2' and 'b1'") in e.value.problems


def test_every_registry_topic_has_an_acl_rule():
    for spec in REGISTRY:
        writers, readers = rule(spec)
        assert writers, spec.name
    text = render_acl(parse_config(small_raw()))
    assert "user onewindow-caller\n" in text and "user K1\n" in text and "user sms1\n" in text


def test_a_topic_without_a_rule_is_refused_by_the_generator():
    with pytest.raises(UncoveredTopic, match="stats.mystery"):
        rule(TopicSpec("stats.mystery", Kind.STATS, "mystery", "X", False, "engine", "?"))


def test_the_acl_command_prints_the_generated_acl(tmp_path):
    import yaml
    path = tmp_path / "hall.yaml"
    path.write_text(yaml.safe_dump(small_raw(), allow_unicode=True), encoding="utf-8")
    r = CliRunner().invoke(main, ["acl", "--config", str(path)])
    assert r.exit_code == 0, r.output
    assert r.output == render_acl(parse_config(small_raw()))
    # one user block per identity, nothing by pattern
    assert r.output.count("\nuser ") == len(identities(parse_config(small_raw())))
    assert "pattern" not in r.output


@pytest.mark.broker
def test_the_engine_serves_only_requesters_configured_for_their_kind(running_engine, small_config, bus_client):
    running_engine()
    c = bus_client(small_config.hall.id, "idcheck")
    # configured: served
    assert Requester(c, "kiosk", "K1").call("issue", {"matter": "M1"})["number"] == "A001"
    # a display, the SMS sender, an admin or an unknown id speaking as a kiosk: refused
    for ident in ("D01", "sms1", "admin", "K77"):
        with pytest.raises(RequestError) as e:
            Requester(c, "kiosk", ident).call("issue", {"matter": "M1"})
        assert (e.value.code, e.value.message) == ("forbidden", f"{ident!r} is not a configured kiosk of this hall")
    # a kiosk speaking as an admin or as the SMS sender: refused
    with pytest.raises(RequestError) as e:
        Requester(c, "alert", "K1").call("followups", {"status": "open"})
    assert e.value.code == "forbidden"
    with pytest.raises(RequestError) as e:
        Requester(c, "device", "K1").call("sms_sync", {})
    assert e.value.code == "forbidden"
    assert Requester(c, "alert", "sup1").call("followups", {"status": "open"}) == {"followups": []}
    # nothing was issued by the refused requests
    assert Requester(c, "kiosk", "K2").call("issue", {"matter": "M1"})["number"] == "A002"
